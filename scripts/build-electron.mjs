#!/usr/bin/env node
// Bundles the Electron edge with esbuild (type-checking is `npm run typecheck`):
//   out/electron/main.js     ESM, the composition root; imports the host; npm packages and
//                            'electron' stay external (native addons must load from node_modules).
//   out/electron/preload.cjs CommonJS, ONE file: a sandboxed preload can require only 'electron'
//                            (and events/timers/url), never a second file of ours.
// The utility-process worker entry (out/worker/utility.js) is built by scripts/build.mjs.
// Usage: node scripts/build-electron.mjs   or   import { buildElectron } from './build-electron.mjs'
import { build } from 'esbuild';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export async function buildElectron({ outDir = path.join(root, 'out'), sourcemap = 'linked' } = {}) {
  await build({
    absWorkingDir: root,
    entryPoints: { 'electron/main': 'electron/main/main.ts' },
    outdir: outDir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    packages: 'external',
    external: ['electron'],
    sourcemap,
    logLevel: 'warning',
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  await build({
    absWorkingDir: root,
    entryPoints: ['electron/preload/index.ts'],
    outfile: path.join(outDir, 'electron', 'preload.cjs'),
    bundle: true,
    // 'browser': the sandboxed preload has no Node built-ins; anything that pulls one in fails the build.
    platform: 'browser',
    format: 'cjs',
    target: 'chrome130',
    external: ['electron'],
    sourcemap: sourcemap === false ? false : 'inline',
    logLevel: 'warning',
  });
  return { main: path.join(outDir, 'electron', 'main.js'), preload: path.join(outDir, 'electron', 'preload.cjs') };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const out = await buildElectron();
  console.log(`built ${path.relative(root, out.main)} and ${path.relative(root, out.preload)}`);
}
