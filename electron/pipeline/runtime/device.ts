/**
 * GPU indices across process boundaries. Export Studio names GPUs by their nvidia-smi index
 * (PCI bus order). A process whose CUDA_VISIBLE_DEVICES is already set (a queue worker started
 * for one GPU, a Slurm task or a Kubernetes pod given one GPU) sees its GPUs renumbered from 0:
 * CUDA device ordinals are positions in that list, not nvidia-smi indices.
 */

/** The CUDA device ordinal, inside a process with environment `env`, of nvidia-smi GPU `gpu`. */
export function cudaOrdinal(gpu: number, env: NodeJS.ProcessEnv = process.env): number {
  const v = env.CUDA_VISIBLE_DEVICES;
  if (v === undefined || v.trim() === '') return gpu;
  const list = v.split(',').map((s) => s.trim());
  const i = list.indexOf(String(gpu));
  // Not listed (a scheduler's allocation named by UUID or renumbered): the first visible one.
  return i >= 0 ? i : 0;
}

/**
 * Environment for a child process (trtexec) that must run on nvidia-smi GPU `gpu`: when this
 * process's visibility is already narrowed, the child inherits it with the matching ordinal
 * first; otherwise it is narrowed to that GPU.
 */
export function childGpuEnv(gpu: number, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const v = env.CUDA_VISIBLE_DEVICES;
  if (v === undefined || v.trim() === '') return { CUDA_DEVICE_ORDER: 'PCI_BUS_ID', CUDA_VISIBLE_DEVICES: String(gpu) };
  const list = v.split(',').map((s) => s.trim());
  const chosen = list[cudaOrdinal(gpu, env)] ?? list[0] ?? '';
  return { CUDA_VISIBLE_DEVICES: chosen };
}
