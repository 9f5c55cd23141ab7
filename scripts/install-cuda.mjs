#!/usr/bin/env node
// `npm run install:cuda`: downloads onnxruntime-node's CUDA 12 execution provider (from NuGet, so it
// needs network access beyond the npm registry) by running the package's own install script with
// ONNXRUNTIME_NODE_INSTALL=cuda12. The variable wins over the project's .npmrc, which skips that
// download during `npm ci`. Needs CUDA 12 and cuDNN 9 on the machine at run time.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const dir = path.dirname(require.resolve('onnxruntime-node/package.json'));
const lib = path.join(dir, 'bin', 'napi-v6', process.platform, process.arch, 'libonnxruntime_providers_cuda.so');

if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.error(`install:cuda: onnxruntime-node ships a CUDA provider for linux/x64 only (this is ${process.platform}/${process.arch}).`);
  process.exit(1);
}
console.log(`install:cuda: running ${path.relative(process.cwd(), path.join(dir, 'script', 'install.js'))} with ONNXRUNTIME_NODE_INSTALL=cuda12`);
const r = spawnSync(process.execPath, [path.join(dir, 'script', 'install.js')], {
  cwd: dir,
  stdio: 'inherit',
  env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'cuda12' },
});
if (r.status !== 0 || !existsSync(lib)) {
  console.error(`install:cuda: failed${r.status !== 0 ? ` (exit ${r.status})` : ''}; ${lib} is ${existsSync(lib) ? 'present' : 'missing'}.`);
  console.error('It downloads from api.nuget.org: check the network/proxy. Exports keep running on the CPU meanwhile.');
  process.exit(1);
}
console.log(`install:cuda: installed ${lib}. \`export-studio gpus\` now reports the CUDA provider as installed.`);
