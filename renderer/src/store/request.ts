import type { ExportRequestInput, Calibration, Preprocessing } from '../../../shared/request.js';
import { ExportRequestSchema } from '../../../shared/request.js';
import { KEY_MASK } from '../../../shared/redact.js';
import type { ImagesState } from './images.js';
import type { OptionsState } from './options.js';
import { needsKey, keyVerified, type PreprocessingFields, type SourceState } from './source.js';
import type { StepId } from './steps.js';
import { appWorkDir, defaultCachePath, defaultEtltPath, defaultOnnxPath, defaultQdqPath, sibling } from '../../../shared/defaults.js';

/** The .etlt: the user's, else TAO's default beside the model (shared/defaults.ts). */
export function effectiveEtlt(source: Pick<SourceState, 'modelPath'>, options: OptionsState): string {
  if (options.outputs.etltEdited || source.modelPath.trim() === '') return options.outputs.etlt;
  return defaultEtltPath(source.modelPath.trim(), options.precision);
}

/** The plain ONNX the job writes beside the .etlt with the DeepStream config (never the model's own name). */
export function effectivePlainOnnx(source: Pick<SourceState, 'modelPath'>, options: OptionsState): string {
  return options.outputs.onnx.trim() || defaultOnnxPath(effectiveEtlt(source, options), source.modelPath.trim());
}

/** The INT8 cache: the user's, else `cal.bin` in the app's working directory, the .etlt's folder. */
export function effectiveCache(source: Pick<SourceState, 'modelPath'>, options: OptionsState): string {
  if (options.outputs.cacheEdited) return options.outputs.cache;
  const etlt = effectiveEtlt(source, options);
  return etlt ? defaultCachePath(appWorkDir(etlt)) : '';
}

function calibrationFor(options: OptionsState, images: Pick<ImagesState, 'images' | 'selection'>): Partial<Calibration> & Pick<Calibration, 'source'> {
  const c = options.calibration;
  const common = {
    batches: c.batches,
    batchSize: c.batchSize,
    seed: c.seed,
    algorithm: c.algorithm,
    percentile: c.percentile,
    resize: c.resize,
    acceptFewer: c.acceptFewer,
    histogram: c.histogram,
    reuse: c.reuse,
  };
  switch (c.source) {
    case 'spec-loader':
      return { source: 'spec-loader', ...common };
    case 'image-dir': {
      const all = images.images.length > 0 && images.selection.selected.size === images.images.length;
      // The whole folder goes by name (short command line); a hand-picked subset as exact files.
      if (all || images.images.length === 0) return { source: 'image-dir', ...(c.imageDir.trim() ? { imageDir: c.imageDir.trim() } : {}), ...common };
      const chosen = images.images.filter((i) => images.selection.selected.has(i.id)).map((i) => i.path);
      return { source: 'images', images: chosen, ...common };
    }
    case 'tensorfile':
      // Empty paths are left out so the schema reports "needs a path", not "too short".
      return { source: 'tensorfile', ...(c.tensorfile.trim() ? { tensorfile: c.tensorfile.trim() } : {}), writeTensorfile: c.writeTensorfile, ...common };
    case 'cache':
      return { source: 'cache', ...common };
  }
}

/** Three numbers (comma, semicolon or space separated), or null when the text is not that. */
export function parseTriple(text: string): [number, number, number] | null {
  const parts = text.split(/[;,\s]+/).filter(Boolean).map(Number);
  return parts.length === 3 && parts.every((x) => Number.isFinite(x)) ? [parts[0]!, parts[1]!, parts[2]!] : null;
}

function positiveInt(text: string): number | null {
  const n = Number(text.trim());
  return text.trim() !== '' && Number.isInteger(n) && n > 0 ? n : null;
}

