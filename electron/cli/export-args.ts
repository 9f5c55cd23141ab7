import fs from 'node:fs';
import type { ExportRequestInput, CalibrationAlgorithm, Precision, PreprocessingPreset, ResizeMode } from '../../shared/request.js';
import { StudioError } from '../../shared/errors.js';
import { EXPORT_DEFAULTS, defaultOutputs } from '../../shared/defaults.js';
import { EXPORT_FLAGS, type ExportFlags } from './export-flags.js';

export type { ExportFlags } from './export-flags.js';

export interface FlagNotice {
  level: 'info' | 'warn';
  text: string;
}

function int(name: string, v: string | undefined, min = 1): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) {
    throw new StudioError('E_USAGE', `--${name} must be an integer ≥ ${min}, got '${v}'`, `Example: --${name} 16`);
  }
  return n;
}

function floats(name: string, v: string | undefined, count: number): number[] | undefined {
  if (v === undefined) return undefined;
  const parts = v.split(/[;,\s]+/).filter(Boolean).map(Number);
  if (parts.length !== count || parts.some((x) => !Number.isFinite(x))) {
    throw new StudioError('E_USAGE', `--${name} needs ${count} numbers, got '${v}'`, `Example: --${name} 123.675,116.28,103.53`);
  }
  return parts;
}

function oneOf<T extends string>(name: string, v: string | undefined, allowed: readonly T[]): T | undefined {
  if (v === undefined) return undefined;
  const lower = v.toLowerCase();
  if (!(allowed as readonly string[]).includes(lower)) {
    throw new StudioError('E_USAGE', `--${name} must be one of ${allowed.join(', ')}; got '${v}'`, `Example: --${name} ${allowed[0]}`);
  }
  return lower as T;
}

/**
 * Map TAO's flags to an ExportRequest, following TAO's rules where they exist (reference §1, §3):
 * an existing --cal_data_file is read as-is; otherwise --cal_image_dir feeds calibration (and the
 * tensorfile is written when --cal_data_file names a new file); with neither, Export Studio uses
 * the spec's training data loader (TAO's recommended option 1).
 */
