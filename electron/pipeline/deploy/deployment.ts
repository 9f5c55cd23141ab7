import { StudioError } from '../../../shared/errors.js';
import type { CalibrationAlgorithm, Precision } from '../../../shared/request.js';
import type { ModelSummary } from '../../../shared/report.js';
import type { ResolvedPreprocessing } from '../data/types.js';
import { CONSUMER_HEADER_ALGORITHM, encodeTrtVersion, type CacheHeaderAlgorithm } from '../calibrate/cache.js';

/**
 * Every setting a consumer of the export reads (TensorRT cache header, trtexec flags, DeepStream
 * nvinfer keys, the tensors kept in float), derived in ONE place from what the job actually used:
 * the resolved preprocessing (the very object calibration fed the model with), the precision,
 * the calibration algorithm, the target TensorRT version and the model's own inputs/outputs.
 * Nothing downstream re-derives or re-defaults any of these (docs/FORMATS.md, "Deployment
 * settings").
 */

/** A model node as the deployment needs it (for layer names of float-kept tensors). */
export interface DeploymentNode {
  name?: string | null;
  opType?: string | null;
  input?: readonly string[] | null;
  output?: readonly string[] | null;
}

export interface DeploymentInput {
  /** The preprocessing calibration uses and DeepStream must repeat; null when neither needs it (FP32/FP16 without a DeepStream config). */
  preprocessing: ResolvedPreprocessing | null;
  precision: Precision;
  /** The calibration algorithm that produced the scales (INT8 only). */
  algorithm?: CalibrationAlgorithm | undefined;
  /** Target TensorRT version (MAJOR.MINOR.PATCH). */
  trtVersion: string;
  model: Pick<ModelSummary, 'inputs' | 'outputs'>;
  /** The model's nodes: maps float-kept tensors to the layers (ONNX node names) that touch them. */
  nodes?: readonly DeploymentNode[] | undefined;
  /** data_config.num_classes when a spec was given (background included). */
  specNumClasses?: number | undefined;
  /**
   * Tensors kept in float (not quantized), empty by default. Honoured by the cache writer (left
   * out), the Q/DQ writer (no Q/DQ on them), the trtexec line (--precisionConstraints=obey
   * --layerPrecisions) and the DeepStream config (layer-device-precision).
   */
  floatTensors?: readonly string[] | undefined;
  /** Whether the job writes a Q/DQ (explicitly quantized) ONNX (INT8 with --qdq_file). */
  qdq?: boolean | undefined;
}

export interface NvinferSettings {
  /** y = net-scale-factor · (x − offsets): one factor for all channels. */
  netScaleFactor: number;
  /** Per-channel mean, pixel units, in model channel order. */
  offsets: [number, number, number];
  /** 0 RGB, 1 BGR. */
  modelColorFormat: 0 | 1;
  /** 0 NCHW, 1 NHWC. */
  networkInputOrder: 0 | 1;
  /** infer-dims in the model's own axis order without batch: C;H;W (NCHW) or H;W;C (NHWC). */
  inferDims: [number, number, number];
  /** 0 FP32, 1 INT8, 2 FP16. */
  networkMode: 0 | 1 | 2;
  /** Whether int8-calib-file is written (INT8 through the implicit-quantization cache). */
  int8CalibFile: boolean;
  /** Which ONNX onnx-file names: the plain one, or the Q/DQ one (TensorRT ≥ 11 has no implicit INT8). */
  modelFile: 'onnx' | 'qdq';
  /** 1 when calibration kept the aspect ratio and padded bottom/right (TAO training), 0 when it stretched. */
  maintainAspectRatio: 0 | 1;
  /** From the mask output's class axis (else the spec, else 2). */
  numDetectedClasses: number;
  numDetectedClassesFrom: string;
  /** `layer-device-precision` entries, `<layer>:<fp16|fp32>:gpu`; empty when nothing is kept in float. */
  layerDevicePrecision: string[];
  /** What the config cannot express exactly (also in Deployment.warnings; written into the file as comments). */
  warnings: string[];
}

export interface Deployment {
  preprocessing: ResolvedPreprocessing | null;
  precision: Precision;
  algorithm: CalibrationAlgorithm | null;
  trt: {
    version: string;
    /** NV_TENSORRT_VERSION as the cache header prints it. */
    encoded: number;
    major: number;
    /** Implicit INT8 (a calibration cache with --int8/--calib, nvinfer int8-calib-file) exists up to TensorRT 10. */
    implicitInt8: boolean;
  };
  /** INT8 only: the cache every consumer loads without recalibrating. */
  cache: { header: string; headerAlgorithm: CacheHeaderAlgorithm; scalesFrom: CalibrationAlgorithm } | null;
  /** Tensors kept in float, sorted, de-duplicated. */
  floatTensors: string[];
  /** Layers (ONNX node names) that produce or read a float-kept tensor, and the precision they are pinned to. */
  floatLayers: { name: string; precision: 'fp16' | 'fp32' }[];
  /** trtexec builds from the Q/DQ ONNX (explicit quantization) rather than the plain ONNX + cache. */
  explicitQdq: boolean;
  /** null without preprocessing (no DeepStream config asked for). */
  nvinfer: NvinferSettings | null;
  /** Things the user should know about these settings. */
  warnings: string[];
}

