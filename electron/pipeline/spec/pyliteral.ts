/**
 * The Python-literal subset TAO evaluates inside spec strings (`image_size: "(832, 1344)"`,
 * `aspect_ratios: "[(1.0, 1.0), (1.4, 0.7)]"`): numbers, tuples and lists, nested, with
 * Python's rules for `(x)` (just x), `(x,)` (a 1-tuple) and trailing commas. Positions are
 * indices into the string, so callers can map them back into the spec file.
 */

export type PyNode =
  | { kind: 'int'; value: number; start: number; end: number }
  | { kind: 'float'; value: number; start: number; end: number }
  | { kind: 'tuple' | 'list'; items: PyNode[]; start: number; end: number };

export class PyLiteralError extends Error {
  constructor(
    message: string,
    readonly index: number,
  ) {
    super(message);
    this.name = 'PyLiteralError';
  }
}

const MAX_DEPTH = 50;

export function parsePyLiteral(s: string): PyNode {
  let i = 0;
  const ws = (): void => {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t' || s[i] === '\n' || s[i] === '\r')) i++;
  };
  const describe = (): string => (i >= s.length ? 'the end of the string' : `'${s[i]}'`);

  const value = (depth: number): PyNode => {
    if (depth > MAX_DEPTH) throw new PyLiteralError('nested too deeply', i);
    ws();
    const start = i;
    const c = s[i];
    if (c === '(' || c === '[') {
      const close = c === '(' ? ')' : ']';
      i++;
      const items: PyNode[] = [];
      let sawComma = false;
      for (;;) {
        ws();
        if (s[i] === close) {
          i++;
          break;
        }
        if (items.length > 0 && !sawComma) throw new PyLiteralError(`expected ',' or '${close}', found ${describe()}`, i);
        items.push(value(depth + 1));
        ws();
        sawComma = s[i] === ',';
        if (sawComma) i++;
      }
      // "(x)" is a parenthesised expression, not a tuple.
      if (c === '(' && items.length === 1 && !sawComma) {
        const only = items[0] as PyNode;
        return { ...only, start, end: i } as PyNode;
      }
      return { kind: c === '(' ? 'tuple' : 'list', items, start, end: i };
    }
    if (c === '-' || c === '+') {
      i++;
      const inner = value(depth + 1);
      if (inner.kind !== 'int' && inner.kind !== 'float') throw new PyLiteralError(`a sign needs a number after it`, start);
      return { ...inner, value: c === '-' ? -inner.value : inner.value, start };
    }
    const m = /^(?:0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|(\d[\d_]*)?(\.\d[\d_]*|\.)?([eE][+-]?\d+)?)/.exec(s.slice(i));
    const text = m?.[0] ?? '';
    if (!/^[\d.]/.test(text) || !/\d/.test(text)) {
      throw new PyLiteralError(`expected a number, '(' or '[', found ${describe()}`, i);
    }
    const after = s[i + text.length];
    if (after !== undefined && /[A-Za-z0-9_.]/.test(after)) throw new PyLiteralError(`invalid number '${s.slice(i).match(/^[A-Za-z0-9_.]+/)?.[0] ?? text}'`, i);
    i += text.length;
    const clean = text.replace(/_/g, '');
    if (/^0[xXoObB]/.test(clean)) return { kind: 'int', value: Number(clean), start, end: i };
    if (/[.eE]/.test(clean)) return { kind: 'float', value: Number(clean.endsWith('.') ? clean + '0' : clean), start, end: i };
    if (clean.length > 1 && clean.startsWith('0') && /[1-9]/.test(clean)) {
      throw new PyLiteralError(`leading zeros are not allowed in Python integers ('${text}')`, start);
    }
    return { kind: 'int', value: Number(clean), start, end: i };
  };

  const root = value(0);
  ws();
  if (i < s.length) throw new PyLiteralError(`unexpected ${describe()} after the value`, i);
  return root;
}
