import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { named, pythonModule } from '../../../test/support/needs.js';
import { isStudioError } from '../../../shared/errors.js';
import { OutputSet } from '../io/outputs.js';
import { readTensorfile, writeTensorfile } from './tensorfile.js';
import { tempDir } from './test-images.js';
import type { Batch } from './types.js';

const PY = '/usr/bin/python3';
const H5PY = pythonModule('h5py, numpy', 'python3-h5py');
const haveH5py = H5PY.ok;

const py = (script: string, ...args: string[]) => execFileSync(PY, ['-c', script, ...args], { encoding: 'utf8' });

/** Writes a tensorfile the way TAO's TensorFile does (h5py, gzip, count/shape attrs). */
const TAO_WRITER = `
import sys, h5py, numpy as np
path, count, b, c, h, w, drop, short = sys.argv[1], *map(int, sys.argv[2:9])
with h5py.File(path, 'w') as f:
    f.attrs['count'] = 0
    for i in range(count):
        x = (np.arange(b*c*h*w, dtype=np.float64).reshape(b, c, h, w) * 0.5 + i * 1000)
        if i == short: x = x[:b-1]
        if i != drop:
            if 'shape' not in f.attrs: f.attrs['shape'] = x.shape
            f.create_group('_tensorfile_array_key__%d' % i).create_dataset('_tensorfile_array_key_', data=x, compression='gzip')
        f.attrs['count'] = i + 1
`;

let dir: string;
beforeAll(async () => {
  dir = await tempDir('es-tensorfile-');
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function collect(it: AsyncIterable<Batch>) {
  const out: Batch[] = [];
  for await (const b of it) out.push(b);
  return out;
}
async function errorOf(p: Promise<unknown>) {
  const e = await p.then(() => undefined, (x: unknown) => x);
  return isStudioError(e) ? { code: e.code, message: e.message } : { code: undefined, message: String(e) };
}

describe.skipIf(!haveH5py)(named('tensorfile ⇄ h5py', H5PY), () => {
  it('reads a TAO/h5py-written tensorfile batch by batch as float32', async () => {
    const file = path.join(dir, 'tao.tensorfile');
    py(TAO_WRITER, file, '3', '2', '3', '4', '5', '-1', '-1');
    const tf = await readTensorfile(file, { modelInputShape: ['batch', 3, 4, 5] });
    expect(tf.count).toBe(3);
    expect(tf.shape).toEqual([2, 3, 4, 5]);
    const batches = await collect(tf.batches());
    expect(batches).toHaveLength(3);
    expect(batches[2]!.dims).toEqual([2, 3, 4, 5]);
    expect(batches[2]!.data).toBeInstanceOf(Float32Array);
    expect(batches[2]!.data[0]).toBe(2000);
    expect(batches[1]!.data[119]).toBe(1000 + 119 * 0.5);
    expect(batches[0]!.ids[1]).toBe('tao.tensorfile#0/1');
  });

  it('writes a tensorfile h5py reads back exactly like TAO expects', async () => {
    const file = path.join(dir, 'ours.tensorfile');
    const mk = (i: number): Batch => ({ ids: ['a', 'b'], count: 2, dims: [2, 3, 4, 5], data: Float32Array.from({ length: 120 }, (_, k) => i * 100 + k / 8) });
    const outputs = new OutputSet({ overwrite: false });
    const res = await writeTensorfile(outputs, file, [mk(0), mk(1), mk(2)]);
    expect(res).toEqual({ count: 3, shape: [2, 3, 4, 5] });
    expect(existsSync(file)).toBe(false); // staged until commit
    await outputs.commit();
    const summary = JSON.parse(
      py(
        `
import sys, json, h5py
f = h5py.File(sys.argv[1], 'r')
d = f['_tensorfile_array_key__2']['_tensorfile_array_key_']
print(json.dumps({'count': int(f.attrs['count']), 'countType': str(f.attrs['count'].dtype), 'shape': [int(x) for x in f.attrs['shape']],
  'keys': sorted(f.keys()), 'dtype': str(d.dtype), 'dshape': list(d.shape), 'gzip': d.compression, 'v': [float(x) for x in d[1, 2, 3, :]]}))`,
        file,
      ),
    ) as Record<string, unknown>;
    expect(summary).toEqual({
      count: 3, countType: 'int64', shape: [2, 3, 4, 5], keys: ['_tensorfile_array_key__0', '_tensorfile_array_key__1', '_tensorfile_array_key__2'],
      dtype: 'float64', dshape: [2, 3, 4, 5], gzip: 'gzip', v: [0, 1, 2, 3, 4].map((x) => 200 + (1 * 60 + 2 * 20 + 3 * 5 + x) / 8),
    });
    // and our reader round-trips it
    const back = await collect((await readTensorfile(file)).batches());
    expect(back[1]!.data).toEqual(mk(1).data);
  });

  it('rejects missing groups, short batches and shapes the model cannot take', async () => {
    const missing = path.join(dir, 'missing.h5');
    py(TAO_WRITER, missing, '3', '2', '3', '4', '5', '1', '-1');
    expect(await errorOf(readTensorfile(missing))).toMatchObject({ code: 'E_TENSORFILE', message: expect.stringMatching(/no group _tensorfile_array_key__1/) });
    const short = path.join(dir, 'short.h5');
    py(TAO_WRITER, short, '3', '2', '3', '4', '5', '-1', '2');
    expect(await errorOf(readTensorfile(short))).toMatchObject({ code: 'E_TENSORFILE', message: expect.stringMatching(/batch 2 .*short batch/) });
    const ok = path.join(dir, 'ok.h5');
    py(TAO_WRITER, ok, '1', '2', '3', '4', '5', '-1', '-1');
    expect(await errorOf(readTensorfile(ok, { modelInputShape: [1, 3, 4, 5] }))).toMatchObject({ code: 'E_TENSORFILE', message: expect.stringMatching(/\[2, 3, 4, 5\].*model input is \[1, 3, 4, 5\]/) });
    expect(await errorOf(readTensorfile(ok, { modelInputShape: ['n', 3, 8, 8] }))).toMatchObject({ code: 'E_TENSORFILE' });
  });
});

describe('tensorfile errors without h5py', () => {
  it('not found, not HDF5, empty', async () => {
    expect((await errorOf(readTensorfile(path.join(dir, 'nope.h5')))).code).toBe('E_FILE_NOT_FOUND');
    const junk = path.join(dir, 'junk.h5');
    await fs.writeFile(junk, 'hello, this is not hdf5 at all'.repeat(40));
    expect(await errorOf(readTensorfile(junk))).toMatchObject({ code: 'E_TENSORFILE', message: expect.stringMatching(/not an HDF5 file/) });
    const empty = path.join(dir, 'empty.h5');
    await fs.writeFile(empty, '');
    expect((await errorOf(readTensorfile(empty))).code).toBe('E_TENSORFILE');
  });

  it('writer refuses uneven batches and leaves nothing behind on abort', async () => {
    const file = path.join(dir, 'uneven.h5');
    const outputs = new OutputSet({ overwrite: false });
    const b = (n: number): Batch => ({ ids: [], count: n, dims: [n, 3, 2, 2], data: new Float32Array(n * 12) });
    expect((await errorOf(writeTensorfile(outputs, file, [b(2), b(1)]))).code).toBe('E_TENSORFILE');
    await outputs.abort();
    expect((await fs.readdir(dir)).filter((n) => n.includes('uneven'))).toEqual([]);
  });
});
