import path from 'node:path';
import { StudioError } from '../../../shared/errors.js';
import { DEFAULT_DS_CUSTOM_LIB, type Precision } from '../../../shared/request.js';
import { escapeValue, serializeIni } from './ini.js';
import type { NvinferSettings } from './deployment.js';

/**
 * DeepStream `nvinfer` config for a TAO Mask R-CNN model exported by Export Studio.
 *
 * Where TAO's `--gen_ds_config` writes a dozen bare lines (no `[property]` header, no model,
 * labels, precision, parser or clustering keys; see docs/FORMATS.md), this writes a
 * complete `[property]` section pointing at the plain ONNX written beside it (DeepStream
 * cannot decrypt an .etlt sealed by Export Studio). It loads without editing once
 * `custom-lib-path` names the built Mask R-CNN parser (`--ds_custom_lib`; the default is where
 * deepstream_tao_apps' post_processor builds it in a checkout at DEFAULT_TAO_APPS_DIR).
 *
 * In the pipeline every value that depends on the job comes from `settings`
 * (deriveDeployment: the preprocessing, precision and model actually used).
 */

export interface NvinferConfigOptions {
  /** The plain ONNX model, relative to the config file's folder (nvinfer resolves it there). */
  onnxFile: string;
  /** The .etlt, relative like onnxFile; written only with embedKey. */
  etltFile?: string | undefined;
  /** The model key; written (verbatim, GLib-escaped) only with embedKey. */
  key?: string | undefined;
  /** TAO-style `tlt-encoded-model` + `tlt-model-key` lines (the caller warns: plain-text key). */
  embedKey?: boolean | undefined;
  labelsFile?: string | undefined;
  /** TensorRT calibration cache; written only for INT8. */
  int8CalibFile?: string | undefined;
  precision: Precision;
  /** [height, width] of the network input. */
  imageSize: [number, number];
  /** data_config.num_classes (background included). */
  numClasses: number;
  batchSize?: number | undefined;
  gpuId?: number | undefined;
  /** The model's output tensor names, in model order. */
  outputBlobNames: readonly string[];
  /** The model's input name (for the comment; nvinfer reads it from the ONNX). */
  inputName?: string | undefined;
  /** Per-channel mean in pixel units, model channel order. Default: TAO Mask R-CNN's. */
  mean?: readonly number[] | undefined;
  /** Per-channel multiplier after the mean. Default: TAO Mask R-CNN's 1/(0.224·255). */
  scale?: readonly number[] | undefined;
  /** Channel order the model expects. Default rgb. */
  colorFormat?: 'rgb' | 'bgr' | undefined;
  layout?: 'nchw' | 'nhwc' | undefined;
  /** [class-attrs-all] pre-cluster-threshold. Default 0.5. */
  preClusterThreshold?: number | undefined;
  /** [class-attrs-all] topk: keep at most this many detections (test_detections_per_image). Default 100. */
  topK?: number | undefined;
  /** Where the deepstream_tao_apps post-processor library is on the DeepStream machine. */
  customLibPath?: string | undefined;
  /** Ops in the model ONNX Runtime cannot run (TensorRT plugins): named in the header comment. */
  pluginOps?: readonly string[] | undefined;
  /**
   * The job's derived settings (deriveDeployment). When given they decide net-scale-factor,
   * offsets, model-color-format, network-input-order, infer-dims, network-mode,
   * num-detected-classes, maintain-aspect-ratio, layer-device-precision and whether
   * int8-calib-file is written; mean/scale/colorFormat/layout/imageSize/numClasses are then unused.
   */
  settings?: NvinferSettings | undefined;
}

export interface NvinferConfig {
  text: string;
  /** Things the user should know (also written into the file as comments). */
  warnings: string[];
}

/** TAO Mask R-CNN preprocessing (nvidia_tao_tf1/cv/mask_rcnn/ops/preprocess_ops.py normalize_image). */
export const TAO_MEAN = [123.675, 116.28, 103.53] as const;
export const TAO_SCALE = 1 / (0.224 * 255);

