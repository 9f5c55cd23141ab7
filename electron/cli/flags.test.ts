import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { ExportRequestSchema } from '../../shared/request.js';
import { EXPORT_DEFAULTS } from '../../shared/defaults.js';
import { ERROR_CLASSES, ERROR_CODES } from '../../shared/errors.js';
import { runCli, type CliIO } from './program.js';
import { EXPORT_FLAGS, addExportFlags, readExportFlags, type ExportFlagName } from './export-flags.js';
import { flagsToRequest } from './export-args.js';

const root = path.resolve(import.meta.dirname, '../..');
const cliDoc = fs.readFileSync(path.join(root, 'docs/CLI.md'), 'utf8');

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIO = { stdout: (s) => void (out += s), stderr: (s) => void (err += s), isTTY: false, env: {}, signal: new AbortController().signal };
  const code = await runCli(args, io);
  return { code, out, err };
}

/** The fenced block of docs/CLI.md that starts with `Usage: <usage>`. */
function docBlock(usage: string): string {
  const blocks = [...cliDoc.matchAll(/```\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
  const b = blocks.find((x) => x.startsWith(`Usage: ${usage}`));
  if (b === undefined) throw new Error(`docs/CLI.md has no help block for "${usage}"`);
  return b;
}

/** Parse an `export` command line through the table, the way program.ts does. */
function parse(argv: string[]) {
  const cmd = new Command('export').exitOverride();
  const byName = addExportFlags(cmd);
  cmd.parse(argv, { from: 'user' });
  return flagsToRequest(readExportFlags(cmd.opts(), byName), {});
}

const INT8 = ['-m', 'models/m.tlt', '-k', 'k', '-e', 'spec.txt', '--data_type', 'int8'];

/**
 * One probe per flag: a command line that sets it. Typed as a Record over every flag name, so a
 * flag added to EXPORT_FLAGS without a probe does not compile. `cli` marks flags that act in the
 * CLI itself instead of the request.
 */
const PROBES: Record<ExportFlagName, { argv: string[]; cli?: string }> = {
  model: { argv: ['-m', 'other/x.onnx'] },
  key: { argv: ['-k', 'other-key'] },
  experimentSpec: { argv: ['-e', 'other.txt'] },
  outputFile: { argv: ['-o', 'out/x.etlt'] },
  dataType: { argv: ['--data_type', 'fp16'] },
  genDsConfig: { argv: ['--gen_ds_config'] },
  gpuIndex: { argv: ['--gpu_index', '1'] },
  logFile: { argv: ['--log_file', 'x.log'] },
  verbose: { argv: ['-v'] },
  resultsDir: { argv: ['--results_dir', 'r'] },
  calImageDir: { argv: ['--cal_image_dir', 'imgs'] },
  calDataFile: { argv: ['--cal_data_file', 'new.h5'] },
  calCacheFile: { argv: ['--cal_cache_file', 'c.bin'] },
  batches: { argv: ['--batches', '3'] },
  batchSize: { argv: ['--batch_size', '2'] },
  maxBatchSize: { argv: ['--max_batch_size', '4'] },
  engineFile: { argv: ['--engine_file', 'm.engine'] },
  onnxFile: { argv: ['--onnx_file', 'm.onnx'] },
  qdqFile: { argv: ['--qdq_file', 'm.qdq.onnx'] },
  reportFile: { argv: ['--report_file', 'r.json'] },
  calSource: { argv: ['--cal_source', 'cache'] },
  calImages: { argv: ['--cal_images', 'a.jpg,b.jpg'] },
  calAlgorithm: { argv: ['--cal_algorithm', 'minmax'] },
  calHistogram: { argv: ['--cal_histogram', 'exact'] },
  calPercentile: { argv: ['--cal_percentile', '99.9'] },
  calSeed: { argv: ['--cal_seed', '7'] },
  calAcceptFewer: { argv: ['--cal_accept_fewer'] },
  calResize: { argv: ['--cal_resize', 'stretch'] },
  calReuse: { argv: ['--no-cal_reuse'] },
  noFidelity: { argv: ['--no_fidelity'] },
  fidelityImages: { argv: ['--fidelity_images', '3'] },
  trtVersion: { argv: ['--trt_version', '10.3.0'] },
  overwrite: { argv: ['--overwrite'] },
  dsCustomLib: { argv: ['--ds_custom_lib', '/srv/tao_apps/post_processor/libnvds_infercustomparser_tao.so'] },
  dsEmbedKey: { argv: ['--ds_embed_key'] },
  preset: { argv: ['--preset', 'imagenet'] },
  mean: { argv: ['--mean', '1,2,3'] },
  scale: { argv: ['--scale', '1,2,3'] },
  channelOrder: { argv: ['--channel_order', 'bgr'] },
  layout: { argv: ['--layout', 'nhwc'] },
  inputSize: { argv: ['--input_size', '64x96'] },
  cpu: { argv: ['--cpu'] },
  dryRun: { argv: ['--dry_run'], cli: 'prints the output plan instead of exporting (tested below)' },
  strictTypeConstraints: { argv: ['-s'] },
  forcePtq: { argv: ['--force_ptq'] },
  calJsonFile: { argv: ['--cal_json_file', 'q.json'] },
  minBatchSize: { argv: ['--min_batch_size', '2'] },
  optBatchSize: { argv: ['--opt_batch_size', '2'] },
  maxWorkspaceSize: { argv: ['--max_workspace_size', '1024'] },
  staticBatchSize: { argv: ['--static_batch_size', '2'] },
  targetOpset: { argv: ['--target_opset', '13'] },
  onnxRoute: { argv: ['--onnx_route', 'tf2onnx'] },
  gpus: { argv: ['--gpus', '2'] },
};

describe('the export flag table (electron/cli/export-flags.ts)', () => {
  it('keys every flag by the camelCase of its long name', () => {
    const cmd = new Command('x');
    for (const [name, o] of addExportFlags(cmd)) {
      expect(o.attributeName().replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()), o.flags).toBe(name);
    }
  });

  it.each(Object.keys(EXPORT_FLAGS) as ExportFlagName[])('%s reaches the ExportRequest (or the notices)', (name) => {
    const probe = PROBES[name];
    if (probe.cli !== undefined) return;
    const before = parse(INT8);
    // The probe's value replaces the base's (commander keeps the last of a repeated flag).
    const after = parse([...INT8, ...probe.argv]);
    expect(JSON.stringify(after), `${probe.argv.join(' ')} changed nothing`).not.toBe(JSON.stringify(before));
    // What it produces is a valid request (or a usage notice), never a silently dropped value.
    if (name !== 'calSource' && name !== 'dataType') expect(ExportRequestSchema.safeParse(after.request).success || after.notices.length > 0).toBe(true);
  });

  it('applies the defaults of shared/defaults.ts when flags are absent', () => {
    const r = ExportRequestSchema.parse(parse(INT8).request);
    expect(r.calibration).toMatchObject({ batches: EXPORT_DEFAULTS.batches, batchSize: EXPORT_DEFAULTS.batchSize, algorithm: EXPORT_DEFAULTS.calAlgorithm, seed: EXPORT_DEFAULTS.calSeed });
    expect(r.outputs).toMatchObject({ etlt: 'models/m.etlt', cache: EXPORT_DEFAULTS.calCacheFile });
    expect(r.maxBatchSize).toBe(EXPORT_DEFAULTS.maxBatchSize);
    expect(r.trtVersion).toBe(EXPORT_DEFAULTS.trtVersion);
  });

  it('--dry_run prints the planned outputs and writes nothing', async () => {
    const r = await cli(['mask_rcnn', 'export', ...INT8, '--dry_run', '--gen_ds_config']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.out) as Record<string, string>;
    expect(plan).toMatchObject({ etlt: path.resolve('models/m.etlt'), cache: path.resolve('cal.bin'), provenance: path.resolve('cal.bin.json'), dsConfig: path.resolve('models/nvinfer_config.txt') });
    expect(fs.existsSync(path.resolve('cal.bin'))).toBe(false);
  });
});

describe('docs/CLI.md agrees with the code', () => {
  it.each([
    [[] as string[], 'export-studio [options] [command]'],
    [['mask_rcnn', 'export'], 'export-studio mask_rcnn export [options]'],
  ])('its help block for %j is exactly `--help`', async (args, usage) => {
    const r = await cli([...args, '--help']);
    expect(r.code).toBe(0);
    expect(docBlock(usage)).toBe(r.out);
  });

  it('shows every visible flag and names every hidden TAO flag', async () => {
    const help = (await cli(['mask_rcnn', 'export', '--help'])).out;
    for (const def of Object.values(EXPORT_FLAGS)) {
      const long = /--[\w-]+/.exec(def.flags)?.[0] ?? '';
      if ('hidden' in def) {
        expect(help).not.toContain(`${long} `);
        expect(cliDoc, `docs/CLI.md should name the hidden ${long}`).toContain(`\`${/^-\w, /.test(def.flags) ? def.flags.slice(0, 2) : long}\``);
      } else expect(help).toContain(long);
    }
  });

  it('its exit-code table matches shared/errors.ts', () => {
    const section = cliDoc.slice(cliDoc.indexOf('## Exit codes'));
    const rows = [...section.matchAll(/^\| (\d+) \| (\w+)[^|]*\|/gm)].map((m) => [m[2], Number(m[1])]);
    const expected = Object.entries({ success: 0, ...ERROR_CLASSES }).sort((a, b) => a[1] - b[1]);
    expect(rows.sort((a, b) => Number(a[1]) - Number(b[1]))).toEqual(expected.map(([k, v]) => [k === 'data' ? 'calibration' : k, v]));
    // Every error code the table names exists and has the row's class.
    for (const m of section.matchAll(/^\| (\d+) \| [^|]+ \| (.*) \|$/gm)) {
      for (const code of (m[2] ?? '').matchAll(/`(E_[A-Z_]+)`/g)) {
        const c = code[1] as keyof typeof ERROR_CODES;
        expect(ERROR_CODES[c], `${c} in docs/CLI.md`).toBeDefined();
        expect(ERROR_CLASSES[ERROR_CODES[c]], `${c}'s exit code`).toBe(Number(m[1]));
      }
    }
  });
});
