import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { condition, met, named } from '../../../test/support/needs.js';
import ort from 'onnxruntime-node';
import { tinyModelBytes } from '../onnx/testing.js';
import { createSession } from './session.js';
import { cudaProviderInstalled, cudaProviderLibrary } from './cuda.js';

const require = createRequire(import.meta.url);
const ortDir = path.dirname(require.resolve('onnxruntime-node/package.json'));
const cudaLib = path.join(ortDir, 'bin/napi-v6', process.platform, process.arch, 'libonnxruntime_providers_cuda.so');
const cudaInstalled = existsSync(cudaLib);
const noCuda = condition(!cudaInstalled, 'the CUDA provider is installed here; this checks the machine without it');

async function runsOnce(s: ort.InferenceSession): Promise<number[]> {
  const x = new ort.Tensor('float32', Float32Array.from({ length: 3 * 64 }, (_, k) => Math.sin(k)), [1, 3, 8, 8]);
  const out = await s.run({ input: x });
  return Array.from(out.output!.data as Float32Array);
}

describe('createSession', () => {
  it('runs on the CPU when asked', async () => {
    const logs: string[] = [];
    const s = await createSession(tinyModelBytes(), { provider: 'cpu', log: (l, t) => logs.push(`${l}:${t}`) });
    expect(s.provider).toBe('cpu');
    expect(s.notice).toBeUndefined();
    expect(await runsOnce(s.session)).toHaveLength(3 * 64);
    await s.release();
    await s.release(); // idempotent
  });

  it.skipIf(!met(noCuda))(named('falls back to the CPU with a visible notice when the CUDA provider is missing', noCuda), async () => {
    const logs: { level: string; text: string }[] = [];
    const s = await createSession(tinyModelBytes(), { provider: { gpu: 1 }, log: (level, text) => logs.push({ level, text }) });
    try {
      expect(s.provider).toBe('cpu');
      expect(s.notice).toMatch(/cuda:1 could not start because its ONNX Runtime provider library/);
      expect(logs.filter((l) => l.level === 'warn').map((l) => l.text)).toEqual([s.notice]);
      const cpu = await createSession(tinyModelBytes(), { provider: 'cpu' });
      expect(await runsOnce(s.session)).toEqual(await runsOnce(cpu.session));
      await cpu.release();
    } finally {
      await s.release();
    }
  });

  it('cudaProviderInstalled (the app GPU picker\'s "install it" hint) agrees with the library onnxruntime-node loads', () => {
    expect(cudaProviderLibrary()).toBe(cudaLib);
    expect(cudaProviderInstalled()).toBe(cudaInstalled);
  });

  it('falls back from WebGPU when no adapter exists, or runs on it', async () => {
    const s = await createSession(tinyModelBytes(), { provider: 'webgpu' });
    try {
      if (s.provider === 'cpu') expect(s.notice).toMatch(/webgpu could not start/);
      else expect(s.provider).toBe('webgpu');
      expect(await runsOnce(s.session)).toHaveLength(3 * 64);
    } finally {
      await s.release();
    }
  });

  it('maps a broken model to a StudioError', async () => {
    await expect(createSession(Uint8Array.of(8, 7, 18, 0), { provider: 'cpu' })).rejects.toMatchObject({ code: expect.stringMatching(/^E_RUNTIME/) });
  });
});
