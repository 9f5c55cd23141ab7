import { createReadStream, createWriteStream, readSync } from 'node:fs';
import { stat, type FileHandle } from 'node:fs/promises';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDeflate, createGunzip, createGzip, createInflate } from 'node:zlib';
import { StudioError } from '../../../shared/errors.js';
import { maskedCrc32c } from './crc32c.js';
import { cancelledError } from '../cancel.js';
import { openRegular } from '../io/inputs.js';

/**
 * TFRecord framing (tensorflow/core/lib/io/record_reader.cc, record_writer.cc):
 *
 *   offset 0    8 bytes  length N, uint64 little-endian
 *   offset 8    4 bytes  masked CRC32C of the 8 length bytes, uint32 LE
 *   offset 12   N bytes  record data (a serialized tf.train.Example)
 *   offset 12+N 4 bytes  masked CRC32C of the data, uint32 LE
 *
 * Indexing walks the headers only: it reads 12 bytes, checks the length CRC and seeks past the
 * body, so a dataset of large JPEG records is indexed by reading 12 bytes per record. GZIP/ZLIB
 * files wrap the whole stream; they are detected from their first bytes and walked through a
 * streaming inflater (every byte must be inflated, nothing is kept in memory). Offsets are then
 * positions in the decompressed stream, and reading records back means decompressing again in one
 * sequential pass, so callers should read the records of a file together ({@link readTfRecords}).
 */

export type TfRecordCompression = 'none' | 'gzip' | 'zlib';

export interface TfRecordRef {
  /** 0-based position of the record in its file. */
  index: number;
  /** Byte offset of the record's 12-byte header in the (decompressed) stream. */
  offset: number;
  /** Length of the record data in bytes. */
  length: number;
}

export interface TfRecordIndex {
  file: string;
  compression: TfRecordCompression;
  records: TfRecordRef[];
  /** Offset of a partial last record that was skipped (`tail: 'skip'`), else null. */
  truncatedAt: number | null;
  /** Bytes of the (decompressed) stream that were walked. */
  streamBytes: number;
  /** Bytes read from the file itself to build the index: 12 per record when uncompressed. */
  bytesRead: number;
}

export interface TfRecordReadOptions {
  /** What to do with a partial record at the end: throw E_TFRECORD_TRUNCATED (default) or skip it. */
  tail?: 'error' | 'skip';
  signal?: AbortSignal;
}

export type TfRecordResult =
  | { ref: TfRecordRef; data: Uint8Array; error?: undefined }
  | { ref: TfRecordRef; data?: undefined; error: StudioError };

const HEADER = 12;
const FOOTER = 4;

// ---------------------------------------------------------------------------------------------
// Errors

function truncated(file: string, offset: number, compression: TfRecordCompression): StudioError {
  const where = compression === 'none' ? '' : ` of the decompressed ${compression.toUpperCase()} stream`;
  return new StudioError(
    'E_TFRECORD_TRUNCATED',
    `truncated record at byte ${offset}${where} in ${file}`,
    'The file ends in the middle of a record: it was probably cut short while being written or copied. Re-copy or regenerate it; the records before this offset are intact.',
    { file, offset },
    { details: { compression } },
  );
}

function corrupted(file: string, offset: number, compression: TfRecordCompression, what: 'length' | 'data'): StudioError {
  const where = compression === 'none' ? '' : ` of the decompressed ${compression.toUpperCase()} stream`;
  let hint: string;
  if (offset === 0 && what === 'length' && compression === 'none') {
    hint =
      'The file does not start with a TFRecord header. Either it is not a TFRecord file, or it was written with a compression_type this tool cannot read (GZIP and ZLIB are detected and read automatically; SNAPPY is not supported) — check the compression_type used when the file was written.';
  } else if (what === 'length') {
    hint = 'A record length is damaged, so nothing after this offset can be located. Regenerate the file (e.g. with mask_rcnn dataset_convert) or restore it from a good copy.';
  } else {
    hint = 'The record data does not match its checksum (bit rot or a bad copy). Regenerate or re-copy the file; the other records are still usable.';
  }
  return new StudioError('E_TFRECORD_CRC', `corrupted record at byte ${offset}${where} in ${file} (${what} checksum mismatch)`, hint, { file, offset }, { details: { compression, part: what } });
}

