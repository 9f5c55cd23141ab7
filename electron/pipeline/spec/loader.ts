import { StudioError } from '../../../shared/errors.js';
import { readRegularFile } from '../io/inputs.js';
import { ExperimentSchema, type Experiment } from './maskrcnn.js';
import { SpecValidator, type SetFields, type Warning } from './schema.js';
import { TupleChecker } from './tuples.js';
import { parseTextFormat, type FieldNode, type StringNode, type TextDocument } from './textformat.js';

/**
 * A validated TAO Mask R-CNN experiment spec. Plain data (it crosses process boundaries), with
 * proto field names in `experiment` and camelCase for the values we derive from it.
 */
export interface MaskRcnnSpec {
  file: string;
  /** Every field under its proto name; unset fields hold their proto3 zero value, as in TAO. */
  experiment: Experiment;
  /** Fields written in the file: dotted proto path (`data_config.image_size`) → position. */
  set: SetFields;
  /** `data_config.image_size` as [height, width]; undefined when unset. */
  imageSize: [number, number] | undefined;
  /** `maskrcnn_config.aspect_ratios` as (w, h) pairs; undefined when unset. */
  aspectRatios: [number, number][] | undefined;
  /** `maskrcnn_config.bbox_reg_weights`; undefined when unset. */
  bboxRegWeights: [number, number, number, number] | undefined;
  freezeBlocks: number[] | undefined;
  learningRateSteps: number[] | undefined;
  learningRateDecayLevels: number[] | undefined;
  /** `data_config.num_classes` (background included). */
  numClasses: number;
}

export type SpecWarning = Warning;

export interface ParsedSpec {
  spec: MaskRcnnSpec;
  warnings: SpecWarning[];
}

export interface ParseSpecOptions {
  /**
   * 'export' (default): also require what export needs (image_size, num_classes > 1).
   * 'inspect': only syntax, schema and value shapes, for showing a half-written spec.
   */
  purpose?: 'export' | 'inspect';
}

/** The spec fields TAO's exporter copies into the TensorRT plugins; unset there means 0. */
export const EXPORT_PLUGIN_FIELDS = [
  'maskrcnn_config.test_rpn_post_nms_topn',
  'maskrcnn_config.test_rpn_nms_thresh',
  'maskrcnn_config.test_detections_per_image',
  'maskrcnn_config.test_nms',
  'maskrcnn_config.mrcnn_resolution',
] as const;

/** Default anchor pyramid top level when the spec leaves it unset (TAO's param default). */
const DEFAULT_MAX_LEVEL = 6;

function findField(fields: FieldNode[], path: string): FieldNode | undefined {
  const [head, ...rest] = path.split('.');
  const node = fields.filter((f) => f.name === head).pop();
  if (node === undefined || rest.length === 0) return node;
  return node.value.kind === 'message' ? findField(node.value.fields, rest.join('.')) : undefined;
}

function stringNode(doc: TextDocument, path: string): StringNode | undefined {
  const v = findField(doc.fields, path)?.value;
  return v?.kind === 'string' && v.value.trim() !== '' ? v : undefined;
}

