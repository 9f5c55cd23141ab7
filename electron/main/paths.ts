import fs from 'node:fs/promises';
import path from 'node:path';
import { StudioError } from '../../shared/errors.js';

export type PathExpectation = 'file' | 'dir' | 'file-or-dir';

/**
 * Re-check a path that came from the renderer (a dropped file's path from the preload, a folder
 * to open) before main acts on it: no NUL, exists, and of the expected type. Returns
 * the normalised absolute path; throws E_FILE_NOT_FOUND / E_REQUEST_INVALID otherwise.
 */
export async function checkLocalPath(p: string, expect: PathExpectation): Promise<string> {
  if (typeof p !== 'string' || p.length === 0 || p.includes('\0')) {
    throw new StudioError('E_REQUEST_INVALID', `Not a local path: ${JSON.stringify(String(p)).slice(0, 200)}`, 'Pick the file again with Browse or drop it onto the window.');
  }
  const abs = path.resolve(p);
  const st = await fs.stat(abs).catch(() => null);
  if (!st) throw new StudioError('E_FILE_NOT_FOUND', `Not found: ${abs}`, 'The file may have been moved or deleted.', { file: abs });
  const ok = expect === 'file' ? st.isFile() : expect === 'dir' ? st.isDirectory() : st.isFile() || st.isDirectory();
  if (!ok) {
    const want = expect === 'file' ? 'a file' : expect === 'dir' ? 'a folder' : 'a file or folder';
    throw new StudioError('E_REQUEST_INVALID', `${abs} is not ${want}`, `Choose ${want}.`, { file: abs });
  }
  return abs;
}
