import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { SAMPLE_KEY } from '../../scripts/make-sample.js';
import { decodeModel, encodeModel } from '../../electron/pipeline/onnx/model.js';
import { maskedCrc32c } from '../../electron/pipeline/data/crc32c.js';
import { sealToStream } from '../../electron/pipeline/model/seal.js';
import { exportArgs, int8, put, specForPattern, specWith, type CaseContext, type HostileCase } from './cases.js';

/**
 * Issue 11's classes, several members each (not only the reported example): the log file as an
 * output, special files as inputs, patterns that walk the machine, sizes, paths. Run by
 * edges.test.ts with the corpus's four checks plus (e) the next good run to the same outputs works
 * and (f) the run ends within a time bound (a FIFO or /dev/zero must not hang it).
 */

function mkfifo(p: string): string {
  execFileSync('mkfifo', [p]);
  return p;
}

/** A copy of the sample's plain ONNX in the case's input folder (so a wrong write can only hurt the copy). */
async function modelCopy(c: CaseContext, name = 'model.onnx'): Promise<string> {
  return put(c, name, await fs.readFile(c.S.onnx));
}
async function specCopy(c: CaseContext): Promise<string> {
  return specWith(c, (t) => t.replace(/val_json_file: "[^"]*"/, `val_json_file: "${c.S.valJson}"`));
}

/** A plain-ONNX export (key given to seal the .etlt) with its inputs copied into the case folder. */
async function plain(c: CaseContext, extra: string[] = [], o: { out?: string; overwrite?: boolean } = {}): Promise<string[]> {
  const model = await modelCopy(c);
  return exportArgs(c, { model, spec: await specCopy(c), key: SAMPLE_KEY, extra, ...o });
}

type Mutate = (m: ReturnType<typeof decodeModel>) => void;
async function mutatedModel(c: CaseContext, name: string, mutate: Mutate): Promise<string> {
  const m = decodeModel(await fs.readFile(c.S.onnx));
  mutate(m);
  return put(c, name, encodeModel(m));
}

function bigInitializer(elements: number): Mutate {
  return (m) => {
    const init = m.graph?.initializer?.[0];
    if (!init) throw new Error('sample model has no initializer');
    init.dims = [elements];
    init.rawData = new Uint8Array(0);
    init.floatData = [];
  };
}

/** The first node reads the last node's output: a cycle (listed out of order when `reverse`). */
function cycle(reverse: boolean): Mutate {
  return (m) => {
    const nodes = m.graph?.node ?? [];
    const first = nodes[0];
    const last = nodes[nodes.length - 1];
    if (!first?.input || !last?.output?.[0]) throw new Error('no nodes');
    first.input[0] = last.output[0];
    if (reverse) nodes.reverse();
  };
}

/**
 * Graph defects every command that writes a model must refuse (export, seal, unseal): the same
 * validation, the same code, before any output is committed.
 */
const GRAPH_DEFECTS: { name: string; says?: RegExp; mutate: Mutate }[] = [
  { name: 'an initializer declaring 2^31 elements with no data', says: /2147483647 elements/, mutate: bigInitializer(2 ** 31) },
  { name: 'an initializer declaring 2^40 elements with no data', mutate: bigInitializer(2 ** 40) },
  { name: 'an initializer declaring 1000 elements with no data', says: /holds 0 value/, mutate: bigInitializer(1000) },
  {
    name: 'an initializer with raw data one byte short', says: /bytes of data/,
    mutate: (m) => {
      const init = m.graph?.initializer?.find((t) => (t.rawData?.length ?? 0) > 0);
      if (!init?.rawData) throw new Error('no raw initializer');
      init.rawData = init.rawData.subarray(0, init.rawData.length - 1);
    },
  },
  { name: 'a cyclic graph', says: /cycle/, mutate: cycle(false) },
  { name: 'a cyclic graph out of topological order', says: /cycle/, mutate: cycle(true) },
  {
    name: 'a node input that is never defined', says: /which no graph input, initializer or node defines/,
    mutate: (m) => {
      const n = m.graph?.node?.[1];
      if (!n?.input) throw new Error('no node');
      n.input[0] = 'never_defined_anywhere';
    },
  },
  {
    name: 'a value produced twice', says: /defined twice/,
    mutate: (m) => {
      const nodes = m.graph?.node ?? [];
      const a = nodes[0];
      const b = nodes[1];
      if (!a?.output?.[0] || !b?.output) throw new Error('no nodes');
      b.output[0] = a.output[0];
    },
  },
];

/** The defective model sealed as .tlt without validation (sealToStream only walks the wire format), for unseal. */
async function sealedDefect(c: CaseContext, name: string, mutate: Mutate): Promise<string> {
  const m = decodeModel(await fs.readFile(c.S.onnx));
  mutate(m);
  const file = path.join(c.inDir, name);
  const { createWriteStream } = await import('node:fs');
  await sealToStream(encodeModel(m), createWriteStream(file), SAMPLE_KEY, { format: 'tlt' });
  return file;
}

/** One TFRecord frame header declaring `length` bytes, with a valid length CRC. */
function frameHeader(length: number): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt32LE(length % 2 ** 32, 0);
  h.writeUInt32LE(Math.floor(length / 2 ** 32), 4);
  h.writeUInt32LE(maskedCrc32c(h.subarray(0, 8)), 8);
  return h;
}

