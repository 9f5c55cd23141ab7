import { execFile } from 'node:child_process';

export interface GpuInfo {
  /** nvidia-smi index (PCI bus order), the value CUDA_VISIBLE_DEVICES takes with CUDA_DEVICE_ORDER=PCI_BUS_ID. */
  index: number;
  uuid: string;
  name: string;
  pciBusId: string;
  memoryTotalMiB: number | null;
  memoryUsedMiB: number | null;
  utilizationPct: number | null;
  driverVersion: string;
}

export interface GpuInventory {
  gpus: GpuInfo[];
  /** Why the list is empty (no nvidia-smi, driver error, …). */
  reason?: string;
}

export const NVIDIA_SMI_QUERY = 'index,uuid,name,pci.bus_id,memory.total,memory.used,utilization.gpu,driver_version';

function num(s: string | undefined): number | null {
  if (s === undefined) return null;
  const v = Number(s.trim());
  return Number.isFinite(v) && s.trim() !== '' ? v : null; // "[N/A]" and "[Not Supported]" become null
}

/** Parse `nvidia-smi --query-gpu=<NVIDIA_SMI_QUERY> --format=csv,noheader,nounits`. */
export function parseNvidiaSmiCsv(text: string): GpuInfo[] {
  const out: GpuInfo[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line) continue;
    const f = line.split(',').map((s) => s.trim());
    if (f.length < 8) continue;
    const index = num(f[0]);
    if (index === null) continue;
    out.push({
      index,
      uuid: f[1] ?? '',
      name: f[2] ?? '',
      pciBusId: f[3] ?? '',
      memoryTotalMiB: num(f[4]),
      memoryUsedMiB: num(f[5]),
      utilizationPct: num(f[6]),
      driverVersion: f[7] ?? '',
    });
  }
  return out;
}

/** Ask nvidia-smi for the GPUs. Never throws: an empty list comes with the reason. */
export function listGpus(options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<GpuInventory> {
  return new Promise((resolve) => {
    execFile(
      'nvidia-smi',
      [`--query-gpu=${NVIDIA_SMI_QUERY}`, '--format=csv,noheader,nounits'],
      { timeout: options.timeoutMs ?? 10_000, env: options.env ?? process.env, windowsHide: true },
      (err, stdout, stderr) => {
        if (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'ENOENT') {
            resolve({ gpus: [], reason: 'nvidia-smi not found on PATH: no NVIDIA driver on this machine (CPU only).' });
            return;
          }
          const msg = (String(stdout) + String(stderr)).trim().split('\n')[0] || err.message;
          resolve({ gpus: [], reason: `nvidia-smi failed: ${msg}` });
          return;
        }
        const gpus = parseNvidiaSmiCsv(String(stdout));
        resolve(gpus.length ? { gpus } : { gpus: [], reason: 'nvidia-smi lists no GPU.' });
      },
    );
  });
}

/** The environment a worker on GPU `index` runs with (DESIGN.md: one fresh process per job). */
export function gpuEnvironment(gpu: number | 'cpu'): Record<string, string> {
  if (gpu === 'cpu') return { CUDA_VISIBLE_DEVICES: '' };
  return { CUDA_DEVICE_ORDER: 'PCI_BUS_ID', CUDA_VISIBLE_DEVICES: String(gpu) };
}
