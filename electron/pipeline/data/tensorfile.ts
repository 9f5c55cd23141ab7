import fs from 'node:fs/promises';
import path from 'node:path';
import h5wasm from 'h5wasm/node';
import { StudioError } from '../../../shared/errors.js';
import type { OutputSet } from '../io/outputs.js';
import { throwIfAborted } from '../cancel.js';
import type { Batch } from './types.js';

/**
 * TAO tensorfile (nvidia_tao_tf1/cv/common/export/tensorfile.py, written with h5py):
 *   root attrs  count: int64 (number of batches), shape: int64[rank] (every batch's shape)
 *   groups      `_tensorfile_array_key__<i>` for i in 0..count−1, each holding one dataset
 *               `_tensorfile_array_key_`: float64 [batch, 3, H, W], gzip-compressed.
 * Read and written with h5wasm's Node build, which does file I/O on the real file system, so a
 * multi-GB file is read one batch at a time instead of being loaded into the 2 GB wasm heap.
 */
export const GROUP_PREFIX = '_tensorfile_array_key__';
export const DATASET_KEY = '_tensorfile_array_key_';

const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

type H5File = InstanceType<typeof h5wasm.File>;
type H5Dataset = InstanceType<typeof h5wasm.Dataset>;

let ready: Promise<unknown> | undefined;
const h5ready = () => (ready ??= h5wasm.ready);

export interface Tensorfile {
  path: string;
  /** Number of batches. */
  count: number;
  /** Every batch's shape, e.g. [8, 3, 832, 1344]. */
  shape: number[];
  batches(signal?: AbortSignal): AsyncIterable<Batch>;
}

const bad = (file: string, message: string, hint: string, cause?: unknown) =>
  new StudioError('E_TENSORFILE', message, hint, { file }, cause === undefined ? {} : { cause });

const REWRITE_HINT = 'Regenerate the tensorfile (TAO export with --cal_image_dir, or Export Studio with writeTensorfile) for this model.';

/** The HDF5 superblock signature sits at 0, 512, 1024, 2048, … (after an optional user block). */
async function hasHdf5Signature(file: string): Promise<boolean> {
  const fh = await fs.open(file, 'r');
  try {
    const { size } = await fh.stat();
    const buf = Buffer.alloc(8);
    for (let off = 0; off + 8 <= size; off = off === 0 ? 512 : off * 2) {
      await fh.read(buf, 0, 8, off);
      if (HDF5_SIGNATURE.every((b, i) => buf[i] === b)) return true;
    }
    return false;
  } finally {
    await fh.close();
  }
}

function toNumbers(v: unknown): number[] | undefined {
  if (typeof v === 'number' || typeof v === 'bigint') return [Number(v)];
  if (Array.isArray(v) || ArrayBuffer.isView(v)) return Array.from(v as ArrayLike<number | bigint>, (x) => Number(x));
  return undefined;
}

function openChecked(file: string): H5File {
  try {
    return new h5wasm.File(file, 'r');
  } catch (e) {
    throw bad(file, `Cannot open tensorfile ${file}: ${String((e as Error)?.message ?? e)}`, REWRITE_HINT, e);
  }
}

function dataset(f: H5File, file: string, i: number): H5Dataset {
  const name = `${GROUP_PREFIX}${i}`;
  const g = f.get(name);
  if (!(g instanceof h5wasm.Group)) throw bad(file, `Tensorfile ${file} has no group ${name} (its count attribute says ${i + 1} or more batches)`, REWRITE_HINT);
  const d = g.get(DATASET_KEY);
  if (!(d instanceof h5wasm.Dataset)) throw bad(file, `Tensorfile ${file}: group ${name} has no dataset ${DATASET_KEY}`, REWRITE_HINT);
  return d;
}

/**
 * Open and validate a TAO tensorfile: header, every batch group present with the header's shape
 * and a float type, and the shape compatible with the model input (static dims must match).
 */