/** A PNG whose header declares w×h pixels (the data is a stub). */
function pngDeclaring(w: number, h: number): Buffer {
  const png = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a0e5a7a40000000049454e44ae426082', 'hex');
  png.writeUInt32BE(w, 16);
  png.writeUInt32BE(h, 20);
  return png;
}

const log = (name: string, code: HostileCase['code'], exit: number, target: (c: CaseContext) => Promise<{ log: string; keep?: string[]; args?: (log: string) => Promise<string[]> }>): HostileCase => ({
  group: 'paths',
  name: `--log_file ${name}`,
  code,
  exit,
  build: async (c) => {
    const t = await target(c);
    const args = t.args ? await t.args(t.log) : await plain(c, ['--log_file', t.log]);
    return { args, keep: [path.join(c.outDir, 'model.etlt'), ...(t.keep ?? [])] };
  },
});

export const EDGE_CASES: HostileCase[] = [
  // ── the log file is an output like the others ──────────────────────────────────
  log('= the input model', 'E_OUTPUT_EXISTS', 7, async (c) => {
    const model = await modelCopy(c);
    return { log: model, keep: [model], args: async (l) => exportArgs(c, { model, spec: await specCopy(c), key: SAMPLE_KEY, extra: ['--log_file', l] }) };
  }),
  log('= the experiment spec', 'E_OUTPUT_EXISTS', 7, async (c) => {
    const spec = await specCopy(c);
    return { log: spec, keep: [spec], args: async (l) => exportArgs(c, { model: await modelCopy(c), spec, key: SAMPLE_KEY, extra: ['--log_file', l] }) };
  }),
  log('= -o', 'E_USAGE', 2, async (c) => ({ log: path.join(c.outDir, 'model.etlt') })),
  log('= --report_file', 'E_USAGE', 2, async (c) => ({ log: path.join(c.outDir, 'report.json') })),
  log('= the DeepStream config', 'E_USAGE', 2, async (c) => ({ log: path.join(c.outDir, 'nvinfer_config.txt') })),
  log('= labels.txt', 'E_USAGE', 2, async (c) => ({ log: path.join(c.outDir, 'labels.txt') })),
  log('= a symlink to the input model', 'E_OUTPUT_EXISTS', 7, async (c) => {
    const model = await modelCopy(c);
    const link = path.join(c.inDir, 'link.log');
    await fs.symlink(model, link);
    return { log: link, keep: [model], args: async (l) => exportArgs(c, { model, spec: await specCopy(c), key: SAMPLE_KEY, extra: ['--log_file', l] }) };
  }),
  log('= the input model spelled with ..', 'E_OUTPUT_EXISTS', 7, async (c) => {
    const model = await modelCopy(c);
    await fs.mkdir(path.join(c.inDir, 'sub'));
    return { log: path.join(c.inDir, 'sub', '..', 'model.onnx'), keep: [model], args: async (l) => exportArgs(c, { model, spec: await specCopy(c), key: SAMPLE_KEY, extra: ['--log_file', l] }) };
  }),
  log("= the spec's val_json_file", 'E_OUTPUT_EXISTS', 7, async (c) => {
    const json = await put(c, 'val.json', await fs.readFile(c.S.valJson));
    return { log: json, keep: [json], args: async (l) => exportArgs(c, { model: await modelCopy(c), spec: await specWith(c, (t) => t.replace(/val_json_file: "[^"]*"/, `val_json_file: "${json}"`)), key: SAMPLE_KEY, extra: ['--log_file', l] }) };
  }),
  log('= --results_dir/status.json', 'E_USAGE', 2, async (c) => ({
    log: path.join(c.outDir, 'status.json'),
    args: async (l) => exportArgs(c, { model: await modelCopy(c), spec: await specCopy(c), key: SAMPLE_KEY, extra: ['--log_file', l, '--results_dir', c.outDir] }),
  })),
  log('a directory', 'E_OUTPUT_WRITE', 7, async (c) => ({ log: c.inDir })),
  log('a FIFO', 'E_OUTPUT_WRITE', 7, async (c) => ({ log: mkfifo(path.join(c.inDir, 'log.fifo')) })),
  log('/dev/null (a character device)', 'E_OUTPUT_WRITE', 7, async () => ({ log: '/dev/null' })),
  log('ending in /', 'E_OUTPUT_WRITE', 7, async (c) => ({ log: c.outDir + '/' })),
  log('an existing file that is not a log (no --overwrite)', 'E_OUTPUT_EXISTS', 7, async (c) => {
    const notes = await put(c, 'notes.txt', 'my notes\n');
    return { log: notes, keep: [notes], args: async (l) => exportArgs(c, { model: await modelCopy(c), spec: await specCopy(c), key: SAMPLE_KEY, overwrite: false, out: path.join(c.outDir, 'fresh.etlt'), extra: ['--log_file', l] }) };
  }),
  log('a dangling symlink', 'E_OUTPUT_WRITE', 7, async (c) => {
    const link = path.join(c.inDir, 'dangling.log');
    await fs.symlink(path.join(c.inDir, 'nowhere.log'), link);
    return { log: link };
  }),

  // ── special files as inputs: refused at once, never read ───────────────────────
  { group: 'model', name: 'a FIFO as the model', code: 'E_FILE_UNREADABLE', exit: 3, build: async (c) => ({ args: exportArgs(c, { model: mkfifo(path.join(c.inDir, 'model.onnx')), key: SAMPLE_KEY }) }) },
  { group: 'model', name: '/dev/zero as the model', code: 'E_FILE_UNREADABLE', exit: 3, build: async (c) => ({ args: exportArgs(c, { model: '/dev/zero', key: SAMPLE_KEY }) }) },
  { group: 'model', name: '/dev/urandom as the model', code: 'E_FILE_UNREADABLE', exit: 3, build: async (c) => ({ args: exportArgs(c, { model: '/dev/urandom', key: SAMPLE_KEY }) }) },
  { group: 'model', name: 'a symlink to /dev/zero as the model', code: 'E_FILE_UNREADABLE', exit: 3, build: async (c) => { const l = path.join(c.inDir, 'zero.onnx'); await fs.symlink('/dev/zero', l); return { args: exportArgs(c, { model: l, key: SAMPLE_KEY }) }; } },
  { group: 'spec', name: 'a FIFO as the spec', code: 'E_FILE_UNREADABLE', exit: 3, build: async (c) => ({ args: exportArgs(c, { spec: mkfifo(path.join(c.inDir, 'spec.txt')) }) }) },
  { group: 'spec', name: '/dev/zero as the spec', code: 'E_FILE_UNREADABLE', exit: 3, build: async (c) => ({ args: exportArgs(c, { spec: '/dev/zero' }) }) },
  { group: 'spec', name: 'a FIFO as val_json_file', code: 'E_FILE_UNREADABLE', exit: 3, build: async (c) => ({ args: exportArgs(c, { spec: await specWith(c, (t) => t.replace(/val_json_file: "[^"]*"/, `val_json_file: "${mkfifo(path.join(c.inDir, 'val.json'))}"`)) }) }) },
  { group: 'spec', name: '/dev/zero as val_json_file', code: 'E_FILE_UNREADABLE', exit: 3, build: async (c) => ({ args: exportArgs(c, { spec: await specWith(c, (t) => t.replace(/val_json_file: "[^"]*"/, 'val_json_file: "/dev/zero"')) }) }) },
  {
    group: 'images', name: 'FIFO and /dev/zero as calibration images', code: 'E_CAL_TOO_FEW_SAMPLES', exit: 6, says: /every item was skipped/,
    build: async (c) => ({ args: exportArgs(c, { extra: int8(c, ['--cal_images', `${mkfifo(path.join(c.inDir, 'a.jpg'))},/dev/zero`]) }) }),
  },
  { group: 'images', name: 'a FIFO as --cal_data_file', code: 'E_TENSORFILE', exit: 6, build: async (c) => ({ args: exportArgs(c, { extra: int8(c, ['--cal_data_file', mkfifo(path.join(c.inDir, 'cal.h5'))]) }) }) },

  // ── patterns that would walk the machine ──────────────────────────────────────
  ...['/proc/self/*', '/sys/kernel/*', '/etc/shadow', '/dev/*', '/run/*', '../../../../../../../../../../etc/*', '/*/*/*/*/*/*/*.tfrecord'].map(
    (p): HostileCase => ({ group: 'tfrecord', name: `training_file_pattern ${p}`, code: 'E_PATTERN_REFUSED', exit: 6, build: async (c) => ({ args: exportArgs(c, { spec: await specForPattern(c, p), extra: int8(c) }) }) }),
  ),
  ...['[z-a]*.tfrecord', 'train-[9-0].tfrecord', 'x/[b-a]/*.tfrecord'].map(
    (p): HostileCase => ({ group: 'tfrecord', name: `training_file_pattern with a reversed class ${p}`, code: 'E_PATTERN_REFUSED', exit: 6, says: /reversed range/, build: async (c) => ({ args: exportArgs(c, { spec: await specForPattern(c, path.join(c.S.tfrecords, p)), extra: int8(c) }) }) }),
  ),

  // ── sizes: every one has a limit, checked before the work ──────────────────────
  ...['100000000', '1e8', '100001', '4294967295'].map(
    (n): HostileCase => ({ group: 'spec', name: `num_classes ${n} with --gen_ds_config`, code: n === '1e8' ? 'E_SPEC_TYPE' : 'E_SPEC_VALUE', exit: 5, build: async (c) => ({ args: exportArgs(c, { spec: await specWith(c, (t) => t.replace(/num_classes: \d+/, `num_classes: ${n}`)) }) }) }),
  ),
  { group: 'spec', name: 'image_size (9000, 9000)', code: 'E_SPEC_VALUE', exit: 5, build: async (c) => ({ args: exportArgs(c, { spec: await specWith(c, (t) => t.replace(/image_size: "[^"]*"/, 'image_size: "(9000, 9000)"')) }) }) },
  { group: 'spec', name: 'a 5 MiB spec', code: 'E_INPUT_TOO_LARGE', exit: 3, build: async (c) => ({ args: exportArgs(c, { spec: await specWith(c, (t) => t + '\n' + '# padding\n'.repeat(530_000)) }) }) },
  { group: 'paths', name: '--input_size 0x0', code: 'E_REQUEST_INVALID', exit: 2, build: async (c) => ({ args: exportArgs(c, { spec: null, model: c.S.onnx, key: SAMPLE_KEY, extra: ['--input_size', '0x0'] }) }) },
  { group: 'paths', name: '--input_size 99999x99999', code: 'E_REQUEST_INVALID', exit: 2, build: async (c) => ({ args: exportArgs(c, { spec: null, model: c.S.onnx, key: SAMPLE_KEY, extra: ['--input_size', '99999x99999'] }) }) },
  { group: 'paths', name: '--scale 1e308', code: 'E_REQUEST_INVALID', exit: 2, build: async (c) => ({ args: exportArgs(c, { spec: null, model: c.S.onnx, key: SAMPLE_KEY, extra: ['--scale', '1e308,1e308,1e308'] }) }) },
  { group: 'paths', name: '--mean 1e300', code: 'E_REQUEST_INVALID', exit: 2, build: async (c) => ({ args: exportArgs(c, { spec: null, model: c.S.onnx, key: SAMPLE_KEY, extra: ['--mean', '1e300,0,0'] }) }) },
  { group: 'paths', name: '--cal_seed 1e300', code: 'E_REQUEST_INVALID', exit: 2, build: async (c) => ({ args: exportArgs(c, { extra: int8(c, ['--cal_seed', '1e300']) }) }) },
  { group: 'paths', name: '--cal_seed 2^32', code: 'E_REQUEST_INVALID', exit: 2, build: async (c) => ({ args: exportArgs(c, { extra: int8(c, ['--cal_seed', String(2 ** 32)]) }) }) },
  { group: 'paths', name: '--batch_size 100000', code: 'E_REQUEST_INVALID', exit: 2, build: async (c) => ({ args: exportArgs(c, { extra: [...int8(c), '--batch_size', '100000'] }) }) },
  { group: 'model', name: 'ONNX initializer declaring 2^31 elements with no data', code: 'E_ONNX_INVALID', exit: 3, says: /2147483647 elements/, build: async (c) => ({ args: exportArgs(c, { model: await mutatedModel(c, 'big31.onnx', bigInitializer(2 ** 31)), key: SAMPLE_KEY }) }) },
  { group: 'model', name: 'ONNX initializer declaring 2^40 elements with no data', code: 'E_ONNX_INVALID', exit: 3, build: async (c) => ({ args: exportArgs(c, { model: await mutatedModel(c, 'big40.onnx', bigInitializer(2 ** 40)), key: SAMPLE_KEY }) }) },
  { group: 'model', name: 'ONNX initializer declaring 1000 elements with no data', code: 'E_ONNX_INVALID', exit: 3, says: /holds 0 value/, build: async (c) => ({ args: exportArgs(c, { model: await mutatedModel(c, 'nodata.onnx', bigInitializer(1000)), key: SAMPLE_KEY }) }) },
  {
    group: 'model', name: 'ONNX initializer with raw data one byte short', code: 'E_ONNX_INVALID', exit: 3, says: /bytes of data/,
    build: async (c) => ({
      args: exportArgs(c, {
        key: SAMPLE_KEY,
        model: await mutatedModel(c, 'short.onnx', (m) => {
          const init = m.graph?.initializer?.find((t) => (t.rawData?.length ?? 0) > 0);
          if (!init?.rawData) throw new Error('no raw initializer');
          init.rawData = init.rawData.subarray(0, init.rawData.length - 1);
        }),
      }),
    }),
  },
  {
    group: 'model', name: 'ONNX cyclic graph', code: 'E_ONNX_INVALID', exit: 3, says: /cycle/,
    build: async (c) => ({
      args: exportArgs(c, {
        key: SAMPLE_KEY,
        model: await mutatedModel(c, 'cycle.onnx', (m) => {
          const nodes = m.graph?.node ?? [];
          const first = nodes[0];
          const last = nodes[nodes.length - 1];
          if (!first?.input || !last?.output?.[0]) throw new Error('no nodes');
          first.input[0] = last.output[0];
        }),
      }),
    }),
  },
  {
    group: 'model', name: 'ONNX node input that is never defined', code: 'E_ONNX_INVALID', exit: 3, says: /which no graph input, initializer or node defines/,
    build: async (c) => ({
      args: exportArgs(c, {
        key: SAMPLE_KEY,
        model: await mutatedModel(c, 'undef.onnx', (m) => {
          const n = m.graph?.node?.[1];
          if (!n?.input) throw new Error('no node');
          n.input[0] = 'never_defined_anywhere';
        }),
      }),
    }),
  },
  {
    // Out of order alone is accepted with a warning (the runtimes sort; validate.test.ts); out of order
    // with a cycle is refused as a cycle.
    group: 'model', name: 'ONNX nodes out of topological order and cyclic', code: 'E_ONNX_INVALID', exit: 3, says: /cycle/,
    build: async (c) => ({
      args: exportArgs(c, {
        key: SAMPLE_KEY,
        model: await mutatedModel(c, 'unsorted-cycle.onnx', (m) => {
          const nodes = m.graph?.node ?? [];
          const first = nodes[0];
          const last = nodes[nodes.length - 1];
          if (!first?.input || !last?.output?.[0]) throw new Error('no nodes');
          first.input[0] = last.output[0];
          nodes.reverse();
        }),
      }),
    }),
  },
  {
    group: 'model', name: 'ONNX value produced twice', code: 'E_ONNX_INVALID', exit: 3, says: /defined twice/,
    build: async (c) => ({
      args: exportArgs(c, {
        key: SAMPLE_KEY,
        model: await mutatedModel(c, 'twice.onnx', (m) => {
          const nodes = m.graph?.node ?? [];
          const a = nodes[0];
          const b = nodes[1];
          if (!a?.output?.[0] || !b?.output) throw new Error('no nodes');
          b.output[0] = a.output[0];
        }),
      }),
    }),
  },
  {
    group: 'model', name: 'ONNX graph output never produced', code: 'E_ONNX_INVALID', exit: 3, says: /never produced/,
    build: async (c) => ({
      args: exportArgs(c, {
        key: SAMPLE_KEY,
        model: await mutatedModel(c, 'noout.onnx', (m) => {
          const o = m.graph?.output?.[0];
          if (!o) throw new Error('no output');
          o.name = 'phantom_output';
        }),
      }),
    }),
  },
  ...([
    ['gzip TFRecord whose first record declares 2.5 GiB', true, 2.5 * 2 ** 30],
    ['gzip TFRecord whose first record declares 2^40 bytes', true, 2 ** 40],
    ['plain TFRecord whose first record declares 300 MiB', false, 300 * 2 ** 20],
  ] as const).map(
    ([name, gz, length]): HostileCase => ({
      group: 'tfrecord',
      name,
      code: 'E_RECORD_TOO_LARGE',
      exit: 6,
      build: async (c) => {
        const dir = path.join(c.inDir, 'bomb');
        await fs.mkdir(dir, { recursive: true });
        // The header declares `length`; 64 MiB of zeros follow (gzip: ~64 KB on disk, inflating forever if read).
        const raw = Buffer.concat([frameHeader(length), gz ? Buffer.alloc(64 * 2 ** 20) : Buffer.alloc(0)]);
        await fs.writeFile(path.join(dir, 'train-00000.tfrecord'), gz ? gzipSync(raw) : raw);
        return { args: exportArgs(c, { spec: await specForPattern(c, path.join(dir, 'train-*.tfrecord')), extra: int8(c) }) };
      },
    }),
  ),
  {
    group: 'images', name: 'PNGs declaring 30000×30000 and 100000×1 pixels', code: 'E_CAL_TOO_FEW_SAMPLES', exit: 6, says: /every item was skipped/,
    build: async (c) => ({ args: exportArgs(c, { extra: int8(c, ['--cal_images', `${await put(c, 'huge.png', pngDeclaring(30000, 30000))},${await put(c, 'wide.png', pngDeclaring(100000, 1000))}`]) }) }),
  },

  // ── paths ──────────────────────────────────────────────────────────────────────
  { group: 'paths', name: '-o with a 300-character name', code: 'E_OUTPUT_WRITE', exit: 7, says: /too long/, build: async (c) => ({ args: await plain(c, [], { out: path.join(c.outDir, 'm'.repeat(295) + '.etlt') }) }) },
  { group: 'paths', name: '-o ending in /', code: 'E_OUTPUT_WRITE', exit: 7, build: async (c) => ({ args: await plain(c, [], { out: c.outDir + '/' }) }) },
  { group: 'paths', name: '-o ending in /.', code: 'E_OUTPUT_WRITE', exit: 7, build: async (c) => ({ args: await plain(c, [], { out: c.outDir + '/.' }) }) },
  { group: 'paths', name: '-o naming a folder that does not exist yet, with a slash', code: 'E_OUTPUT_WRITE', exit: 7, build: async (c) => ({ args: await plain(c, [], { out: path.join(c.outDir, 'newdir') + '/' }) }) },
  {
    group: 'paths', name: '-o is a dangling symlink (--overwrite)', code: 'E_OUTPUT_WRITE', exit: 7, says: /symbolic link/,
    build: async (c) => {
      const link = path.join(c.outDir, 'link.etlt');
      await fs.symlink(path.join(c.inDir, 'elsewhere.etlt'), link);
      return { args: await plain(c, [], { out: link }) };
    },
  },
  {
    group: 'paths', name: '-o is a symlink to a file (--overwrite)', code: 'E_OUTPUT_WRITE', exit: 7, says: /symbolic link/,
    build: async (c) => {
      const other = await put(c, 'other.etlt', 'other file\n');
      const link = path.join(c.outDir, 'link.etlt');
      await fs.symlink(other, link);
      return { args: await plain(c, [], { out: link }), keep: [other, path.join(c.outDir, 'model.etlt')] };
    },
  },
  { group: 'paths', name: '-o is a FIFO (--overwrite)', code: 'E_OUTPUT_WRITE', exit: 7, says: /not a regular file/, build: async (c) => ({ args: await plain(c, [], { out: mkfifo(path.join(c.outDir, 'x.etlt')) }) }) },
  { group: 'paths', name: '-o is /dev/null (--overwrite)', code: 'E_OUTPUT_WRITE', exit: 7, says: /not a regular file/, build: async (c) => ({ args: await plain(c, [], { out: '/dev/null' }) }) },
  {
    group: 'paths', name: '--report_file is a character device node in the output folder (--overwrite)', code: 'E_OUTPUT_WRITE', exit: 7,
    build: async (c) => {
      const dev = path.join(c.outDir, 'dev.json');
      try {
        execFileSync('mknod', [dev, 'c', '1', '3']);
      } catch {
        await fs.symlink('/dev/null', dev); // without CAP_MKNOD: a link to one is refused the same way
      }
      const args = await plain(c);
      args[args.indexOf('--report_file') + 1] = dev;
      return { args };
    },
  },
  {
    group: 'paths', name: '-o = the input model under --overwrite', code: 'E_OUTPUT_EXISTS', exit: 7, says: /would write into the input model/,
    build: async (c) => {
      const model = await put(c, 'model.etlt', await fs.readFile(c.S.tlt));
      return { args: exportArgs(c, { model, out: model }), keep: [model] };
    },
  },
  {
    group: 'paths', name: '-o = a symlink to the input model under --overwrite', code: 'E_OUTPUT_EXISTS', exit: 7,
    build: async (c) => {
      const model = await put(c, 'model.tlt', await fs.readFile(c.S.tlt));
      const link = path.join(c.outDir, 'm.etlt');
      await fs.symlink(model, link);
      return { args: exportArgs(c, { model, out: link }), keep: [model] };
    },
  },
  {
    group: 'paths', name: '--onnx_file = the input model spelled with .. under --overwrite', code: 'E_OUTPUT_EXISTS', exit: 7,
    build: async (c) => {
      const model = await modelCopy(c);
      await fs.mkdir(path.join(c.inDir, 'd'));
      return { args: exportArgs(c, { model, key: SAMPLE_KEY, extra: ['--onnx_file', path.join(c.inDir, 'd', '..', 'model.onnx')] }), keep: [model] };
    },
  },
  {
    group: 'paths', name: '--report_file = the experiment spec under --overwrite', code: 'E_OUTPUT_EXISTS', exit: 7,
    build: async (c) => {
      const spec = await specCopy(c);
      const args = exportArgs(c, { spec, model: await modelCopy(c), key: SAMPLE_KEY });
      args[args.indexOf('--report_file') + 1] = spec;
      return { args, keep: [spec] };
    },
  },
  ...(['-o', '--log_file', '--onnx_file'] as const).map(
    (flag): HostileCase => ({
      group: 'paths', name: `${flag} = a training TFRecord of the spec under --overwrite`, code: 'E_OUTPUT_EXISTS', exit: 7, says: /TFRecord of training_file_pattern/,
      build: async (c) => {
        const dir = path.join(c.inDir, 'tfr');
        await fs.mkdir(dir);
        const name = (await fs.readdir(c.S.tfrecords)).filter((n) => n.startsWith('train-')).sort()[0] as string;
        const shard = path.join(dir, name);
        await fs.copyFile(path.join(c.S.tfrecords, name), shard);
        const spec = await specForPattern(c, path.join(dir, 'train-*'));
        const model = await modelCopy(c);
        const extra = flag === '-o' ? [] : [flag, shard];
        return { args: exportArgs(c, { model, spec, key: SAMPLE_KEY, extra, ...(flag === '-o' ? { out: shard } : {}) }), keep: [shard, path.join(c.outDir, 'model.etlt')] };
      },
    }),
  ),
  {
    group: 'paths', name: '--report_file = an image of --cal_image_dir under --overwrite', code: 'E_OUTPUT_EXISTS', exit: 7,
    build: async (c) => {
      const imgs = path.join(c.inDir, 'imgs');
      await fs.mkdir(imgs);
      for (const n of await fs.readdir(c.S.calImages)) await fs.copyFile(path.join(c.S.calImages, n), path.join(imgs, n));
      const victim = path.join(imgs, (await fs.readdir(imgs)).sort()[0] as string);
      const args = exportArgs(c, { extra: ['--data_type', 'int8', '--batches', '1', '--batch_size', '1', '--cal_image_dir', imgs, '--cal_cache_file', path.join(c.outDir, 'cal.bin')] });
      args[args.indexOf('--report_file') + 1] = victim;
      return { args, keep: [victim] };
    },
  },
  {
    group: 'paths', name: '--cal_cache_file = a calibration image under --overwrite', code: 'E_OUTPUT_EXISTS', exit: 7,
    build: async (c) => {
      const img = await put(c, 'img.jpg', await fs.readFile(path.join(c.S.calImages, (await fs.readdir(c.S.calImages)).sort()[0] as string)));
      return { args: exportArgs(c, { extra: ['--data_type', 'int8', '--batches', '1', '--batch_size', '1', '--cal_images', img, '--cal_cache_file', img] }), keep: [img] };
    },
  },
  // ── every command that writes a model validates the graph first (seal and unseal as export) ──
  ...GRAPH_DEFECTS.flatMap((d, i): HostileCase[] => [
    {
      group: 'model', name: `seal of ${d.name}`, code: 'E_ONNX_INVALID', exit: 3, ...(d.says ? { says: d.says } : {}),
      // .etlt and .tlt outputs alternate; --overwrite, so only the validation can refuse.
      build: async (c) => ({ args: ['seal', '-m', await mutatedModel(c, `seal-${i}.onnx`, d.mutate), '-k', SAMPLE_KEY, '-o', path.join(c.outDir, i % 2 === 0 ? 'model.etlt' : 'sealed.tlt'), '--overwrite'] }),
    },
    {
      group: 'model', name: `unseal of ${d.name}`, code: 'E_ONNX_INVALID', exit: 3, ...(d.says ? { says: d.says } : {}),
      build: async (c) => ({ args: ['unseal', '-m', await sealedDefect(c, `unseal-${i}.tlt`, d.mutate), '-k', SAMPLE_KEY, '-o', path.join(c.outDir, 'model.onnx')] }),
    },
  ]),
];