function unreadable(file: string, e: unknown): StudioError {
  if (e instanceof StudioError) return e;
  const code = (e as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENOENT') return new StudioError('E_TFRECORD_NOT_FOUND', `TFRecord file not found: ${file}`, 'Check training_file_pattern and that the dataset is mounted.', { file }, { cause: e });
  return new StudioError('E_FILE_UNREADABLE', `cannot read ${file}: ${(e as Error).message}`, 'Check the file permissions and that the disk is readable.', { file }, { cause: e });
}

const cancelled = (): StudioError => cancelledError('Reading the TFRecords');

// ---------------------------------------------------------------------------------------------
// Sequential byte sources: a file (seeks instead of reading skipped bytes), a decompressing stream.

interface ByteSource {
  /** Up to n bytes from the current position; fewer only at the end of the stream. */
  read(n: number): Promise<Uint8Array>;
  /** Skips up to n bytes and returns how many it skipped (fewer only at the end). */
  skip(n: number): Promise<number>;
  readonly position: number;
  close(): Promise<void>;
}

const SYNC_READ_MAX = 4096;

/** Largest record accepted (one Example: an encoded image plus annotations). */
export const MAX_RECORD_BYTES = 256 * 2 ** 20;

class FileSource implements ByteSource {
  position = 0;
  bytesRead = 0;
  private syncReads = 0;
  private constructor(
    private readonly fh: FileHandle,
    private readonly size: number,
  ) {}

  static async open(file: string): Promise<FileSource> {
    const { fh, size } = await openRegular(file);
    return new FileSource(fh, size);
  }

  async read(n: number): Promise<Uint8Array> {
    const len = Math.max(0, Math.min(n, this.size - this.position));
    const buf = new Uint8Array(len);
    let got = 0;
    if (len <= SYNC_READ_MAX) {
      // Headers: a synchronous pread costs ~8 µs against ~90 µs through the libuv pool (measured,
      // 20 000 headers), so indexing reads them synchronously and yields to the event loop now and then.
      if (++this.syncReads % 1024 === 0) await new Promise<void>((r) => setImmediate(r));
      while (got < len) {
        const bytesRead = readSync(this.fh.fd, buf, got, len - got, this.position + got);
        if (bytesRead === 0) break; // the file shrank under us
        got += bytesRead;
      }
    }
    while (got < len) {
      const { bytesRead } = await this.fh.read(buf, got, len - got, this.position + got);
      if (bytesRead === 0) break; // the file shrank under us
      got += bytesRead;
    }
    this.position += got;
    this.bytesRead += got;
    return got === len ? buf : buf.subarray(0, got);
  }

  async skip(n: number): Promise<number> {
    const k = Math.max(0, Math.min(n, this.size - this.position));
    this.position += k;
    return k;
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}

class StreamSource implements ByteSource {
  position = 0;
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private done = false;
  private readonly it: AsyncIterator<Buffer>;

  constructor(
    private readonly stream: Readable,
    private readonly upstream: Readable,
    private readonly file: string,
    private readonly compression: TfRecordCompression,
  ) {
    this.it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  private async fill(n: number): Promise<void> {
    while (this.buffered < n && !this.done) {
      let r: IteratorResult<Buffer>;
      try {
        r = await this.it.next();
      } catch (e) {
        throw this.streamError(e);
      }
      if (r.done) this.done = true;
      else if (r.value.length > 0) {
        this.chunks.push(r.value);
        this.buffered += r.value.length;
      }
    }
  }

  private streamError(e: unknown): StudioError {
    const code = (e as NodeJS.ErrnoException | null)?.code;
    const name = this.compression.toUpperCase();
    if (code === 'Z_BUF_ERROR' || /unexpected end/i.test(String((e as Error).message))) {
      return new StudioError('E_TFRECORD_TRUNCATED', `truncated ${name} stream in ${this.file} (after ${this.position} decompressed bytes)`, 'The compressed file was cut short. Re-copy or regenerate it.', { file: this.file, offset: this.position }, { cause: e, details: { compression: this.compression } });
    }
    if (code?.startsWith('Z_')) {
      return new StudioError('E_TFRECORD_CRC', `corrupted ${name} stream in ${this.file} (after ${this.position} decompressed bytes): ${(e as Error).message}`, `The ${name}-compressed data is damaged. Re-copy or regenerate the file; check that compression_type matches how it was written.`, { file: this.file, offset: this.position }, { cause: e, details: { compression: this.compression } });
    }
    return unreadable(this.file, e);
  }

  private take(n: number, keep: boolean): Uint8Array | number {
    const k = Math.min(n, this.buffered);
    const out = keep ? new Uint8Array(k) : null;
    let got = 0;
    while (got < k) {
      const c = this.chunks[0] as Uint8Array;
      const m = Math.min(c.length, k - got);
      if (out) out.set(c.subarray(0, m), got);
      if (m === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(m);
      got += m;
    }
    this.buffered -= k;
    this.position += k;
    return out ?? k;
  }

  async read(n: number): Promise<Uint8Array> {
    await this.fill(n);
    return this.take(n, true) as Uint8Array;
  }

  async skip(n: number): Promise<number> {
    let skipped = 0;
    // Skip in bounded steps so a huge record never has to be buffered whole.
    while (skipped < n) {
      const step = Math.min(n - skipped, 1 << 20);
      await this.fill(Math.min(step, 1));
      if (this.buffered === 0) break;
      skipped += this.take(Math.min(step, this.buffered), false) as number;
    }
    return skipped;
  }

  async close(): Promise<void> {
    this.upstream.destroy();
    this.stream.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// Compression detection

function u32(b: Uint8Array, at: number): number {
  return ((b[at] as number) | ((b[at + 1] as number) << 8) | ((b[at + 2] as number) << 16) | ((b[at + 3] as number) << 24)) >>> 0;
}

function headerIsValid(b: Uint8Array): boolean {
  return b.length >= HEADER && maskedCrc32c(b.subarray(0, 8)) === u32(b, 8);
}

/**
 * Decides from the first bytes how a file is stored. A valid TFRecord header wins (a plain file's
 * length bytes can look like a gzip/zlib magic, but then its CRC would have to match by chance:
 * 1 in 2^32); otherwise gzip magic 1F 8B, or a zlib header (CM = 8, CINFO ≤ 7, CMF·256+FLG ≡ 0 mod 31).
 */
export function detectCompression(head: Uint8Array): TfRecordCompression {
  if (headerIsValid(head)) return 'none';
  const b0 = head[0];
  const b1 = head[1];
  if (b0 === undefined || b1 === undefined) return 'none';
  if (b0 === 0x1f && b1 === 0x8b) return 'gzip';
  if ((b0 & 0x0f) === 8 && b0 >> 4 <= 7 && ((b0 << 8) | b1) % 31 === 0) return 'zlib';
  return 'none';
}

async function openSource(file: string, compression?: TfRecordCompression): Promise<{ src: ByteSource; compression: TfRecordCompression; fileSource: FileSource | null }> {
  let fs: FileSource;
  try {
    fs = await FileSource.open(file);
  } catch (e) {
    throw unreadable(file, e);
  }
  let kind = compression;
  if (kind === undefined) {
    const head = await fs.read(HEADER);
    kind = detectCompression(head);
    fs.position = 0;
    fs.bytesRead = 0;
  }
  if (kind === 'none') return { src: fs, compression: kind, fileSource: fs };
  await fs.close();
  const raw = createReadStream(file, { highWaterMark: 1 << 20 });
  const inflater = kind === 'gzip' ? createGunzip() : createInflate();
  raw.on('error', (e) => inflater.destroy(e));
  raw.pipe(inflater);
  return { src: new StreamSource(inflater, raw, file, kind), compression: kind, fileSource: null };
}

// ---------------------------------------------------------------------------------------------
// The frame walker

interface WalkOptions {
  tail: 'error' | 'skip';
  signal: AbortSignal | undefined;
  /** Records whose data+footer should be read instead of skipped. */
  want: (index: number) => boolean;
}

interface Frame {
  ref: TfRecordRef;
  /** Data + 4-byte footer when wanted, else null. */
  body: Uint8Array | null;
}

class FrameWalker {
  /** Offset of a skipped partial tail record, once the walk has ended. */
  truncatedAt: number | null = null;
  /** Stream position where the walk ended. */
  end = 0;

  constructor(
    private readonly src: ByteSource,
    private readonly file: string,
    private readonly compression: TfRecordCompression,
    private readonly opts: WalkOptions,
  ) {}

  async *frames(): AsyncGenerator<Frame> {
    const { src, opts } = this;
    for (let index = 0; ; index++) {
      if ((index & 1023) === 0 && opts.signal?.aborted) throw cancelled();
      const offset = src.position;
      this.end = offset;
      const header = await src.read(HEADER);
      if (header.length === 0) return;
      if (header.length < HEADER) return this.tail(offset);
      if (!headerIsValid(header)) throw corrupted(this.file, offset, this.compression, 'length');
      const length = u32(header, 4) * 2 ** 32 + u32(header, 0);
      if (!Number.isSafeInteger(length + HEADER + FOOTER)) return this.tail(offset);
      // Checked before a byte of the body is read or inflated: a gzip record that would inflate
      // to gigabytes is refused from its 12-byte header.
      if (length > MAX_RECORD_BYTES) {
        throw new StudioError(
          'E_RECORD_TOO_LARGE',
          `TFRecord record ${index} in ${this.file} declares ${length} bytes, more than the ${MAX_RECORD_BYTES}-byte limit`,
          'A TAO training record holds one encoded image and its annotations (kilobytes to a few MB); the file is corrupt or crafted.',
          { file: this.file, offset },
          { details: { bytes: length, limit: MAX_RECORD_BYTES, record: index } },
        );
      }
      let body: Uint8Array | null = null;
      if (opts.want(index)) {
        body = await src.read(length + FOOTER);
        if (body.length < length + FOOTER) return this.tail(offset);
      } else if ((await src.skip(length + FOOTER)) < length + FOOTER) {
        return this.tail(offset);
      }
      this.end = src.position;
      yield { ref: { index, offset, length }, body };
    }
  }

  private tail(offset: number): void {
    if (this.opts.tail === 'error') throw truncated(this.file, offset, this.compression);
    this.truncatedAt = offset;
    this.end = offset;
  }
}

function checkData(file: string, compression: TfRecordCompression, ref: TfRecordRef, body: Uint8Array): TfRecordResult {
  const data = body.subarray(0, ref.length);
  if (maskedCrc32c(data) !== u32(body, ref.length)) return { ref, error: corrupted(file, ref.offset, compression, 'data') };
  return { ref, data };
}

// ---------------------------------------------------------------------------------------------
// Public API

/** Indexes a TFRecord file by walking its headers (length CRCs verified, bodies skipped). */
export async function indexTfRecordFile(file: string, opts: TfRecordReadOptions = {}): Promise<TfRecordIndex> {
  const { src, compression, fileSource } = await openSource(file);
  try {
    const walker = new FrameWalker(src, file, compression, { tail: opts.tail ?? 'error', signal: opts.signal, want: () => false });
    const records: TfRecordRef[] = [];
    for await (const { ref } of walker.frames()) records.push(ref);
    const bytesRead = fileSource ? fileSource.bytesRead : (await stat(file)).size;
    return { file, compression, records, truncatedAt: walker.truncatedAt, streamBytes: walker.end, bytesRead };
  } catch (e) {
    throw unreadable(file, e);
  } finally {
    await src.close();
  }
}

/**
 * Reads the given records of an indexed file, CRC-checking each, in file order (whatever order
 * `refs` is in). A record whose data CRC fails is yielded with an `error` (E_TFRECORD_CRC) so the
 * caller can skip it; a record that can no longer be read whole (the file changed) is yielded with
 * E_TFRECORD_TRUNCATED. Uncompressed files use positioned reads; compressed files are decompressed
 * once, sequentially, up to the last wanted record, holding only the current record in memory.
 */
export async function* readTfRecords(index: TfRecordIndex, refs: readonly TfRecordRef[], opts: { signal?: AbortSignal } = {}): AsyncGenerator<TfRecordResult> {
  const sorted = [...refs].sort((a, b) => a.index - b.index);
  if (sorted.length === 0) return;
  const { file, compression } = index;
  const { src, fileSource } = await openSource(file, compression);
  try {
    if (fileSource) {
      for (const ref of sorted) {
        if (opts.signal?.aborted) throw cancelled();
        fileSource.position = ref.offset + HEADER;
        let body: Uint8Array;
        try {
          body = await fileSource.read(ref.length + FOOTER);
        } catch (e) {
          throw unreadable(file, e);
        }
        yield body.length < ref.length + FOOTER ? { ref, error: truncated(file, ref.offset, compression) } : checkData(file, compression, ref, body);
      }
      return;
    }
    const wanted = new Map(sorted.map((r) => [r.index, r]));
    const walker = new FrameWalker(src, file, compression, { tail: 'skip', signal: opts.signal, want: (i) => wanted.has(i) });
    for await (const { ref, body } of walker.frames()) {
      if (!body) continue;
      wanted.delete(ref.index);
      yield checkData(file, compression, ref, body);
      if (wanted.size === 0) return;
    }
    for (const ref of wanted.values()) yield { ref, error: truncated(file, ref.offset, compression) };
  } finally {
    await src.close();
  }
}

/** Reads one record by its index entry, verifying the data CRC (throws E_TFRECORD_CRC / _TRUNCATED). */
export async function readTfRecord(index: TfRecordIndex, ref: TfRecordRef, opts: { signal?: AbortSignal } = {}): Promise<Uint8Array> {
  for await (const r of readTfRecords(index, [ref], opts)) {
    if (r.error) throw r.error;
    return r.data;
  }
  throw truncated(index.file, ref.offset, index.compression);
}

/** Every record of a file in order, CRC-checked; throws on the first bad or partial record. */
export async function* readAllTfRecords(file: string, opts: TfRecordReadOptions = {}): AsyncGenerator<Uint8Array> {
  const { src, compression } = await openSource(file);
  try {
    const walker = new FrameWalker(src, file, compression, { tail: opts.tail ?? 'error', signal: opts.signal, want: () => true });
    for await (const { ref, body } of walker.frames()) {
      const r = checkData(file, compression, ref, body as Uint8Array);
      if (r.error) throw r.error;
      yield r.data;
    }
  } finally {
    await src.close();
  }
}

/** One framed record: header (length + masked CRC), data, masked CRC of the data. */
export function encodeTfRecordFrame(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER + data.length + FOOTER);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.length >>> 0, true);
  dv.setUint32(4, Math.floor(data.length / 2 ** 32), true);
  dv.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, HEADER);
  dv.setUint32(HEADER + data.length, maskedCrc32c(data), true);
  return out;
}

/**
 * Writes records as a TFRecord file through a Node stream (with backpressure), optionally GZIP or
 * ZLIB compressed like TFRecordWriter's compression_type. A path is created exclusively unless
 * `overwrite`; a given Writable is ended when done. Used for the bundled sample and tests only:
 * the product never writes TFRecords to user paths.
 */
export async function writeTfRecordFile(
  target: string | Writable,
  records: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  opts: { compression?: TfRecordCompression; overwrite?: boolean } = {},
): Promise<{ records: number; bytes: number }> {
  let count = 0;
  let bytes = 0;
  async function* frames(): AsyncGenerator<Uint8Array> {
    for await (const r of records) {
      const f = encodeTfRecordFrame(r);
      count++;
      bytes += f.length;
      yield f;
    }
  }
  const dest = typeof target === 'string' ? createWriteStream(target, { flags: opts.overwrite ? 'w' : 'wx' }) : target;
  const source = Readable.from(frames(), { objectMode: false });
  const compression = opts.compression ?? 'none';
  try {
    if (compression === 'none') await pipeline(source, dest);
    else await pipeline(source, compression === 'gzip' ? createGzip() : createDeflate(), dest);
  } catch (e) {
    const file = typeof target === 'string' ? target : undefined;
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new StudioError('E_OUTPUT_EXISTS', `${file} already exists`, 'Choose another path or pass overwrite.', file === undefined ? {} : { file }, { cause: e });
    }
    throw new StudioError('E_OUTPUT_WRITE', `cannot write TFRecords${file ? ` to ${file}` : ''}: ${(e as Error).message}`, 'Check the destination is writable and has space.', file === undefined ? {} : { file }, { cause: e });
  }
  return { records: count, bytes };
}
