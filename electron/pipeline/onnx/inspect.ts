import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { StudioError } from '../../../shared/errors.js';
import type { ModelSummary, TensorInfo } from '../../../shared/report.js';
import { elemTypeName } from './elemtypes.js';
import { allGraphs, forEachNode, valueInfoTensor } from './graph.js';
import { int64ToNumber, int64ToNumberClamped, type Int64 } from './int64.js';
import { decodeModel, type onnx } from './model.js';
import { ortCanRun } from './onnxops.js';
import { externalDataInfo, isExternalTensor } from './tensor.js';

type GraphLike = onnx.GraphProto.$Properties;
type TensorLike = onnx.TensorProto.$Properties;

export interface InspectOptions {
  format: ModelSummary['format'];
  /** .etlt header input name ('' = ONNX payload). */
  etltInputName?: string;
  /** Size of the file on disk (for .etlt/.tlt: the encrypted file, not the ONNX payload). */
  fileBytes: number;
  /** sha256 hex of the file on disk. */
  sha256: string;
  /** For error messages. */
  modelPath?: string;
}

/**
 * Summarizes a serialized ONNX model for the wizard, the CLI model card and the report.
 * Counts: nodeCount includes the nodes of subgraphs (If/Loop/Scan bodies, at any depth);
 * initializerCount and parameterCount cover the initializers of the main graph and all subgraphs
 * (parameterCount = their element total, sparse initializers by their dense size).
 */
export function inspectModel(bytes: Uint8Array, opts: InspectOptions): ModelSummary {
  const model = decodeModel(bytes, opts.modelPath === undefined ? {} : { file: opts.modelPath });
  return summarizeModel(model, opts);
}

/** inspectModel for an already decoded model. */
export function summarizeModel(model: onnx.ModelProto.$Properties, opts: InspectOptions): ModelSummary {
  const graph: GraphLike = model.graph ?? {};
  const graphs = allGraphs(graph);
  const initNames = new Set((graph.initializer ?? []).map((t) => t.name ?? ''));

  const localFunctions = new Set((model.functions ?? []).map((f) => `${f.domain ?? ''}::${f.name ?? ''}`));
  const opCounts: Record<string, number> = {};
  const custom = new Map<string, { domain: string; opType: string; count: number }>();
  let nodeCount = 0;
  const countNode = (n: onnx.NodeProto.$Properties): void => {
    nodeCount++;
    const domain = n.domain ?? '';
    const opType = n.opType ?? '';
    const key = domain === '' || domain === 'ai.onnx' ? opType : `${domain}::${opType}`;
    opCounts[key] = (opCounts[key] ?? 0) + 1;
    if (!ortCanRun(domain, opType, localFunctions)) {
      const c = custom.get(key) ?? { domain, opType, count: 0 };
      c.count++;
      custom.set(key, c);
    }
  };
  forEachNode(graph, countNode);

  let initializerCount = 0;
  let parameterCount = 0;
  let externalData = false;
  for (const g of graphs) {
    for (const t of g.initializer ?? []) {
      initializerCount++;
      parameterCount += elementCount(t.dims);
      if (isExternalTensor(t)) externalData = true;
    }
    for (const s of g.sparseInitializer ?? []) {
      initializerCount++;
      parameterCount += elementCount(s.dims);
    }
  }
  if (!externalData) externalData = collectTensors(model).some(isExternalTensor);

  const opsets = (model.opsetImport ?? []).map((o) => ({ domain: o.domain ?? '', version: int64ToNumber(o.version) }));
  const producer = [model.producerName ?? '', model.producerVersion ?? ''].filter((s) => s !== '').join(' ');

  const summary: ModelSummary = {
    format: opts.format,
    irVersion: int64ToNumberClamped(model.irVersion),
    opsets,
    producer,
    // Since IR 4 an initializer may also be listed as an input (an overridable default): not a real input.
    inputs: (graph.input ?? []).filter((v) => !initNames.has(v.name ?? '')).map(tensorInfo),
    outputs: (graph.output ?? []).map(tensorInfo),
    nodeCount,
    initializerCount,
    parameterCount,
    opCounts,
    customOps: [...custom.values()].sort((a, b) => b.count - a.count || a.opType.localeCompare(b.opType)),
    externalData,
    sha256: opts.sha256,
    bytes: opts.fileBytes,
  };
  if (opts.etltInputName !== undefined) summary.etltInputName = opts.etltInputName;
  return summary;
}

function elementCount(dims: readonly Int64[] | null | undefined): number {
  let n = 1;
  for (const d of dims ?? []) n *= int64ToNumberClamped(d);
  return n;
}

function tensorInfo(vi: onnx.ValueInfoProto.$Properties): TensorInfo {
  const t = valueInfoTensor(vi);
  if (t) return { name: vi.name ?? '', type: elemTypeName(t.elemType), shape: t.shape };
  const ty = vi.type;
  const kind = ty?.sequenceType ? 'sequence' : ty?.mapType ? 'map' : ty?.optionalType ? 'optional' : ty?.sparseTensorType ? 'sparse_tensor' : 'unknown';
  return { name: vi.name ?? '', type: kind, shape: null };
}

