import { create } from 'zustand';
import type { CalibrationAlgorithm, Precision, ResizeMode } from '../../../shared/request.js';
import { EXPORT_DEFAULTS as D } from '../../../shared/defaults.js';

export type CalSourceChoice = 'spec-loader' | 'image-dir' | 'tensorfile' | 'cache';

export interface CalibrationOptions {
  source: CalSourceChoice;
  imageDir: string;
  tensorfile: string;
  writeTensorfile: boolean;
  batches: number;
  batchSize: number;
  seed: number;
  algorithm: CalibrationAlgorithm;
  percentile: number;
  resize: ResizeMode;
  acceptFewer: boolean;
  histogram: 'sampled' | 'exact';
  /** auto: reuse the cache when its provenance matches (--no-cal_reuse = never). */
  reuse: 'auto' | 'never';
}

export interface OutputOptions {
  etlt: string;
  /** False until the user edits the path; until then it follows the model path. */
  etltEdited: boolean;
  dsConfig: boolean;
  qdq: boolean;
  cache: string;
  cacheEdited: boolean;
  overwrite: boolean;
  /** Write <stem>.report.json beside the .etlt (--report_file). */
  report: boolean;
  // Advanced (folded away): '' = not written / the CLI's default.
  /** --onnx_file ('' = <stem>.onnx beside the .etlt, written with the DeepStream config). */
  onnx: string;
  /** --qdq_file when the Q/DQ switch is on ('' = <stem>.qdq.onnx beside the .etlt). */
  qdqPath: string;
  /** --report_file when the report switch is on ('' = <stem>.report.json beside the .etlt). */
  reportPath: string;
  /** --log_file */
  logFile: string;
  /** --engine_file (needs trtexec on PATH). */
  engine: string;
  /** --results_dir (TAO status.json) */
  resultsDir: string;
  /** --ds_embed_key */
  dsEmbedKey: boolean;
  /** custom-lib-path for the DeepStream config; '' = the default (DEFAULT_DS_CUSTOM_LIB). */
  dsCustomLib: string;
}

export interface AdvancedOptions {
  /** --max_batch_size */
  maxBatchSize: number;
  /** --max_workspace_size (bytes) */
  maxWorkspaceSize: number;
  /** -v */
  verbose: boolean;
}

export interface OptionsState {
  precision: Precision;
  /** Target TensorRT version (cache header, trtexec line, TensorRT 11 checks). */
  trtVersion: string;
  calibration: CalibrationOptions;
  outputs: OutputOptions;
  advanced: AdvancedOptions;
  gpu: number | 'cpu';
  /** The user picked the device (so the remembered or default choice no longer applies). */
  gpuChosen: boolean;
}

export function initialOptions(): OptionsState {
  return {
    precision: D.precision,
    trtVersion: D.trtVersion,
    calibration: {
      source: 'spec-loader',
      imageDir: '',
      tensorfile: '',
      writeTensorfile: false,
      // The defaults module every door uses (shared/defaults.ts): the CLI's batch size 16, etc.
      batches: D.batches,
      batchSize: D.batchSize,
      seed: D.calSeed,
      algorithm: D.calAlgorithm,
      percentile: D.calPercentile,
      resize: D.calResize,
      acceptFewer: false,
      histogram: D.calHistogram,
      reuse: 'auto',
    },
    outputs: { etlt: '', etltEdited: false, dsConfig: true, qdq: true, cache: '', cacheEdited: false, overwrite: false, report: false, onnx: '', qdqPath: '', reportPath: '', logFile: '', engine: '', resultsDir: '', dsEmbedKey: false, dsCustomLib: '' },
    advanced: { maxBatchSize: D.maxBatchSize, maxWorkspaceSize: D.maxWorkspaceSize, verbose: false },
    gpu: 0,
    gpuChosen: false,
  };
}

interface OptionsStore extends OptionsState {
  setPrecision(p: Precision): void;
  setTrtVersion(v: string): void;
  setCalibration(p: Partial<CalibrationOptions>): void;
  setOutputs(p: Partial<OutputOptions>): void;
  setAdvanced(p: Partial<AdvancedOptions>): void;
  setGpu(g: number | 'cpu', byUser?: boolean): void;
  reset(): void;
}

export const useOptionsStore = create<OptionsStore>()((set) => ({
  ...initialOptions(),
  setPrecision: (precision) => set({ precision }),
  setTrtVersion: (trtVersion) => set({ trtVersion }),
  setCalibration: (p) => set((s) => ({ calibration: { ...s.calibration, ...p } })),
  setOutputs: (p) => set((s) => ({ outputs: { ...s.outputs, ...p } })),
  setAdvanced: (p) => set((s) => ({ advanced: { ...s.advanced, ...p } })),
  setGpu: (gpu, byUser = true) => set((s) => ({ gpu, gpuChosen: s.gpuChosen || byUser })),
  reset: () => set(initialOptions()),
}));
