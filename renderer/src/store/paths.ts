/** Path helpers for paths of the machine running the pipeline (POSIX or Windows), pure. */

function sepOf(p: string): '/' | '\\' {
  return p.includes('\\') && !p.includes('/') ? '\\' : '/';
}

export function dirname(p: string): string {
  const i = Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\'));
  if (i < 0) return '.';
  if (i === 0) return p.slice(0, 1);
  return p.slice(0, i);
}

export function basename(p: string): string {
  const i = Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\'));
  return p.slice(i + 1);
}

export function stem(p: string): string {
  const b = basename(p);
  const dot = b.lastIndexOf('.');
  return dot > 0 ? b.slice(0, dot) : b;
}

export function join(dir: string, name: string): string {
  const sep = sepOf(dir);
  return dir.endsWith('/') || dir.endsWith('\\') ? dir + name : dir + sep + name;
}

/**
 * `<model dir>/<name>.etlt`; a model that already is `x.etlt` becomes `x.int8.etlt` etc.
 * so the default never points at the input itself.
 */
export function defaultEtltPath(modelPath: string, precision: string): string {
  const name = stem(modelPath);
  const sameExt = basename(modelPath).toLowerCase().endsWith('.etlt');
  return join(dirname(modelPath), sameExt ? `${name}.${precision}.etlt` : `${name}.etlt`);
}

/** Sibling of the .etlt with another suffix: `model.etlt` → `model.cal.bin`. */
export function sibling(etltPath: string, suffix: string): string {
  return join(dirname(etltPath), stem(etltPath) + suffix);
}
