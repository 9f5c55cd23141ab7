#!/usr/bin/env node
// Builds the runnable JavaScript into out/ with esbuild (type-checking is `npm run typecheck`).
// npm packages stay external (native addons: onnxruntime-node, sharp, @node-rs/crc32; h5wasm's wasm).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
execFileSync(process.execPath, [path.join(root, 'scripts/gen-onnx-proto.mjs')], { stdio: 'inherit' });

/** entry (repo-relative TS) → output (relative to out/) */
const entries = {
  'cli/export-studio': 'electron/cli/export-studio.ts',
  'scripts/make-sample': 'scripts/make-sample.ts',
  'worker/fork': 'electron/worker/fork.ts',
  'worker/utility': 'electron/worker/utility.ts',
  'bench/seal': 'bench/seal/seal.bench.ts',
  'bench/calibration': 'bench/calibration/calibration.bench.ts',
  'bench/int8': 'bench/int8/int8.bench.ts',
};
// The preprocessing pool loads `loader-worker.js` next to the bundle that contains loader.ts.
for (const dir of ['cli', 'worker', 'scripts', 'bench']) entries[`${dir}/loader-worker`] = 'electron/pipeline/data/loader-worker.ts';
const present = Object.fromEntries(Object.entries(entries).filter(([, src]) => existsSync(path.join(root, src))));

await build({
  absWorkingDir: root,
  entryPoints: Object.fromEntries(Object.entries(present).map(([out, src]) => [out, src])),
  outdir: path.join(root, 'out'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning',
  banner: {
    // Bundled ESM still meets CommonJS-style code paths in some dependencies.
    js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
  },
});
console.log(`built ${Object.keys(present).length} entries into out/`);

// The Electron main (ESM) and the sandboxed preload (one CommonJS file) → out/electron.
await (await import('./build-electron.mjs')).buildElectron();
console.log('built the Electron main and preload into out/electron/');

// The renderer (React wizard) for the desktop app and web mode → out/renderer.
if (!process.argv.includes('--no-renderer')) {
  const { build: viteBuild } = await import('vite');
  await viteBuild({ configFile: path.join(root, 'renderer/vite.config.ts'), logLevel: 'warn' });
  console.log('built the renderer into out/renderer/');
}
