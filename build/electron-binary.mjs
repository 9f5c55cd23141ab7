// Where the Electron binary is, WITHOUT loading the `electron` npm package: since Electron 42
// `require('electron')` downloads the binary when it is missing. Mirrors node_modules/electron/
// index.js: ELECTRON_OVERRIDE_DIST_PATH first, else dist/<path.txt>. Returns null when absent.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * @param {{ root?: string, env?: Record<string, string | undefined> }} [options]
 * @returns {string | null}
 */
export function findElectronBinary({ root = process.cwd(), env = process.env } = {}) {
  let pkgDir;
  try {
    pkgDir = path.dirname(createRequire(path.join(root, 'package.json')).resolve('electron/package.json'));
  } catch {
    pkgDir = null;
  }
  const pathTxt = pkgDir ? path.join(pkgDir, 'path.txt') : null;
  const rel = pathTxt && existsSync(pathTxt) ? readFileSync(pathTxt, 'utf8').trim() : '';
  if (env.ELECTRON_OVERRIDE_DIST_PATH) {
    const p = path.join(env.ELECTRON_OVERRIDE_DIST_PATH, rel || 'electron');
    return existsSync(p) ? p : null;
  }
  if (!pkgDir || !rel) return null;
  const p = path.join(pkgDir, 'dist', rel);
  return existsSync(p) ? p : null;
}

export const NO_ELECTRON_MESSAGE =
  'No Electron binary here (node_modules/electron has no dist/, ELECTRON_OVERRIDE_DIST_PATH unset).';