export const MASK_BLOB = 'mask_fcn_logits/BiasAdd';
export const MASK_BLOB_V1 = 'mask_head/mask_fcn_logits/BiasAdd';
export const DETECTION_BLOB = 'generate_detections';
export const PARSER_V2 = 'NvDsInferParseCustomMrcnnTLTV2';
export const PARSER_V1 = 'NvDsInferParseCustomMrcnnTLT';
/**
 * Where a checkout of github.com/NVIDIA-AI-IOT/deepstream_tao_apps is assumed to be. Its
 * post_processor/Makefile builds TARGET_LIB = libnvds_infercustomparser_tao.so in
 * post_processor/, and its own configs point there (configs/nvinfer/peopleSegNet_tao:
 * custom-lib-path=../../../post_processor/libnvds_infercustomparser_tao.so). The clone location
 * is the user's choice, hence --ds_custom_lib / the app's setting.
 */
export const DEFAULT_TAO_APPS_DIR = '/opt/nvidia/deepstream/deepstream/sources/deepstream_tao_apps';
export const DEFAULT_CUSTOM_LIB = DEFAULT_DS_CUSTOM_LIB;
/** DeepStream's own parser library, home of the V1 (TLT 2/3) Mask R-CNN parser. */
export const DEEPSTREAM_PARSER_LIB = '/opt/nvidia/deepstream/deepstream/lib/libnvds_infercustomparser.so';

const NETWORK_MODE: Record<Precision, number> = { fp32: 0, int8: 1, fp16: 2 };

/** Numbers as short as they can be without losing what matters (9 significant digits). */
export function formatNumber(x: number): string {
  return String(Number(x.toPrecision(9)));
}

/** A path as DeepStream (Linux) reads it: forward slashes, GLib escapes. */
function pathValue(p: string): string {
  return escapeValue(path.sep === '\\' ? p.replace(/\\/g, '/') : p);
}

/** The name nvinfer itself gives a serialized engine, so it finds and reuses it on the next run. */
export function engineFileName(modelFile: string, batchSize: number, gpuId: number, precision: Precision): string {
  return `${modelFile}_b${batchSize}_gpu${gpuId}_${precision}.engine`;
}

