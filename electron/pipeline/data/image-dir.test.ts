import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isStudioError } from '../../../shared/errors.js';
import { decodeBmp } from './bmp.js';
import { createImageDirSource, createImageListSource, IMAGE_EXTENSIONS } from './image-dir.js';
import { tempDir, unitPp, writeSolid } from './test-images.js';
import type { Sample } from './types.js';

let dir: string;
const names = ['b.JPG', 'a.png', 'c.jpeg', 'd.PnG', 'e.png', 'f.png', 'g.png', 'h.png', 'i.png', 'j.png'];

beforeAll(async () => {
  dir = await tempDir();
  for (const [i, n] of names.entries()) await writeSolid(path.join(dir, n), 20 * (i + 1));
  await fs.writeFile(path.join(dir, 'notes.txt'), 'not an image');
  await fs.mkdir(path.join(dir, 'sub.png'));
  await fs.mkdir(path.join(dir, 'nested'));
  await writeSolid(path.join(dir, 'nested', 'deep.png'), 1);
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function collect(it: AsyncIterable<Sample>): Promise<Sample[]> {
  const out: Sample[] = [];
  for await (const s of it) out.push(s);
  return out;
}
const base = (ids: readonly string[]) => ids.map((s) => path.basename(s));

async function codeOf(p: Promise<unknown>) {
  try {
    await p;
  } catch (e) {
    return isStudioError(e) ? e.code : `non-studio: ${String(e)}`;
  }
  return undefined;
}

describe('createImageDirSource', () => {
  it('takes the top level only, extensions case-insensitively, sorted by name', async () => {
    const src = await createImageDirSource({ dir, count: 100, seed: 1, pp: unitPp() });
    expect(base(src.selection)).toEqual(['a.png', 'b.JPG', 'c.jpeg', 'd.PnG', 'e.png', 'f.png', 'g.png', 'h.png', 'i.png', 'j.png']);
    const samples = await collect(src.samples());
    expect(base(samples.map((s) => s.id))).toEqual(base(src.selection));
    // a.png has red 40 (second written); sample value = 40/255 (PNG is lossless)
    expect(samples[0]!.data[0]).toBeCloseTo(40 / 255, 6);
    expect(src.requested).toBe(100);
    expect(src.planned).toBe(10);
    expect(IMAGE_EXTENSIONS).toContain('.tiff');
  });

  it('sub-samples with the seed: deterministic, differs by seed, yielded in name order', async () => {
    const a = await createImageDirSource({ dir, count: 4, seed: 7, pp: unitPp() });
    const b = await createImageDirSource({ dir, count: 4, seed: 7, pp: unitPp() });
    const c = await createImageDirSource({ dir, count: 4, seed: 8, pp: unitPp() });
    expect(a.selection).toEqual(b.selection);
    expect(a.selection).not.toEqual(c.selection);
    const main = base(a.selection.slice(0, 4));
    expect(main).toEqual([...main].sort());
    expect(a.planned).toBe(8); // 4 + a reserve of 4 for skipped images
    const samples = await collect(a.samples());
    expect(samples.map((s) => s.id)).toEqual(a.selection.slice(0, 4));
  });

  it('skips undecodable images, counts them, and uses the reserve instead', async () => {
    const d2 = await tempDir();
    try {
      for (let i = 0; i < 6; i++) await writeSolid(path.join(d2, `img${i}.png`), 10 * i);
      await fs.writeFile(path.join(d2, 'img2.png'), 'garbage');
      await fs.writeFile(path.join(d2, 'img4.jpg'), Buffer.alloc(100));
      const src = await createImageDirSource({ dir: d2, count: 7, seed: 3, pp: unitPp() });
      const samples = await collect(src.samples());
      expect(samples).toHaveLength(5);
      expect(src.skipped.get('undecodable')).toBe(2);
      expect(base(src.skippedImages.map((s) => s.id)).sort()).toEqual(['img2.png', 'img4.jpg']);
      // with a reserve: 3 of 6 used, one broken → replaced from the reserve
      const few = await createImageDirSource({ dir: d2, count: 3, seed: 3, pp: unitPp() });
      expect(await collect(few.samples())).toHaveLength(3);
    } finally {
      await fs.rm(d2, { recursive: true, force: true });
    }
  });

  it('refuses missing folders, files and folders without images (never random noise)', async () => {
    expect(await codeOf(createImageDirSource({ dir: path.join(dir, 'nope'), count: 1, seed: 0, pp: unitPp() }))).toBe('E_IMAGE_DIR');
    expect(await codeOf(createImageDirSource({ dir: path.join(dir, 'a.png'), count: 1, seed: 0, pp: unitPp() }))).toBe('E_IMAGE_DIR');
    const empty = await tempDir();
    try {
      await fs.writeFile(path.join(empty, 'readme.md'), 'x');
      const e = await createImageDirSource({ dir: empty, count: 1, seed: 0, pp: unitPp() }).catch((x: unknown) => x);
      expect(isStudioError(e) && e.code).toBe('E_IMAGE_DIR');
      expect(isStudioError(e) && e.hint).toMatch(/random noise/);
    } finally {
      await fs.rm(empty, { recursive: true, force: true });
    }
  });

  it('stops with E_CANCELLED when aborted', async () => {
    const src = await createImageDirSource({ dir, count: 10, seed: 0, pp: unitPp() });
    const ac = new AbortController();
    let n = 0;
    const run = (async () => {
      for await (const _ of src.samples(ac.signal)) if (++n === 2) ac.abort();
    })();
    expect(await codeOf(run)).toBe('E_CANCELLED');
    expect(n).toBe(2);
  });
});

describe('createImageListSource', () => {
  it('keeps the given order, removes duplicates with a warning, missing files are skipped', async () => {
    const files = ['j.png', 'a.png', 'j.png', 'missing.png', 'c.jpeg'].map((n) => path.join(dir, n));
    const src = createImageListSource({ files, pp: unitPp() });
    expect(base(src.selection)).toEqual(['j.png', 'a.png', 'missing.png', 'c.jpeg']);
    expect(src.warnings[0]).toMatch(/1 duplicate/);
    const samples = await collect(src.samples());
    expect(base(samples.map((s) => s.id))).toEqual(['j.png', 'a.png', 'c.jpeg']);
    expect(src.skipped.get('missing')).toBe(1);
  });

  it('with count, uses the first usable ones and later files as replacements', async () => {
    const files = ['missing.png', 'b.JPG', 'a.png', 'e.png'].map((n) => path.join(dir, n));
    const src = createImageListSource({ files, count: 2, pp: unitPp() });
    expect(base((await collect(src.samples())).map((s) => s.id))).toEqual(['b.JPG', 'a.png']);
  });

  it('refuses an empty list', () => {
    expect(() => createImageListSource({ files: [], pp: unitPp() })).toThrow(/empty/);
  });
});

describe('BMP (sharp has no BMP loader)', () => {
  const py = '/usr/bin/python3';
  it('decodes BMPs written by PIL (24-bit, 8-bit palette, 1-bit, 32-bit) like PIL reads them', async () => {
    const { execFileSync } = await import('node:child_process');
    const d = await tempDir();
    try {
      const script = `
import json, sys
from PIL import Image
d = sys.argv[1]
im = Image.new('RGB', (5, 3))
im.putdata([((x*50) % 256, (y*80) % 256, (x*y*30) % 256) for y in range(3) for x in range(5)])
out = {}
for mode in ['RGB', 'P', '1', 'RGBA', 'L']:
    m = im.convert(mode)
    p = f'{d}/{mode}.bmp'
    m.save(p)
    out[mode] = [v for px in Image.open(p).convert('RGB').getdata() for v in px]
print(json.dumps(out))`;
      let want: Record<string, number[]>;
      try {
        want = JSON.parse(execFileSync(py, ['-c', script, d], { encoding: 'utf8' })) as Record<string, number[]>;
      } catch (e) {
        console.warn(`skipping BMP parity test: ${py} with PIL unavailable (${(e as Error).message.split('\n')[0]})`);
        return;
      }
      for (const [mode, px] of Object.entries(want)) {
        const img = decodeBmp(await fs.readFile(path.join(d, `${mode}.bmp`)));
        expect([img.width, img.height], mode).toEqual([5, 3]);
        expect([...img.data], mode).toEqual(px);
      }
      const src = createImageListSource({ files: [path.join(d, 'RGB.bmp')], pp: unitPp(3, 5) });
      for await (const s of src.samples()) expect(s.data[1]).toBeCloseTo(50 / 255, 6);
    } finally {
      await fs.rm(d, { recursive: true, force: true });
    }
  });
});
