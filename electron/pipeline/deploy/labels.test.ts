import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StudioError } from '../../../shared/errors.js';
import { buildLabels, categoriesSlice, labelsFromCategories } from './labels.js';

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'labels-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function writeJson(name: string, body: unknown): Promise<string> {
  const file = path.join(dir, name);
  await fs.writeFile(file, typeof body === 'string' ? body : JSON.stringify(body));
  return file;
}

/** COCO's real id layout: 80 names over ids 1..90 (gaps at 12, 26, 29, 30, 45, 66, 68, 69, 71, 83). */
const COCO_GAPS = [12, 26, 29, 30, 45, 66, 68, 69, 71, 83];
const cocoCategories = Array.from({ length: 90 }, (_, i) => i + 1)
  .filter((id) => !COCO_GAPS.includes(id))
  .map((id) => ({ id, name: `name${id}`, supercategory: 'x' }));

describe('buildLabels', () => {
  it('line i is class id i, BG first, gaps filled with class_<id>', async () => {
    const file = await writeJson('coco.json', { images: [], annotations: [], categories: [...cocoCategories].reverse() });
    const { text, names, warnings } = await buildLabels(file, 91);
    const lines = text.split('\n');
    expect(lines.pop()).toBe(''); // newline-terminated
    expect(lines).toHaveLength(91);
    expect(lines[0]).toBe('BG');
    for (const c of cocoCategories) expect(lines[c.id]).toBe(c.name);
    for (const id of COCO_GAPS) expect(lines[id]).toBe(`class_${id}`);
    expect(names).toEqual(lines);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('12, 26, 29, 30, 45, 66, 68, 69, 71, 83');
  });

  it('PeopleSegNet-style two classes: BG, people', async () => {
    const file = await writeJson('people.json', { categories: [{ id: 1, name: 'people' }] });
    expect(await buildLabels(file, 2)).toEqual({ text: 'BG\npeople\n', names: ['BG', 'people'], warnings: [] });
  });

  it('warns about ids ≥ num_classes and leaves them out', async () => {
    const file = await writeJson('big.json', { categories: [{ id: 1, name: 'a' }, { id: 5, name: 'far' }] });
    const r = await buildLabels(file, 3);
    expect(r.names).toEqual(['BG', 'a', 'class_2']);
    expect(r.warnings.join('\n')).toMatch(/5 'far' are ≥ num_classes \(3\)/);
  });

  it('keeps one name per line even if a name has line breaks', () => {
    const r = labelsFromCategories([{ id: 1, name: 'two\nlines ' }, { id: 2, name: '  ' }], 3);
    expect(r.text).toBe('BG\ntwo lines\nclass_2\n');
    expect(r.warnings.join()).toMatch(/empty name/);
  });

  it('falls back with a warning when the json is missing, unreadable or not given', async () => {
    for (const p of [undefined, path.join(dir, 'nope.json'), dir]) {
      const r = await buildLabels(p, 4);
      expect(r.text).toBe('BG\nclass_1\nclass_2\nclass_3\n');
      expect(r.warnings).toHaveLength(1);
      expect(r.warnings[0]).toMatch(/placeholder names/);
    }
    expect((await buildLabels(path.join(dir, 'nope.json'), 2)).warnings[0]).toMatch(/does not exist/);
  });

  it('malformed json is E_LABELS_JSON with the file', async () => {
    const cases: [string, unknown, RegExp][] = [
      ['syntax.json', '{"categories": [', /not valid JSON/],
      ['nocats.json', { images: [] }, /no "categories"/],
      ['notlist.json', { categories: 3 }, /not a list/],
      ['badid.json', { categories: [{ id: 'x', name: 'a' }] }, /no valid "id"/],
      ['noname.json', { categories: [{ id: 1 }] }, /no "name"/],
      ['dup.json', { categories: [{ id: 1, name: 'a' }, { id: 1, name: 'b' }] }, /appears twice/],
      ['zero.json', { categories: [{ id: 0, name: 'a' }] }, /id 0/],
    ];
    for (const [name, body, message] of cases) {
      const file = await writeJson(name, body);
      const err = await buildLabels(file, 3).catch((e: unknown) => e);
      expect(err, name).toBeInstanceOf(StudioError);
      expect((err as StudioError).code).toBe('E_LABELS_JSON');
      expect((err as StudioError).message).toMatch(message);
      expect((err as StudioError).location.file).toBe(file);
    }
  });
});

describe('categoriesSlice (large annotation files)', () => {
  it('finds the top-level categories and skips look-alikes in strings and nested objects', () => {
    const json = JSON.stringify({
      info: { description: 'has "categories": [1] inside a string', categories: [{ id: 9, name: 'nested' }] },
      annotations: [{ caption: 'x\\"categories\\"' }],
      categories: [{ id: 1, name: 'a]}"[' }],
    });
    const slice = categoriesSlice(Buffer.from(json));
    expect(JSON.parse(slice ?? 'null')).toEqual([{ id: 1, name: 'a]}"[' }]);
    expect(categoriesSlice(Buffer.from('{"images": []}'))).toBeUndefined();
    expect(categoriesSlice(Buffer.from('{"categories": 3}'))).toBe('null');
    expect(() => categoriesSlice(Buffer.from('{"categories": [{"id": 1}'))).toThrow(SyntaxError);
  });
});