/** Parse and validate spec text. Throws StudioError E_SPEC_* with file, line, column, excerpt. */
export function parseSpec(text: string, file: string, options: ParseSpecOptions = {}): ParsedSpec {
  const purpose = options.purpose ?? 'export';
  const doc = parseTextFormat(text, file);
  const v = new SpecValidator(doc.source, ExperimentSchema);
  const experiment: Experiment = v.validate(doc);
  const warnings = v.warnings;
  const t = new TupleChecker(doc.source, v);
  const warnAt = (path: string, message: string): void => {
    const where = v.set[path] ?? v.set[path.split('.')[0] ?? ''] ?? { line: 1, column: 1 };
    warnings.push({ message, line: where.line, column: where.column });
  };

  // image_size "(H, W)"
  let imageSize: [number, number] | undefined;
  const isNode = stringNode(doc, 'data_config.image_size');
  if (isNode) {
    const ex = '"(832, 1344)"';
    const py = t.parse(isNode, 'image_size', ex);
    const items = t.sequence(isNode, py, 'image_size', ex);
    t.length(isNode, py, items, 2, 'image_size', ex);
    const [h, w] = items.map((i) => t.int(isNode, i, 'image_size', 1, ex)) as [number, number];
    imageSize = [h, w];
    const maxLevel = experiment.maskrcnn_config.max_level || DEFAULT_MAX_LEVEL;
    const stride = 2 ** maxLevel;
    if (maxLevel < 31 && (h % stride !== 0 || w % stride !== 0)) {
      const up = (x: number): number => Math.ceil(x / stride) * stride;
      const pos = t.at(isNode, py.start);
      warnings.push({
        message: `image_size (${h}, ${w}) is not a multiple of ${stride} (2^max_level): training pads images to multiples of ${stride}, so the model was trained on ${up(h)}×${up(w)} inputs; consider image_size "(${up(h)}, ${up(w)})"`,
        ...pos,
      });
    }
  }

  let aspectRatios: [number, number][] | undefined;
  const arNode = stringNode(doc, 'maskrcnn_config.aspect_ratios');
  if (arNode) {
    const ex = '"[(1.0, 1.0), (1.4, 0.7), (0.7, 1.4)]"';
    const py = t.parse(arNode, 'aspect_ratios', ex);
    const items = t.sequence(arNode, py, 'aspect_ratios', ex);
    if (items.length === 0) throw v.error('E_SPEC_VALUE', t.at(arNode, py.start), `'aspect_ratios' is empty`, `Give at least one (w, h) pair, like ${ex}.`);
    aspectRatios = items.map((pair) => {
      const xy = t.sequence(arNode, pair, 'aspect_ratios', ex);
      t.length(arNode, pair, xy, 2, 'aspect_ratios', ex);
      return xy.map((n) => t.positive(arNode, n, 'aspect_ratios', ex)) as [number, number];
    });
  } else {
    warnAt('maskrcnn_config', 'maskrcnn_config.aspect_ratios is not set: the anchors in the exported graph are built from it');
  }

  let bboxRegWeights: [number, number, number, number] | undefined;
  const bwNode = stringNode(doc, 'maskrcnn_config.bbox_reg_weights');
  if (bwNode) {
    const ex = '"(10., 10., 5., 5.)"';
    const py = t.parse(bwNode, 'bbox_reg_weights', ex);
    const items = t.sequence(bwNode, py, 'bbox_reg_weights', ex);
    t.length(bwNode, py, items, 4, 'bbox_reg_weights', ex);
    bboxRegWeights = items.map((n) => t.positive(bwNode, n, 'bbox_reg_weights', ex)) as [number, number, number, number];
  } else {
    warnAt('maskrcnn_config', 'maskrcnn_config.bbox_reg_weights is not set: box decoding in the exported graph uses it');
  }

  let freezeBlocks: number[] | undefined;
  const fbNode = stringNode(doc, 'maskrcnn_config.freeze_blocks');
  if (fbNode) {
    const ex = '"[0,1]"';
    const py = t.parse(fbNode, 'freeze_blocks', ex);
    freezeBlocks = t.sequence(fbNode, py, 'freeze_blocks', ex).map((n) => t.int(fbNode, n, 'freeze_blocks', 0, ex));
  }

  let learningRateSteps: number[] | undefined;
  const lsNode = stringNode(doc, 'learning_rate_steps');
  if (lsNode) {
    const ex = '"[100000, 150000, 200000]"';
    const py = t.parse(lsNode, 'learning_rate_steps', ex);
    const items = t.sequence(lsNode, py, 'learning_rate_steps', ex);
    learningRateSteps = items.map((n) => t.int(lsNode, n, 'learning_rate_steps', 0, ex));
    const bad = learningRateSteps.findIndex((s, i) => i > 0 && s <= (learningRateSteps?.[i - 1] ?? -1));
    if (bad > 0) warnings.push({ message: `learning_rate_steps should increase; step ${learningRateSteps[bad]} is not after ${learningRateSteps[bad - 1]}`, ...t.at(lsNode, (items[bad] as { start: number }).start) });
  }

  let learningRateDecayLevels: number[] | undefined;
  const ldNode = stringNode(doc, 'learning_rate_decay_levels');
  if (ldNode) {
    const ex = '"[0.1, 0.02, 0.002]"';
    const py = t.parse(ldNode, 'learning_rate_decay_levels', ex);
    learningRateDecayLevels = t.sequence(ldNode, py, 'learning_rate_decay_levels', ex).map((n) => t.positive(ldNode, n, 'learning_rate_decay_levels', ex));
    if (learningRateSteps && learningRateSteps.length !== learningRateDecayLevels.length) {
      warnings.push({ message: `learning_rate_decay_levels has ${learningRateDecayLevels.length} values but learning_rate_steps has ${learningRateSteps.length}; they are used pairwise`, ...t.at(ldNode, py.start) });
    }
  }

  const mc = experiment.maskrcnn_config;
  if (mc.min_level !== 0 && mc.max_level !== 0 && mc.min_level > mc.max_level) {
    const where = v.set['maskrcnn_config.min_level'] ?? { line: 1, column: 1 };
    throw v.error('E_SPEC_VALUE', where, `maskrcnn_config.min_level (${mc.min_level}) is above max_level (${mc.max_level})`, 'TAO uses min_level 2 and max_level 6.');
  }
  for (const path of ['maskrcnn_config.test_nms', 'maskrcnn_config.test_rpn_nms_thresh'] as const) {
    const key = path.split('.')[1] as 'test_nms' | 'test_rpn_nms_thresh';
    const x = mc[key];
    if (x < 0 || x > 1) warnAt(path, `${path} is ${x}; an IoU threshold lies in [0, 1]`);
  }
  const unsetPlugin = EXPORT_PLUGIN_FIELDS.filter((path) => v.set[path] === undefined);
  if (unsetPlugin.length > 0) {
    const names = unsetPlugin.map((p) => p.split('.')[1]).join(', ');
    warnAt('maskrcnn_config', `maskrcnn_config leaves ${names} unset: TAO's exporter copies ${unsetPlugin.length === 1 ? 'it' : 'them'} into the TensorRT plugins, where unset means 0`);
  }

  const numClasses = experiment.data_config.num_classes;
  if (numClasses > MAX_NUM_CLASSES) {
    const where = findField(doc.fields, 'data_config.num_classes')?.value ?? { line: 1, column: 1 };
    throw v.error('E_SPEC_VALUE', where, `data_config.num_classes is ${numClasses}; the limit is ${MAX_NUM_CLASSES}`, 'num_classes is the number of categories plus one (91 for COCO, 1204 for LVIS); check the value.');
  }
  if (imageSize !== undefined && imageSize.some((d) => d > MAX_IMAGE_SIDE)) {
    const where = v.set['data_config.image_size'] ?? { line: 1, column: 1 };
    throw v.error('E_SPEC_VALUE', where, `data_config.image_size (${imageSize.join(', ')}) exceeds ${MAX_IMAGE_SIDE} pixels on a side`, 'TAO Mask R-CNN trains at sizes such as (832, 1344); check the value.');
  }
  if (purpose === 'export') {
    if (imageSize === undefined) {
      const where = v.set['data_config'] ?? { line: 1, column: 1 };
      throw v.error('E_SPEC_REQUIRED', where, 'data_config.image_size is not set; export needs it to fix the model input shape', 'Add image_size: "(H, W)" inside data_config, the size the model was trained with (e.g. "(832, 1344)").');
    }
    if (v.set['data_config.num_classes'] === undefined) {
      const where = v.set['data_config'] ?? { line: 1, column: 1 };
      throw v.error('E_SPEC_REQUIRED', where, 'data_config.num_classes is not set; export needs it for the detection plugin and the DeepStream config', 'Add num_classes inside data_config: the number of categories plus one for background (e.g. 91 for COCO).');
    }
    if (numClasses <= 1) {
      const where = findField(doc.fields, 'data_config.num_classes')?.value ?? { line: 1, column: 1 };
      throw v.error('E_SPEC_VALUE', where, `data_config.num_classes is ${numClasses}; it must be more than 1 (it counts background as class 0)`, 'Set num_classes to the number of categories plus one, and more than the largest category id.');
    }
  }

  return {
    spec: { file, experiment, set: v.set, imageSize, aspectRatios, bboxRegWeights, freezeBlocks, learningRateSteps, learningRateDecayLevels, numClasses },
    warnings,
  };
}

