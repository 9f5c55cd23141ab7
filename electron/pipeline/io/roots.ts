import fs from 'node:fs/promises';
import path from 'node:path';
import { StudioError } from '../../../shared/errors.js';

/**
 * Web mode's browse roots as seen by the processes that read files (the reader and the job
 * workers): every file they open for a web-mode request, and every folder a data pattern walks,
 * must lie inside a root after resolving `..` and symlinks. The desktop app and the CLI have no
 * roots (null): the user may name any file.
 */

/** True when `child` is `root` or inside it (both already real, absolute paths). */
export function isInside(root: string, child: string): boolean {
  const rel = path.relative(root, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** The real path of a file that may not exist: nearest existing ancestor resolved, dangling links followed (bounded). */
export async function realOrPlanned(abs: string, depth = 0): Promise<string> {
  const real = await fs.realpath(abs).catch(() => null);
  if (real !== null) return real;
  const link = depth < 40 ? await fs.readlink(abs).catch(() => null) : null;
  if (link !== null) return realOrPlanned(path.resolve(path.dirname(abs), link), depth + 1);
  const parent = path.dirname(abs);
  return parent === abs ? abs : path.join(await realOrPlanned(parent, depth + 1), path.basename(abs));
}

let processRoots: readonly string[] | null = null;

/**
 * Process-wide roots (a job worker started for a web-mode request sets them from its `start`
 * message; one job per process). Input opens (`io/inputs.ts`) and pattern walks (`data/glob.ts`)
 * check against them. `roots` must be real, absolute paths.
 */
export function setReadRoots(roots: readonly string[] | null): void {
  processRoots = roots === null ? null : [...roots];
}

export function readRoots(): readonly string[] | null {
  return processRoots;
}

/**
 * The refusal of a path outside the roots: E_FILE_UNREADABLE with `details.reason: 'outside-roots'`
 * (the code every web-mode root check uses), naming where the path came from (`field`, e.g. the
 * spec's `training_file_pattern`). The message never carries anything read from that path.
 */
export function outsideRootsError(file: string, roots: readonly string[], field?: string): StudioError {
  const what = field ? `${field} ${JSON.stringify(file)}` : file;
  return new StudioError(
    'E_FILE_UNREADABLE',
    `${what} is outside the folders this session may use`,
    `Web mode reads and writes only inside ${roots.join(', ')}${field ? '; the data a spec names counts too' : ''}. Start the server with --root <folder> to add one.`,
    { file },
    { details: { reason: 'outside-roots', ...(field ? { field } : {}) } },
  );
}

/** Throws outsideRootsError unless `file` (which may not exist) lies inside `roots` after realpath. */
export async function checkInsideRoots(file: string, roots: readonly string[], field?: string): Promise<string> {
  const real = await realOrPlanned(path.resolve(file));
  if (!roots.some((r) => isInside(r, real))) throw outsideRootsError(file, roots, field);
  return real;
}
