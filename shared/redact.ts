/** The placeholder shown wherever a key would appear. */
export const KEY_MASK = '********';

/**
 * Replace every occurrence of each secret in text. Used on every log line, report and shown
 * command, so a key typed as a flag value, inside a path or a quoted string never leaks.
 */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) {
    if (s.length === 0) continue;
    out = out.split(s).join(KEY_MASK);
  }
  return out;
}

/** Quote an argument for a POSIX shell only when needed. */
export function shellQuote(arg: string): string {
  if (arg === '') return "''";
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}
