import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StudioError } from '../../../shared/errors.js';
import { OutputSet } from '../io/outputs.js';
import { ctrOnce, NONCE_BYTES } from './cipher.js';
import { encodeEtltHeader } from './container.js';
import { DETECT_HEAD_BYTES } from './detect.js';
import { deriveKey } from './kdf.js';
import { QUICK_CHECK_BYTES, quickKeyCheck } from './keycheck.js';
import { readModel } from './read.js';
import { sealFile, sealToStream, unsealFile } from './seal.js';
import type { ReadStats } from './source.js';
import { identityChainModel, identityModel, initializerModelParts } from './synthetic.js';

const KEY = 'nvidia_tlt';
let dir: string;
let onnxPath: string;
const model = identityModel();

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'seal-'));
  onnxPath = path.join(dir, 'model.onnx');
  await fs.writeFile(onnxPath, model);
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function caught(p: Promise<unknown>): Promise<StudioError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(StudioError);
  return e as StudioError;
}

async function sub(name: string): Promise<string> {
  const d = path.join(dir, name);
  await fs.mkdir(d);
  return d;
}

/** A model with a big float initializer, written to disk. */
async function weightsModel(file: string, rawBytes: number): Promise<Buffer> {
  const { head, tail } = initializerModelParts(rawBytes);
  const bytes = Buffer.concat([head, randomBytes(rawBytes), tail]);
  await fs.writeFile(file, bytes);
  return bytes;
}

