/** The placeholder shown wherever a key would appear. */
export const KEY_MASK = '********';

/** Keys at least this long are masked wherever they occur: such a string does not appear by chance. */
export const LONG_KEY = 12;

/** Characters that end a value in a command line, an assignment, a quoted string, JSON or a spec line. */
const BOUNDARY = new Set([' ', '\t', '\n', '\r', '"', "'", '`', '=', ':', ',', ';', '(', ')', '[', ']', '{', '}', '<', '>']);

function bounded(text: string, at: number, len: number): boolean {
  const before = at === 0 ? undefined : text[at - 1];
  const after = at + len >= text.length ? undefined : text[at + len];
  return (before === undefined || BOUNDARY.has(before)) && (after === undefined || BOUNDARY.has(after));
}

/**
 * Mask each secret in text. Used on every log line, report and shown command. A long key
 * (≥ LONG_KEY characters) is masked wherever it occurs. A short one is masked only where it
 * stands as a value of its own — after `-k `, `=`, `:`, inside quotes, as a whole word — so a
 * one-letter key does not turn "mask_rcnn" into "m********sk_rcnn" and a key that is also a
 * folder name does not mask paths.
 */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) {
    if (s.length === 0) continue;
    if (s.length >= LONG_KEY) {
      out = out.split(s).join(KEY_MASK);
      continue;
    }
    let res = '';
    let from = 0;
    for (let at = out.indexOf(s); at >= 0; at = out.indexOf(s, at + 1)) {
      if (at < from || !bounded(out, at, s.length)) continue;
      res += out.slice(from, at) + KEY_MASK;
      from = at + s.length;
    }
    out = res + out.slice(from);
  }
  return out;
}

/** Quote an argument for a POSIX shell only when needed. */
export function shellQuote(arg: string): string {
  if (arg === '') return "''";
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}
