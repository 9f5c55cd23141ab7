import { gzipSync } from 'node:zlib';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { SampleLayout } from '../../scripts/make-sample.js';
import { SAMPLE_KEY } from '../../scripts/make-sample.js';
import { encodeEtltHeader } from '../../electron/pipeline/model/index.js';
import { decodeModel, encodeModel } from '../../electron/pipeline/onnx/model.js';
import { encodeExample } from '../../electron/pipeline/data/example.js';
import { encodeTfRecordFrame } from '../../electron/pipeline/data/tfrecord.js';
import type { ErrorCode } from '../../shared/errors.js';

/**
 * The hostile corpus: one bad input per row, each with the exact error code and exit code the CLI
 * must give. Every case runs `mask_rcnn export` in-process against a fresh output folder that
 * holds a pre-existing `model.etlt` ("precious") at the target; the run passes --overwrite where
 * that file is the target, so the only thing protecting it is all-or-nothing output handling.
 */

export interface CaseContext {
  S: SampleLayout;
  /** Scratch folder for this case's bad inputs (never an output folder). */
  inDir: string;
  /** The output folder; holds `model.etlt` with PRECIOUS content before the run. */
  outDir: string;
}

export interface CaseRun {
  args: string[];
  env?: Record<string, string>;
  /** Files that must be byte-identical after the run (default: outDir/model.etlt). */
  keep?: string[];
}

export interface HostileCase {
  group: 'model' | 'key' | 'spec' | 'tfrecord' | 'images' | 'paths' | 'tools';
  name: string;
  code: ErrorCode;
  exit: number;
  /** Something the message must say, where the code alone does not pin the cause. */
  says?: RegExp;
  build(c: CaseContext): Promise<CaseRun>;
}

export const PRECIOUS = 'precious bytes: an earlier export the user still needs\n';

/**
 * Lay out one case under `base` (in/, out/ holding the PRECIOUS `model.etlt`, an empty cwd/), build
 * its run, and read the bytes of every file it must keep, to compare after the run.
 */
export async function stageCase(base: string, S: SampleLayout, hc: HostileCase): Promise<{ ctx: CaseContext; cwd: string; run: CaseRun; before: Map<string, Buffer> }> {
  const ctx: CaseContext = { S, inDir: path.join(base, 'in'), outDir: path.join(base, 'out') };
  const cwd = path.join(base, 'cwd');
  for (const d of [ctx.inDir, ctx.outDir, cwd]) await fs.mkdir(d, { recursive: true });
  const target = path.join(ctx.outDir, 'model.etlt');
  await fs.writeFile(target, PRECIOUS);
  const run = await hc.build(ctx);
  const keep = run.keep ?? [target];
  const before = new Map(await Promise.all(keep.map(async (k) => [k, await fs.readFile(k)] as const)));
  return { ctx, cwd, run, before };
}

interface ExportArgs {
  model?: string;
  key?: string | null;
  spec?: string | null;
  out?: string;
  extra?: string[];
  overwrite?: boolean;
}

/** A full-featured export (DS config, report, log) so "nothing written" covers every output kind. */
export function exportArgs(c: CaseContext, o: ExportArgs = {}): string[] {
  const a = ['mask_rcnn', 'export', '-m', o.model ?? c.S.tlt];
  if (o.key !== null) a.push('-k', o.key ?? SAMPLE_KEY);
  if (o.spec !== null) a.push('-e', o.spec ?? c.S.spec);
  a.push('-o', o.out ?? path.join(c.outDir, 'model.etlt'), '--gen_ds_config', '--report_file', path.join(c.outDir, 'report.json'));
  if (o.overwrite ?? true) a.push('--overwrite');
  return [...a, ...(o.extra ?? [])];
}

/** INT8 flags that keep the cache inside the output folder. */
export function int8(c: CaseContext, more: string[] = []): string[] {
  return ['--data_type', 'int8', '--batches', '1', '--batch_size', '2', '--cal_cache_file', path.join(c.outDir, 'cal.bin'), ...more];
}

export async function put(c: CaseContext, name: string, data: string | Uint8Array): Promise<string> {
  const p = path.join(c.inDir, name);
  await fs.mkdir(path.dirname(p), { recursive: true });
  await fs.writeFile(p, data);
  return p;
}