describe('seal and unseal', () => {
  it('the test model is a real ONNX model (onnxruntime runs it)', async () => {
    const s = await ort.InferenceSession.create(model);
    const x = new ort.Tensor('float32', Float32Array.from([1, 2, 3, 4]), [1, 4]);
    const y = (await s.run({ X: x })).Y;
    expect(Array.from(y?.data as Float32Array)).toEqual([1, 2, 3, 4]);
    await s.release();
  });

  for (const [format, inputName] of [['etlt', undefined], ['etlt', 'Input'], ['tlt', undefined]] as const) {
    it(`round-trips byte-identical through .${format}${inputName ? ` with input name ${inputName}` : ''}`, async () => {
      const d = await sub(`rt-${format}-${inputName ?? 'none'}`);
      const sealed = path.join(d, `m.${format}`);
      const res = await sealFile(onnxPath, sealed, KEY, { format, ...(inputName ? { inputName } : {}) });
      const file = await fs.readFile(sealed);
      const headerBytes = format === 'etlt' ? 4 + (inputName?.length ?? 0) : 0;
      expect(res.bytes).toBe(file.length);
      expect(file.length).toBe(headerBytes + NONCE_BYTES + model.length);
      expect(file.includes(Buffer.from('Identity'))).toBe(false); // really encrypted

      expect(await quickKeyCheck(sealed, KEY)).toEqual({ format, kdfVersion: 1, ...(format === 'etlt' ? { etltInputName: inputName ?? '' } : {}) });
      const read = await readModel(sealed, KEY);
      expect(read.onnx.equals(Buffer.from(model))).toBe(true);
      expect(read.sha256).toBe(res.sha256);
      if (format === 'etlt') expect(read.etltInputName).toBe(inputName ?? '');

      const back = path.join(d, 'back.onnx');
      const un = await unsealFile(sealed, back, KEY);
      expect((await fs.readFile(back)).equals(Buffer.from(model))).toBe(true);
      expect(un).toMatchObject({ format, bytes: model.length, kdfVersion: 1 });
      // onnxruntime accepts what readModel returns
      const s = await ort.InferenceSession.create(read.onnx);
      expect(s.outputNames).toEqual(['Y']);
      await s.release();
    });
  }

  it('uses a fresh nonce per seal', async () => {
    const d = await sub('nonce');
    await sealFile(onnxPath, path.join(d, 'a.tlt'), KEY, { format: 'tlt' });
    await sealFile(onnxPath, path.join(d, 'b.tlt'), KEY, { format: 'tlt' });
    const [a, b] = await Promise.all([fs.readFile(path.join(d, 'a.tlt')), fs.readFile(path.join(d, 'b.tlt'))]);
    expect(a.subarray(0, 16).equals(b.subarray(0, 16))).toBe(false);
    expect(a.subarray(16).equals(b.subarray(16))).toBe(false);
  });

  it('round-trips a multi-chunk model and reports progress', async () => {
    const d = await sub('big');
    const src = path.join(d, 'w.onnx');
    const bytes = await weightsModel(src, 3 * (1 << 20) + 1000);
    const seen: number[] = [];
    await sealFile(src, path.join(d, 'w.etlt'), KEY, { format: 'etlt', onProgress: (p) => seen.push(p.done) });
    expect(seen.length).toBeGreaterThanOrEqual(4);
    expect(seen.at(-1)).toBe(bytes.length);
    const read = await readModel(path.join(d, 'w.etlt'), KEY);
    expect(read.onnx.equals(bytes)).toBe(true);
  });

  it('catches a wrong key in the quick check, without the key in the message', async () => {
    const d = await sub('wrong');
    const sealed = path.join(d, 'm.etlt');
    await sealFile(onnxPath, sealed, KEY, { format: 'etlt' });
    for (const wrong of ['NVIDIA_TLT', 'Secret-Key-123', 'nvidia_tlt ']) {
      const e = await caught(quickKeyCheck(sealed, wrong));
      expect(e.code).toBe('E_WRONG_KEY_OR_CORRUPT');
      expect(e.hint).toMatch(/case-sensitive/);
      expect(`${e.message} ${e.hint}`).not.toContain(wrong);
      expect((await caught(readModel(sealed, wrong))).code).toBe('E_WRONG_KEY_OR_CORRUPT');
      expect((await caught(unsealFile(sealed, path.join(d, 'out.onnx'), wrong))).code).toBe('E_WRONG_KEY_OR_CORRUPT');
    }
    expect((await caught(quickKeyCheck(sealed, ''))).code).toBe('E_KEY_REQUIRED');
    expect(await fs.readdir(d)).toEqual(['m.etlt']);
  });

  it('quick-checks a 200 MB model by reading only a bounded prefix', async () => {
    const d = await sub('sparse');
    const file = path.join(d, 'huge.etlt');
    const rawBytes = 200 * (1 << 20);
    const { head, total } = initializerModelParts(rawBytes);
    const nonce = randomBytes(NONCE_BYTES);
    const aesKey = await deriveKey(KEY, nonce);
    // Header, nonce and the encrypted start of the model; the rest is a sparse hole.
    await fs.writeFile(file, Buffer.concat([encodeEtltHeader(''), nonce, ctrOnce(aesKey, nonce, head)]));
    await fs.truncate(file, 4 + NONCE_BYTES + total);
    expect((await fs.stat(file)).size).toBeGreaterThan(200e6);
    const bound = DETECT_HEAD_BYTES + NONCE_BYTES + QUICK_CHECK_BYTES;

    const ok: ReadStats = { bytesRead: 0 };
    expect(await quickKeyCheck(file, KEY, { stats: ok })).toMatchObject({ format: 'etlt' });
    expect(ok.bytesRead).toBeGreaterThan(0);
    expect(ok.bytesRead).toBeLessThanOrEqual(bound);

    const bad: ReadStats = { bytesRead: 0 };
    expect((await caught(quickKeyCheck(file, 'not-the-key', { stats: bad }))).code).toBe('E_WRONG_KEY_OR_CORRUPT');
    expect(bad.bytesRead).toBeLessThanOrEqual(bound);
  });

  it('catches corruption in the middle of the ciphertext on a full read, and unseal leaves nothing', async () => {
    const d = await sub('corrupt');
    const chain = identityChainModel(400);
    const src = path.join(d, 'chain.onnx');
    await fs.writeFile(src, chain);
    const sealed = path.join(d, 'chain.tlt');
    await sealFile(src, sealed, KEY, { format: 'tlt' });
    const bytes = await fs.readFile(sealed);
    const mid = Math.floor(bytes.length / 2);
    for (let i = mid; i < mid + 32; i++) bytes[i] = (bytes[i] as number) ^ 0x5a;
    await fs.writeFile(sealed, bytes);

    await expect(quickKeyCheck(sealed, KEY)).resolves.toMatchObject({ format: 'tlt' }); // the start is intact
    const e = await caught(readModel(sealed, KEY));
    expect(e.code).toBe('E_WRONG_KEY_OR_CORRUPT');
    expect(e.message).toMatch(/damaged/);
    expect((await caught(unsealFile(sealed, path.join(d, 'out.onnx'), KEY))).code).toBe('E_WRONG_KEY_OR_CORRUPT');

    const cut = path.join(d, 'cut.tlt');
    await fs.writeFile(cut, bytes.subarray(0, bytes.length - 7));
    expect((await caught(readModel(cut, KEY))).code).toBe('E_WRONG_KEY_OR_CORRUPT');
    expect((await fs.readdir(d)).sort()).toEqual(['chain.onnx', 'chain.tlt', 'cut.tlt']);
  });

  it('rejects random bytes in a .tlt and an .etlt as wrong key or corrupt', async () => {
    const d = await sub('random');
    const tlt = path.join(d, 'r.tlt');
    await fs.writeFile(tlt, randomBytes(5000));
    expect((await caught(quickKeyCheck(tlt, KEY))).code).toBe('E_WRONG_KEY_OR_CORRUPT');
    const etlt = path.join(d, 'r.etlt');
    await fs.writeFile(etlt, Buffer.concat([encodeEtltHeader('Input'), randomBytes(5000)]));
    const e = await caught(readModel(etlt, KEY));
    expect(e.code).toBe('E_WRONG_KEY_OR_CORRUPT');
    expect(e.hint).toMatch(/TAO itself/);
  });

  it('answers arbitrary file contents with a StudioError, never anything else', async () => {
    const d = await sub('fuzz');
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), fc.constantFrom('onnx', 'etlt', 'tlt', 'bin'), async (bytes, ext) => {
        const file = path.join(d, `f${n++}.${ext}`);
        await fs.writeFile(file, bytes);
        for (const op of [() => quickKeyCheck(file, KEY), () => readModel(file, KEY)]) {
          const e = await op().then(
            () => undefined,
            (err: unknown) => err,
          );
          if (e !== undefined) expect(e).toBeInstanceOf(StudioError);
        }
      }),
      { numRuns: 25 },
    );
  });

  it('refuses to overwrite an existing output unless asked', async () => {
    const d = await sub('overwrite');
    const out = path.join(d, 'm.etlt');
    await fs.writeFile(out, 'keep me');
    const e = await caught(sealFile(onnxPath, out, KEY, { format: 'etlt' }));
    expect(e.code).toBe('E_OUTPUT_EXISTS');
    expect(await fs.readFile(out, 'utf8')).toBe('keep me');
    const back = path.join(d, 'back.onnx');
    await fs.writeFile(back, 'keep me too');
    await sealFile(onnxPath, out, KEY, { format: 'etlt', overwrite: true });
    expect((await caught(unsealFile(out, back, KEY))).code).toBe('E_OUTPUT_EXISTS');
    expect(await fs.readFile(back, 'utf8')).toBe('keep me too');
    await unsealFile(out, back, KEY, { overwrite: true });
    expect((await fs.readFile(back)).equals(Buffer.from(model))).toBe(true);
  });

  it('leaves no output after a cancel mid-stream or a malformed input', async () => {
    const d = await sub('cancel');
    const src = path.join(d, 'w.onnx');
    const bytes = await weightsModel(src, 6 * (1 << 20));
    const ac = new AbortController();
    const e = await caught(sealFile(src, path.join(d, 'w.etlt'), KEY, { format: 'etlt', signal: ac.signal, onProgress: (p) => p.done >= 2 << 20 && ac.abort() }));
    expect(e.code).toBe('E_CANCELLED');
    expect(await fs.readdir(d)).toEqual(['w.onnx']);

    await sealFile(src, path.join(d, 'w.tlt'), KEY, { format: 'tlt' });
    const ac2 = new AbortController();
    const e2 = await caught(unsealFile(path.join(d, 'w.tlt'), path.join(d, 'back.onnx'), KEY, { signal: ac2.signal, onProgress: () => ac2.abort() }));
    expect(e2.code).toBe('E_CANCELLED');
    const ac3 = new AbortController();
    ac3.abort();
    expect((await caught(readModel(path.join(d, 'w.tlt'), KEY, { signal: ac3.signal }))).code).toBe('E_CANCELLED');

    // A model damaged at its very end fails only after several chunks were written.
    const broken = path.join(d, 'broken.onnx');
    const damaged = Buffer.from(bytes);
    damaged.fill(0xff, damaged.length - 4);
    await fs.writeFile(broken, damaged);
    const e4 = await caught(sealFile(broken, path.join(d, 'broken.etlt'), KEY, { format: 'etlt' }));
    expect(['E_ONNX_INVALID', 'E_FILE_TRUNCATED']).toContain(e4.code);
    expect(e4.location.offset).toBeGreaterThan(6 << 20);
    expect((await fs.readdir(d)).sort()).toEqual(['broken.onnx', 'w.onnx', 'w.tlt']);
  });

  it('refuses to seal a sealed model or unseal a plain one, and needs a key', async () => {
    const d = await sub('misuse');
    const sealed = path.join(d, 'm.tlt');
    await sealFile(onnxPath, sealed, KEY, { format: 'tlt' });
    expect((await caught(sealFile(sealed, path.join(d, 'x.etlt'), KEY, { format: 'etlt' }))).code).toBe('E_USAGE');
    const plain = await caught(unsealFile(onnxPath, path.join(d, 'x.onnx'), KEY));
    expect(plain.code).toBe('E_USAGE');
    expect(plain.hint).toMatch(/as it is/);
    expect((await caught(sealFile(onnxPath, path.join(d, 'y.etlt'), '', { format: 'etlt' }))).code).toBe('E_KEY_REQUIRED');
    // Plain ONNX needs no key at all.
    expect((await readModel(onnxPath, '')).format).toBe('onnx');
    expect(await fs.readdir(d)).toEqual(['m.tlt']);
  });

  it('seals an in-memory model into an OutputSet stream', async () => {
    const d = await sub('stream');
    const outputs = new OutputSet({ overwrite: false });
    const { stream } = await outputs.createWriteStream(path.join(d, 'm.etlt'));
    const r = await sealToStream(model, stream, KEY, { format: 'etlt' });
    const [committed] = await outputs.commit();
    expect(committed?.bytes).toBe(r.bytes);
    expect(r.bytes).toBe(4 + NONCE_BYTES + model.length);
    expect((await readModel(path.join(d, 'm.etlt'), KEY)).onnx.equals(Buffer.from(model))).toBe(true);

    async function* chunks(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < model.length; i += 7) yield model.subarray(i, i + 7);
    }
    const set2 = new OutputSet({ overwrite: false });
    const s2 = await set2.createWriteStream(path.join(d, 'm2.tlt'));
    await sealToStream(chunks(), s2.stream, KEY, { format: 'tlt' });
    await set2.commit();
    expect((await readModel(path.join(d, 'm2.tlt'), KEY)).onnx.equals(Buffer.from(model))).toBe(true);

    const set3 = new OutputSet({ overwrite: false });
    const s3 = await set3.createWriteStream(path.join(d, 'bad.etlt'));
    const e = await caught(sealToStream(model.subarray(0, model.length - 3), s3.stream, KEY, { format: 'etlt' }));
    expect(e.code).toBe('E_ONNX_INVALID');
    await set3.abort();
    expect((await fs.readdir(d)).sort()).toEqual(['m.etlt', 'm2.tlt']);
  });
});
