import { create } from 'zustand';
import { DEFAULT_TRT_VERSION, type CalibrationAlgorithm, type Precision, type ResizeMode } from '../../../shared/request.js';

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
  /** custom-lib-path for the DeepStream config; '' = the default (DEFAULT_DS_CUSTOM_LIB). */
  dsCustomLib: string;
}

export interface OptionsState {
  precision: Precision;
  /** Target TensorRT version (cache header, trtexec line, TensorRT 11 checks). */
  trtVersion: string;
  calibration: CalibrationOptions;
  outputs: OutputOptions;
  gpu: number | 'cpu';
  /** The user picked the device (so the remembered or default choice no longer applies). */
  gpuChosen: boolean;
}

export function initialOptions(): OptionsState {
  return {
    precision: 'fp32',
    trtVersion: DEFAULT_TRT_VERSION,
    calibration: {
      source: 'spec-loader',
      imageDir: '',
      tensorfile: '',
      writeTensorfile: false,
      batches: 10,
      batchSize: 8,
      seed: 42,
      algorithm: 'entropy',
      percentile: 99.99,
      resize: 'keep-aspect-pad',
      acceptFewer: false,
    },
    outputs: { etlt: '', etltEdited: false, dsConfig: true, qdq: true, cache: '', cacheEdited: false, overwrite: false, dsCustomLib: '' },
    gpu: 0,
    gpuChosen: false,
  };
}

interface OptionsStore extends OptionsState {
  setPrecision(p: Precision): void;
  setTrtVersion(v: string): void;
  setCalibration(p: Partial<CalibrationOptions>): void;
  setOutputs(p: Partial<OutputOptions>): void;
  setGpu(g: number | 'cpu', byUser?: boolean): void;
  reset(): void;
}

export const useOptionsStore = create<OptionsStore>()((set) => ({
  ...initialOptions(),
  setPrecision: (precision) => set({ precision }),
  setTrtVersion: (trtVersion) => set({ trtVersion }),
  setCalibration: (p) => set((s) => ({ calibration: { ...s.calibration, ...p } })),
  setOutputs: (p) => set((s) => ({ outputs: { ...s.outputs, ...p } })),
  setGpu: (gpu, byUser = true) => set((s) => ({ gpu, gpuChosen: s.gpuChosen || byUser })),
  reset: () => set(initialOptions()),
}));
