import { createReadStream } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StudioError } from '../../../shared/errors.js';
import { mapWriteError, OutputSet } from '../io/outputs.js';
import { CHUNK_BYTES, ctrCipher, newNonce } from './cipher.js';
import { encodeEtltHeader, type SealedFormat } from './container.js';
import { detectModelFormat } from './detect.js';
import { CURRENT_KDF_VERSION, deriveKey, kdfParams, type KdfParams } from './kdf.js';
import { unlockModel } from './keycheck.js';
import { cancelledError, throwIfAborted } from '../cancel.js';
import type { StreamOptions } from './progress.js';
import { ModelProtoWalker, WireError } from './protowire.js';
import { mapReadError, MODEL_MAX_BYTES } from './source.js';
import { structureError } from './read.js';
import { readRegularFile } from '../io/inputs.js';
import { decodeModel } from '../onnx/model.js';
import { validateModelGraph } from '../onnx/validate.js';

export interface SealHeader {
  format: SealedFormat;
  /** .etlt only: input tensor name for the header. Default '' (N = 0 marks an ONNX payload). */
  inputName?: string;
}

export interface FileJobOptions extends StreamOptions {
  /** Replace an existing output. Default: refuse with E_OUTPUT_EXISTS. */
  overwrite?: boolean;
}

export interface SealFileOptions extends FileJobOptions {
  format: SealedFormat;
  inputName?: string;
}

export interface WrittenModel {
  path: string;
  /** Bytes written. */
  bytes: number;
  /** SHA-256 (hex) of the written file. */
  sha256: string;
  /** What the graph validation accepted with a warning (nodes out of topological order). */
  warnings: string[];
}

/**
 * Every model this module writes is first validated as a graph (onnx/validate.ts, the check the
 * export's model stage applies): topological order, every node input defined, no cycle, declared
 * tensor sizes against their data. E_ONNX_INVALID before the output is committed (seal: before it
 * is even created); returns the warnings.
 */
export function validateModelBytes(onnxBytes: Uint8Array, file: string): string[] {
  return validateModelGraph(decodeModel(onnxBytes, { file }), file);
}

export interface SealToStreamOptions extends StreamOptions {
  /** Size of the ONNX when `onnx` is an iterable, for progress and length checks. */
  totalBytes?: number;
  /** KDF row to seal with; default the current version. For migrations and tests. */
  kdf?: KdfParams;
}

/** Header bytes, then the nonce, for a new sealed payload. */
function prologue(header: SealHeader, nonce: Buffer): Buffer {
  return header.format === 'etlt' ? Buffer.concat([encodeEtltHeader(header.inputName ?? ''), nonce]) : nonce;
}

async function* chunksOf(onnx: Uint8Array): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < onnx.length; i += CHUNK_BYTES) yield onnx.subarray(i, Math.min(onnx.length, i + CHUNK_BYTES));
}

interface TransformSpec {
  source: AsyncIterable<Uint8Array>;
  prologue: Buffer;
  aesKey: Buffer;
  nonce: Buffer;
  /** Which side of the cipher is plaintext ONNX, to walk it. */
  walkInput: boolean;
  total: number | undefined;
  what: string;
  onWireError: (e: WireError) => StudioError;
  readErrorFile: string | undefined;
  options: StreamOptions;
}

/**
 * The one streaming loop behind seal and unseal: prologue, then each chunk through AES-CTR, while
 * the plaintext is walked as a ModelProto. Walk errors surface inside the pipeline, so the
 * destination is destroyed before it can be committed.
 */
async function* transform(spec: TransformSpec): AsyncGenerator<Buffer> {
  const { signal, onProgress } = spec.options;
  const cipher = ctrCipher(spec.aesKey, spec.nonce);
  const walker = new ModelProtoWalker(spec.total);
  let done = 0;
  if (spec.prologue.length > 0) yield spec.prologue;
  const it = spec.source[Symbol.asyncIterator]();
  try {
    for (;;) {
      if (signal?.aborted) throw cancelledError(spec.what);
      let step: IteratorResult<Uint8Array>;
      try {
        step = await it.next();
      } catch (e) {
        throw spec.readErrorFile === undefined ? e : mapReadError(e, spec.readErrorFile);
      }
      if (step.done) break;
      const chunk = step.value;
      const out = cipher.update(chunk);
      walker.push(spec.walkInput ? chunk : out);
      done += chunk.length;
      yield out;
      onProgress?.({ done, total: spec.total ?? done });
    }
    const tail = cipher.final();
    if (tail.length > 0) yield tail;
    walker.finish();
  } catch (e) {
    if (e instanceof WireError) throw spec.onWireError(e);
    throw e;
  }
}

