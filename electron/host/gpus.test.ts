import { describe, expect, it } from 'vitest';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gpuEnvironment, listGpus, parseNvidiaSmiCsv } from './gpus.js';

// Output format of a real `nvidia-smi --query-gpu=... --format=csv,noheader,nounits` (two GPUs,
// the second one without utilisation support as on some MIG/vGPU setups).
const SAMPLE = `0, GPU-5f0d6a7e-1c2b-3d4e-9f00-aabbccddeeff, NVIDIA H100 80GB HBM3, 00000000:1B:00.0, 81559, 1024, 37, 550.54.15
1, GPU-0a1b2c3d-4e5f-6789-abcd-ef0123456789, NVIDIA RTX A6000, 00000000:3D:00.0, 49140, 3, [N/A], 550.54.15
`;

async function fakeSmi(script: string): Promise<NodeJS.ProcessEnv> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'smi-'));
  const bin = path.join(dir, 'nvidia-smi');
  await fs.writeFile(bin, `#!/bin/sh\n${script}\n`, { mode: 0o755 });
  return { ...process.env, PATH: `${dir}:${process.env.PATH ?? ''}` };
}

describe('GPU inventory', () => {
  it('parses nvidia-smi CSV including [N/A] fields', () => {
    const gpus = parseNvidiaSmiCsv(SAMPLE);
    expect(gpus).toHaveLength(2);
    expect(gpus[0]).toMatchObject({ index: 0, name: 'NVIDIA H100 80GB HBM3', memoryTotalMiB: 81559, memoryUsedMiB: 1024, utilizationPct: 37 });
    expect(gpus[1]?.utilizationPct).toBeNull();
    expect(gpus[1]?.pciBusId).toBe('00000000:3D:00.0');
  });

  it('runs the real nvidia-smi binary found on PATH and passes the query', async () => {
    const env = await fakeSmi(`case "$1" in --query-gpu=index,uuid,name,pci.bus_id,*) printf '%s' '${SAMPLE}';; *) echo "bad args: $*" >&2; exit 9;; esac`);
    const inv = await listGpus({ env });
    expect(inv.reason).toBeUndefined();
    expect(inv.gpus.map((g) => g.index)).toEqual([0, 1]);
  });

  it('reports why the list is empty', async () => {
    const inv = await listGpus({ env: { ...process.env, PATH: '/nonexistent' } });
    expect(inv.gpus).toEqual([]);
    expect(inv.reason).toMatch(/nvidia-smi not found/);
    const failing = await fakeSmi('echo "NVIDIA-SMI has failed because it couldn\'t communicate with the NVIDIA driver." ; exit 9');
    const inv2 = await listGpus({ env: failing });
    expect(inv2.gpus).toEqual([]);
    expect(inv2.reason).toMatch(/couldn't communicate with the NVIDIA driver/);
  });

  it('pins a job to one GPU in PCI bus order', () => {
    expect(gpuEnvironment(3)).toEqual({ CUDA_DEVICE_ORDER: 'PCI_BUS_ID', CUDA_VISIBLE_DEVICES: '3' });
    expect(gpuEnvironment('cpu')).toEqual({ CUDA_VISIBLE_DEVICES: '' });
  });
});
