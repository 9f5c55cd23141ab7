import { describe, expect, it } from 'vitest';
import { escapeValue, IniError, parseIni, sectionMap, unescapeValue } from './ini.js';

describe('parseIni', () => {
  it('reads groups, keys, whole-line comments', () => {
    const doc = parseIni('# top\n[property]\ngpu-id=0\n  offsets = 1;2;3 \n\n[class-attrs-all]\n# c\npre-cluster-threshold=0.8\n');
    expect(doc.sections.map((s) => s.name)).toEqual(['property', 'class-attrs-all']);
    expect(Object.fromEntries(sectionMap(doc, 'property') ?? [])).toEqual({ 'gpu-id': '0', offsets: '1;2;3' });
    expect(doc.sections[1]?.entries[0]).toEqual({ key: 'pre-cluster-threshold', value: '0.8', line: 8 });
  });

  it('keeps "## comment" in the value unless inline comments are asked for (GLib has none)', () => {
    const text = '[p]\nnetwork-type=3 ## 3 is for instance segmentation network';
    expect(sectionMap(parseIni(text), 'p')?.get('network-type')).toBe('3 ## 3 is for instance segmentation network');
    expect(sectionMap(parseIni(text, { inlineComments: true }), 'p')?.get('network-type')).toBe('3');
  });

  it('rejects duplicates and stray lines with the line number', () => {
    expect(() => parseIni('[p]\na=1\na=2')).toThrowError(new IniError("key 'a' appears twice in [p]", 3));
    expect(() => parseIni('a=1')).toThrowError(/line 1: key=value before any \[group\]/);
    expect(() => parseIni('[p]\nnot a pair')).toThrowError(/line 2: expected key=value/);
    expect(() => parseIni('[p]\n[p]')).toThrowError(/appears twice/);
  });

  it('escapes values the GLib way and reads them back', () => {
    for (const v of ['plain', ' leading space', 'back\\slash', 'tab\tand\nnewline', '\\s literal']) {
      const written = escapeValue(v);
      expect(written).not.toMatch(/[\n\t]/);
      expect(unescapeValue(written)).toBe(v);
      expect(sectionMap(parseIni(`[p]\nk=${written}`), 'p')?.get('k')).toBe(v);
    }
  });
});
