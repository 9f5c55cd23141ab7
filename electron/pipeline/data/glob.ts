import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { StudioError } from '../../../shared/errors.js';

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
        else if (ch === '-' && j > 0 && j < body.length - 1) cls += '-';
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

/**
 * The sorted list of regular files matching `pattern`. Throws E_TFRECORD_NOT_FOUND when nothing
 * matches, with a hint built from what is actually on disk.
 */
export async function expandFilePattern(pattern: string, baseDir: string): Promise<string[]> {
  if (pattern.trim() === '') {
    throw new StudioError('E_TFRECORD_NOT_FOUND', 'training_file_pattern is empty', 'Set data_config.training_file_pattern in the spec to the TFRecord files, e.g. "/data/train*.tfrecord", or choose another calibration source.');
  }
  const abs = resolvePattern(pattern, baseDir);
  const { root } = path.parse(abs);
  const segments = abs.slice(root.length).split(path.sep === '/' ? /\/+/ : /[\\/]+/).filter((s) => s !== '');
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
        if (last ? await isFile(p) : await isDir(p)) next.push(p);
      }
    } else {
      const re = segmentRegExp(seg);
      for (const d of dirs) {
        let names: string[];
        try {
          names = await readdir(d);
        } catch {
          continue;
        }
        for (const name of names.sort(byCodeUnit)) {
          if (!re.test(name)) continue;
          const p = path.join(d, name);
          if (last ? await isFile(p) : await isDir(p)) next.push(p);
        }
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