/** Count what goes to `dest`. */
async function* counting(src: AsyncIterable<Buffer>, counter: { bytes: number }): AsyncGenerator<Buffer> {
  for await (const b of src) {
    counter.bytes += b.length;
    yield b;
  }
}

/**
 * Seal an ONNX model (bytes or a stream of chunks) into `dest` as .etlt or .tlt, then end `dest`.
 * The ONNX is walked as it goes; a malformed model rejects and destroys `dest` (abort the
 * OutputSet that owns it). Returns the bytes written; the SHA-256 comes from `OutputSet.commit`
 * (hashing here too would cost a second SHA-256 pass over the model).
 */
export async function sealToStream(
  onnx: Uint8Array | AsyncIterable<Uint8Array>,
  dest: NodeJS.WritableStream,
  key: string,
  header: SealHeader,
  options: SealToStreamOptions = {},
): Promise<{ bytes: number; kdfVersion: number }> {
  if (key.length === 0) throw new StudioError('E_KEY_REQUIRED', 'Sealing needs a key and none was given', 'Pass the key to seal the .etlt with (-k/--key, or EXPORT_STUDIO_KEY); anyone who opens the .etlt later needs the same key.');
  throwIfAborted(options.signal, 'Sealing the model');
  const kdf = options.kdf ?? kdfParams(CURRENT_KDF_VERSION);
  const nonce = newNonce();
  const aesKey = await deriveKey(key, nonce, kdf);
  const isBytes = onnx instanceof Uint8Array;
  const counter = { bytes: 0 };
  const gen = transform({
    source: isBytes ? chunksOf(onnx) : onnx,
    prologue: prologue(header, nonce),
    aesKey,
    nonce,
    walkInput: true,
    total: isBytes ? onnx.length : options.totalBytes,
    what: 'Sealing the model',
    onWireError: (e) => new StudioError('E_ONNX_INVALID', `The model to seal is not a well-formed ONNX ModelProto: ${e.reason} at byte ${e.offset}`, 'Seal only a complete .onnx model; nothing was written.', { offset: e.offset }),
    readErrorFile: undefined,
    options,
  });
  try {
    await pipeline(Readable.from(counting(gen, counter)), dest);
  } catch (e) {
    if (e instanceof StudioError) throw e;
    if (options.signal?.aborted) throw cancelledError('Sealing the model');
    const file = (dest as { path?: unknown }).path;
    throw mapWriteError(e, typeof file === 'string' ? file : 'the output stream');
  }
  return { bytes: counter.bytes, kdfVersion: kdf.version };
}

async function withOutput<T>(
  outPath: string,
  overwrite: boolean,
  signal: AbortSignal | undefined,
  what: string,
  body: (dest: NodeJS.WritableStream) => Promise<T>,
  beforeCommit?: (tempPath: string) => Promise<string[]>,
): Promise<Omit<WrittenModel, 'warnings'> & T & { warnings: string[] }> {
  const outputs = new OutputSet({ overwrite });
  try {
    const { stream, file } = await outputs.createWriteStream(outPath);
    let extra: T;
    try {
      extra = await body(stream);
    } catch (e) {
      if (signal?.aborted && !(e instanceof StudioError && e.code === 'E_CANCELLED')) throw cancelledError(what);
      if (e instanceof StudioError) throw e;
      throw mapWriteError(e, path.resolve(outPath));
    }
    throwIfAborted(signal, what);
    const warnings = beforeCommit ? await beforeCommit(file.tempPath) : [];
    throwIfAborted(signal, what);
    const [committed] = await outputs.commit();
    if (!committed) throw new StudioError('E_INTERNAL', 'No output was committed', 'This is a bug; please report it.');
    return { ...extra, path: committed.path, bytes: committed.bytes, sha256: committed.sha256, warnings };
  } catch (e) {
    await outputs.abort();
    throw e;
  }
}

function sourceStream(file: string, start: number): AsyncIterable<Uint8Array> {
  return createReadStream(file, { start, highWaterMark: CHUNK_BYTES });
}