export const MASK_OUTPUT_NAMES = ['mask_fcn_logits/BiasAdd', 'mask_head/mask_fcn_logits/BiasAdd'];

/** num-detected-classes from the mask output [N, D, C, M, M] (C = classes incl. background). */
export function classesFromModel(outputs: ModelSummary['outputs']): number | undefined {
  const mask = outputs.find((o) => MASK_OUTPUT_NAMES.includes(o.name));
  const c = mask?.shape && mask.shape.length === 5 ? mask.shape[2] : undefined;
  return typeof c === 'number' && c > 0 ? c : undefined;
}

/** Characters that break `--layerPrecisions` (`,` and `:`) or `layer-device-precision` (`;` and `:`). */
const LAYER_NAME_UNSAFE = /[,:;\s]/;

export function deriveDeployment(i: DeploymentInput): Deployment {
  const pp = i.preprocessing;
  const warnings: string[] = [];
  const encoded = encodeTrtVersion(i.trtVersion);
  const major = Number(i.trtVersion.split('.')[0]);
  const implicitInt8 = major <= 10;
  const int8 = i.precision === 'int8';
  const explicitQdq = int8 && Boolean(i.qdq);
  const algorithm = int8 ? (i.algorithm ?? 'entropy') : null;
  const cache = int8 && algorithm ? { header: `TRT-${encoded}-${CONSUMER_HEADER_ALGORITHM}`, headerAlgorithm: CONSUMER_HEADER_ALGORITHM, scalesFrom: algorithm } : null;

  const floatTensors = [...new Set(i.floatTensors ?? [])].sort();
  const floatSet = new Set(floatTensors);
  // Keep-in-float layers run in FP16 when the build allows it (INT8 and FP16 builds enable --fp16), else FP32.
  const layerPrecision: 'fp16' | 'fp32' = i.precision === 'fp32' ? 'fp32' : 'fp16';
  const layerNames = new Set<string>();
  if (floatSet.size > 0) {
    const touched = new Set<string>();
    for (const n of i.nodes ?? []) {
      const io = [...(n.input ?? []), ...(n.output ?? [])];
      if (!io.some((t) => floatSet.has(t))) continue;
      const name = n.name ?? '';
      if (name === '') {
        warnings.push(`A ${n.opType ?? ''} node without a name touches a tensor kept in float: TensorRT names such layers itself, so it cannot be pinned by name (its tensor is still left out of the cache and the Q/DQ model).`);
        continue;
      }
      if (LAYER_NAME_UNSAFE.test(name)) {
        warnings.push(`Layer "${name}" contains a character (',', ':', ';' or a space) that --layerPrecisions / layer-device-precision cannot carry: not pinned by name (its tensor is still left out of the cache and the Q/DQ model).`);
        continue;
      }
      layerNames.add(name);
      for (const t of io) if (floatSet.has(t)) touched.add(t);
    }
    const unknown = floatTensors.filter((t) => !touched.has(t) && !(i.nodes ?? []).some((n) => [...(n.input ?? []), ...(n.output ?? [])].includes(t)));
    if (unknown.length > 0 && i.nodes) warnings.push(`Tensors kept in float that the model does not have: ${unknown.join(', ')}`);
  }
  const floatLayers = [...layerNames].sort().map((name) => ({ name, precision: layerPrecision }));

  const nvinfer = pp ? nvinferSettings(pp, i, floatLayers, int8 && !implicitInt8 && explicitQdq, warnings) : null;
  return {
    preprocessing: pp,
    precision: i.precision,
    algorithm,
    trt: { version: i.trtVersion, encoded, major, implicitInt8 },
    cache,
    floatTensors,
    floatLayers,
    explicitQdq,
    nvinfer,
    warnings,
  };
}