/** Problems with the typed spec-less preprocessing fields, in the words of the Spec step. */
export function preprocessingProblems(pp: PreprocessingFields): string[] {
  const out: string[] = [];
  const h = pp.height.trim();
  const w = pp.width.trim();
  if ((h !== '' || w !== '') && (positiveInt(h) === null || positiveInt(w) === null)) out.push('Input size: give both height and width as positive whole numbers');
  if (pp.mean.trim() !== '' && parseTriple(pp.mean) === null) out.push('Mean: give three numbers, e.g. 123.675, 116.28, 103.53');
  const scale = pp.scale.trim() === '' ? null : parseTriple(pp.scale);
  if (pp.scale.trim() !== '' && (scale === null || scale.some((x) => x <= 0))) out.push('Scale: give three positive numbers, e.g. 0.017, 0.017, 0.017');
  return out;
}

/** The preprocessing of a spec-less request: the preset plus every field that is set and valid. */
export function preprocessingFor(source: Pick<SourceState, 'preset' | 'pp'>): Preprocessing {
  const out: Preprocessing = { preset: source.preset };
  const { pp } = source;
  const h = positiveInt(pp.height);
  const w = positiveInt(pp.width);
  if (h !== null && w !== null) out.size = [h, w];
  const mean = pp.mean.trim() ? parseTriple(pp.mean) : null;
  if (mean) out.mean = mean;
  const scale = pp.scale.trim() ? parseTriple(pp.scale) : null;
  if (scale && scale.every((x) => x > 0)) out.scale = scale;
  if (pp.order) out.order = pp.order;
  if (pp.layout) out.layout = pp.layout;
  return out;
}

/** The request the wizard would send now (not yet validated). `fidelity`: the INT8 check's switch. */
export function buildRequest(source: SourceState, options: OptionsState, images: Pick<ImagesState, 'images' | 'selection'>, fidelity?: { enabled: boolean }): ExportRequestInput {
  const etlt = effectiveEtlt(source, options);
  const int8 = options.precision === 'int8';
  const o = options.outputs;
  const outputs: ExportRequestInput['outputs'] = { etlt, dsConfig: o.dsConfig };
  const lib = o.dsCustomLib.trim();
  if (o.dsConfig && lib) outputs.dsCustomLib = lib;
  if (int8) {
    const cache = effectiveCache(source, options);
    if (cache) outputs.cache = cache;
    if (o.qdq && etlt) outputs.qdq = o.qdqPath.trim() || defaultQdqPath(etlt);
  }
  if (o.report && etlt) outputs.report = o.reportPath.trim() || sibling(etlt, '.report.json');
  if (o.onnx.trim()) outputs.onnx = o.onnx.trim();
  if (o.logFile.trim()) outputs.logFile = o.logFile.trim();
  if (o.engine.trim()) outputs.engine = o.engine.trim();
  if (o.resultsDir.trim()) outputs.resultsDir = o.resultsDir.trim();
  if (o.dsConfig && o.dsEmbedKey) outputs.dsConfigEmbedKey = true;
  const req: ExportRequestInput = {
    model: source.modelPath.trim(),
    key: source.key,
    precision: options.precision,
    trtVersion: options.trtVersion.trim(),
    outputs,
    gpu: options.gpu,
    overwrite: o.overwrite,
    maxBatchSize: options.advanced.maxBatchSize,
    maxWorkspaceSize: options.advanced.maxWorkspaceSize,
    verbose: options.advanced.verbose,
  };
  const spec = source.specPath.trim();
  if (spec) req.spec = spec;
  else req.preprocessing = preprocessingFor(source);
  if (int8) {
    req.calibration = calibrationFor(options, images);
    if (fidelity) req.fidelity = { enabled: fidelity.enabled };
  }
  return req;
}

export interface RequestIssue {
  step: StepId;
  path: string;
  message: string;
}

/** Which wizard step owns a field of the request. */
export function stepForPath(path: readonly PropertyKey[]): StepId {
  const [head] = path;
  switch (head) {
    case 'model':
      return 'model';
    case 'key':
      return 'key';
    case 'spec':
    case 'preprocessing':
      return 'spec';
    case 'precision':
      return 'precision';
    case 'calibration':
      return 'calibration';
    default:
      return 'output';
  }
}

