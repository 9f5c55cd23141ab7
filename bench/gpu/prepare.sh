#!/usr/bin/env bash
# Assembles .gpu-carry/ (git-ignored via .git/info/exclude) for bench/gpu/run.sh on the device
# machine, which has no network and no Node.js: a node binary, a pruned onnxruntime-node (linux
# x64 only) + sharp, the benchmark and probe bundled with esbuild, a few real photos, and the
# Vulkan loader .debs (WebGPU needs libvulkan.so.1), all in one payload.tar.xz.
#
#   bash bench/gpu/prepare.sh            # then the lead runs, with carry [".gpu-carry"]:
#   bash bench/gpu/run.sh                # (on the device; locally: bash bench/gpu/run.sh --dry-run)
#
# Checks that what travels (working tree + payload) stays under the device tool's 64 MiB.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"

CARRY=.gpu-carry
STAGE=$(mktemp -d /tmp/gpu-stage.XXXXXX)
trap 'rm -rf "$STAGE"' EXIT
grep -qx '/.gpu-carry/' .git/info/exclude 2>/dev/null || echo '/.gpu-carry/' >>.git/info/exclude
rm -rf "$CARRY" && mkdir -p "$CARRY"

echo "== bundles"
BANNER="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
# Pure-JS dependencies are bundled in; only the native addons stay external.
for pair in bench/calibration/calibration.bench.ts:bench/calibration.js electron/pipeline/data/loader-worker.ts:bench/loader-worker.js bench/gpu/probe.ts:bench/gpu-probe.js; do
  npx esbuild "${pair%%:*}" --bundle --platform=node --format=esm --target=node20 \
    --external:onnxruntime-node --external:sharp --banner:js="$BANNER" --log-level=warning \
    --outfile="$STAGE/${pair#*:}"
done

echo "== node_modules (linux x64 only)"
NM=node_modules
D="$STAGE/node_modules"
mkdir -p "$D/onnxruntime-node/bin/napi-v6/linux" "$D/@img"
cp "$NM/onnxruntime-node/package.json" "$D/onnxruntime-node/"
cp -r "$NM/onnxruntime-node/dist" "$D/onnxruntime-node/"
cp -r "$NM/onnxruntime-node/bin/napi-v6/linux/x64" "$D/onnxruntime-node/bin/napi-v6/linux/"
cp -r "$NM/onnxruntime-common" "$D/"
for p in sharp detect-libc semver @img/colour @img/sharp-linux-x64 @img/sharp-libvips-linux-x64; do
  mkdir -p "$D/$(dirname "$p")" && cp -r "$NM/$p" "$D/$p"
done
rm -rf "$D/sharp/src" "$D/onnxruntime-common/lib" 2>/dev/null || true
find "$D" -name '*.map' -delete

echo "== node $(node --version)"
cp "$(readlink -f "$(command -v node)")" "$STAGE/node"
if ldd "$STAGE/node" | grep -q libnode; then echo "this node links libnode.so: not portable, carry an official build instead" >&2; exit 1; fi

echo "== photos"
mkdir -p "$STAGE/photos"
for f in astronaut.png chelsea.png coffee.png rocket.jpg motorcycle_left.png hubble_deep_field.jpg retina.jpg camera.png; do
  src=/usr/lib/python3/dist-packages/skimage/data/$f
  [ -f "$src" ] && cp "$src" "$STAGE/photos/"
done
for f in /usr/share/backgrounds/gnome/truchet-d.webp /usr/share/backgrounds/gnome/symbolic-l.webp; do [ -f "$f" ] && cp "$f" "$STAGE/photos/"; done
ls "$STAGE/photos" | wc -l | xargs echo "photos:"

echo "== Vulkan loader .debs (device README: unpack with dpkg -x there)"
mkdir -p "$STAGE/gl"
if ! (cd "$STAGE/gl" && apt-get download libvulkan1 >/dev/null 2>&1); then
  echo "warning: apt-get download libvulkan1 failed; run.sh will rely on the device's own loader" >&2
fi

echo "== the torchvision exporter (runs there with its torch, if present)"
mkdir -p "$STAGE/scripts" && cp scripts/torchvision/export_maskrcnn.py scripts/torchvision/verify-onnx.mjs "$STAGE/scripts/"

echo "== payload"
tar -C "$STAGE" -cf - . | xz -T0 -6 >"$CARRY/payload.tar.xz"
payload=$(stat -c %s "$CARRY/payload.tar.xz")
tree=$(git ls-files -co --exclude-standard -z | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1)
total=$((payload + tree))
printf 'payload %.1f MiB + working tree %.1f MiB = %.1f MiB (limit 64 MiB)\n' \
  "$(echo "$payload/1048576" | bc -l)" "$(echo "$tree/1048576" | bc -l)" "$(echo "$total/1048576" | bc -l)"
if [ "$total" -gt $((62 * 1048576)) ]; then echo "too large for the device tool" >&2; exit 1; fi
echo "ready: carry [\".gpu-carry\"], command: bash bench/gpu/run.sh"
