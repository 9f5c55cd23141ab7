import { describe, expect, it } from 'vitest';
import { childGpuEnv, cudaOrdinal } from './device.js';

describe('GPU index → CUDA ordinal', () => {
  it('is the nvidia-smi index when the process sees every GPU', () => {
    expect(cudaOrdinal(3, {})).toBe(3);
    expect(cudaOrdinal(1, { CUDA_VISIBLE_DEVICES: '' })).toBe(1);
  });
  it('is the position in CUDA_VISIBLE_DEVICES when the process was given GPUs (queue worker, Slurm, Kubernetes)', () => {
    expect(cudaOrdinal(1, { CUDA_VISIBLE_DEVICES: '1' })).toBe(0);
    expect(cudaOrdinal(5, { CUDA_VISIBLE_DEVICES: '2, 5' })).toBe(1);
    // A Slurm allocation of physical GPU 3, task asks for "its" GPU 0.
    expect(cudaOrdinal(0, { CUDA_VISIBLE_DEVICES: '3' })).toBe(0);
    expect(cudaOrdinal(0, { CUDA_VISIBLE_DEVICES: 'GPU-8f1c2d3e-0000-1111-2222-333344445555' })).toBe(0);
  });
  it('narrows a child process to the same physical GPU', () => {
    expect(childGpuEnv(2, {})).toEqual({ CUDA_DEVICE_ORDER: 'PCI_BUS_ID', CUDA_VISIBLE_DEVICES: '2' });
    expect(childGpuEnv(2, { CUDA_VISIBLE_DEVICES: '2' })).toEqual({ CUDA_VISIBLE_DEVICES: '2' });
    expect(childGpuEnv(0, { CUDA_VISIBLE_DEVICES: '3' })).toEqual({ CUDA_VISIBLE_DEVICES: '3' });
  });
});
