// Batch manifests: up-front validation with line numbers (every problem at once, nothing run),
// the CLI's own flags and defaults per entry, and `batch run` through the real queue with real
// worker processes and real exports of the sample model, ending in one summary.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isStudioError, type StudioError } from '../../../shared/errors.js';
import { makeSample, SAMPLE_KEY, type SampleLayout } from '../../../scripts/make-sample.js';
import { forkWorkerFactory } from '../../host/worker-process.js';
import { runCli, type CliIO } from '../program.js';
import { parseManifest, type LoadOptions } from './manifest.js';
import { runBatch } from './run.js';
import { findVerdict, type BatchSummary } from './summary.js';

let root: string;
let S: SampleLayout;

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'batch-'));
  S = await makeSample({ dir: path.join(root, 'sample'), trainShards: 1, trainPerShard: 2, valImages: 2, calImages: 6 });
  for (const d of ['a', 'b', 'same']) await fs.mkdir(path.join(root, d));
});
afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

function io(env: NodeJS.ProcessEnv = {}): CliIO & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: (s) => out.push(s), stderr: (s) => err.push(s), isTTY: false, env, signal: new AbortController().signal };
}

const opts = (env: NodeJS.ProcessEnv = { EXPORT_STUDIO_KEY: SAMPLE_KEY }): LoadOptions => ({ env, requireKeys: true, checkInputs: true });

function parseError(text: string, o: LoadOptions = opts()): StudioError {
  try {
    parseManifest(text, path.join(root, 'm.yaml'), o);
  } catch (e) {
    if (isStudioError(e)) return e;
    throw e;
  }
  throw new Error('the manifest was accepted');
}

