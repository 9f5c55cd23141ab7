import { createDecipheriv, pbkdf2Sync } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutputSet } from '../io/outputs.js';
import { detectModelFormat } from './detect.js';
import { CURRENT_KDF_VERSION, deriveKey, KDF_VERSIONS, kdfParams, type KdfParams } from './kdf.js';
import { unlockModel } from './keycheck.js';
import { sealFile, sealToStream } from './seal.js';
import { identityModel } from './synthetic.js';

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kdf-'));
  await fs.writeFile(path.join(dir, 'm.onnx'), identityModel());
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const NONCE = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');

describe('key derivation v1', () => {
  it('is PBKDF2-HMAC-SHA256 over the documented salt, 100 000 iterations, 32 bytes', async () => {
    // Pinned parameters: changing any of them would make every sealed file unreadable.
    expect(KDF_VERSIONS.map((k) => k.version)).toContain(1);
    expect(kdfParams(1)).toEqual({ version: 1, hash: 'sha256', iterations: 100_000, saltPrefix: 'ExportStudio/sealed-onnx/kdf-v1', keyLength: 32 });
    const expected = pbkdf2Sync(Buffer.from('nvidia_tlt', 'utf8'), Buffer.concat([Buffer.from('ExportStudio/sealed-onnx/kdf-v1'), NONCE]), 100_000, 32, 'sha256');
    expect((await deriveKey('nvidia_tlt', NONCE, 1)).equals(expected)).toBe(true);
    expect(CURRENT_KDF_VERSION).toBe(1);
  });

  it('depends on the key bytes exactly and on the nonce, and caches per (key, nonce)', async () => {
    const a = await deriveKey('nvidia_tlt', NONCE);
    expect(a.equals(await deriveKey('NVIDIA_TLT', NONCE))).toBe(false);
    expect(a.equals(await deriveKey('nvidia_tlt ', NONCE))).toBe(false);
    const other = Buffer.from(NONCE);
    other[15] = 0xff;
    expect(a.equals(await deriveKey('nvidia_tlt', other))).toBe(false);
    expect(deriveKey('nvidia_tlt', NONCE)).toBe(deriveKey('nvidia_tlt', NONCE));
    expect(() => kdfParams(99)).toThrow(RangeError);
  });

  it('writes files an independent decoder of the documented layout can open', async () => {
    const model = identityModel();
    const src = path.join(dir, 'm.onnx');
    await fs.writeFile(src, model);
    const out = path.join(dir, 'm.etlt');
    await sealFile(src, out, 'tlt_encode', { format: 'etlt', inputName: 'Input' });
    const file = await fs.readFile(out);
    // int32 LE name length, name, 16-byte nonce, AES-256-CTR ciphertext (counter block = nonce).
    const n = file.readInt32LE(0);
    expect(file.subarray(4, 4 + n).toString('utf8')).toBe('Input');
    const nonce = file.subarray(4 + n, 20 + n);
    const key = pbkdf2Sync('tlt_encode', Buffer.concat([Buffer.from('ExportStudio/sealed-onnx/kdf-v1'), nonce]), 100_000, 32, 'sha256');
    const d = createDecipheriv('aes-256-ctr', key, nonce);
    const plain = Buffer.concat([d.update(file.subarray(20 + n)), d.final()]);
    expect(plain.equals(Buffer.from(model))).toBe(true);
    expect(file.length).toBe(4 + 5 + 16 + model.length);
  });

  it('lets a reader find the version a file was sealed with by trying the known ones', async () => {
    const v2: KdfParams = { version: 2, hash: 'sha256', iterations: 1000, saltPrefix: 'test-only-v2', keyLength: 32 };
    const file = path.join(dir, 'v2.tlt');
    const outputs = new OutputSet({ overwrite: false });
    const { stream } = await outputs.createWriteStream(file);
    expect((await sealToStream(identityModel(), stream, 'k', { format: 'tlt' }, { kdf: v2 })).kdfVersion).toBe(2);
    await outputs.commit();
    const detected = await detectModelFormat(file);
    expect((await unlockModel(detected, 'k', undefined, [v2, kdfParams(1)])).kdfVersion).toBe(2);
    // A reader that knows only v1 cannot open it: the quick check rejects v1's key.
    await expect(unlockModel(detected, 'k', undefined, [kdfParams(1)])).rejects.toMatchObject({ code: 'E_WRONG_KEY_OR_CORRUPT' });
    // And a v1 file is still found when a newer version is tried first.
    await sealFile(path.join(dir, 'm.onnx'), path.join(dir, 'v1.tlt'), 'k', { format: 'tlt' });
    expect((await unlockModel(await detectModelFormat(path.join(dir, 'v1.tlt')), 'k', undefined, [v2, kdfParams(1)])).kdfVersion).toBe(1);
  });
});