/** Largest data_config.num_classes accepted (labels.txt and the DeepStream config have one entry per class). */
export const MAX_NUM_CLASSES = 100_000;
/** Largest data_config.image_size side accepted (a 3×8192×8192 float32 sample is already 768 MiB). */
export const MAX_IMAGE_SIDE = 8192;

/** Largest spec file read (a TAO spec is a few KiB; 195 MB of text would take minutes and GBs to parse). */
export const SPEC_MAX_BYTES = 4 * 2 ** 20;

/** Read and parse a spec file. A missing file is E_SPEC_NOT_FOUND. */
export async function loadSpec(path: string, options: ParseSpecOptions = {}): Promise<ParsedSpec> {
  let text: string;
  try {
    text = (await readRegularFile(path, SPEC_MAX_BYTES, 'Experiment spec', 'E_SPEC_NOT_FOUND')).toString('utf8');
  } catch (e) {
    if (e instanceof StudioError) {
      if (e.code === 'E_INPUT_TOO_LARGE') {
        throw new StudioError('E_INPUT_TOO_LARGE', `Experiment spec is larger than ${SPEC_MAX_BYTES} bytes: ${path}`, 'A TAO spec is a few kilobytes; check that -e names the spec file.', { file: path }, { details: e.details ?? {} });
      }
      if (e.code !== 'E_SPEC_NOT_FOUND') throw e;
    }
    const code = ((e as StudioError).cause as NodeJS.ErrnoException | undefined)?.code ?? (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new StudioError('E_SPEC_NOT_FOUND', `Experiment spec not found: ${path}`, 'Check the path given with -e / --experiment_spec.', { file: path }, { cause: e });
    }
    if (code === 'EISDIR') {
      throw new StudioError('E_SPEC_NOT_FOUND', `Experiment spec path is a folder: ${path}`, 'Give the spec file itself (e.g. specs/maskrcnn_train.txt).', { file: path }, { cause: e });
    }
    throw new StudioError('E_FILE_UNREADABLE', `Cannot read experiment spec ${path}: ${(e as Error).message}`, 'Check the file permissions.', { file: path }, { cause: e });
  }
  return parseSpec(text, path, options);
}

