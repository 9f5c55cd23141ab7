import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SafeStorageKeyStore, canUseSafeStorage, type SafeStorageLike } from './key-store.js';

/** A stand-in for the OS keyring: real AES-256-GCM with a key the test holds. */
function fakeSafeStorage(backend: string, available = true): SafeStorageLike & { secret: Buffer } {
  const secret = randomBytes(32);
  return {
    secret,
    isEncryptionAvailable: () => available,
    getSelectedStorageBackend: () => backend,
    encryptString(plain) {
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', secret, iv);
      const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
      return Buffer.concat([iv, c.getAuthTag(), body]);
    },
    decryptString(cipher) {
      const d = createDecipheriv('aes-256-gcm', secret, cipher.subarray(0, 12));
      d.setAuthTag(cipher.subarray(12, 28));
      return Buffer.concat([d.update(cipher.subarray(28)), d.final()]).toString('utf8');
    },
  };
}

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'studio-keys-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('SafeStorageKeyStore', () => {
  it('stores keys encrypted, never in plain text, and reads them back', async () => {
    const s = new SafeStorageKeyStore(fakeSafeStorage('gnome_libsecret'), dir, 'linux');
    expect(s.canStore()).toBe(true);
    const model = path.join(dir, 'peoplesegnet.etlt');
    await s.store(model, 'nvidia_tlt_SECRET');
    const text = await fs.readFile(path.join(dir, 'keys.json'), 'utf8');
    expect(text).not.toContain('nvidia_tlt_SECRET');
    expect(text).not.toContain('peoplesegnet');
    expect(Buffer.from(text).includes(Buffer.from('nvidia_tlt_SECRET'))).toBe(false);
    expect((await fs.stat(path.join(dir, 'keys.json'))).mode & 0o077).toBe(0);
    expect(await s.load(model)).toBe('nvidia_tlt_SECRET');
    expect(await s.load(path.join(dir, 'other.etlt'))).toBeNull();
    await s.forget(model);
    expect(await s.load(model)).toBeNull();
  });

  it('refuses the plain-text backend, unknown backends and unavailable encryption', async () => {
    for (const [backend, available] of [
      ['basic_text', true],
      ['unknown', true],
      ['gnome_libsecret', false],
    ] as const) {
      const s = new SafeStorageKeyStore(fakeSafeStorage(backend, available), dir, 'linux');
      expect(s.canStore(), backend).toBe(false);
      await expect(s.store(path.join(dir, 'm.etlt'), 'k')).rejects.toMatchObject({ code: 'E_USAGE', hint: expect.stringMatching(/keyring/i) });
    }
    await expect(fs.stat(path.join(dir, 'keys.json'))).rejects.toThrow();
    expect(canUseSafeStorage(fakeSafeStorage('kwallet6'), 'linux')).toBe(true);
    // macOS / Windows have no backend selection: availability decides.
    expect(canUseSafeStorage({ ...fakeSafeStorage('x'), getSelectedStorageBackend: undefined }, 'darwin')).toBe(true);
  });

  it('treats an entry the keyring can no longer decrypt as absent', async () => {
    const model = path.join(dir, 'm.etlt');
    await new SafeStorageKeyStore(fakeSafeStorage('kwallet5'), dir, 'linux').store(model, 'k1');
    expect(await new SafeStorageKeyStore(fakeSafeStorage('kwallet5'), dir, 'linux').load(model)).toBeNull();
  });
});
