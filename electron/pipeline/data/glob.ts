import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { StudioError } from '../../../shared/errors.js';
import { checkInsideRoots, isInside, readRoots } from '../io/roots.js';

/**
 * Expands a data_config `training_file_pattern` the way TensorFlow's Glob
 * (tf.io.gfile.glob / Dataset.list_files, tensorflow/core/platform/file_system_helper.cc) does:
 *
 * - `*` matches any run of characters except the separator, `?` one character, `[abc]`, `[a-z]`,
 *   `[^a-z]` (or `[!a-z]`) one character from a class; `\x` matches x literally (POSIX only, since
 *   `\` is the separator on Windows). Wildcards may appear in any path segment, directories included;
 *   `**` is just `*` (no recursion), as in TensorFlow. Dot-files are matched by `*` like in TF.
 * - Results are regular files only (a pattern matching a directory gives nothing), sorted by
 *   code-unit order, which is what list_files(shuffle=False) gives for ASCII names.
 *
 * A relative pattern is resolved against `baseDir` (the spec file's directory). TAO resolves it
 * against the working directory inside its container, which has no meaning on this machine; the
 * spec's directory is the only stable anchor. Absolute patterns behave exactly as in TAO.
 */

const WILD = /[*?[]/;

/**
 * Bounds of one expansion (issue 11): a pattern with a wildcard in every folder segment must not walk the machine.
 * Exceeding one is E_PATTERN_REFUSED, never a hang.
 */
export const GLOB_LIMITS = {
  /** Folders listed. */
  dirs: 10_000,
  /** Names examined across all listings. */
  entries: 1_000_000,
  /** Files matched. */
  files: 100_000,
  /** Wall time of the whole expansion. */
  ms: 10_000,
};

/** System folders a dataset never lives in: named literally they are refused, reached by a wildcard they are skipped. */
export const SYSTEM_ROOTS = ['/proc', '/sys', '/dev', '/run', '/etc', '/boot'];

function systemRootOf(real: string): string | undefined {
  if (path.sep !== '/') return undefined;
  return SYSTEM_ROOTS.find((r) => real === r || real.startsWith(r + '/'));
}

function refused(pattern: string, message: string, hint: string, details: Record<string, string | number> = {}): StudioError {
  return new StudioError('E_PATTERN_REFUSED', `training_file_pattern ${JSON.stringify(pattern)}: ${message}`, hint, {}, { details: { pattern, ...details } });
}

function hasWildcard(seg: string): boolean {
  return WILD.test(seg);
}

/** Compiles one path segment's wildcard pattern to an anchored RegExp (exported for tests). */
export function segmentRegExp(seg: string, escapes = path.sep === '/'): RegExp {
  let re = '';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i] as string;
    if (c === '\\' && escapes && i + 1 < seg.length) {
      re += escapeRe(seg[++i] as string);
    } else if (c === '*') {
      re += '[^/\\\\]*';
    } else if (c === '?') {
      re += '[^/\\\\]';
    } else if (c === '[') {
      const close = findClassEnd(seg, i);
      if (close < 0) {
        re += '\\[';
        continue;
      }
      let body = seg.slice(i + 1, close);
      let negate = false;
      if (body.startsWith('^') || body.startsWith('!')) {
        negate = true;
        body = body.slice(1);
      }
      let cls = '';
      for (let j = 0; j < body.length; j++) {
        const ch = body[j] as string;
        if (ch === '\\' && escapes && j + 1 < body.length) cls += escapeClass(body[++j] as string);
        else if (ch === '-' && j > 0 && j < body.length - 1) {
          const lo = body.codePointAt(j - 1) as number;
          const hi = body.codePointAt(j + 1) as number;
          if (lo > hi) throw refused(seg, `the class [${body}] has a reversed range ${body[j - 1]}-${body[j + 1]}`, `Write ranges low to high, e.g. [${body[j + 1]}-${body[j - 1]}].`);
          cls += '-';
        }
        else cls += escapeClass(ch);
      }
      re += negate ? `[^${cls}]` : `[${cls}]`;
      i = close;
    } else {
      re += escapeRe(c);
    }
  }
  return new RegExp(`^${re}$`, 'u');
}

