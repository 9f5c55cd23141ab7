#!/usr/bin/env node
// `npm run demo`: generate the bundled sample (if needed) and export it end to end with the CLI,
// exactly as a user would type it. Run after `npm run build` (the npm script does both).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const node = process.execPath;
// `shown`: the command as printed (a key only as "$EXPORT_STUDIO_KEY", never its value).
const run = (args, opts = {}, shown = args) => {
  console.log(`\n$ ${shown.map((a) => (/[\s*]/.test(a) && !a.startsWith('"$') ? `'${a}'` : a)).join(' ')}`);
  const r = spawnSync(node, args, { cwd: root, stdio: 'inherit', ...opts });
  if (r.status !== 0) process.exit(r.status ?? 1);
};

run(['out/scripts/make-sample.js', 'sample']);
const out = path.join(root, 'sample', 'out');
fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });
const cli = 'out/cli/export-studio.js';
const precision = process.argv.includes('--fp16') ? 'fp16' : process.argv.includes('--fp32') ? 'fp32' : 'int8';
// The sample's key (scripts/make-sample.ts) travels in EXPORT_STUDIO_KEY, as a user should pass theirs.
const args = [
  cli, 'mask_rcnn', 'export',
  '-m', 'sample/model.tlt',
  '-e', 'sample/spec.txt',
  '-o', 'sample/out/model.etlt',
  '--data_type', precision,
  '--gen_ds_config',
  ...(precision === 'int8' ? ['--batches', '4', '--batch_size', '8', '--cal_cache_file', 'sample/out/cal.bin', '--qdq_file', 'sample/out/model.qdq.onnx'] : []),
  '--report_file', 'sample/out/report.json',
  '--log_file', 'sample/out/export.log',
];
console.log('\n(the sample model\'s key is passed in EXPORT_STUDIO_KEY)');
run(args, { env: { ...process.env, EXPORT_STUDIO_KEY: 'nvidia_tlt' } }, [...args.slice(0, 5), '-k', '"$EXPORT_STUDIO_KEY"', ...args.slice(5)]);
console.log('\nWritten to sample/out:');
for (const f of fs.readdirSync(out).sort()) console.log(`  ${f.padEnd(28)} ${fs.statSync(path.join(out, f)).size} bytes`);
