#!/usr/bin/env bash
# The GPU device check, one short script (< 3 min). Needs .gpu-carry/ from bench/gpu/prepare.sh.
# On the device machine (device tool: carry [".gpu-carry"], timeout_s 300):
#   bash bench/gpu/run.sh
# Locally, to test the script itself (tiny counts, nothing written outside /tmp):
#   bash bench/gpu/run.sh --dry-run
# Steps: machine facts (nvidia-smi, Vulkan), unpack the payload, probe onnxruntime-node's
# WebGPU and CUDA providers on the sample model (agreement with the CPU), run the calibration
# benchmark on the CPU (16 cores there) and with the first GPU provider that starts (else record
# the engine's fallback notice), then the torchvision Mask R-CNN if the machine's python3 has
# torch and time is left. Everything lands in $OUT: run.log, summary.md, probe.json, results.tgz.
set -u -o pipefail
DRY=0
[ "${1:-}" = "--dry-run" ] && DRY=1
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${OUT:-/tmp/gpu-out}
mkdir -p "$OUT"
ES=$(mktemp -d /tmp/es-gpu.XXXXXX)
RES=$ES/results
mkdir -p "$RES"
exec > >(tee "$OUT/run.log") 2>&1
START=$SECONDS
LIMIT=${GPU_CHECK_LIMIT_S:-170}
left() { echo $((LIMIT - (SECONDS - START))); }
section() { echo; echo "=== $* (t=$((SECONDS - START)) s)"; }
finish() {
  section "pack results"
  cat "$RES"/*/calibration-*.md >"$OUT/summary.md" 2>/dev/null || echo "(no benchmark tables)" >"$OUT/summary.md"
  cp "$RES/probe.json" "$OUT/" 2>/dev/null
  tar -C "$RES" -czf "$OUT/results.tgz" . 2>/dev/null
  ls -la "$OUT"
  rm -rf "$ES"
  echo "done in $((SECONDS - START)) s"
}
trap finish EXIT

section machine
date -u
uname -a
echo "cores: $(nproc)"
free -g | head -2
nvidia-smi || echo "nvidia-smi: not available"
echo "system node: $(command -v node || echo none) $(node --version 2>/dev/null)"
echo "system python3 torch: $(python3 -c 'import torch, torchvision; print(torch.__version__, torchvision.__version__)' 2>/dev/null || echo none)"
ldconfig -p | grep -E 'libvulkan\.so|libEGL_nvidia|libnvidia-gpucomp' || echo "no Vulkan loader / NVIDIA GL libraries in ldconfig"
ls /usr/local/nvidia/share/vulkan/icd.d /usr/share/vulkan/icd.d /etc/vulkan/icd.d 2>/dev/null

section unpack
if [ ! -f "$ROOT/.gpu-carry/payload.tar.xz" ]; then echo "no .gpu-carry/payload.tar.xz: run bash bench/gpu/prepare.sh first (and carry .gpu-carry)"; exit 1; fi
xz -dc "$ROOT/.gpu-carry/payload.tar.xz" | tar -C "$ES" -xf - || exit 1
NODE=$ES/node
echo "node $($NODE --version)"

section "vulkan loader"
if ldconfig -p | grep -q 'libvulkan\.so\.1'; then
  echo "libvulkan.so.1 present"
else
  # Unpacked privately and found through LD_LIBRARY_PATH (dlopen honours it), so / stays untouched.
  for f in "$ES"/gl/*.deb; do [ -f "$f" ] && dpkg -x "$f" "$ES/glroot"; done
  export LD_LIBRARY_PATH="$ES/glroot/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  ls "$ES/glroot/usr/lib/x86_64-linux-gnu" 2>/dev/null
fi
ICD=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -f "$ICD" ]; then export VK_DRIVER_FILES=$ICD VK_ICD_FILENAMES=$ICD; echo "Vulkan ICD: $ICD"; fi

section "provider probe (sample model; webgpu, cuda vs cpu)"
timeout 90 "$NODE" "$ES/bench/gpu-probe.js" --providers webgpu,cuda --runs 5 --json "$RES/probe.json"
PROVIDER=$("$NODE" -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const ok = (p) => r.some((x) => x.model === "sample" && x.provider === p && x.ok);
  process.stdout.write(ok("cuda") ? "gpu:0" : ok("webgpu") ? "webgpu" : "");
' "$RES/probe.json" 2>/dev/null)
echo "GPU provider for the benchmark: ${PROVIDER:-none started}"

BENCH=("$NODE" "$ES/bench/calibration.js" --photos "$ES/photos" --reps 1)
if [ $DRY = 1 ]; then COUNTS=(--dry-run); CPU_MODES=plain,naive,entropy,minmax; else COUNTS=(--counts 16,64); CPU_MODES=plain,naive,entropy,minmax; fi

section "calibration benchmark, sample model, cpu ($(nproc) cores)"
timeout "$(( $(left) > 20 ? 60 : 1 ))" "${BENCH[@]}" --model sample "${COUNTS[@]}" --modes "$CPU_MODES" --out "$RES/cpu"

section "calibration benchmark, sample model, ${PROVIDER:-webgpu (expected to fall back: records the notice)}"
if [ -n "$PROVIDER" ]; then
  timeout "$(( $(left) > 20 ? 60 : 1 ))" "${BENCH[@]}" --model sample "${COUNTS[@]}" --modes plain,entropy,minmax --provider "$PROVIDER" --out "$RES/gpu"
else
  timeout 40 "${BENCH[@]}" --model sample --counts 2 --modes plain,entropy --provider webgpu --out "$RES/gpu-fallback"
fi

section "torchvision Mask R-CNN (export with the machine's torch, then benchmark)"
if [ $DRY = 1 ]; then
  echo "skipped in --dry-run"
elif ! python3 -c 'import torch, torchvision, onnx' 2>/dev/null; then
  echo "skipped: python3 has no torch/torchvision/onnx"
elif [ "$(left)" -lt 100 ]; then
  echo "skipped: only $(left) s left"
else
  TV=$ES/tv-maskrcnn.onnx
  NODE="$NODE" timeout 60 python3 "$ES/scripts/export_maskrcnn.py" "$TV" --opset 16 --threads "$(nproc)" --no-verify 2>&1 | grep -Ev 'Warning|warn|^\s' | tail -5
  if [ -f "$TV" ]; then
    timeout "$(( $(left) - 15 ))" "${BENCH[@]}" --model "tv=$TV" --counts 4 --modes plain,entropy --out "$RES/tv-cpu"
    if [ -n "$PROVIDER" ] && [ "$(left)" -gt 40 ]; then
      timeout "$(( $(left) - 10 ))" "${BENCH[@]}" --model "tv=$TV" --counts 4 --modes plain,entropy --provider "$PROVIDER" --out "$RES/tv-gpu"
    fi
  else
    echo "export failed or timed out"
  fi
fi