/** Whether a field (dotted proto path) was written in the spec file. */
export function isSet(spec: MaskRcnnSpec, path: string): boolean {
  return Object.prototype.hasOwnProperty.call(spec.set, path);
}

/** [H, W] or E_SPEC_REQUIRED (for callers that parsed with purpose 'inspect'). */
export function requireImageSize(spec: MaskRcnnSpec): [number, number] {
  if (spec.imageSize === undefined) {
    throw new StudioError('E_SPEC_REQUIRED', 'data_config.image_size is not set; export needs it to fix the model input shape', 'Add image_size: "(H, W)" inside data_config.', { file: spec.file });
  }
  return spec.imageSize;
}

/** The network input dims TAO exports: [3, H, W] (NCHW, RGB). */
export function inputDims(spec: MaskRcnnSpec): [3, number, number] {
  const [h, w] = requireImageSize(spec);
  return [3, h, w];
}

/** The parameters TAO's exporter copies from the spec into the TensorRT plugins (§2 of the reference). */
export function pluginParams(spec: MaskRcnnSpec): {
  numClasses: number;
  keepTopK: number;
  detectionIouThreshold: number;
  rpnKeepTopK: number;
  rpnIouThreshold: number;
  boxPooledSize: number;
  maskPooledSize: number;
} {
  const mc = spec.experiment.maskrcnn_config;
  return {
    numClasses: spec.numClasses,
    keepTopK: mc.test_detections_per_image,
    detectionIouThreshold: mc.test_nms,
    rpnKeepTopK: mc.test_rpn_post_nms_topn,
    rpnIouThreshold: mc.test_rpn_nms_thresh,
    boxPooledSize: Math.floor(mc.mrcnn_resolution / 4),
    maskPooledSize: Math.floor(mc.mrcnn_resolution / 2),
  };
}

/** A copy of the experiment with secrets (wandb key) masked, for logs and reports. */
export function redactedExperiment(spec: MaskRcnnSpec): Experiment {
  const copy = structuredClone(spec.experiment);
  if (copy.wandb_config.key !== '') copy.wandb_config.key = '***';
  return copy;
}
