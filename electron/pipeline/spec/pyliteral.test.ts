import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parsePyLiteral, PyLiteralError, type PyNode } from './pyliteral.js';

/** Plain JS value of a literal, for readable assertions. */
function plain(n: PyNode): unknown {
  return n.kind === 'int' || n.kind === 'float' ? n.value : n.items.map(plain);
}

describe('parsePyLiteral', () => {
  it.each([
    ['(832, 1344)', [832, 1344]],
    ['[(1.0, 1.0), (1.4, 0.7), (0.7, 1.4)]', [[1, 1], [1.4, 0.7], [0.7, 1.4]]],
    ['(10., 10., 5., 5.)', [10, 10, 5, 5]],
    ['[0,1]', [0, 1]],
    [' [ 1e-4 , -.5, +3, 1_000, 0x10 , ] ', [1e-4, -0.5, 3, 1000, 16]],
    ['((7))', 7],
    ['(7,)', [7]],
    ['()', []],
  ])('%s', (text, value) => {
    expect(plain(parsePyLiteral(text))).toEqual(value);
  });

  it('tells ints from floats and keeps positions', () => {
    const n = parsePyLiteral('(832, 13.5)');
    expect(n).toMatchObject({ kind: 'tuple', start: 0, end: 11, items: [{ kind: 'int', start: 1, end: 4 }, { kind: 'float', start: 6, end: 10 }] });
  });

  it.each([
    ['(1 2)', 3, /expected ','/],
    ['(1, 2', 5, /expected ',' or '\)', found the end/],
    ['[1, 2)', 5, /expected ',' or '\]', found '\)'/],
    ['1.2.3', 0, /invalid number/],
    ['012', 0, /leading zeros/],
    ['(1, 2) x', 7, /unexpected 'x' after/],
    ['-(1, 2)', 0, /sign needs a number/],
    ['', 0, /expected a number/],
    ['True', 0, /expected a number/],
  ])('rejects %j at index %i', (text, index, message) => {
    let err: unknown;
    try {
      parsePyLiteral(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PyLiteralError);
    expect((err as PyLiteralError).index).toBe(index);
    expect((err as PyLiteralError).message).toMatch(message);
  });

  it('never throws anything but PyLiteralError, and positions stay inside the string', () => {
    const chars = fc.constantFrom(...'()[],. -+0123456789e_x'.split(''));
    fc.assert(
      fc.property(fc.array(chars, { maxLength: 60 }).map((a) => a.join('')), (s) => {
        try {
          const n = parsePyLiteral(s);
          expect(n.end).toBeLessThanOrEqual(s.length);
        } catch (e) {
          expect(e).toBeInstanceOf(PyLiteralError);
          expect((e as PyLiteralError).index).toBeLessThanOrEqual(s.length);
        }
      }),
      { numRuns: 500 },
    );
  });
});