/**
 * Seal a plain .onnx file into an .etlt or .tlt. The model is read once (at most 2 GiB, a regular
 * file) and validated as a graph before any output exists; exactly those bytes are then sealed in
 * 1 MiB chunks (so a file changed after the check cannot slip through). The output appears
 * atomically, or not at all on error or cancel. Memory: the model once, plus its decoded graph.
 */
export async function sealFile(inPath: string, outPath: string, key: string, options: SealFileOptions): Promise<WrittenModel & { kdfVersion: number }> {
  const what = 'Sealing the model';
  throwIfAborted(options.signal, what);
  const detected = await detectModelFormat(inPath);
  if (detected.format !== 'onnx') {
    throw new StudioError('E_USAGE', `${path.basename(inPath)} is already a sealed .${detected.format} model`, 'Seal a plain .onnx model. To change the key or container, unseal it first with its current key.', { file: inPath });
  }
  if (key.length === 0) throw new StudioError('E_KEY_REQUIRED', 'Sealing needs a key and none was given', 'Pass the key to seal the .etlt with (-k/--key, or EXPORT_STUDIO_KEY); anyone who opens the .etlt later needs the same key.');
  const header: SealHeader = { format: options.format };
  if (options.inputName !== undefined) header.inputName = options.inputName;
  encodeEtltHeader(header.inputName ?? ''); // validate before creating any output
  const bytes = await readRegularFile(inPath, MODEL_MAX_BYTES, 'Model file');
  const warnings = validateModelBytes(bytes, inPath);
  throwIfAborted(options.signal, what);
  const written = await withOutput(outPath, options.overwrite ?? false, options.signal, what, async (dest) => {
    const nonce = newNonce();
    const aesKey = await deriveKey(key, nonce, CURRENT_KDF_VERSION);
    const gen = transform({
      source: chunksOf(bytes),
      prologue: prologue(header, nonce),
      aesKey,
      nonce,
      walkInput: true,
      total: bytes.length,
      what,
      onWireError: (e) => structureError(inPath, 'onnx', e, 0),
      readErrorFile: inPath,
      options,
    });
    await pipeline(Readable.from(gen), dest);
    return { kdfVersion: CURRENT_KDF_VERSION };
  });
  return { ...written, warnings };
}

/**
 * Turn an .etlt/.tlt back into plain .onnx. The key is quick-checked first; the plaintext is
 * walked as it streams, so a wrong key or a corrupt file never leaves an output; before the commit
 * the staged ONNX is read back and validated as a graph (a model we write is always a valid graph).
 */
export async function unsealFile(inPath: string, outPath: string, key: string, options: FileJobOptions = {}): Promise<WrittenModel & { format: SealedFormat; etltInputName?: string; kdfVersion: number }> {
  const what = 'Unsealing the model';
  throwIfAborted(options.signal, what);
  const detected = await detectModelFormat(inPath);
  if (detected.format === 'onnx') {
    throw new StudioError('E_USAGE', `${path.basename(inPath)} is already a plain ONNX model; there is nothing to unseal`, 'Use it as it is, or seal it with `export-studio seal`.', { file: inPath });
  }
  const format = detected.format;
  const outputs = new OutputSet({ overwrite: options.overwrite ?? false });
  await outputs.preflight(outPath); // refuse an existing output before deriving keys
  const unlocked = await unlockModel(detected, key);
  const written = await withOutput(outPath, options.overwrite ?? false, options.signal, what, async (dest) => {
    const gen = transform({
      source: sourceStream(inPath, unlocked.cipherOffset),
      prologue: Buffer.alloc(0),
      aesKey: unlocked.aesKey,
      nonce: unlocked.nonce,
      walkInput: false,
      total: unlocked.cipherBytes,
      what,
      onWireError: (e) => structureError(inPath, format, e, unlocked.cipherOffset),
      readErrorFile: inPath,
      options,
    });
    await pipeline(Readable.from(gen), dest);
    return {};
  }, async (temp) => validateModelBytes(await readRegularFile(temp, MODEL_MAX_BYTES, 'Unsealed model'), inPath));
  const out: WrittenModel & { format: SealedFormat; etltInputName?: string; kdfVersion: number } = { ...written, format, kdfVersion: unlocked.kdfVersion };
  if (detected.etltInputName !== undefined) out.etltInputName = detected.etltInputName;
  return out;
}