describe('batch manifest validation', () => {
  it('maps each entry through the CLI flags and defaults, defaults shared, entry values winning', () => {
    const m = parseManifest(
      [
        'defaults:',
        `  experiment_spec: ${S.spec}`,
        '  gen_ds_config: true',
        '  data_type: fp16',
        'exports:',
        `  - model: ${S.tlt}`,
        `    output_file: ${root}/a/model.etlt`,
        '  - name: second',
        `    model: ${S.tlt}`,
        '    data_type: int8',
        `    cal_image_dir: ${S.calImages}`,
        '    batches: 3',
        '    batch_size: 2',
        '    cal_reuse: false',
        '    gpu_index: 1',
        `    output_file: ${root}/b/model.etlt`,
        `    cal_cache_file: ${root}/b/cal.bin`,
      ].join('\n'),
      path.join(root, 'm.yaml'),
      opts(),
    );
    expect(m.entries.map((e) => [e.name, e.line])).toEqual([
      ['01-model', 6],
      ['second', 8],
    ]);
    const [a, b] = m.entries;
    expect(a?.request).toMatchObject({ model: S.tlt, spec: S.spec, precision: 'fp16', key: SAMPLE_KEY, outputs: { etlt: `${root}/a/model.etlt`, dsConfig: true }, gpu: 0 });
    expect(a?.deviceChosen).toBe(false);
    // The CLI's own defaults: --batch_size 16 … here overridden; --cal_cache_file given; --no-cal_reuse as cal_reuse: false.
    expect(b?.request).toMatchObject({ precision: 'int8', gpu: 1, calibration: { source: 'image-dir', imageDir: S.calImages, batches: 3, batchSize: 2, reuse: 'never' }, outputs: { cache: `${root}/b/cal.bin`, dsConfig: true } });
    expect(b?.deviceChosen).toBe(true);
  });

  it('reports every problem at once with its line and column; nothing is run', () => {
    const e = parseError(
      [
        'defaults:', //                       1
        '  experiment_spek: spec.txt', //      2 typo
        'exports:', //                         3
        `  - model: ${S.tlt}`, //              4
        '    data_type: int9', //              5 bad choice
        '    gen_ds_config: yes', //           6 not a boolean
        '  - model: /no/such/model.tlt', //    7 missing file
        `    output_file: ${root}/x.etlt`, //  8
        '  - name: "bad name!"', //            9
        `    model: ${S.tlt}`, //             10
        'extra: 1', //                        11 unknown top-level key
      ].join('\n'),
    );
    expect(e.code).toBe('E_MANIFEST_INVALID');
    expect(e.exitCode).toBe(2);
    expect(e.location).toMatchObject({ line: 2, column: 3 });
    const ex = e.location.excerpt ?? '';
    expect(ex).toMatch(/m\.yaml:2:3: unknown flag 'experiment_spek' \(did you mean 'experiment_spec'\?\)/);
    expect(ex).toMatch(/m\.yaml:5:\d+: data_type must be one of fp32, fp16, int8; got 'int9'/);
    expect(ex).toMatch(/m\.yaml:6:\d+: gen_ds_config is a switch/);
    expect(ex).toMatch(/m\.yaml:7:\d+: model: \/no\/such\/model\.tlt does not exist/);
    expect(ex).toMatch(/m\.yaml:9:\d+: name must be/);
    expect(ex).toMatch(/m\.yaml:11:1: unknown top-level key 'extra'/);
    // Entries 1 and 3 both default to ./model.etlt: a clash, reported at the later one.
    expect(ex).toMatch(/m\.yaml:9:\d+: writes model\.etlt in the same place as the entry '01-model' at line 4/);
    expect(e.message).toBe('7 problems in the batch manifest (nothing was run)');
  });

  it('a YAML syntax error is reported at its line', () => {
    const e = parseError('exports:\n  - model: a.tlt\n    output_file: [unclosed\n');
    expect(e.code).toBe('E_MANIFEST_INVALID');
    expect(e.location.line).toBeGreaterThanOrEqual(3);
    expect(e.message).toMatch(/YAML/);
  });

  it('a value the CLI itself refuses is reported at the line of that flag', () => {
    const e = parseError(['exports:', `  - model: ${S.tlt}`, `    experiment_spec: ${S.spec}`, '    data_type: int8', '    batch_size: 0'].join('\n'));
    expect(e.location.line).toBe(5);
    expect(e.message).toMatch(/batch_size must be an integer ≥ 1, got '0'/);
  });

  it('refuses a key in the manifest and never echoes it; requires key_env to be set for a run', () => {
    const e = parseError(['exports:', `  - model: ${S.tlt}`, '    key: canary-SECRET-4711'].join('\n'));
    expect(e.location.line).toBe(3);
    expect(JSON.stringify(e.toData())).not.toContain('canary-SECRET-4711');
    expect(e.location.excerpt).toContain('key: ********');
    const noKey = parseError(['exports:', `  - model: ${S.tlt}`, '    key_env: TEAM_B_KEY'].join('\n'));
    expect(noKey.message).toMatch(/\$TEAM_B_KEY, which is not set/);
    expect(noKey.location.line).toBe(3);
  });

  it('refuses an output folder that does not exist, at the line of output_file', () => {
    const e = parseError(['exports:', `  - model: ${S.tlt}`, `    experiment_spec: ${S.spec}`, `    output_file: ${root}/missing/model.etlt`].join('\n'));
    expect(e.location.line).toBe(4);
    expect(e.message).toMatch(/output folder .*missing does not exist/);
  });

  it('refuses two entries that would write the same file, naming the other entry', () => {
    const e = parseError(['defaults:', `  experiment_spec: ${S.spec}`, '  gen_ds_config: true', 'exports:', `  - model: ${S.tlt}`, `    output_file: ${root}/same/a.etlt`, `  - model: ${S.tlt}`, `    output_file: ${root}/same/b.etlt`].join('\n'));
    expect(e.message).toBe("writes nvinfer_config.txt, labels.txt in the same place as the entry '01-model' at line 5: give each entry its own output_file folder");
    expect(e.location.line).toBe(8);
  });
});

describe('findVerdict (read generically from the report)', () => {
  it('finds a verdict string or object anywhere, preferring the fidelity block', () => {
    expect(findVerdict({ fidelity: { verdict: { status: 'fail', label: 'INT8 below target' } } })).toBe('fail: INT8 below target');
    expect(findVerdict({ other: { verdict: 'x' }, fidelity: { verdict: 'INT8 meets target' } })).toBe('INT8 meets target');
    expect(findVerdict({ int8Verdict: { pass: true } })).toBe('pass');
    expect(findVerdict({ precision: 'int8', fidelity: { outputs: [] } })).toBeNull();
  });
});