function findClassEnd(seg: string, open: number): number {
  let j = open + 1;
  if (seg[j] === '^' || seg[j] === '!') j++;
  if (seg[j] === ']') j++; // a leading ] is a literal
  for (; j < seg.length; j++) if (seg[j] === ']') return j;
  return -1;
}

function escapeRe(c: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(c) ? `\\${c}` : c;
}
function escapeClass(c: string): string {
  return /[\\\]^[-]/.test(c) ? `\\${c}` : c;
}

function unescapeLiteral(seg: string): string {
  return path.sep === '/' ? seg.replace(/\\(.)/g, '$1') : seg;
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}
async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Absolute pattern: relative ones are joined to baseDir. */
export function resolvePattern(pattern: string, baseDir: string): string {
  return path.isAbsolute(pattern) ? path.normalize(pattern) : path.join(path.resolve(baseDir), pattern);
}

/** The literal part of a pattern before its first wildcard segment (the whole path when it has none), absolute. */
export function patternLiteral(pattern: string, baseDir: string): string {
  const abs = resolvePattern(pattern, baseDir);
  const { root } = path.parse(abs);
  const segments = abs.slice(root.length).split(path.sep === '/' ? /\/+/ : /[\\/]+/).filter((s) => s !== '');
  const firstWild = segments.findIndex(hasWildcard);
  return path.join(root, ...segments.slice(0, firstWild < 0 ? segments.length : firstWild).map(unescapeLiteral));
}

/**
 * Web mode: the data a spec names — `training_file_pattern`, `validation_file_pattern` (their
 * literal folder, resolved against the spec's folder and through symlinks) and `val_json_file` —
 * must lie inside the roots. Checked from the spec's text alone, before any of it is read or
 * walked: E_FILE_UNREADABLE (`details.reason: 'outside-roots'`, `details.field`).
 */
export async function checkSpecDataRoots(
  dc: { training_file_pattern?: string; validation_file_pattern?: string; val_json_file?: string },
  specDir: string,
  roots: readonly string[],
): Promise<void> {
  for (const field of ['training_file_pattern', 'validation_file_pattern'] as const) {
    const p = dc[field];
    if (p && p.trim() !== '') await checkInsideRoots(patternLiteral(p, specDir), roots, field);
  }
  if (dc.val_json_file) await checkInsideRoots(path.resolve(specDir, dc.val_json_file), roots, 'val_json_file');
}

/**
 * The sorted list of regular files matching `pattern`. Throws E_TFRECORD_NOT_FOUND when nothing
 * matches, with a hint built from what is actually on disk.
 */