export function flagsToRequest(f: ExportFlags, env: NodeJS.ProcessEnv = process.env): { request: ExportRequestInput; notices: FlagNotice[] } {
  const notices: FlagNotice[] = [];
  const key = f.key ?? env.EXPORT_STUDIO_KEY;
  if (key === undefined) {
    throw new StudioError('E_KEY_REQUIRED', 'No model key given', 'Pass -k <key> (or set EXPORT_STUDIO_KEY to keep it out of your shell history). The output .etlt is sealed with it, also for a plain .onnx input.');
  }
  const dataType = oneOf('data_type', f.dataType, EXPORT_FLAGS.dataType.choices satisfies readonly Precision[]) ?? EXPORT_DEFAULTS.precision;

  let gpu: number | 'cpu' = 0;
  if (f.cpu) gpu = 'cpu';
  else if (f.gpuIndex && f.gpuIndex.length > 0) {
    const idx = f.gpuIndex.map((g) => int('gpu_index', g, 0) ?? 0);
    if (idx.length > 1) notices.push({ level: 'warn', text: `--gpu_index ${idx.join(' ')}: export runs on one GPU; using ${idx[0]}.` });
    gpu = idx[0] ?? 0;
  }
  if (f.gpus !== undefined && f.gpus !== '1') notices.push({ level: 'info', text: `--gpus ${f.gpus}: export uses a single GPU.` });

  for (const [flag, set] of [
    ['strict_type_constraints', f.strictTypeConstraints],
    ['force_ptq', f.forcePtq],
    ['static_batch_size', f.staticBatchSize],
    ['target_opset', f.targetOpset],
    ['onnx_route', f.onnxRoute],
    ['min_batch_size', f.minBatchSize],
    ['opt_batch_size', f.optBatchSize],
    ['cal_json_file', f.calJsonFile],
  ] as const) {
    if (set !== undefined && set !== false) notices.push({ level: 'info', text: `--${flag} is accepted for TAO compatibility and has no effect on a Mask R-CNN export (as in TAO).` });
  }

  const defaults = defaultOutputs(f.model, dataType, '.');
  const output = f.outputFile ?? defaults.etlt;
  const request: ExportRequestInput = {
    model: f.model,
    key,
    precision: dataType,
    gpu,
    overwrite: f.overwrite ?? false,
    verbose: f.verbose ?? false,
    outputs: {
      etlt: output,
      dsConfig: f.genDsConfig ?? false,
      dsConfigEmbedKey: f.dsEmbedKey ?? false,
    },
  };
  if (f.experimentSpec !== undefined) request.spec = f.experimentSpec;
  if (f.trtVersion !== undefined) request.trtVersion = f.trtVersion;
  const mbs = int('max_batch_size', f.maxBatchSize);
  if (mbs !== undefined) request.maxBatchSize = mbs;
  const ws = int('max_workspace_size', f.maxWorkspaceSize);
  if (ws !== undefined) request.maxWorkspaceSize = ws;
  if (f.onnxFile) request.outputs.onnx = f.onnxFile;
  if (f.logFile) request.outputs.logFile = f.logFile;
  if (f.reportFile) request.outputs.report = f.reportFile;
  if (f.dsCustomLib) request.outputs.dsCustomLib = f.dsCustomLib;
  if (f.engineFile) request.outputs.engine = f.engineFile;
  if (f.resultsDir) request.outputs.resultsDir = f.resultsDir;

  const pp = {
    preset: oneOf('preset', f.preset, EXPORT_FLAGS.preset.choices satisfies readonly PreprocessingPreset[]),
    mean: floats('mean', f.mean, 3),
    scale: floats('scale', f.scale, 3),
    order: oneOf('channel_order', f.channelOrder, EXPORT_FLAGS.channelOrder.choices),
    layout: oneOf('layout', f.layout, EXPORT_FLAGS.layout.choices),
    size: f.inputSize === undefined ? undefined : parseSize(f.inputSize),
  };
  const calResize = oneOf('cal_resize', f.calResize, EXPORT_FLAGS.calResize.choices satisfies readonly ResizeMode[]);
  const ppSet = Object.fromEntries(Object.entries(pp).filter(([, v]) => v !== undefined));
  if (Object.keys(ppSet).length > 0) request.preprocessing = ppSet as ExportRequestInput['preprocessing'];

  const calFlagsGiven = [f.calImageDir, f.calDataFile, f.calSource, f.calImages].some((v) => v !== undefined);
  if (dataType === 'int8') {
    request.outputs.cache = f.calCacheFile ?? defaults.cache;
    if (f.qdqFile) request.outputs.qdq = f.qdqFile;
    let source = oneOf('cal_source', f.calSource, EXPORT_FLAGS.calSource.choices);
    const dataFileExists = f.calDataFile !== undefined && fs.existsSync(f.calDataFile);
    if (source === undefined) {
      if (dataFileExists) source = 'tensorfile';
      else if (f.calImages) source = 'images';
      else if (f.calImageDir) source = 'image-dir';
      else source = 'spec';
    }
    if (dataFileExists && f.calImageDir) notices.push({ level: 'info', text: `--cal_data_file ${f.calDataFile} exists and is used as-is; --cal_image_dir is ignored (TAO behaviour).` });
    const algorithm = oneOf('cal_algorithm', f.calAlgorithm, EXPORT_FLAGS.calAlgorithm.choices satisfies readonly CalibrationAlgorithm[]);
    const cal: NonNullable<ExportRequestInput['calibration']> = {
      source: source === 'spec' ? 'spec-loader' : source,
      batches: int('batches', f.batches) ?? EXPORT_DEFAULTS.batches,
      batchSize: int('batch_size', f.batchSize) ?? EXPORT_DEFAULTS.batchSize,
      acceptFewer: f.calAcceptFewer ?? false,
      reuse: f.calReuse === false ? 'never' : 'auto',
    };
    if (algorithm) cal.algorithm = algorithm;
    if (f.calPercentile !== undefined) {
      const p = Number(f.calPercentile);
      if (!(p > 0 && p <= 100)) throw new StudioError('E_USAGE', `--cal_percentile must be in (0, 100], got '${f.calPercentile}'`, 'Example: --cal_percentile 99.99');
      cal.percentile = p;
    }
    const histogram = oneOf('cal_histogram', f.calHistogram, EXPORT_FLAGS.calHistogram.choices);
    if (histogram) cal.histogram = histogram;
    const seed = int('cal_seed', f.calSeed, 0);
    if (seed !== undefined) cal.seed = seed;
    if (f.calImageDir) cal.imageDir = f.calImageDir;
    if (f.calImages) cal.images = f.calImages.split(',').map((s) => s.trim()).filter(Boolean);
    if (f.calDataFile) {
      cal.tensorfile = f.calDataFile;
      if (!dataFileExists && source === 'image-dir') cal.writeTensorfile = true;
    }
    if (calResize) cal.resize = calResize;
    request.calibration = cal;
    const fImages = int('fidelity_images', f.fidelityImages);
    if (f.noFidelity || fImages !== undefined) request.fidelity = { enabled: !f.noFidelity, ...(fImages !== undefined ? { images: fImages } : {}) };
  } else if (calFlagsGiven) {
    notices.push({ level: 'warn', text: `Calibration flags are ignored with --data_type ${dataType} (they apply to int8 only).` });
  }
  return { request, notices };
}

function parseSize(v: string): [number, number] {
  const m = /^(\d+)\s*[x×,]\s*(\d+)$/i.exec(v.trim());
  if (!m) throw new StudioError('E_USAGE', `--input_size must be HEIGHTxWIDTH, got '${v}'`, 'Example: --input_size 832x1344');
  return [Number(m[1]), Number(m[2])];
}
