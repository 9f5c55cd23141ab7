import sharp from 'sharp';
import { createUnitRng } from '../../electron/pipeline/data/sampling.js';

type Rng = () => number;

/** A category of the bundled sample (ids have a gap on purpose: labels.txt must fill it). */
export const SAMPLE_CATEGORIES = [
  { id: 1, name: 'disc' },
  { id: 2, name: 'block' },
  { id: 4, name: 'tri' },
] as const;

export interface SceneObject {
  categoryId: number;
  /** [x, y, w, h] in pixels, COCO style. */
  bbox: [number, number, number, number];
}

export interface Scene {
  fileName: string;
  width: number;
  height: number;
  format: 'jpeg' | 'png';
  gray: boolean;
  bytes: Buffer;
  objects: SceneObject[];
}

const SIZES: [number, number][] = [
  [640, 480],
  [800, 600],
  [500, 375],
  [480, 640],
  [1024, 576],
];

function colour(rng: Rng): string {
  const c = () => Math.floor(40 + rng() * 200);
  return `rgb(${c()},${c()},${c()})`;
}

/**
 * Render one deterministic synthetic scene: a gradient background with discs, blocks and
 * triangles (the sample's three classes). SVG rendered by sharp's librsvg, then encoded.
 */
export async function renderScene(index: number, seed: number): Promise<Scene> {
  const rng = createUnitRng(seed * 7919 + index);
  const [width, height] = SIZES[index % SIZES.length] as [number, number];
  const n = 2 + Math.floor(rng() * 4);
  const objects: SceneObject[] = [];
  const shapes: string[] = [];
  for (let i = 0; i < n; i++) {
    const cat = SAMPLE_CATEGORIES[Math.floor(rng() * SAMPLE_CATEGORIES.length)] ?? SAMPLE_CATEGORIES[0];
    const w = Math.round(width * (0.12 + rng() * 0.25));
    const h = cat.name === 'disc' ? w : Math.round(height * (0.12 + rng() * 0.25));
    const x = Math.round(rng() * (width - w));
    const y = Math.round(rng() * (height - h));
    const fill = colour(rng);
    if (cat.name === 'disc') shapes.push(`<ellipse cx="${x + w / 2}" cy="${y + h / 2}" rx="${w / 2}" ry="${h / 2}" fill="${fill}"/>`);
    else if (cat.name === 'block') shapes.push(`<rect x="${x}" y="${y}" width="${w}" height="${h}" fill="${fill}" rx="${Math.round(w / 10)}"/>`);
    else shapes.push(`<polygon points="${x + w / 2},${y} ${x + w},${y + h} ${x},${y + h}" fill="${fill}"/>`);
    objects.push({ categoryId: cat.id, bbox: [x, y, w, h] });
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="${colour(rng)}"/><stop offset="1" stop-color="${colour(rng)}"/></linearGradient></defs>
    <rect width="100%" height="100%" fill="url(#g)"/>${shapes.join('')}</svg>`;
  const gray = index % 11 === 5; // COCO has grayscale JPEGs too
  const format: 'jpeg' | 'png' = index % 7 === 3 ? 'png' : 'jpeg';
  let img = sharp(Buffer.from(svg));
  if (gray) img = img.toColourspace('b-w');
  const bytes = format === 'png' ? await img.png().toBuffer() : await img.jpeg({ quality: 88 }).toBuffer();
  return { fileName: `scene_${String(index).padStart(4, '0')}.${format === 'png' ? 'png' : 'jpg'}`, width, height, format, gray, bytes, objects };
}