export async function readTensorfile(file: string, opts: { modelInputShape?: readonly (number | string | null)[] } = {}): Promise<Tensorfile> {
  const abs = path.resolve(file);
  const st = await fs.stat(abs).catch(() => null);
  if (!st) throw new StudioError('E_FILE_NOT_FOUND', `Tensorfile not found: ${abs}`, 'Check the path, or calibrate from images instead.', { file: abs });
  if (!st.isFile() || st.size === 0) throw bad(abs, `Tensorfile ${abs} is ${st.isFile() ? 'empty' : 'not a file'}`, REWRITE_HINT);
  if (!(await hasHdf5Signature(abs))) throw bad(abs, `${abs} is not an HDF5 file (no HDF5 signature)`, 'A TAO tensorfile is the HDF5 file written by tao export --cal_data_file. Check you picked the right file.');
  await h5ready();
  const f = openChecked(abs);
  let count: number;
  let shape: number[];
  try {
    const attrs = f.attrs;
    const c = toNumbers(attrs['count']?.value);
    const s = toNumbers(attrs['shape']?.value);
    if (!c || c.length !== 1 || !Number.isInteger(c[0]) || c[0]! < 0) throw bad(abs, `Tensorfile ${abs} has no valid 'count' attribute`, REWRITE_HINT);
    if (!s || s.length === 0 || s.some((d) => !Number.isInteger(d) || d < 1)) throw bad(abs, `Tensorfile ${abs} has no valid 'shape' attribute`, REWRITE_HINT);
    count = c[0]!;
    shape = s;
    if (count === 0) throw bad(abs, `Tensorfile ${abs} holds no batches (count = 0)`, REWRITE_HINT);
    for (let i = 0; i < count; i++) {
      const d = dataset(f, abs, i);
      const ds = d.shape ?? [];
      if (ds.length !== shape.length || ds.some((v, k) => v !== shape[k])) {
        const short = ds.length === shape.length && ds[0]! < shape[0]! && ds.slice(1).every((v, k) => v === shape[k + 1]);
        throw bad(abs, `Tensorfile ${abs}: batch ${i} has shape [${ds.join(', ')}], the header says [${shape.join(', ')}]${short ? ' (short batch)' : ''}`, REWRITE_HINT);
      }
      const type = d.dtype;
      if (type !== '<d' && type !== '<f' && type !== '>d' && type !== '>f') throw bad(abs, `Tensorfile ${abs}: batch ${i} has type ${String(type)}, expected float64 or float32`, REWRITE_HINT);
    }
  } finally {
    f.close();
  }
  const model = opts.modelInputShape;
  if (model) {
    const mismatch = model.length !== shape.length || model.some((d, k) => typeof d === 'number' && d > 0 && d !== shape[k]);
    if (mismatch) {
      const m = `[${model.map((d) => (typeof d === 'number' && d > 0 ? d : '?')).join(', ')}]`;
      throw bad(abs, `Tensorfile ${abs} holds batches of shape [${shape.join(', ')}] but the model input is ${m}`, `Regenerate the tensorfile for this model's input (batch size and image size), or calibrate from images.`);
    }
  }

  const per = shape.slice(1).reduce((a, b) => a * b, 1);
  const name = path.basename(abs);
  return {
    path: abs,
    count,
    shape,
    async *batches(signal?: AbortSignal): AsyncGenerator<Batch> {
      await h5ready();
      const h = openChecked(abs);
      try {
        for (let i = 0; i < count; i++) {
          throwIfAborted(signal);
          const d = dataset(h, abs, i);
          const n = shape[0]!;
          const data = new Float32Array(n * per);
          // One sample at a time keeps the wasm heap small; float64 → float32 as TAO does on upload.
          for (let j = 0; j < n; j++) {
            const v = d.slice([[j, j + 1]]) as Float64Array | Float32Array | null;
            if (!v || v.length !== per) throw bad(abs, `Tensorfile ${abs}: batch ${i} sample ${j} could not be read`, REWRITE_HINT);
            data.set(v, j * per);
          }
          yield { ids: Array.from({ length: n }, (_, j) => `${name}#${i}/${j}`), count: n, dims: [...shape], data };
          await new Promise<void>((r) => setImmediate(r));
        }
      } finally {
        h.close();
      }
    },
  };
}

/**
 * Write batches as a TAO tensorfile (float64, gzip level 4 as h5py's default, chunked one
 * sample per chunk) through the OutputSet: the file appears at `file` only on commit. Every
 * batch must have the first batch's shape (TAO enforces the same).
 */
export async function writeTensorfile(outputs: OutputSet, file: string, batches: AsyncIterable<Batch> | Iterable<Batch>, signal?: AbortSignal): Promise<{ count: number; shape: number[] }> {
  const w = await TensorfileWriter.open(outputs, file);
  try {
    for await (const b of batches) {
      throwIfAborted(signal);
      w.add(b);
    }
    return w.finish();
  } finally {
    w.close();
  }
}

/**
 * The streaming form: each batch is written (and its memory released by the caller) as it
 * arrives, so a tensorfile of TAO's defaults (10 × 16 samples) never holds every batch at once.
 */
export class TensorfileWriter {
  private count = 0;
  private shape: number[] | undefined;
  private closed = false;

  private constructor(
    private readonly f: H5File,
    readonly finalPath: string,
  ) {}

  static async open(outputs: OutputSet, file: string): Promise<TensorfileWriter> {
    const staged = await outputs.stage(file);
    await h5ready();
    try {
      return new TensorfileWriter(new h5wasm.File(staged.tempPath, 'w'), staged.finalPath);
    } catch (e) {
      throw new StudioError('E_OUTPUT_WRITE', `Cannot create tensorfile ${staged.finalPath}: ${String((e as Error)?.message ?? e)}`, 'Check the output folder and free space.', { file: staged.finalPath }, { cause: e });
    }
  }

  add(b: Batch): void {
    const { f } = this;
    if (!this.shape) {
      this.shape = [...b.dims];
      f.create_attribute('shape', this.shape, [this.shape.length], '<q');
    } else if (b.dims.length !== this.shape.length || b.dims.some((v, k) => v !== this.shape![k])) {
      throw bad(this.finalPath, `Batch ${this.count} has shape [${b.dims.join(', ')}], earlier batches [${this.shape.join(', ')}]; a tensorfile needs equal batches`, 'Drop the partial last batch (dropPartial) or use a sample count that is a multiple of the batch size.');
    }
    const shape = this.shape;
    const per = shape.slice(1).reduce((x, y) => x * y, 1);
    const g = f.create_group(`${GROUP_PREFIX}${this.count}`);
    const sample = (j: number) => Float64Array.from(b.data.subarray(j * per, (j + 1) * per));
    const first = [1, ...shape.slice(1)];
    const ds = g.create_dataset({ name: DATASET_KEY, data: sample(0), shape: first, maxshape: shape, dtype: '<d', chunks: first, compression: 'gzip', compression_opts: 4 });
    if (shape[0]! > 1) ds.resize(shape);
    for (let j = 1; j < shape[0]!; j++) ds.write_slice([[j, j + 1]], sample(j));
    this.count++;
  }

  /** Write the count attribute and close; the file appears on the OutputSet's commit. */
  finish(): { count: number; shape: number[] } {
    if (!this.shape) throw bad(this.finalPath, 'No batches to write to the tensorfile', 'Check the calibration data source produced samples.');
    this.f.create_attribute('count', this.count, null, '<q');
    const out = { count: this.count, shape: this.shape };
    this.close();
    return out;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.f.close();
  }
}
