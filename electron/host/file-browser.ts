import type { Dirent } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { DirEntry, DirListing, FileKind } from '../../shared/api.js';
import { StudioError } from '../../shared/errors.js';
import { isInside, realOrPlanned } from '../pipeline/io/roots.js';

/** File extensions shown for each kind (folders are always shown, to navigate). */
export const KIND_EXTENSIONS: Record<FileKind, readonly string[] | null> = {
  model: ['.onnx', '.etlt', '.tlt'],
  spec: ['.txt', '.spec', '.prototxt', '.cfg'],
  tensorfile: ['.h5', '.hdf5', '.tensorfile'],
  cache: ['.bin', '.cache', '.calib', '.txt'],
  'images-dir': [],
  'output-dir': [],
  any: null,
};

export interface FileBrowserOptions {
  /** Extra roots (e.g. `export-studio serve --root /data`). */
  roots?: readonly string[];
  /** Add the home folder, the working directory and the temp folder (default true). */
  defaultRoots?: boolean;
}

export { isInside, realOrPlanned };

/**
 * Directory listing for the web-mode file picker (and the app's in-window browser), limited to
 * an allow-list of roots: the home folder, the working directory, the temp folder and any root
 * configured. Paths are resolved through symlinks before the check, so neither `..` nor a link
 * can lead outside.
 */
export class FileBrowser {
  private realRoots: Promise<string[]> | null = null;
  private readonly configured: string[];

  constructor(options: FileBrowserOptions = {}) {
    const defaults = options.defaultRoots === false ? [] : [os.homedir(), process.cwd(), os.tmpdir()];
    this.configured = [...defaults, ...(options.roots ?? [])].map((r) => path.resolve(r));
  }

  /** The allowed roots, resolved through symlinks (missing ones dropped). */
  roots(): Promise<string[]> {
    this.realRoots ??= Promise.all(this.configured.map((r) => fs.realpath(r).catch(() => null))).then((rs) => [...new Set(rs.filter((r): r is string => r !== null))]);
    return this.realRoots;
  }

  /** The real path of `p` if it lies inside an allowed root; otherwise a StudioError. */
  async resolveAllowed(p: string): Promise<string> {
    const abs = path.resolve(p);
    let real: string;
    try {
      real = await fs.realpath(abs);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') throw new StudioError('E_FILE_NOT_FOUND', `Folder not found: ${abs}`, 'Choose an existing folder.', { file: abs });
      throw new StudioError('E_FILE_UNREADABLE', `Cannot open ${abs}: ${(e as Error).message}`, 'Check the permissions.', { file: abs });
    }
    const roots = await this.roots();
    if (!roots.some((r) => isInside(r, real))) {
      throw new StudioError(
        'E_FILE_UNREADABLE',
        `${abs} is outside the folders this session may browse`,
        `Browsing is limited to ${roots.join(', ')}. Start the server with --root <folder> to add one.`,
        { file: abs },
        { details: { reason: 'outside-roots' } },
      );
    }
    return real;
  }

  /**
   * Like resolveAllowed for a path that may not exist yet (an output): its nearest existing
   * ancestor is resolved through symlinks (a dangling link is followed to where it points), the
   * rest appended, and the result must lie inside a root.
   */
  async resolveAllowedTarget(p: string): Promise<string> {
    const abs = path.resolve(p);
    const real = await realOrPlanned(abs);
    const roots = await this.roots();
    if (!roots.some((r) => isInside(r, real))) {
      throw new StudioError('E_FILE_UNREADABLE', `${abs} is outside the folders this session may use`, `Web mode reads and writes only inside ${roots.join(', ')}. Start the server with --root <folder> to add one.`, { file: abs }, { details: { reason: 'outside-roots' } });
    }
    return real;
  }

  async list(dir: string | null, kind: FileKind): Promise<DirListing> {
    const roots = await this.roots();
    const start = dir ?? (roots.includes(path.resolve(os.homedir())) ? os.homedir() : roots[0]);
    if (start === undefined) throw new StudioError('E_FILE_UNREADABLE', 'No folder may be browsed', 'Configure at least one root folder.');
    const real = await this.resolveAllowed(start);
    const st = await fs.stat(real);
    if (!st.isDirectory()) throw new StudioError('E_USAGE', `Not a folder: ${real}`, 'Give a folder to list.', { file: real });
    let dirents: Dirent[];
    try {
      dirents = await fs.readdir(real, { withFileTypes: true });
    } catch (e) {
      throw new StudioError('E_FILE_UNREADABLE', `Cannot list ${real}: ${(e as Error).message}`, 'Check the folder permissions.', { file: real });
    }
    const exts = KIND_EXTENSIONS[kind];
    const entries: DirEntry[] = [];
    for (const d of dirents) {
      if (d.name.startsWith('.')) continue;
      const full = path.join(real, d.name);
      let isDir = d.isDirectory();
      let isFile = d.isFile();
      let bytes: number | undefined;
      if (d.isSymbolicLink() || isFile) {
        const s = await fs.stat(full).catch(() => null);
        if (!s) continue; // dangling link
        isDir = s.isDirectory();
        isFile = s.isFile();
        if (isFile) bytes = s.size;
      }
      if (isDir) entries.push({ name: d.name, path: full, kind: 'dir' });
      else if (isFile && (exts === null || exts.includes(path.extname(d.name).toLowerCase()))) entries.push({ name: d.name, path: full, kind: 'file', ...(bytes !== undefined ? { bytes } : {}) });
    }
    entries.sort((a, b) => (a.kind === b.kind ? a.name.localeCompare(b.name, undefined, { numeric: true }) : a.kind === 'dir' ? -1 : 1));
    const up = path.dirname(real);
    const parent = up !== real && roots.some((r) => isInside(r, up)) ? up : null;
    return { path: real, parent, entries };
  }
}
