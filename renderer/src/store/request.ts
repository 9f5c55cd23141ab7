import type { ExportRequestInput, Calibration, Preprocessing } from '../../../shared/request.js';
import { ExportRequestSchema } from '../../../shared/request.js';
import { KEY_MASK } from '../../../shared/redact.js';
import type { ImagesState } from './images.js';
import type { OptionsState } from './options.js';
import { needsKey, keyVerified, type SourceState } from './source.js';
import type { StepId } from './steps.js';
import { defaultEtltPath, sibling } from './paths.js';

export function effectiveEtlt(source: Pick<SourceState, 'modelPath'>, options: OptionsState): string {
  if (options.outputs.etltEdited || source.modelPath.trim() === '') return options.outputs.etlt;
  return defaultEtltPath(source.modelPath.trim(), options.precision);
}

export function effectiveCache(source: Pick<SourceState, 'modelPath'>, options: OptionsState): string {
  if (options.outputs.cacheEdited) return options.outputs.cache;
  const etlt = effectiveEtlt(source, options);
  return etlt ? sibling(etlt, '.cal.bin') : '';
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

/** The request the wizard would send now (not yet validated). */
export function buildRequest(source: SourceState, options: OptionsState, images: Pick<ImagesState, 'images' | 'selection'>): ExportRequestInput {
  const etlt = effectiveEtlt(source, options);
  const int8 = options.precision === 'int8';
  const outputs: ExportRequestInput['outputs'] = { etlt, dsConfig: options.outputs.dsConfig };
  const lib = options.outputs.dsCustomLib.trim();
  if (options.outputs.dsConfig && lib) outputs.dsCustomLib = lib;
  if (int8) {
    const cache = effectiveCache(source, options);
    if (cache) outputs.cache = cache;
    if (options.outputs.qdq && etlt) outputs.qdq = sibling(etlt, '.qdq.onnx');
  }
  const req: ExportRequestInput = {
    model: source.modelPath.trim(),
    key: source.key,
    precision: options.precision,
    trtVersion: options.trtVersion.trim(),
    outputs,
    gpu: options.gpu,
    overwrite: options.outputs.overwrite,
  };
  const spec = source.specPath.trim();
  if (spec) req.spec = spec;
  else req.preprocessing = { preset: source.preset } satisfies Preprocessing;
  if (int8) req.calibration = calibrationFor(options, images);
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

export const KEY_BLOCKER = 'Check the key first (Enter or leave the field)';

export function maskKey(key: string): string {
  return key.length === 0 ? '' : KEY_MASK;
}
