/**
 * Text bound for a terminal carries names from models, specs and file systems, which can hold
 * escape sequences (retitle the window, rewrite earlier lines, hide text) or bare control
 * characters. Everything the CLI prints goes through `terminalSafe`: control characters become
 * visible `\xNN` escapes. Line breaks, tabs and the progress line's own sequence
 * (`\r` + ESC[2K, clear line) are kept.
 */
const OWN_CLEAR_LINE = '\r\x1b[2K';
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/g;

export function terminalSafe(text: string): string {
  return text
    .split(OWN_CLEAR_LINE)
    .map((part) => part.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`))
    .join(OWN_CLEAR_LINE);
}

/** The same writer, with everything it prints made terminal-safe. */
export function safeWriter(write: (s: string) => void): (s: string) => void {
  return (s) => write(terminalSafe(s));
}