/** Validate with the same zod schema every boundary uses. */
export function validateRequest(req: ExportRequestInput): RequestIssue[] {
  const r = ExportRequestSchema.safeParse(req);
  if (r.success) return [];
  return r.error.issues.map((i) => ({ step: stepForPath(i.path), path: i.path.map(String).join('.'), message: i.message }));
}

/**
 * What keeps the user on a step (UI-level checks the schema cannot know: the key was checked,
 * the spec parsed, enough images are selected). Empty = Next is allowed.
 */
export function stepBlockers(step: StepId, source: SourceState, options: OptionsState, images: Pick<ImagesState, 'images' | 'selection'>): string[] {
  const out: string[] = [];
  switch (step) {
    case 'model':
      if (!source.modelPath.trim()) out.push('Choose a model file');
      else if (source.modelCheck.status === 'error') out.push('The model could not be opened');
      break;
    case 'key':
      if (needsKey(source.modelPath) && !keyVerified(source)) {
        const wrong = source.keyCheck.status === 'error' && source.checkedKey === source.key;
        out.push(source.key === '' ? 'Enter the model key' : wrong ? 'This key does not open the model' : KEY_BLOCKER);
      }
      if (!needsKey(source.modelPath) && source.model === null) out.push('Open the model first');
      else if (!needsKey(source.modelPath) && source.key === '') out.push('Enter the key that will encrypt the .etlt');
      break;
    case 'spec':
      if (source.specPath.trim() && source.spec === null) out.push('The spec has not been parsed');
      // A dynamic input without a size blocks only INT8 and the DeepStream config: Review says so.
      if (!source.specPath.trim()) out.push(...preprocessingProblems(source.pp));
      break;
    case 'calibration': {
      const c = options.calibration;
      if (c.source === 'image-dir' && images.images.length > 0) {
        const need = c.batches * c.batchSize;
        const have = images.selection.selected.size;
        if (have === 0) out.push('Select at least one image');
        else if (have < need && !c.acceptFewer) out.push(`Select ${need - have} more image(s), or accept fewer samples`);
      }
      break;
    }
    default:
      break;
  }
  // The schema's own findings come after the friendlier UI checks.
  const issues = validateRequest(buildRequest(source, options, images)).filter((i) => i.step === step);
  if (out.length === 0) out.push(...issues.map((i) => `${i.path}: ${i.message}`));
  return out;
}

/**
 * What the model input's shape fixes (the same reading as the pipeline's preprocess.ts): rank 4
 * with batch or rank 3 without (Mask R-CNN's [3, H, W]); the 3-channel axis gives the layout.
 */
export function inputGeometry(shape: readonly (number | string | null)[] | null): { text: string; layout?: 'nchw' | 'nhwc'; size?: [number, number]; dynamic: boolean } {
  if (!shape) return { text: '?', dynamic: false };
  const text = `[${shape.map((d) => (typeof d === 'number' && d > 0 ? String(d) : '?')).join(', ')}]`;
  if (shape.length !== 3 && shape.length !== 4) return { text, dynamic: false };
  const o = shape.length - 3;
  const isStatic = (d: unknown): d is number => typeof d === 'number' && d > 0;
  const first = shape[o];
  const last = shape[o + 2];
  const layout = first === 3 && last !== 3 ? 'nchw' : last === 3 && first !== 3 ? 'nhwc' : undefined;
  if (!layout) return { text, dynamic: false };
  const [h, w] = layout === 'nhwc' ? [shape[o], shape[o + 1]] : [shape[o + 1], shape[o + 2]];
  if (isStatic(h) && isStatic(w)) return { text, layout, size: [h, w], dynamic: false };
  return { text, layout, dynamic: true };
}

export const KEY_BLOCKER = 'Check the key first (Enter or leave the field)';

export function maskKey(key: string): string {
  return key.length === 0 ? '' : KEY_MASK;
}
