/**
 * Stable error codes. A code never changes meaning once released: the CLI maps it to an exit
 * code, the UI to a message, scripts match on it. Add new codes at the end of their class.
 */
export const ERROR_CLASSES = {
  usage: 2, //        bad flags, bad request
  input: 3, //        a file the user gave is missing, unreadable or malformed
  key: 4, //          wrong key / corrupt encrypted payload
  spec: 5, //         experiment spec syntax or schema
  data: 6, //         calibration data (TFRecords, images, tensorfiles)
  output: 7, //       cannot write an output (exists, read-only, disk full)
  runtime: 8, //      ONNX Runtime / TensorRT / GPU
  quality: 9, //      every file written, but the INT8 model misses its fidelity target (--allow_below_target: 0)
  cancelled: 130, //  user cancelled (same as SIGINT)
  internal: 70, //    a bug: please report
} as const;

export type ErrorClass = keyof typeof ERROR_CLASSES;

export const ERROR_CODES = {
  E_USAGE: 'usage',
  E_REQUEST_INVALID: 'usage',
  E_MANIFEST_INVALID: 'usage',
  E_FILE_NOT_FOUND: 'input',
  E_FILE_UNREADABLE: 'input',
  E_FILE_EMPTY: 'input',
  E_FILE_TRUNCATED: 'input',
  E_UNKNOWN_FORMAT: 'input',
  E_NOT_ONNX: 'input',
  E_ONNX_INVALID: 'input',
  E_ONNX_EXTERNAL_DATA: 'input',
  E_ETLT_HEADER: 'input',
  E_KEY_REQUIRED: 'key',
  E_WRONG_KEY_OR_CORRUPT: 'key',
  E_SPEC_NOT_FOUND: 'spec',
  E_SPEC_SYNTAX: 'spec',
  E_SPEC_UNKNOWN_FIELD: 'spec',
  E_SPEC_TYPE: 'spec',
  E_SPEC_VALUE: 'spec',
  E_SPEC_REQUIRED: 'spec',
  E_MODEL_SPEC_MISMATCH: 'spec',
  E_LABELS_JSON: 'input',
  E_TFRECORD_NOT_FOUND: 'data',
  E_TFRECORD_TRUNCATED: 'data',
  E_TFRECORD_CRC: 'data',
  E_TFRECORD_EXAMPLE: 'data',
  E_IMAGE_DECODE: 'data',
  E_IMAGE_DIR: 'data',
  E_CAL_TOO_FEW_SAMPLES: 'data',
  E_TENSORFILE: 'data',
  E_CACHE_FORMAT: 'data',
  E_PREPROCESSING: 'data',
  E_OUTPUT_EXISTS: 'output',
  E_OUTPUT_WRITE: 'output',
  E_OUTPUT_READONLY: 'output',
  E_DISK_FULL: 'output',
  E_OUTPUT_LOCKED: 'output',
  E_RUNTIME: 'runtime',
  E_RUNTIME_UNSUPPORTED_OPS: 'runtime',
  E_GPU: 'runtime',
  E_TRTEXEC_NOT_FOUND: 'runtime',
  E_TRTEXEC_FAILED: 'runtime',
  E_WORKER_CRASHED: 'runtime',
  E_SCHEDULER: 'runtime',
  E_INT8_BELOW_TARGET: 'quality',
  E_CANCELLED: 'cancelled',
  E_INTERNAL: 'internal',
  // Limits (issue 11): a file or value beyond a documented limit (docs/TESTING.md, limits).
  E_INPUT_TOO_LARGE: 'input',
  E_RECORD_TOO_LARGE: 'data',
  E_IMAGE_TOO_LARGE: 'data',
  E_PATTERN_REFUSED: 'data',
} as const satisfies Record<string, ErrorClass>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Where an error applies: a file, and for text formats a 1-based line and column. */
export interface ErrorLocation {
  file?: string;
  line?: number;
  column?: number;
  /** A few lines of the source with a caret under the column, ready to print. */
  excerpt?: string;
  /** Byte offset, for binary formats (TFRecord, .etlt). */
  offset?: number;
}

/** The plain-data form that crosses process boundaries (IPC, HTTP, worker messages). */
export interface StudioErrorData extends ErrorLocation {
  code: ErrorCode;
  message: string;
  hint: string;
  /** Extra machine-readable facts (never secrets). */
  details?: Record<string, string | number | boolean | null>;
}

export class StudioError extends Error {
  readonly code: ErrorCode;
  readonly hint: string;
  readonly location: ErrorLocation;
  readonly details: Record<string, string | number | boolean | null> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    hint: string,
    location: ErrorLocation = {},
    options: { cause?: unknown; details?: Record<string, string | number | boolean | null> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StudioError';
    this.code = code;
    this.hint = hint;
    this.location = location;
    this.details = options.details;
  }

  get exitCode(): number {
    return exitCodeFor(this.code);
  }

  toData(): StudioErrorData {
    const data: StudioErrorData = { code: this.code, message: this.message, hint: this.hint };
    const { file, line, column, excerpt, offset } = this.location;
    if (file !== undefined) data.file = file;
    if (line !== undefined) data.line = line;
    if (column !== undefined) data.column = column;
    if (excerpt !== undefined) data.excerpt = excerpt;
    if (offset !== undefined) data.offset = offset;
    if (this.details !== undefined) data.details = this.details;
    return data;
  }

  static fromData(data: StudioErrorData): StudioError {
    const { code, message, hint, details, ...location } = data;
    return new StudioError(code, message, hint, location, details ? { details } : {});
  }
}

export function isStudioError(e: unknown): e is StudioError {
  return e instanceof StudioError;
}

/**
 * Any thrown value as a StudioError: a StudioError as it is, anything else an E_INTERNAL (a bug)
 * naming where it happened. The one mapping every boundary uses (CLI, pipeline, worker, host API,
 * Electron IPC, web server) so an unexpected failure always reads, codes and exits the same way.
 */
export function asStudioError(e: unknown, where: string, hint = 'This is a bug in Export Studio: please report it with the log.'): StudioError {
  if (isStudioError(e)) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new StudioError('E_INTERNAL', `Unexpected failure ${where}: ${msg}`, hint, {}, { cause: e });
}

export function exitCodeFor(code: ErrorCode): number {
  return ERROR_CLASSES[ERROR_CODES[code]];
}

export function isErrorCode(s: string): s is ErrorCode {
  return Object.prototype.hasOwnProperty.call(ERROR_CODES, s);
}

/** "file:line:col" the way compilers print it, or just the file. */
export function formatLocation(loc: ErrorLocation): string {
  if (loc.file === undefined) return '';
  if (loc.line === undefined) return loc.offset === undefined ? loc.file : `${loc.file} (byte ${loc.offset})`;
  return loc.column === undefined ? `${loc.file}:${loc.line}` : `${loc.file}:${loc.line}:${loc.column}`;
}

/** The multi-line text a terminal or a "copy details" button shows. */
export function formatError(e: StudioErrorData): string {
  const where = formatLocation(e);
  const lines = [`error ${e.code}: ${e.message}`];
  if (where) lines.push(`  at ${where}`);
  if (e.excerpt) lines.push(...e.excerpt.split('\n').map((l) => `    ${l}`));
  lines.push(`  hint: ${e.hint}`);
  return lines.join('\n');
}
