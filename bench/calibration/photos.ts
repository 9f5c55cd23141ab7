import fs from 'node:fs';
import path from 'node:path';

/** Real photos shipped by Debian packages: python3-skimage's sample data and GNOME wallpapers (mixed sizes, RGB and gray). */
export const PHOTO_DIRS = ['/usr/lib/python3/dist-packages/skimage/data', '/usr/share/backgrounds/gnome'] as const;

// Natural photos and textures from skimage (synthetic test patterns left out), and GNOME's raster wallpapers.
const SKIMAGE_PHOTOS = [
  'astronaut.png', 'chelsea.png', 'coffee.png', 'hubble_deep_field.jpg', 'motorcycle_left.png', 'motorcycle_right.png',
  'retina.jpg', 'rocket.jpg', 'camera.png', 'coins.png', 'moon.png', 'ihc.png', 'grass.png', 'gravel.png', 'brick.png',
];
const MIN_BYTES = 4096; // the 1-pixel 'vnc' wallpapers are not photos

/** The available photos in a fixed order (skimage first, then wallpapers by name), from `dirs` (default PHOTO_DIRS). */
export function listPhotos(dirs: readonly string[] = PHOTO_DIRS): string[] {
  const out: string[] = [];
  for (const dir of dirs) {
    if (!fs.existsSync(dir)) continue;
    const names = dir.endsWith('skimage/data') ? SKIMAGE_PHOTOS : fs.readdirSync(dir).sort();
    for (const name of names) {
      if (!/\.(png|jpe?g|webp)$/i.test(name)) continue;
      const file = path.join(dir, name);
      if (fs.existsSync(file) && fs.statSync(file).size >= MIN_BYTES) out.push(file);
    }
  }
  return out;
}

/** `n` items cycling through `files` (the benchmark needs more images than there are photos). */
export function cycle<T>(files: readonly T[], n: number): T[] {
  if (files.length === 0) throw new Error('no photos found');
  return Array.from({ length: n }, (_, i) => files[i % files.length]!);
}