export async function specWith(c: CaseContext, edit: (text: string) => string): Promise<string> {
  return put(c, 'spec.txt', edit(await fs.readFile(c.S.spec, 'utf8')));
}

/** The sample spec with its training pattern pointed at `pattern` (and the labels json made absolute). */
export function specForPattern(c: CaseContext, pattern: string): Promise<string> {
  return specWith(c, (t) =>
    t
      .replace(/training_file_pattern: "[^"]*"/, `training_file_pattern: "${pattern}"`)
      .replace(/val_json_file: "[^"]*"/, `val_json_file: "${c.S.valJson}"`),
  );
}

async function firstTrainShard(c: CaseContext): Promise<Buffer> {
  const names = (await fs.readdir(c.S.tfrecords)).filter((n) => n.startsWith('train-')).sort();
  return fs.readFile(path.join(c.S.tfrecords, names[0] as string));
}

function flipBit(buf: Uint8Array, offset: number): Buffer {
  const b = Buffer.from(buf);
  b[offset] = (b[offset] ?? 0) ^ 0x10;
  return b;
}

/** The sample model sealed as .etlt: header + payload (for header/payload mutations). */
async function sealedEtlt(c: CaseContext): Promise<{ bytes: Buffer; headerLen: number }> {
  const tlt = await fs.readFile(c.S.tlt);
  const header = encodeEtltHeader('');
  return { bytes: Buffer.concat([header, tlt]), headerLen: header.length };
}

const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a0e5a7a40000000049454e44ae426082', 'hex');
const HDF5 = Buffer.concat([Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(2040, 0)]);
function zipWith(name: string): Buffer {
  const n = Buffer.from(name);
  const h = Buffer.alloc(30);
  h.writeUInt32LE(0x04034b50, 0);
  h.writeUInt16LE(n.length, 26);
  return Buffer.concat([h, n, Buffer.alloc(64, 0x41)]);
}

function randomBytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

const usage = (name: string, extra: (c: CaseContext) => string[], code: ErrorCode = 'E_USAGE'): HostileCase => ({
  group: 'paths',
  name,
  code,
  exit: 2,
  build: async (c) => ({ args: exportArgs(c, { extra: extra(c) }) }),
});

