import fs from 'node:fs/promises';
import path from 'node:path';
import { StudioError } from '../../../shared/errors.js';

// The image folder listing without any decoder (no sharp): the host's preflight uses it too.

export const IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff'];

export const NOISE_HINT = 'Calibration needs real images like the ones the model will see. (TAO silently calibrates on random noise in this case; we refuse, because that cache would quantize badly.)';

/**
 * The folders an image calibration source draws from: the image folder, or the folders of a
 * hand-picked list. The fidelity check holds out the images of these folders that calibration did
 * not read (fidelity/heldout.ts), and the preflight predicts that set the same way.
 */
export function calibrationImageFolders(c: { source: string; imageDir?: string | undefined; images?: readonly string[] | undefined }): string[] {
  if (c.source === 'image-dir') return c.imageDir ? [path.resolve(c.imageDir)] : [];
  if (c.source === 'images') return [...new Set((c.images ?? []).map((f) => path.dirname(path.resolve(f))))];
  return [];
}

export async function listImages(dir: string): Promise<string[]> {
  const abs = path.resolve(dir);
  const st = await fs.stat(abs).catch(() => null);
  if (!st) throw new StudioError('E_IMAGE_DIR', `Calibration image folder not found: ${abs}`, `Check the path. ${NOISE_HINT}`, { file: abs });
  if (!st.isDirectory()) throw new StudioError('E_IMAGE_DIR', `Not a folder: ${abs}`, `Give the folder that holds the images, or use the image list to pick files. ${NOISE_HINT}`, { file: abs });
  let entries;
  try {
    entries = await fs.readdir(abs, { withFileTypes: true });
  } catch (e) {
    throw new StudioError('E_IMAGE_DIR', `Cannot list ${abs}: ${(e as Error).message}`, 'Check the folder permissions.', { file: abs }, { cause: e });
  }
  const files: string[] = [];
  for (const ent of entries) {
    if (!IMAGE_EXTENSIONS.includes(path.extname(ent.name).toLowerCase())) continue;
    const full = path.join(abs, ent.name);
    // Follow symlinks to files; skip sub-folders named like images.
    const isFile = ent.isFile() || (ent.isSymbolicLink() && (await fs.stat(full).catch(() => null))?.isFile() === true);
    if (isFile) files.push(full);
  }
  // Code-unit order: stable across platforms and locales.
  files.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (files.length === 0) {
    throw new StudioError('E_IMAGE_DIR', `No images in ${abs} (top level; extensions ${IMAGE_EXTENSIONS.join(' ')})`, `Put calibration images directly in this folder (sub-folders are not searched). ${NOISE_HINT}`, { file: abs });
  }
  return files;
}
