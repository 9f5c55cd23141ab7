import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable, Transform } from 'node:stream';
import { StudioError } from '../../shared/errors.js';
import { formatBytes } from '../../shared/format.js';
import type { FileBrowser } from './file-browser.js';

/** Largest single upload web mode accepts by default (a big Mask R-CNN .tlt is ~ 200 MB). */
export const DEFAULT_MAX_UPLOAD = 4 * 2 ** 30;

export interface UploadResult {
  path: string;
  bytes: number;
}

/** A file name alone: no folders, no leading dot, no control characters. */
function checkName(name: string): string {
  if (name.length === 0 || name.length > 255 || name !== path.basename(name) || name.includes('\\') || name.startsWith('.') || [...name].some((c) => c.charCodeAt(0) < 0x20)) {
    throw new StudioError('E_REQUEST_INVALID', `Not a plain file name: '${name}'`, 'Upload one file at a time under its own name (no folders, no leading dot).');
  }
  return name;
}

/**
 * Web mode's drag-and-drop (issue 12): a file the browser sends is written into `dir` on the
 * server — created if missing, but only inside the roots the file browser may show (the same
 * check as browsing) — streamed to a temp file and renamed into place when complete, so a
 * cancelled or oversized upload leaves nothing. Never replaces an existing file.
 */
export async function receiveUpload(files: FileBrowser, o: { dir: string; name: string; body: AsyncIterable<Uint8Array>; declaredBytes?: number; maxBytes?: number }): Promise<UploadResult> {
  const max = o.maxBytes ?? DEFAULT_MAX_UPLOAD;
  const name = checkName(o.name);
  if (o.declaredBytes !== undefined && o.declaredBytes > max) {
    throw new StudioError('E_USAGE', `${name} is ${formatBytes(o.declaredBytes)}, over the ${formatBytes(max)} upload limit`, 'Copy large files to the server yourself (scp, rsync) and choose them with Browse.');
  }
  const abs = path.resolve(o.dir);
  let probe = abs;
  while (!(await fs.stat(probe).catch(() => null)) && path.dirname(probe) !== probe) probe = path.dirname(probe);
  await files.resolveAllowed(probe);
  await fs.mkdir(abs, { recursive: true });
  const dir = await files.resolveAllowed(abs);
  const target = path.join(dir, name);
  if (await fs.stat(target).catch(() => null)) {
    throw new StudioError('E_OUTPUT_EXISTS', `${target} already exists on the server`, 'Rename the file, or choose the existing one with Browse.', { file: target });
  }
  const tmp = path.join(dir, `.${name}.${randomBytes(4).toString('hex')}.upload`);
  let bytes = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      if (bytes > max) cb(new StudioError('E_USAGE', `${name} is over the ${formatBytes(max)} upload limit`, 'Copy large files to the server yourself (scp, rsync) and choose them with Browse.'));
      else cb(null, chunk);
    },
  });
  try {
    await pipeline(Readable.from(o.body), count, createWriteStream(tmp, { flags: 'wx' }));
    if (o.declaredBytes !== undefined && bytes !== o.declaredBytes) {
      throw new StudioError('E_USAGE', `The upload of ${name} stopped after ${formatBytes(bytes)} of ${formatBytes(o.declaredBytes)}`, 'Drop the file again.');
    }
    if (await fs.stat(target).catch(() => null)) throw new StudioError('E_OUTPUT_EXISTS', `${target} appeared during the upload`, 'Rename the file and drop it again.', { file: target });
    await fs.rename(tmp, target);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
  return { path: target, bytes };
}
