import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { StudioError } from '../../shared/errors.js';
import type { KeyStore } from '../host/api.js';

/** The slice of Electron's safeStorage used here (a fake in tests). */
export interface SafeStorageLike {
  isEncryptionAvailable(): boolean;
  /** Linux only in Electron; absent on macOS/Windows. */
  getSelectedStorageBackend?(): string;
  encryptString(plain: string): Buffer;
  decryptString(cipher: Buffer): string;
}

/** Linux backends that do not protect anything (no keyring): storing is refused on them. */
export const INSECURE_BACKENDS: ReadonlySet<string> = new Set(['basic_text', 'unknown']);

export function canUseSafeStorage(s: SafeStorageLike, platform: NodeJS.Platform = process.platform): boolean {
  if (!s.isEncryptionAvailable()) return false;
  if (platform !== 'linux') return true;
  const backend = typeof s.getSelectedStorageBackend === 'function' ? s.getSelectedStorageBackend() : 'unknown';
  return !INSECURE_BACKENDS.has(backend);
}

interface KeyFile {
  version: 1;
  /** sha256(model path) → base64 of safeStorage ciphertext. Paths are hashed: the file lists no models. */
  keys: Record<string, string>;
}

function slot(modelPath: string): string {
  return createHash('sha256').update(path.resolve(modelPath)).digest('hex');
}

/**
 * Keys the user asked to remember, encrypted with safeStorage (OS keyring) in
 * `<settings dir>/keys.json` (mode 0600, written to a temp file and renamed). Refused unless a
 * real keyring backend is in use: with `basic_text` the "encryption" is a fixed key.
 */
export class SafeStorageKeyStore implements KeyStore {
  private readonly file: string;

  constructor(
    private readonly storage: SafeStorageLike,
    dir: string,
    private readonly platform: NodeJS.Platform = process.platform,
  ) {
    this.file = path.join(dir, 'keys.json');
  }

  canStore(): boolean {
    try {
      return canUseSafeStorage(this.storage, this.platform);
    } catch {
      return false;
    }
  }

  async store(modelPath: string, key: string): Promise<void> {
    if (!this.canStore()) {
      throw new StudioError('E_USAGE', 'No secure key storage is available on this system', 'Install and unlock a keyring (GNOME Keyring / KWallet); keys are never stored in plain text.');
    }
    const data = await this.read();
    data.keys[slot(modelPath)] = this.storage.encryptString(key).toString('base64');
    await this.write(data);
  }

  async load(modelPath: string): Promise<string | null> {
    if (!this.canStore()) return null;
    const data = await this.read();
    const c = data.keys[slot(modelPath)];
    if (c === undefined) return null;
    try {
      return this.storage.decryptString(Buffer.from(c, 'base64'));
    } catch {
      // The keyring changed (new login, other machine): the entry is useless, not an error.
      return null;
    }
  }

  async forget(modelPath: string): Promise<void> {
    const data = await this.read();
    if (delete data.keys[slot(modelPath)]) await this.write(data);
  }

  private async read(): Promise<KeyFile> {
    const text = await fs.readFile(this.file, 'utf8').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return null;
      throw e;
    });
    if (text === null) return { version: 1, keys: {} };
    try {
      const j = JSON.parse(text) as Partial<KeyFile>;
      if (j.version === 1 && j.keys && typeof j.keys === 'object') {
        const keys: Record<string, string> = {};
        for (const [k, v] of Object.entries(j.keys)) if (typeof v === 'string') keys[k] = v;
        return { version: 1, keys };
      }
    } catch {
      // fall through: a damaged file is replaced on the next store
    }
    return { version: 1, keys: {} };
  }

  private async write(data: KeyFile): Promise<void> {
    await fs.mkdir(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    await fs.writeFile(tmp, `${JSON.stringify(data, null, 1)}\n`, { mode: 0o600 });
    await fs.rename(tmp, this.file);
  }
}