/** Every TensorProto in the model: initializers, sparse values/indices, and tensor attributes (Constant). */
export function collectTensors(model: onnx.ModelProto.$Properties): TensorLike[] {
  const out: TensorLike[] = [];
  const graph = model.graph;
  if (!graph) return out;
  for (const g of allGraphs(graph)) {
    out.push(...(g.initializer ?? []));
    for (const s of g.sparseInitializer ?? []) {
      if (s.values) out.push(s.values);
      if (s.indices) out.push(s.indices);
    }
  }
  forEachNode(graph, (n) => {
    for (const a of n.attribute ?? []) {
      if (a.t) out.push(a.t);
      out.push(...(a.tensors ?? []));
    }
  });
  return out;
}

/** One external data file as onnxruntime-node's `externalData` session option wants it. */
export interface ExternalDataFile {
  /** The `location` string exactly as written in the model (ORT matches on it). */
  path: string;
  data: Uint8Array;
}

export interface ResolvedExternalData {
  /** Pass as `SessionOptions.externalData` when creating a session from bytes. */
  externalData: ExternalDataFile[];
  /** Per file: absolute path, size, and the tensors stored in it. */
  files: { location: string; absPath: string; bytes: number; tensors: string[] }[];
}

// fs.readFile refuses files of 2 GiB or more (ERR_FS_FILE_TOO_LARGE).
const MAX_READ = 2 ** 31 - 1;

function extError(message: string, hint: string, file?: string): StudioError {
  return new StudioError('E_ONNX_EXTERNAL_DATA', message, hint, file === undefined ? {} : { file });
}

/**
 * Checks the external data files a model references (initializers with data_location EXTERNAL)
 * and reads them for ORT. Locations must be relative paths inside `modelDir` (no '..', not
 * absolute, as the ONNX spec requires); every file must exist and cover offset+length.
 * @throws StudioError E_ONNX_EXTERNAL_DATA saying which tensor and file is wrong.
 */
export async function resolveExternalData(model: onnx.ModelProto.$Properties, modelDir: string): Promise<ResolvedExternalData> {
  const byLocation = new Map<string, { tensors: string[]; end: number }>();
  for (const t of collectTensors(model)) {
    if (!isExternalTensor(t)) continue;
    const info = externalDataInfo(t);
    const name = t.name ?? '(unnamed)';
    const location = info['location'];
    if (location === undefined || location === '') {
      throw extError(`Tensor '${name}' is marked EXTERNAL but has no 'location' entry.`, 'The model was saved incorrectly; re-export it with its external data, or as a single file.');
    }
    const parts = location.split(/[\\/]+/);
    if (path.isAbsolute(location) || path.win32.isAbsolute(location) || parts.includes('..')) {
      throw extError(
        `Tensor '${name}' points its data at '${location}', outside the model's folder.`,
        "ONNX external data must be a relative path in the model's folder without '..'. Move the data file next to the model and fix the location.",
      );
    }
    const offset = info['offset'] === undefined ? 0 : Number(info['offset']);
    const length = info['length'] === undefined ? undefined : Number(info['length']);
    if (!Number.isSafeInteger(offset) || offset < 0 || (length !== undefined && (!Number.isSafeInteger(length) || length < 0))) {
      throw extError(`Tensor '${name}' has a bad external data offset/length (${info['offset']}/${info['length']}).`, 'Re-export the model; offsets and lengths must be decimal byte counts.');
    }
    const entry = byLocation.get(location) ?? { tensors: [], end: 0 };
    entry.tensors.push(name);
    entry.end = Math.max(entry.end, length === undefined ? offset : offset + length);
    byLocation.set(location, entry);
  }

  const result: ResolvedExternalData = { externalData: [], files: [] };
  const root = path.resolve(modelDir);
  for (const [location, entry] of byLocation) {
    const absPath = path.resolve(root, location);
    if (absPath !== root && !absPath.startsWith(root + path.sep)) {
      throw extError(`External data '${location}' resolves outside the model's folder.`, "Keep external data files inside the model's folder.", absPath);
    }
    let size: number;
    try {
      const st = await fsp.stat(absPath);
      if (!st.isFile()) throw new Error('not a regular file');
      size = st.size;
    } catch (err) {
      throw extError(
        `External data file '${location}' (for ${entry.tensors.length} tensor(s), e.g. '${entry.tensors[0]}') is missing or unreadable: ${err instanceof Error ? err.message : String(err)}.`,
        'Copy the data file(s) saved with the model into the same folder as the .onnx file.',
        absPath,
      );
    }
    if (entry.end > size) {
      throw extError(
        `External data file '${location}' has ${size} bytes but tensors need up to byte ${entry.end}.`,
        'The data file is truncated or belongs to another export; copy it again.',
        absPath,
      );
    }
    if (size > MAX_READ) {
      throw extError(
        `External data file '${location}' is ${size} bytes, too large to load into memory in one piece.`,
        'Open the model from its path (ONNX Runtime then reads external data itself) instead of from bytes.',
        absPath,
      );
    }
    const data = new Uint8Array(await fsp.readFile(absPath));
    result.externalData.push({ path: location, data });
    result.files.push({ location, absPath, bytes: size, tensors: entry.tensors });
  }
  return result;
}
