import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { StudioError } from '../../../shared/errors.js';
import { parseTextFormat, type FieldNode, type ScalarNode, type ValueNode } from './textformat.js';

function scalar(v: ValueNode | undefined): ScalarNode {
  if (!v || v.kind === 'message' || v.kind === 'list') throw new Error(`not a scalar: ${v?.kind}`);
  return v;
}

function fields(text: string): FieldNode[] {
  return parseTextFormat(text, 'spec.txt').fields;
}

function syntaxErrorOf(text: string): StudioError {
  try {
    parseTextFormat(text, 'bad.txt');
  } catch (e) {
    if (e instanceof StudioError) return e;
    throw e;
  }
  throw new Error('expected a syntax error');
}

describe('parseTextFormat', () => {
  it('reads nested messages with or without colon, with {} or <>', () => {
    const f = fields('a{ x: 1 }\nb: { y: 2 }\nc < z: 3 >\nd: < >');
    expect(f.map((x) => [x.name, x.hasColon, x.value.kind])).toEqual([
      ['a', false, 'message'],
      ['b', true, 'message'],
      ['c', false, 'message'],
      ['d', true, 'message'],
    ]);
    const c = f[2]?.value;
    expect(c?.kind === 'message' && c.fields[0]?.name).toBe('z');
    expect(c?.kind === 'message' && c.end).toEqual({ line: 3, column: 10, offset: 31 });
  });

  it('gives 1-based line and column of fields and values', () => {
    const f = fields('# header\n  seed: 123\n\tdata_config {\n\t\timage_size: "(1, 2)"\n\t}\n');
    expect(f[0]).toMatchObject({ name: 'seed', line: 2, column: 3 });
    expect(f[0]?.value).toMatchObject({ kind: 'number', text: '123', line: 2, column: 9 });
    const inner = f[1]?.value;
    expect(f[1]).toMatchObject({ line: 3, column: 2 });
    if (inner?.kind !== 'message') throw new Error('message expected');
    expect(inner.fields[0]).toMatchObject({ name: 'image_size', line: 4, column: 3 });
    expect(inner.fields[0]?.value).toMatchObject({ kind: 'string', value: '(1, 2)', line: 4, column: 15 });
  });

  it('reads repeated fields by repetition and by list syntax', () => {
    const f = fields('tags: "a" tags: \'b\'\ntags: ["c", "d"]\nempty: []\nmsgs [{a: 1}, <b: 2>]');
    expect(f.map((x) => x.name)).toEqual(['tags', 'tags', 'tags', 'empty', 'msgs']);
    const list = f[2]?.value;
    expect(list?.kind === 'list' && list.items.map((i) => (i.kind === 'string' ? i.value : i.kind))).toEqual(['c', 'd']);
    expect(f[3]?.value).toMatchObject({ kind: 'list', items: [] });
    const msgs = f[4]?.value;
    expect(msgs?.kind === 'list' && msgs.items.map((i) => i.kind)).toEqual(['message', 'message']);
  });

  it('decodes string escapes and joins adjacent strings', () => {
    const f = fields(String.raw`s: "a\n\t\\\"\'\x41\101\u00e9" 'x' "y"` + '\nt: "\\xc3\\xa9"');
    const s = scalar(f[0]?.value);
    expect(s.kind === 'string' && s.value).toBe('a\n\t\\"\'AAéxy');
    const t = scalar(f[1]?.value);
    expect(t.kind === 'string' && t.value).toBe('é');
    // Each decoded character keeps the offset of what produced it.
    if (s.kind !== 'string') throw new Error('string expected');
    expect(s.charOffsets[0]).toBe(4); // 'a'
    expect(s.charOffsets[1]).toBe(5); // '\n' escape starts at the backslash
    expect(s.charOffsets[s.value.length - 1]).toBe(String.raw`s: "a\n\t\\\"\'\x41\101\u00e9" 'x' "`.length);
  });

  it('keeps number tokens as written, with the sign separate', () => {
    const texts = ['0.', '10.', '.5', '1e-4', '-3', '0x1F', '017', '2.5f', '1E+3'];
    const f = fields(texts.map((t, i) => `n${i}: ${t}`).join('\n'));
    expect(f.map((x) => scalar(x.value))).toMatchObject([
      { kind: 'number', text: '0.', negative: false },
      { kind: 'number', text: '10.' },
      { kind: 'number', text: '.5' },
      { kind: 'number', text: '1e-4' },
      { kind: 'number', text: '3', negative: true, column: 5 },
      { kind: 'number', text: '0x1F' },
      { kind: 'number', text: '017' },
      { kind: 'number', text: '2.5f' },
      { kind: 'number', text: '1E+3' },
    ]);
  });

  it('reads identifiers: booleans, enums, inf and nan', () => {
    const f = fields('a: True b: t c: false d: -inf e: nan f: OFFLINE');
    expect(f.map((x) => scalar(x.value))).toMatchObject([
      { kind: 'identifier', text: 'True' },
      { kind: 'identifier', text: 't' },
      { kind: 'identifier', text: 'false' },
      { kind: 'identifier', text: 'inf', negative: true },
      { kind: 'identifier', text: 'nan' },
      { kind: 'identifier', text: 'OFFLINE' },
    ]);
  });

  it('accepts ; and , separators, comments everywhere, a BOM and CRLF', () => {
    const f = fields('\ufeffa: 1; b: 2, # c: 3\r\nm { x: 1; } # end');
    expect(f.map((x) => x.name)).toEqual(['a', 'b', 'm']);
    expect(f[2]).toMatchObject({ line: 2, column: 1 });
  });

  describe('syntax errors carry file, line, column and a caret excerpt', () => {
    const cases: [string, string, number, number, RegExp][] = [
      ['unterminated string', 'a: 1\nb: "abc\nc: 2', 2, 4, /Unterminated string/],
      ['missing colon before scalar', 'seed 123', 1, 6, /Expected ':' or '\{'/],
      ['unclosed block', 'data_config {\n  x: 1\n', 1, 13, /Unclosed '\{'/],
      ['stray closing brace', 'a: 1\n}', 2, 1, /no block is open/],
      ['bad number', 'a: 12abc', 1, 4, /Invalid number '12abc'/],
      ['bad escape', 'a: "x\\q"', 1, 6, /Invalid escape/],
      ['unexpected character', 'a: 1\n  @b: 2', 2, 3, /Unexpected character '@'/],
      ['value missing', 'a: }', 1, 4, /Expected a value/],
      ['list not closed', 'a: [1, 2', 1, 4, /Unclosed '\['/],
      ['list separator', 'a: [1 2]', 1, 7, /Expected ',' or ']'/],
      ['sign without number', 'a: - 3', 1, 4, /right after '-'/],
      ['extension names', '[foo.bar]: 1', 1, 1, /Extension/],
      ['bad UTF-8 escapes', 'a: "\\xff"', 1, 5, /UTF-8/],
    ];
    it.each(cases)('%s', (_name, text, line, column, message) => {
      const e = syntaxErrorOf(text);
      expect(e.code).toBe('E_SPEC_SYNTAX');
      expect(e.message).toMatch(message);
      expect(e.location).toMatchObject({ file: 'bad.txt', line, column });
      const excerpt = e.location.excerpt ?? '';
      const shown = excerpt.split('\n');
      const caret = shown[shown.length - 1] ?? '';
      const srcLine = shown[shown.length - 2] ?? '';
      // The caret sits under the column of the offending line.
      expect(srcLine).toContain(`${line} | `);
      expect(caret.indexOf('^') - caret.indexOf('|') - 2).toBe(column - 1);
    });

    it('keeps tabs in the caret line so it lines up', () => {
      const e = syntaxErrorOf('m {\n\t\tx 1\n}');
      expect(e.location).toMatchObject({ line: 2, column: 5 });
      expect(e.location.excerpt?.split('\n').pop()).toMatch(/\| \t\t {2}\^$/);
    });
  });

  it('rejects nesting deeper than protobuf allows instead of overflowing the stack', () => {
    const deep = 'a {'.repeat(5000) + '}'.repeat(5000);
    expect(() => parseTextFormat(deep, 'deep.txt')).toThrowError(/nested more than 100/);
    expect(() => parseTextFormat('a {'.repeat(50) + '}'.repeat(50), 'ok.txt')).not.toThrow();
  });

  it('never crashes or hangs on arbitrary input: an AST or a StudioError', () => {
    const alphabet = fc.constantFrom(...'ab_ 019.-+xe{}<>[]:;,#"\'\\\n\t\rfnt'.split(''));
    const tokens = fc.constantFrom('data_config', '{', '}', ': ', '"(1, 2)"', "'x'", '[', ']', ',', '-', 'inf', '0x1F', '.5', '1e-4', '#c\n', '\n', '<', '>', '\\x41', ' ');
    const check = (text: string): void => {
      try {
        const doc = parseTextFormat(text, 'fuzz.txt');
        expect(Array.isArray(doc.fields)).toBe(true);
      } catch (e) {
        expect(e).toBeInstanceOf(StudioError);
        const se = e as StudioError;
        expect(se.code).toBe('E_SPEC_SYNTAX');
        expect(se.location.line).toBeGreaterThanOrEqual(1);
        expect(se.location.column).toBeGreaterThanOrEqual(1);
      }
    };
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), check), { numRuns: 400 });
    fc.assert(fc.property(fc.array(alphabet, { maxLength: 200 }).map((a) => a.join('')), check), { numRuns: 400 });
    fc.assert(fc.property(fc.array(tokens, { maxLength: 80 }).map((a) => a.join('')), check), { numRuns: 400 });
  });
});