function nvinferSettings(pp: ResolvedPreprocessing, i: DeploymentInput, floatLayers: Deployment['floatLayers'], fromQdq: boolean, allWarnings: string[]): NvinferSettings {
  const int8 = i.precision === 'int8';
  const warnings: string[] = [];
  // nvinfer: y = net-scale-factor · (x − offsets); one factor for all channels.
  const scale = pp.scale;
  const s0 = scale[0];
  const spread = Math.max(...scale) - Math.min(...scale);
  let netScaleFactor = s0;
  if (spread > 1e-6 * Math.abs(s0)) {
    netScaleFactor = (scale[0] + scale[1] + scale[2]) / 3;
    warnings.push(
      `The model's per-channel scale (${scale.map((x) => Number(x.toPrecision(6))).join(', ')}) cannot be expressed in nvinfer, which has one net-scale-factor; ` +
        `using their mean ${Number(netScaleFactor.toPrecision(9))}. Inputs in DeepStream will differ from calibration by up to ${Number(((100 * spread) / netScaleFactor).toPrecision(3))} %.`,
    );
  }

  const fromModel = classesFromModel(i.model.outputs);
  let numDetectedClasses: number;
  let numDetectedClassesFrom: string;
  if (fromModel !== undefined) {
    numDetectedClasses = fromModel;
    numDetectedClassesFrom = 'the mask output class axis';
    if (i.specNumClasses !== undefined && i.specNumClasses !== fromModel) {
      warnings.push(`The spec's num_classes (${i.specNumClasses}) differs from the model's mask output (${fromModel} classes); num-detected-classes uses the model's, since the parser indexes masks by it.`);
    }
  } else if (i.specNumClasses !== undefined) {
    numDetectedClasses = i.specNumClasses;
    numDetectedClassesFrom = 'data_config.num_classes';
  } else {
    numDetectedClasses = 2;
    numDetectedClassesFrom = 'default (no spec and no static mask output class axis)';
    warnings.push('num-detected-classes=2 is a default: neither a spec nor a static mask output says how many classes the model has. Set it to the model\'s class count (background included).');
  }

  const nchw = pp.layout === 'nchw';
  const nvinfer: NvinferSettings = {
    netScaleFactor,
    offsets: [pp.mean[0], pp.mean[1], pp.mean[2]],
    modelColorFormat: pp.order === 'rgb' ? 0 : 1,
    networkInputOrder: nchw ? 0 : 1,
    inferDims: nchw ? [3, pp.height, pp.width] : [pp.height, pp.width, 3],
    networkMode: i.precision === 'fp32' ? 0 : i.precision === 'int8' ? 1 : 2,
    int8CalibFile: int8 && !fromQdq,
    modelFile: fromQdq ? 'qdq' : 'onnx',
    maintainAspectRatio: pp.resize === 'keep-aspect-pad' ? 1 : 0,
    numDetectedClasses,
    numDetectedClassesFrom,
    layerDevicePrecision: floatLayers.map((l) => `${l.name}:${l.precision}:gpu`),
    warnings,
  };
  allWarnings.push(...warnings);
  return nvinfer;
}

/**
 * A consumer that cannot take the cache at all, said before the export starts: TensorRT 11
 * removed implicit INT8 (kINT8, setInt8Calibrator, trtexec --int8/--calib), so only a Q/DQ ONNX
 * carries INT8 there.
 */
export function checkConsumers(o: { precision: Precision; trtVersion: string; qdq: boolean; engine: boolean; dsConfig: boolean }): void {
  if (o.precision !== 'int8') return;
  const major = Number(o.trtVersion.split('.')[0]);
  if (major >= 11 && !o.qdq) {
    const who = [o.engine ? '--engine_file (trtexec)' : '', o.dsConfig ? '--gen_ds_config (nvinfer int8-calib-file)' : ''].filter(Boolean).join(' and ') || 'TensorRT';
    throw new StudioError(
      'E_USAGE',
      `TensorRT ${o.trtVersion} cannot load a calibration cache: TensorRT 11 removed implicit INT8 (--int8/--calib, setInt8Calibrator), so ${who} would not get INT8 from it`,
      'Add --qdq_file to write a Q/DQ (explicitly quantized) ONNX, which TensorRT 11 builds in INT8, or target TensorRT 10 (--trt_version).',
    );
  }
}

/** trtexec arguments for these settings: Q/DQ model (explicit) when there is one, else the cache (implicit). */
export function trtexecArgsFor(d: Deployment, o: { onnx: string; engine: string; cache?: string | undefined; workspaceBytes: number }): string[] {
  const args = [`--onnx=${o.onnx}`, `--saveEngine=${o.engine}`, `--memPoolSize=workspace:${Math.max(1, Math.round(o.workspaceBytes / 2 ** 20))}M`];
  if (d.trt.major >= 11) {
    // TensorRT 11: no implicit INT8 and no precision flags; a Q/DQ model builds strongly typed
    // (float-kept tensors have no Q/DQ, so they stay in float).
    if (d.precision === 'int8') args.push('--stronglyTyped');
    else if (d.precision === 'fp16') args.push('--fp16');
    return args;
  }
  if (d.precision === 'fp16') args.push('--fp16');
  if (d.precision === 'int8') {
    // --int8 makes TensorRT 10 honour Q/DQ (explicit) or the cache (implicit); --fp16 lets the
    // layers left in float run in FP16 rather than FP32.
    args.push('--int8', '--fp16');
    if (!d.explicitQdq && o.cache) args.push(`--calib=${o.cache}`);
  }
  if (d.floatLayers.length > 0) {
    args.push('--precisionConstraints=obey', `--layerPrecisions=${d.floatLayers.map((l) => `${l.name}:${l.precision}`).join(',')}`);
  }
  return args;
}