describe('batch run (real queue, real workers)', () => {
  it('runs every entry, one per GPU of the pool, and writes the summary table and JSON', async () => {
    const dir = path.join(root, 'run');
    const manifestFile = path.join(dir, 'exports.yaml');
    for (const d of ['out0', 'out1', 'out2', 'int8']) await fs.mkdir(path.join(dir, d), { recursive: true });
    await fs.writeFile(
      manifestFile,
      [
        'name: nightly',
        'defaults:',
        `  experiment_spec: ${S.spec}`,
        '  gen_ds_config: true',
        'exports:',
        ...[0, 1, 2].flatMap((i) => [`  - name: e${i}`, `    model: ${S.tlt}`, `    output_file: ${dir}/out${i}/model.etlt`]),
        '  - name: int8',
        `    model: ${S.tlt}`,
        '    data_type: int8',
        `    cal_image_dir: ${S.calImages}`,
        '    batches: 3',
        '    batch_size: 2',
        '    no_fidelity: true',
        `    output_file: ${dir}/int8/model.etlt`,
        `    cal_cache_file: ${dir}/int8/cal.bin`,
      ].join('\n'),
    );
    const { loadManifest } = await import('./manifest.js');
    const m = loadManifest(manifestFile, opts());
    const cli = io();
    const code = await runBatch(m, { gpus: [0, 1], resultsDir: path.join(dir, 'results'), spawn: forkWorkerFactory(undefined, { stdio: 'ignore' }) }, cli);
    expect(code, cli.err.join('')).toBe(0);
    const summary = JSON.parse(await fs.readFile(path.join(dir, 'results', 'batch-summary.json'), 'utf8')) as BatchSummary;
    expect(summary.name).toBe('nightly');
    expect(summary.counts).toEqual({ done: 4 });
    expect(summary.entries.map((e) => e.status)).toEqual(['done', 'done', 'done', 'done']);
    expect(new Set(summary.entries.map((e) => e.device))).toEqual(new Set(['gpu 0', 'gpu 1']));
    for (const e of summary.entries) {
      expect(e.artifacts.length).toBeGreaterThanOrEqual(4);
      for (const a of e.artifacts) expect((await fs.stat(a.path)).size).toBe(a.bytes);
    }
    expect(summary.entries[3]?.artifacts.map((a) => a.role)).toEqual(expect.arrayContaining(['cache', 'etlt']));
    const table = cli.out.join('');
    expect(table).toMatch(/#\s+name\s+precision\s+device\s+status\s+time\s+artifacts\s+INT8 verdict/);
    expect(table).toMatch(/4\s+int8\s+int8\s+gpu [01]\s+done/);
    expect(table).toContain('4 export(s): 4 done');
    // Per-entry logs, and never the key anywhere in what the batch wrote.
    const written = await fs.readdir(path.join(dir, 'results'));
    expect(written.sort()).toEqual(['batch-summary.json', 'e0.log', 'e1.log', 'e2.log', 'int8.log']);
    for (const f of written) expect(await fs.readFile(path.join(dir, 'results', f), 'utf8')).not.toContain(SAMPLE_KEY);
    expect(cli.out.join('') + cli.err.join('')).not.toContain(SAMPLE_KEY);
  });

  it('a failing entry fails alone; the summary says why and the exit code is non-zero', async () => {
    const dir = path.join(root, 'run-fail');
    await fs.mkdir(path.join(dir, 'exists'), { recursive: true });
    await fs.mkdir(path.join(dir, 'ok'), { recursive: true });
    await fs.writeFile(path.join(dir, 'exists', 'model.etlt'), 'precious');
    const file = path.join(dir, 'm.yaml');
    await fs.writeFile(file, ['defaults:', `  experiment_spec: ${S.spec}`, 'exports:', `  - model: ${S.tlt}`, `    output_file: ${dir}/ok/model.etlt`, '  - name: clash', `    model: ${S.tlt}`, `    output_file: ${dir}/exists/model.etlt`].join('\n'));
    const cli = io({ EXPORT_STUDIO_KEY: SAMPLE_KEY });
    const code = await runCli(['batch', 'run', file, '--cpu', '--cpu_jobs', '2', '--results_dir', path.join(dir, 'res')], cli);
    expect(code).toBe(1);
    const summary = JSON.parse(await fs.readFile(path.join(dir, 'res', 'batch-summary.json'), 'utf8')) as BatchSummary;
    expect(summary.entries.map((e) => [e.name, e.status, e.error?.code ?? null])).toEqual([
      ['01-model', 'done', null],
      ['clash', 'failed', 'E_OUTPUT_EXISTS'],
    ]);
    expect(await fs.readFile(path.join(dir, 'exists', 'model.etlt'), 'utf8')).toBe('precious');
    expect(cli.out.join('')).toMatch(/clash: E_OUTPUT_EXISTS/);
  });

  it('an invalid manifest runs nothing and exits 2 with the line-numbered report', async () => {
    const file = path.join(root, 'invalid.yaml');
    await fs.writeFile(file, `exports:\n  - model: ${S.tlt}\n    output_file: ${root}/never/model.etlt\n    batchez: 3\n`);
    const cli = io({ EXPORT_STUDIO_KEY: SAMPLE_KEY });
    expect(await runCli(['batch', 'run', file], cli)).toBe(2);
    expect(cli.err.join('')).toMatch(/invalid\.yaml:4:5: unknown flag 'batchez' \(did you mean 'batches'\?\)/);
    await expect(fs.stat(path.join(root, 'never'))).rejects.toThrow();
  });
});