export const CASES: HostileCase[] = [
  // ── models ──────────────────────────────────────────────────────────────────
  { group: 'model', name: 'empty .onnx', code: 'E_FILE_EMPTY', exit: 3, build: async (c) => ({ args: exportArgs(c, { model: await put(c, 'empty.onnx', '') }) }) },
  { group: 'model', name: 'missing model file', code: 'E_FILE_NOT_FOUND', exit: 3, build: async (c) => ({ args: exportArgs(c, { model: path.join(c.inDir, 'nope.tlt') }) }) },
  { group: 'model', name: 'directory as model', code: 'E_FILE_NOT_FOUND', exit: 3, build: async (c) => ({ args: exportArgs(c, { model: c.inDir }) }) },
  {
    group: 'model', name: 'truncated ONNX (first half)', code: 'E_FILE_TRUNCATED', exit: 3,
    build: async (c) => {
      const b = await fs.readFile(c.S.onnx);
      return { args: exportArgs(c, { model: await put(c, 'half.onnx', b.subarray(0, b.length >> 1)) }) };
    },
  },
  { group: 'model', name: 'random bytes as .onnx', code: 'E_NOT_ONNX', exit: 3, build: async (c) => ({ args: exportArgs(c, { model: await put(c, 'random.onnx', randomBytes(4096, 7)) }) }) },
  { group: 'model', name: 'PNG as .onnx', code: 'E_NOT_ONNX', exit: 3, build: async (c) => ({ args: exportArgs(c, { model: await put(c, 'image.onnx', PNG) }) }) },
  { group: 'model', name: 'ZIP as .onnx', code: 'E_NOT_ONNX', exit: 3, build: async (c) => ({ args: exportArgs(c, { model: await put(c, 'archive.onnx', zipWith('readme.txt')) }) }) },
  { group: 'model', name: 'HDF5 as .onnx', code: 'E_NOT_ONNX', exit: 3, build: async (c) => ({ args: exportArgs(c, { model: await put(c, 'keras.onnx', HDF5) }) }) },
  { group: 'model', name: 'TAO checkpoint zip as .tlt', code: 'E_NOT_ONNX', exit: 3, build: async (c) => ({ args: exportArgs(c, { model: await put(c, 'ckpt.tlt', zipWith('model.ckpt-100.index')) }) }) },
  {
    group: 'model', name: '.etlt with a bit flipped in the header length', code: 'E_ETLT_HEADER', exit: 3,
    build: async (c) => {
      const { bytes } = await sealedEtlt(c);
      return { args: exportArgs(c, { model: await put(c, 'hdr.etlt', flipBit(bytes, 3)) }) };
    },
  },
  {
    group: 'model', name: '.etlt with an absurd header name length', code: 'E_ETLT_HEADER', exit: 3,
    build: async (c) => {
      const { bytes } = await sealedEtlt(c);
      const b = Buffer.from(bytes);
      b.writeUInt32LE(0x7fffffff, 0);
      return { args: exportArgs(c, { model: await put(c, 'longname.etlt', b) }) };
    },
  },
  {
    group: 'model', name: '.etlt with a bit flipped early in the payload', code: 'E_WRONG_KEY_OR_CORRUPT', exit: 4,
    build: async (c) => {
      const { bytes, headerLen } = await sealedEtlt(c);
      return { args: exportArgs(c, { model: await put(c, 'payload.etlt', flipBit(bytes, headerLen + 16 + 1)) }) };
    },
  },
  {
    group: 'model', name: '.etlt cut short at the end', code: 'E_WRONG_KEY_OR_CORRUPT', exit: 4,
    build: async (c) => {
      const { bytes } = await sealedEtlt(c);
      return { args: exportArgs(c, { model: await put(c, 'cut.etlt', bytes.subarray(0, bytes.length - 37)) }) };
    },
  },
  {
    group: 'model', name: 'ONNX with its external data file missing', code: 'E_ONNX_EXTERNAL_DATA', exit: 3, says: /weights\.bin/,
    build: async (c) => {
      const m = decodeModel(await fs.readFile(c.S.onnx));
      const init = m.graph?.initializer?.[0];
      if (!init) throw new Error('sample model has no initializer');
      init.dataLocation = 1; // EXTERNAL
      init.externalData = [{ key: 'location', value: 'weights.bin' }];
      init.rawData = new Uint8Array(0);
      init.floatData = [];
      return { args: exportArgs(c, { model: await put(c, 'external.onnx', encodeModel(m)) }) };
    },
  },
  {
    group: 'model', name: 'ONNX with its external data file present (an .etlt holds one file)', code: 'E_ONNX_EXTERNAL_DATA', exit: 3, says: /weights\.bin\); an \.etlt holds a single file/,
    build: async (c) => {
      const m = decodeModel(await fs.readFile(c.S.onnx));
      const init = m.graph?.initializer?.[0];
      if (!init?.rawData?.length) throw new Error('sample model has no raw initializer');
      await put(c, 'weights.bin', init.rawData);
      init.dataLocation = 1;
      init.externalData = [{ key: 'location', value: 'weights.bin' }, { key: 'length', value: String(init.rawData.length) }];
      init.rawData = new Uint8Array(0);
      return { args: exportArgs(c, { model: await put(c, 'external-ok.onnx', encodeModel(m)) }) };
    },
  },
  {
    group: 'model', name: 'ONNX without a graph input', code: 'E_ONNX_INVALID', exit: 3,
    build: async (c) => {
      const m = decodeModel(await fs.readFile(c.S.onnx));
      if (m.graph) m.graph.input = [];
      return { args: exportArgs(c, { model: await put(c, 'noinput.onnx', encodeModel(m)) }) };
    },
  },
  // ── keys ────────────────────────────────────────────────────────────────────
  { group: 'key', name: 'wrong key', code: 'E_WRONG_KEY_OR_CORRUPT', exit: 4, build: async (c) => ({ args: exportArgs(c, { key: 'tlt_encode' }) }) },
  { group: 'key', name: 'empty key for a sealed model', code: 'E_KEY_REQUIRED', exit: 4, build: async (c) => ({ args: exportArgs(c, { key: '' }) }) },
  { group: 'key', name: 'empty key for a plain .onnx (the .etlt needs one)', code: 'E_KEY_REQUIRED', exit: 4, build: async (c) => ({ args: exportArgs(c, { model: c.S.onnx, key: '' }) }) },
  { group: 'key', name: 'key differing only in case', code: 'E_WRONG_KEY_OR_CORRUPT', exit: 4, build: async (c) => ({ args: exportArgs(c, { key: SAMPLE_KEY.toUpperCase() }) }) },
  { group: 'key', name: 'unicode key', code: 'E_WRONG_KEY_OR_CORRUPT', exit: 4, build: async (c) => ({ args: exportArgs(c, { key: 'nvidia_tlt\u00e9\u{1F511}' }) }) },
  { group: 'key', name: 'no key at all (no -k, no EXPORT_STUDIO_KEY)', code: 'E_KEY_REQUIRED', exit: 4, build: async (c) => ({ args: exportArgs(c, { key: null }) }) },
  // ── specs ───────────────────────────────────────────────────────────────────
  { group: 'spec', name: 'spec syntax error (missing brace)', code: 'E_SPEC_SYNTAX', exit: 5, build: async (c) => ({ args: exportArgs(c, { spec: await specWith(c, (t) => t.replace('data_config{', 'data_config')) }) }) },
  { group: 'spec', name: 'spec unknown field', code: 'E_SPEC_UNKNOWN_FIELD', exit: 5, build: async (c) => ({ args: exportArgs(c, { spec: await specWith(c, (t) => t.replace('num_classes:', 'num_clases:')) }) }) },
  { group: 'spec', name: 'spec wrong type (string for uint)', code: 'E_SPEC_TYPE', exit: 5, build: async (c) => ({ args: exportArgs(c, { spec: await specWith(c, (t) => t.replace(/num_classes: \d+/, 'num_classes: "five"')) }) }) },
  { group: 'spec', name: 'spec negative uint', code: 'E_SPEC_TYPE', exit: 5, build: async (c) => ({ args: exportArgs(c, { spec: await specWith(c, (t) => t.replace(/num_classes: \d+/, 'num_classes: -3')) }) }) },
  { group: 'spec', name: 'spec image_size not a tuple', code: 'E_SPEC_TYPE', exit: 5, build: async (c) => ({ args: exportArgs(c, { spec: await specWith(c, (t) => t.replace(/image_size: "[^"]*"/, 'image_size: "512"')) }) }) },
  { group: 'spec', name: 'spec num_classes 1', code: 'E_SPEC_VALUE', exit: 5, build: async (c) => ({ args: exportArgs(c, { spec: await specWith(c, (t) => t.replace(/num_classes: \d+/, 'num_classes: 1')) }) }) },
  { group: 'spec', name: 'spec duplicate scalar field', code: 'E_SPEC_VALUE', exit: 5, build: async (c) => ({ args: exportArgs(c, { spec: await specWith(c, (t) => t.replace(/num_classes: (\d+)/, 'num_classes: $1\n    num_classes: $1')) }) }) },
  { group: 'spec', name: 'spec unterminated string', code: 'E_SPEC_SYNTAX', exit: 5, build: async (c) => ({ args: exportArgs(c, { spec: await specWith(c, (t) => t.replace('arch: "resnet"', 'arch: "resnet')) }) }) },
  { group: 'spec', name: 'spec nested 20 000 levels deep', code: 'E_SPEC_SYNTAX', exit: 5, build: async (c) => ({ args: exportArgs(c, { spec: await put(c, 'deep.txt', 'a {'.repeat(20_000) + '}'.repeat(20_000)) }) }) },
  { group: 'spec', name: 'spec is binary garbage', code: 'E_SPEC_SYNTAX', exit: 5, build: async (c) => ({ args: exportArgs(c, { spec: await put(c, 'garbage.txt', randomBytes(3000, 11)) }) }) },
  { group: 'spec', name: 'spec file missing', code: 'E_SPEC_NOT_FOUND', exit: 5, build: async (c) => ({ args: exportArgs(c, { spec: path.join(c.inDir, 'nope.txt') }) }) },
  { group: 'spec', name: 'directory as spec', code: 'E_SPEC_NOT_FOUND', exit: 5, build: async (c) => ({ args: exportArgs(c, { spec: c.inDir }) }) },
  { group: 'spec', name: 'spec image_size differs from the model input', code: 'E_MODEL_SPEC_MISMATCH', exit: 5, build: async (c) => ({ args: exportArgs(c, { spec: await specWith(c, (t) => t.replace(/image_size: "[^"]*"/, 'image_size: "(640, 640)"')) }) }) },
  // ── TFRecords (INT8 from the spec's training loader) ─────────────────────────
  {
    group: 'tfrecord', name: 'TFRecord with corrupt CRCs', code: 'E_CAL_TOO_FEW_SAMPLES', exit: 6, says: /every item was skipped \([^)]*CRC/i,
    build: async (c) => {
      const b = Buffer.from(await firstTrainShard(c));
      // Flip a byte inside each record's payload: every data CRC fails.
      for (let off = 0; off + 12 < b.length; ) {
        const len = Number(b.readBigUInt64LE(off));
        b[off + 12 + (len >> 1)] = (b[off + 12 + (len >> 1)] ?? 0) ^ 0xff;
        off += 12 + len + 4;
      }
      await put(c, 'tf/bad-00000.tfrecord', b);
      return { args: exportArgs(c, { spec: await specForPattern(c, path.join(c.inDir, 'tf', '*.tfrecord')), extra: int8(c) }) };
    },
  },
  {
    group: 'tfrecord', name: 'TFRecord truncated inside its first record', code: 'E_CAL_TOO_FEW_SAMPLES', exit: 6, says: /truncated file tail/,
    build: async (c) => {
      const b = await firstTrainShard(c);
      await put(c, 'tf/cut-00000.tfrecord', b.subarray(0, 40));
      return { args: exportArgs(c, { spec: await specForPattern(c, path.join(c.inDir, 'tf', '*.tfrecord')), extra: int8(c) }) };
    },
  },
  {
    group: 'tfrecord', name: 'gzip TFRecord without extension, cut short', code: 'E_TFRECORD_TRUNCATED', exit: 6,
    build: async (c) => {
      const gz = gzipSync(await firstTrainShard(c));
      await put(c, 'tf/shard-00000', gz.subarray(0, gz.length >> 1));
      return { args: exportArgs(c, { spec: await specForPattern(c, path.join(c.inDir, 'tf', 'shard-*')), extra: int8(c) }) };
    },
  },
  { group: 'tfrecord', name: 'training_file_pattern matches nothing', code: 'E_TFRECORD_NOT_FOUND', exit: 6, build: async (c) => ({ args: exportArgs(c, { spec: await specForPattern(c, path.join(c.inDir, 'none', '*.tfrecord')), extra: int8(c) }) }) },
  {
    group: 'tfrecord', name: 'records without image/encoded', code: 'E_CAL_TOO_FEW_SAMPLES', exit: 6, says: /every item was skipped \([^)]*image\/encoded/,
    build: async (c) => {
      const rec = encodeExample({ 'image/height': { kind: 'int64', value: [320] }, 'image/width': { kind: 'int64', value: [512] } });
      await put(c, 'tf/noimg-00000.tfrecord', Buffer.concat([0, 1, 2, 3].map(() => encodeTfRecordFrame(rec))));
      return { args: exportArgs(c, { spec: await specForPattern(c, path.join(c.inDir, 'tf', '*.tfrecord')), extra: int8(c) }) };
    },
  },
  {
    group: 'tfrecord', name: 'records whose image does not decode', code: 'E_CAL_TOO_FEW_SAMPLES', exit: 6, says: /every item was skipped \([^)]*decod/i,
    build: async (c) => {
      const rec = encodeExample({ 'image/encoded': { kind: 'bytes', value: [randomBytes(500, 3)] }, 'image/format': { kind: 'bytes', value: ['jpeg'] } });
      await put(c, 'tf/undecodable-00000.tfrecord', Buffer.concat([0, 1, 2, 3].map(() => encodeTfRecordFrame(rec))));
      return { args: exportArgs(c, { spec: await specForPattern(c, path.join(c.inDir, 'tf', '*.tfrecord')), extra: int8(c) }) };
    },
  },
  // ── calibration images ──────────────────────────────────────────────────────
  {
    group: 'images', name: 'empty image folder', code: 'E_IMAGE_DIR', exit: 6,
    build: async (c) => {
      await fs.mkdir(path.join(c.inDir, 'imgs'));
      return { args: exportArgs(c, { extra: int8(c, ['--cal_image_dir', path.join(c.inDir, 'imgs')]) }) };
    },
  },
  { group: 'images', name: 'missing image folder', code: 'E_IMAGE_DIR', exit: 6, build: async (c) => ({ args: exportArgs(c, { extra: int8(c, ['--cal_image_dir', path.join(c.inDir, 'nope')]) }) }) },
  {
    group: 'images', name: 'image folder with non-images only', code: 'E_IMAGE_DIR', exit: 6,
    build: async (c) => {
      await put(c, 'imgs/readme.txt', 'hello');
      await put(c, 'imgs/labels.json', '{}');
      return { args: exportArgs(c, { extra: int8(c, ['--cal_image_dir', path.join(c.inDir, 'imgs')]) }) };
    },
  },
  {
    group: 'images', name: 'truncated JPEGs only', code: 'E_CAL_TOO_FEW_SAMPLES', exit: 6, says: /every item was skipped \(3 /,
    build: async (c) => {
      const names = (await fs.readdir(c.S.calImages)).slice(0, 3);
      for (const n of names) {
        const b = await fs.readFile(path.join(c.S.calImages, n));
        await put(c, `imgs/${path.parse(n).name}.jpg`, b.subarray(0, 200));
      }
      return { args: exportArgs(c, { extra: int8(c, ['--cal_image_dir', path.join(c.inDir, 'imgs')]) }) };
    },
  },
  {
    group: 'images', name: '--cal_data_file that is a PNG, not an HDF5 tensorfile', code: 'E_TENSORFILE', exit: 6,
    build: async (c) => ({ args: exportArgs(c, { extra: int8(c, ['--cal_data_file', await put(c, 'cal.tensorfile', PNG)]) }) }),
  },
  {
    group: 'images', name: '--cal_source cache with a garbage cache', code: 'E_CACHE_FORMAT', exit: 6,
    build: async (c) => {
      await fs.writeFile(path.join(c.outDir, 'cal.bin'), 'TRT-8601-EntropyCalibration2\nInput: zz-not-hex\n');
      return { args: exportArgs(c, { extra: int8(c, ['--cal_source', 'cache']) }), keep: [path.join(c.outDir, 'model.etlt'), path.join(c.outDir, 'cal.bin')] };
    },
  },
  {
    group: 'images', name: '--cal_images naming files that do not exist', code: 'E_CAL_TOO_FEW_SAMPLES', exit: 6, says: /every item was skipped \(2 /,
    build: async (c) => ({ args: exportArgs(c, { extra: int8(c, ['--cal_images', path.join(c.inDir, 'a.jpg') + ',' + path.join(c.inDir, 'b.jpg')]) }) }),
  },
  {
    group: 'spec', name: 'val_json_file (labels) is not JSON', code: 'E_LABELS_JSON', exit: 3,
    build: async (c) => {
      const json = await put(c, 'instances.json', '{"categories": [ {"id": 1, "name": ');
      return { args: exportArgs(c, { spec: await specWith(c, (t) => t.replace(/val_json_file: "[^"]*"/, `val_json_file: "${json}"`)) }) };
    },
  },
  // ── paths and flags ─────────────────────────────────────────────────────────
  { group: 'paths', name: 'output into a missing folder', code: 'E_OUTPUT_WRITE', exit: 7, build: async (c) => ({ args: exportArgs(c, { out: path.join(c.outDir, 'missing', 'model.etlt') }) }) },
  { group: 'paths', name: 'output is a directory', code: 'E_OUTPUT_WRITE', exit: 7, build: async (c) => ({ args: exportArgs(c, { out: c.inDir }) }) },
  {
    group: 'paths', name: 'output = input model (no --overwrite)', code: 'E_OUTPUT_EXISTS', exit: 7,
    build: async (c) => {
      const model = path.join(c.outDir, 'model.etlt');
      await fs.writeFile(model, (await sealedEtlt(c)).bytes);
      return { args: exportArgs(c, { model, out: model, overwrite: false }), keep: [model] };
    },
  },
  { group: 'paths', name: 'existing output without --overwrite', code: 'E_OUTPUT_EXISTS', exit: 7, build: async (c) => ({ args: exportArgs(c, { overwrite: false }) }) },
  usage('--batches 0', (c) => int8(c, ['--batches', '0'])),
  usage('--batch_size -1', (c) => int8(c, ['--batch_size=-1'])),
  usage('--data_type int4', () => ['--data_type', 'int4']),
  usage('--gpu_index x', () => ['--gpu_index', 'x']),
  usage('unknown flag', () => ['--frobnicate']),
  usage('--cal_percentile 101', (c) => int8(c, ['--cal_algorithm', 'percentile', '--cal_percentile', '101'])),
  usage('--trt_version 8', (c) => int8(c, ['--trt_version', '8']), 'E_REQUEST_INVALID'),
  usage('two outputs at the same path (--onnx_file = -o)', (c) => ['--onnx_file', path.join(c.outDir, 'model.etlt')]),
  usage('--max_batch_size 0', () => ['--max_batch_size', '0']),
  usage('--input_size 512 (not HxW)', () => ['--input_size', '512']),
  usage('--mean with two numbers', () => ['--mean', '1,2']),
  usage('--cal_seed -5', (c) => int8(c, ['--cal_seed=-5'])),
  usage('--cal_algorithm kl', (c) => int8(c, ['--cal_algorithm', 'kl'])),
  usage('-m without a value', () => ['-m']),
  {
    group: 'paths', name: '--engine_file without trtexec on PATH', code: 'E_TRTEXEC_NOT_FOUND', exit: 8,
    build: async (c) => ({ args: exportArgs(c, { extra: ['--engine_file', path.join(c.outDir, 'model.engine')] }), env: { PATH: path.join(c.inDir, 'empty-bin') } }),
  },
  {
    group: 'paths', name: 'results_dir is a file', code: 'E_OUTPUT_WRITE', exit: 7,
    build: async (c) => ({ args: exportArgs(c, { extra: ['--results_dir', await put(c, 'results', 'a file')] }) }),
  },
  // ── the other commands ──────────────────────────────────────────────────────
  { group: 'tools', name: 'unseal with a wrong key', code: 'E_WRONG_KEY_OR_CORRUPT', exit: 4, build: async (c) => ({ args: ['unseal', '-m', c.S.tlt, '-k', 'wrong', '-o', path.join(c.outDir, 'model.etlt'), '--overwrite'] }) },
  { group: 'tools', name: 'unseal onto an existing file without --overwrite', code: 'E_OUTPUT_EXISTS', exit: 7, build: async (c) => ({ args: ['unseal', '-m', c.S.tlt, '-k', SAMPLE_KEY, '-o', path.join(c.outDir, 'model.etlt')] }) },
  { group: 'tools', name: 'seal a PNG', code: 'E_NOT_ONNX', exit: 3, build: async (c) => ({ args: ['seal', '-m', await put(c, 'x.onnx', PNG), '-k', SAMPLE_KEY, '-o', path.join(c.outDir, 'model.etlt'), '--overwrite'] }) },
  { group: 'tools', name: 'seal to a .txt name', code: 'E_USAGE', exit: 2, build: async (c) => ({ args: ['seal', '-m', c.S.onnx, '-k', SAMPLE_KEY, '-o', path.join(c.outDir, 'model.txt')] }) },
  { group: 'tools', name: 'inspect random bytes', code: 'E_NOT_ONNX', exit: 3, build: async (c) => ({ args: ['inspect', '-m', await put(c, 'r.onnx', randomBytes(3000, 5))] }) },
  { group: 'tools', name: 'inspect a sealed model without a key', code: 'E_KEY_REQUIRED', exit: 4, build: async (c) => ({ args: ['inspect', '-m', c.S.tlt] }) },
];
