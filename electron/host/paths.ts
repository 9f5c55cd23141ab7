import fs from 'node:fs/promises';
import path from 'node:path';
import { StudioError } from '../../shared/errors.js';
import type { WebMethod } from '../../shared/web-protocol.js';

export type PathExpectation = 'file' | 'dir' | 'file-or-dir';

/**
 * Path arguments re-checked (exists, file or folder) before the host acts on them, by both doors:
 * the Electron main (ipc.ts, before the call leaves main) and the host API itself (api.ts), so web
 * mode applies exactly the checks the desktop app does. A dropped file's path comes from the
 * renderer, so it is renderer-controlled data like any other argument. argument index → expectation.
 */
export const PATH_CHECKS: Partial<Record<WebMethod, Readonly<Record<number, PathExpectation>>>> = {
  inspectModel: { 0: 'file' },
  parseSpec: { 0: 'file' },
  listImages: { 0: 'dir' },
  openFolder: { 0: 'file-or-dir' },
  storeKey: { 0: 'file' },
};

/**
 * Re-check a path that came from the renderer (a dropped file's path from the preload, a folder
 * to open) before acting on it: no NUL, exists, and of the expected type. Returns the normalised
 * absolute path; throws E_FILE_NOT_FOUND / E_REQUEST_INVALID otherwise.
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

/** Apply PATH_CHECKS to a parsed argument tuple in place (checked paths become absolute). */
export async function checkPathArgs(method: WebMethod, args: unknown[]): Promise<void> {
  for (const [i, expect] of Object.entries(PATH_CHECKS[method] ?? {}) as [string, PathExpectation][]) {
    const v = args[Number(i)];
    if (typeof v === 'string') args[Number(i)] = await checkLocalPath(v, expect);
  }
}
