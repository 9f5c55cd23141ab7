/**
 * Source text with line/column lookup and caret excerpts for error messages.
 * Lines and columns are 1-based; a column counts UTF-16 code units (what JS string indices and
 * most editors' "Col" indicators count), so a tab is one column.
 */

export interface Position {
  line: number;
  column: number;
}

export class SourceText {
  readonly text: string;
  readonly file: string;
  /** Offset of the first character of each line. */
  private readonly lineStarts: number[];

  constructor(text: string, file: string) {
    this.text = text;
    this.file = file;
    this.lineStarts = [0];
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 10) this.lineStarts.push(i + 1);
      else if (c === 13 && text.charCodeAt(i + 1) !== 10) this.lineStarts.push(i + 1); // lone CR
    }
  }

  get lineCount(): number {
    return this.lineStarts.length;
  }

  positionAt(offset: number): Position {
    const o = Math.max(0, Math.min(offset, this.text.length));
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.lineStarts[mid] ?? 0) <= o) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: o - (this.lineStarts[lo] ?? 0) + 1 };
  }

  /** The text of a 1-based line without its line break. */
  lineText(line: number): string {
    const start = this.lineStarts[line - 1];
    if (start === undefined) return '';
    const next = this.lineStarts[line];
    let end = next === undefined ? this.text.length : next;
    while (end > start && (this.text[end - 1] === '\n' || this.text[end - 1] === '\r')) end--;
    return this.text.slice(start, end);
  }

  excerpt(line: number, column: number): string {
    return excerptOf(this, line, column);
  }
}

const MAX_EXCERPT_WIDTH = 160;

/**
 * The line before (when there is one) and the line of the error, with a gutter of line numbers
 * and a caret under the column. Tabs are kept in the caret line so the caret lines up in a
 * terminal whatever its tab width; very long lines are cut around the column.
 */
export function excerptOf(src: SourceText, line: number, column: number): string {
  const width = String(line).length;
  const gutter = (n: number | null): string => (n === null ? ' '.repeat(width) : String(n).padStart(width)) + ' | ';
  const out: string[] = [];
  if (line > 1) {
    const prev = src.lineText(line - 1);
    if (prev.trim() !== '') out.push(gutter(line - 1) + clip(prev, 0).text);
  }
  const text = src.lineText(line);
  const col = Math.max(1, column);
  const { text: shown, shift } = clip(text, col - 1);
  out.push(gutter(line) + shown);
  const before = shown.slice(0, Math.max(0, col - 1 - shift));
  const pad = before.replace(/[^\t]/g, ' ');
  out.push(gutter(null) + pad + '^');
  return out.join('\n');
}

function clip(text: string, index: number): { text: string; shift: number } {
  if (text.length <= MAX_EXCERPT_WIDTH) return { text, shift: 0 };
  const start = Math.max(0, Math.min(index - MAX_EXCERPT_WIDTH / 2, text.length - MAX_EXCERPT_WIDTH));
  const body = text.slice(start, start + MAX_EXCERPT_WIDTH);
  // "…" takes one column, so shift the caret by one less than the cut.
  return start > 0 ? { text: '…' + body, shift: start - 1 } : { text: body, shift: 0 };
}