export function nvinferConfig(o: NvinferConfigOptions): NvinferConfig {
  const warnings: string[] = [];
  const bad = (msg: string, hint: string): StudioError => new StudioError('E_USAGE', msg, hint);
  const st = o.settings;
  const [h, w] = st ? (st.networkInputOrder === 0 ? [st.inferDims[1], st.inferDims[2]] : [st.inferDims[0], st.inferDims[1]]) : o.imageSize;
  if (!Number.isInteger(h) || !Number.isInteger(w) || h <= 0 || w <= 0) throw bad(`DeepStream config: invalid image size ${h}×${w}`, 'Give the model input height and width (data_config.image_size).');
  const numClasses = st ? st.numDetectedClasses : o.numClasses;
  if (!Number.isInteger(numClasses) || numClasses < 2) throw bad(`DeepStream config: num-detected-classes must be at least 2 (background + one class), got ${numClasses}`, 'Use data_config.num_classes from the spec.');
  const batchSize = o.batchSize ?? 1;
  const gpuId = o.gpuId ?? 0;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw bad(`DeepStream config: invalid batch size ${batchSize}`, 'Use a positive integer.');
  if (!Number.isInteger(gpuId) || gpuId < 0) throw bad(`DeepStream config: invalid GPU id ${gpuId}`, 'Use the GPU index DeepStream should run on.');

  const mean = st ? st.offsets : (o.mean ?? TAO_MEAN);
  const scale = st ? [st.netScaleFactor, st.netScaleFactor, st.netScaleFactor] : (o.scale ?? [TAO_SCALE, TAO_SCALE, TAO_SCALE]);
  if (mean.length !== 3 || scale.length !== 3 || ![...mean, ...scale].every(Number.isFinite)) {
    throw new StudioError('E_PREPROCESSING', 'DeepStream config: mean and scale need three finite values each', 'Give per-channel mean and scale for the three channels.');
  }
  if (st) warnings.push(...st.warnings);
  const s0 = scale[0] as number;
  // nvinfer has one scale factor for all channels; per-channel std cannot be expressed.
  const spread = Math.max(...scale) - Math.min(...scale);
  let netScale = s0;
  if (spread > 1e-6 * Math.abs(s0)) {
    netScale = scale.reduce((a, b) => a + b, 0) / scale.length;
    warnings.push(
      `The model's per-channel scale (${scale.map(formatNumber).join(', ')}) cannot be expressed in nvinfer, which has one net-scale-factor; ` +
        `using their mean ${formatNumber(netScale)}. Inputs in DeepStream will differ from calibration by up to ${formatNumber((100 * spread) / netScale)} %.`,
    );
  }

  const outputs = [...o.outputBlobNames];
  let parser = PARSER_V2;
  let lib = o.customLibPath ?? DEFAULT_CUSTOM_LIB;
  const hasV2 = outputs.includes(DETECTION_BLOB) && outputs.includes(MASK_BLOB);
  const hasV1 = outputs.includes(DETECTION_BLOB) && outputs.includes(MASK_BLOB_V1);
  if (!hasV2 && hasV1) {
    parser = PARSER_V1;
    lib = o.customLibPath ?? DEEPSTREAM_PARSER_LIB;
  } else if (!hasV2) {
    warnings.push(
      `The model's outputs (${outputs.join(', ') || 'none'}) are not named '${DETECTION_BLOB}' and '${MASK_BLOB}': ` +
        `${PARSER_V2} finds its tensors by those exact names, so DeepStream will not parse this model's output without a custom parser.`,
    );
  }
  const writeCalib = o.precision === 'int8' && Boolean(o.int8CalibFile) && (st ? st.int8CalibFile : true);
  if (o.precision === 'int8' && !o.int8CalibFile && !(st && !st.int8CalibFile)) {
    warnings.push('INT8 without a calibration cache: TensorRT needs either int8-calib-file or a Q/DQ (explicitly quantized) ONNX model.');
  }
  if (o.embedKey && (o.etltFile === undefined || o.key === undefined)) {
    throw bad('DeepStream config: embedding the key needs the .etlt path and the key', 'Pass etltFile and key with embedKey.');
  }

  const nchw = st ? st.networkInputOrder === 0 : (o.layout ?? 'nchw') === 'nchw';
  const colorFormat = st ? st.modelColorFormat : (o.colorFormat ?? 'rgb') === 'rgb' ? 0 : 1;
  const networkMode = st ? st.networkMode : NETWORK_MODE[o.precision];
  const keepAspect = st ? st.maintainAspectRatio === 1 : true;
  const lines: string[] = [];
  const add = (...l: string[]): number => lines.push(...l);
  add(
    '# DeepStream nvinfer config for a TAO Mask R-CNN model, written by Export Studio.',
    '# Relative paths are resolved from the folder of this file.',
  );
  if (o.pluginOps && o.pluginOps.length > 0) {
    add(`# Needs the TensorRT OSS plugins the model uses (${o.pluginOps.join(', ')}) in the TensorRT that DeepStream loads.`);
  }
  for (const wmsg of warnings) add(`# WARNING: ${wmsg}`);
  add('', '[property]', 'gpu-id=' + gpuId);
  add(
    '# Preprocessing, as in training: y = net-scale-factor * (x - offsets), x in 0..255 per channel.',
    `# TAO Mask R-CNN: (x/255 - [0.485, 0.456, 0.406]) / 0.224 = (x - [123.675, 116.28, 103.53]) / 57.12.`,
    'net-scale-factor=' + formatNumber(netScale),
    '# Per-channel means, in the channel order of model-color-format.',
    'offsets=' + mean.map(formatNumber).join(';'),
    '# 0=RGB, 1=BGR, 2=GRAY.',
    'model-color-format=' + colorFormat,
    st?.modelFile === 'qdq'
      ? '# The Q/DQ (explicitly quantized) ONNX model: the target TensorRT has no implicit INT8 calibration cache.'
      : '# The plain ONNX model (DeepStream cannot decrypt an .etlt sealed by Export Studio).',
    'onnx-file=' + pathValue(o.onnxFile),
    '# nvinfer builds the engine on first run and saves it under this name (its own naming), then reuses it.',
    'model-engine-file=' + pathValue(engineFileName(o.onnxFile, batchSize, gpuId, o.precision)),
  );
  if (o.embedKey) {
    add(
      '# TAO-style encrypted model and key, written on request. The key below is in plain text.',
      'tlt-encoded-model=' + pathValue(o.etltFile as string),
      'tlt-model-key=' + escapeValue(o.key as string),
    );
  }
  if (o.labelsFile) add('# Line i is the name of class id i; line 0 is BG.', 'labelfile-path=' + pathValue(o.labelsFile));
  if (writeCalib) add('# TensorRT INT8 calibration cache for this model (EntropyCalibration2 header: the calibrator nvinfer instantiates).', 'int8-calib-file=' + pathValue(o.int8CalibFile as string));
  add(
    'batch-size=' + batchSize,
    '# 0=FP32, 1=INT8, 2=FP16.',
    'network-mode=' + networkMode,
    `# Input${o.inputName ? ` '${o.inputName}'` : ''} dims without batch: ${nchw ? 'C;H;W' : 'H;W;C'}.`,
    'infer-dims=' + (nchw ? `3;${h};${w}` : `${h};${w};3`),
    '# 0=NCHW, 1=NHWC.',
    'network-input-order=' + (nchw ? 0 : 1),
    ...(keepAspect
      ? [
          '# Calibration (like TAO training) resized keeping the aspect ratio and padded bottom/right, so scale the same way:',
          '# keep aspect, pad right/bottom (symmetric-padding=0). TAO\'s own --gen_ds_config writes',
          '# maintain-aspect-ratio=0, which stretches frames and differs from training. nvinfer fills the padding',
          '# with black before normalizing (training pads with the mean); the padding lies outside the image.',
          'maintain-aspect-ratio=1',
          'symmetric-padding=0',
        ]
      : ['# Calibration resized by stretching frames to the input size, so nvinfer does the same.', 'maintain-aspect-ratio=0']),
    '# 3 = instance segmentation.',
    'network-type=3',
    '# Must equal data_config.num_classes: the parser indexes masks by num-detected-classes.',
    'num-detected-classes=' + numClasses,
    '# Processing every frame (interval=0); this is the primary detector.',
    'interval=0',
    'gie-unique-id=1',
    '# Mask R-CNN supports only cluster-mode=4 (no clustering): NMS is done inside the model.',
    'cluster-mode=4',
    'output-instance-mask=1',
    'output-tensor-meta=0',
    '# The model outputs: detections [keep_topk, 6] (y1, x1, y2, x2, class, score) and per-class mask logits.',
    'output-blob-names=' + outputs.map(escapeValue).join(';'),
    parser === PARSER_V2
      ? `# Parser for TAO Mask R-CNN v2 outputs ('${DETECTION_BLOB}', '${MASK_BLOB}'), from deepstream_tao_apps post_processor.`
      : `# Parser for TLT 2/3 Mask R-CNN outputs ('${MASK_BLOB_V1}'), shipped with DeepStream.`,
    'parse-bbox-instance-mask-func-name=' + parser,
    parser === PARSER_V2
      ? `# Built by \`make\` in deepstream_tao_apps/post_processor${o.customLibPath === undefined ? ` (default checkout ${DEFAULT_TAO_APPS_DIR}; set --ds_custom_lib if yours is elsewhere)` : ''}.`
      : '# DeepStream\'s own parser library.',
    'custom-lib-path=' + pathValue(lib),
    ...(st && st.layerDevicePrecision.length > 0
      ? ['# Layers kept in float (their tensors are not quantized): <layer>:<precision>:<device>.', 'layer-device-precision=' + st.layerDevicePrecision.map(escapeValue).join(';')]
      : []),
    '',
    '[class-attrs-all]',
    '# The Mask R-CNN parser filters every class with this (class 0\'s) threshold.',
    'pre-cluster-threshold=' + formatNumber(o.preClusterThreshold ?? 0.5),
    '# Keep at most this many detections per frame (the model\'s test_detections_per_image).',
    'topk=' + (o.topK ?? 100),
    '',
  );
  return { text: serializeIni(lines), warnings };
}

/** The config text (warnings are in it as comments; use nvinferConfig to get them as data). */
export function renderNvinferConfig(o: NvinferConfigOptions): string {
  return nvinferConfig(o).text;
}