export async function expandFilePattern(pattern: string, baseDir: string, options: { roots?: readonly string[] | null; field?: string } = {}): Promise<string[]> {
  // Web mode: the pattern's literal folder and everything the walk reaches must be inside the roots.
  const roots = options.roots === undefined ? readRoots() : options.roots;
  const field = options.field ?? 'training_file_pattern';
  if (pattern.trim() === '') {
    throw new StudioError('E_TFRECORD_NOT_FOUND', 'training_file_pattern is empty', 'Set data_config.training_file_pattern in the spec to the TFRecord files, e.g. "/data/train*.tfrecord", or choose another calibration source.');
  }
  const abs = resolvePattern(pattern, baseDir);
  const { root } = path.parse(abs);
  const segments = abs.slice(root.length).split(path.sep === '/' ? /\/+/ : /[\\/]+/).filter((s) => s !== '');
  // Compile every wildcard segment first: a malformed class fails before any folder is read.
  const compiled = segments.map((seg) => (hasWildcard(seg) ? segmentRegExp(seg) : null));
  // The literal part before the first wildcard, through symlinks: never a system folder.
  const firstWild = compiled.findIndex((c) => c !== null);
  const literal = path.join(root, ...segments.slice(0, firstWild < 0 ? segments.length : firstWild).map(unescapeLiteral));
  const literalReal = await realpath(literal).catch(() => literal);
  if (roots) await checkInsideRoots(literal, roots, field);
  // A folder or file reached through a symlink out of the roots is skipped, like a system folder.
  const inRoots = async (p: string): Promise<boolean> => {
    if (!roots) return true;
    const real = await realpath(p).catch(() => p);
    return roots.some((r) => isInside(r, real));
  };
  const sys = systemRootOf(literalReal);
  if (sys !== undefined) {
    throw refused(pattern, `it points into ${sys}, a system folder, not a dataset`, 'Point data_config.training_file_pattern at your TFRecord files (e.g. "/data/coco/train-*.tfrecord").', { folder: sys });
  }
  const t0 = Date.now();
  let dirsListed = 0;
  let entriesSeen = 0;
  const budget = (): void => {
    if (Date.now() - t0 > GLOB_LIMITS.ms) throw refused(pattern, `expanding it took more than ${GLOB_LIMITS.ms / 1000} s`, 'Make the pattern more specific (fewer wildcards in folder names).', { limitMs: GLOB_LIMITS.ms });
    if (dirsListed > GLOB_LIMITS.dirs) throw refused(pattern, `it reaches more than ${GLOB_LIMITS.dirs} folders`, 'Make the pattern more specific (fewer wildcards in folder names).', { limitDirs: GLOB_LIMITS.dirs });
    if (entriesSeen > GLOB_LIMITS.entries) throw refused(pattern, `it examines more than ${GLOB_LIMITS.entries} names`, 'Make the pattern more specific.', { limitEntries: GLOB_LIMITS.entries });
  };
  let dirs = [root];
  // Deepest directory that existed and the segment that failed there, for the hint.
  let lastDir = root;
  let failedSeg = '';
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i] as string;
    const last = i === segments.length - 1;
    const next: string[] = [];
    if (!hasWildcard(seg)) {
      const lit = unescapeLiteral(seg);
      for (const d of dirs) {
        const p = path.join(d, lit);
        if ((last ? await isFile(p) : await isDir(p)) && (await inRoots(p))) next.push(p);
      }
    } else {
      const re = compiled[i] as RegExp;
      for (const d of dirs) {
        dirsListed++;
        budget();
        // A wildcard may pass through a symlink into /proc and the like: skip those folders.
        if (systemRootOf(await realpath(d).catch(() => d)) !== undefined) continue;
        let names: string[];
        try {
          names = await readdir(d);
        } catch {
          continue;
        }
        entriesSeen += names.length;
        budget();
        for (const name of names.sort(byCodeUnit)) {
          if (!re.test(name)) continue;
          const p = path.join(d, name);
          if ((last ? await isFile(p) : await isDir(p)) && (await inRoots(p))) next.push(p);
          if (next.length > GLOB_LIMITS.files) throw refused(pattern, `it matches more than ${GLOB_LIMITS.files} ${last ? 'files' : 'folders'}`, 'Make the pattern more specific, or shard the dataset into fewer, larger TFRecord files.', { limitFiles: GLOB_LIMITS.files });
        }
        budget();
      }
    }
    if (next.length === 0) {
      lastDir = dirs[0] as string;
      failedSeg = seg;
      break;
    }
    dirs = next;
    if (last) return next.sort(byCodeUnit);
  }
  throw await notFound(pattern, abs, baseDir, lastDir, failedSeg);
}

async function notFound(pattern: string, abs: string, baseDir: string, dir: string, seg: string): Promise<StudioError> {
  const rel = path.isAbsolute(pattern) ? '' : ` (relative patterns are resolved against the spec's directory ${baseDir})`;
  let hint: string;
  try {
    const names = (await readdir(dir)).sort(byCodeUnit);
    const shown = names.slice(0, 8).join(', ');
    hint =
      names.length === 0
        ? `The directory ${dir} exists but is empty.`
        : `Nothing in ${dir} matches "${seg}". It contains ${names.length} entr${names.length === 1 ? 'y' : 'ies'}: ${shown}${names.length > 8 ? ', …' : ''}.`;
  } catch {
    hint = `The directory ${dir} does not exist or cannot be read.`;
  }
  hint += ` Fix data_config.training_file_pattern${rel}, or mount the dataset at the path the spec expects.`;
  return new StudioError('E_TFRECORD_NOT_FOUND', `no TFRecord files match ${pattern}${abs !== pattern ? ` (${abs})` : ''}`, hint, {}, { details: { pattern, resolved: abs } });
}
