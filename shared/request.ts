import { z } from 'zod';
import { Int8TargetSchema } from './int8-target.js';
import { EXPORT_DEFAULTS as D } from './defaults.js';
import { StudioError } from './errors.js';

/**
 * Limits on request values (issue 11): each is checked before any work, with a specific
 * message (E_REQUEST_INVALID / E_USAGE); docs/TESTING.md lists them with the file-size limits.
 */
export const LIMITS = {
  /** Model input side in pixels (--input_size, spec image_size). */
  imageSide: 8192,
  /** |mean| in pixel units. */
  pixelValue: 1e6,
  /** Per-channel scale (a multiplier on pixel values; TAO's is 1/57). */
  scale: 1e6,
  /** --batches. */
  batches: 100_000,
  /** --batch_size / --max_batch_size. */
  batchSize: 1024,
  /** --cal_seed: the sampling PRNG is 32-bit. */
  seed: 2 ** 32 - 1,
  /** Explicit calibration image list. */
  images: 100_000,
  /** --fidelity_images. */
  fidelityImages: 1000,
} as const;

/** TensorRT versions whose calibration-cache header we know how to write (see docs/FORMATS.md). */
export const TRT_VERSION_RE = /^\d+\.\d+\.\d+$/;

/**
 * TensorRT shipped by each DeepStream release (its Migration Guide / release notes): the cache
 * header must carry the exact version of the TensorRT that loads it, so the app offers these.
 */
export const TRT_TARGETS: readonly { trtVersion: string; label: string }[] = [
  { trtVersion: '10.16.0', label: 'DeepStream 9.2 (x86 dGPU)' },
  { trtVersion: '10.16.1', label: 'DeepStream 9.2 (Jetson)' },
  { trtVersion: '10.14.1', label: 'DeepStream 9.0' },
  { trtVersion: '10.9.0', label: 'DeepStream 8.0 (x86 dGPU)' },
  { trtVersion: '10.13.2', label: 'DeepStream 8.0 (Jetson)' },
  { trtVersion: '10.3.0', label: 'DeepStream 7.1' },
  { trtVersion: '8.6.1', label: 'DeepStream 7.0 / 6.4' },
  { trtVersion: '8.5.3', label: 'DeepStream 6.3' },
];

/** Default target: the TensorRT of the current DeepStream release (9.2 on x86: TensorRT 10.16.0.72); owned by shared/defaults.ts. */
export const DEFAULT_TRT_VERSION: string = D.trtVersion;

/**
 * Default custom-lib-path for the DeepStream config: deepstream_tao_apps' post_processor/Makefile
 * builds libnvds_infercustomparser_tao.so in post_processor/ of the checkout; the checkout is
 * assumed at /opt/nvidia/deepstream/deepstream/sources/deepstream_tao_apps (docs/FORMATS.md).
 */
export const DEFAULT_DS_CUSTOM_LIB: string = D.dsCustomLib;

export const PrecisionSchema = z.enum(['fp32', 'fp16', 'int8']);
export type Precision = z.infer<typeof PrecisionSchema>;

export const CalibrationAlgorithmSchema = z.enum(['entropy', 'minmax', 'percentile']);
export type CalibrationAlgorithm = z.infer<typeof CalibrationAlgorithmSchema>;

export const CalibrationSourceSchema = z.enum(['spec-loader', 'image-dir', 'images', 'tensorfile', 'cache']);
export type CalibrationSource = z.infer<typeof CalibrationSourceSchema>;

/**
 * How images become the input tensor. 'keep-aspect-pad' is TAO Mask R-CNN's training path
 * (keep aspect, bilinear, zero-pad bottom/right); 'stretch' is what TAO's exporter does for
 * --cal_image_dir (resize straight to W×H), offered for parity and labelled as such.
 */
export const ResizeModeSchema = z.enum(['keep-aspect-pad', 'stretch']);
export type ResizeMode = z.infer<typeof ResizeModeSchema>;

export const PreprocessingPresetSchema = z.enum(['tao-maskrcnn', 'imagenet', 'unit']);
export type PreprocessingPreset = z.infer<typeof PreprocessingPresetSchema>;

/** Explicit preprocessing for spec-less ONNX models; a preset fills what is not given. */
export const PreprocessingSchema = z
  .object({
    preset: PreprocessingPresetSchema.default(D.preset),
    /** Per-channel mean, in 0–255 pixel units, in the model's channel order. */
    mean: z.array(z.number().min(-LIMITS.pixelValue).max(LIMITS.pixelValue)).length(3).optional(),
    /** Per-channel multiplier applied after the mean is subtracted (pixel units). */
    scale: z.array(z.number().positive().max(LIMITS.scale)).length(3).optional(),
    order: z.enum(['rgb', 'bgr']).optional(),
    layout: z.enum(['nchw', 'nhwc']).optional(),
    /** [height, width] when the model's input has dynamic spatial dims. */
    size: z.tuple([z.number().int().positive().max(LIMITS.imageSide), z.number().int().positive().max(LIMITS.imageSide)]).optional(),
    resize: ResizeModeSchema.optional(),
  })
  .strict();
export type Preprocessing = z.infer<typeof PreprocessingSchema>;

export const CalibrationSchema = z
  .object({
    source: CalibrationSourceSchema,
    /** image-dir: the folder (top level only). */
    imageDir: z.string().min(1).optional(),
    /** images: the exact files, e.g. what the app's thumbnail picker sends. */
    images: z.array(z.string().min(1)).max(LIMITS.images).optional(),
    /** tensorfile: TAO HDF5 tensorfile to read (or to write with writeTensorfile). */
    tensorfile: z.string().min(1).optional(),
    writeTensorfile: z.boolean().default(false),
    batches: z.number().int().positive().max(LIMITS.batches).default(D.batches),
    batchSize: z.number().int().positive().max(LIMITS.batchSize).default(D.batchSize),
    seed: z.number().int().nonnegative().max(LIMITS.seed).default(D.calSeed),
    algorithm: CalibrationAlgorithmSchema.default(D.calAlgorithm),
    percentile: z.number().gt(0).lte(100).default(D.calPercentile),
    /**
     * How entropy/percentile histograms are filled: 'sampled' (default) = exact max|x| plus a
     * fixed strided sample of each tensor; 'exact' = every value counted in-graph (opset ≥ 16,
     * 5–9× plain inference on CPU, against ≈ 1.2–2× for 'sampled'). See docs/FORMATS.md, calibration.
     */
    histogram: z.enum(['sampled', 'exact']).default(D.calHistogram),
    /** Accept fewer usable samples than batches × batchSize instead of failing. */
    acceptFewer: z.boolean().default(false),
    resize: ResizeModeSchema.default(D.calResize),
    /** auto: reuse the cache when its provenance matches; never: always recompute. */
    reuse: z.enum(['auto', 'never']).default('auto'),
  })
  .strict();
export type Calibration = z.infer<typeof CalibrationSchema>;

/** The INT8 fidelity check (on by default for INT8): FP32 vs Q/DQ on held-out images. */
export const FidelitySchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Held-out images to compare (never the calibration images). */
    images: z.number().int().positive().max(LIMITS.fidelityImages).default(D.fidelityImages),
    /** Rank tensors by their damage when quantized alone (costs one run per tensor group). */
    sensitivity: z.boolean().default(true),
    /** How many tensors to suggest keeping in FP16. */
    suggest: z.number().int().nonnegative().default(D.fidelitySuggest),
    /** The INT8 target (--int8_target); absent = the default for the model's output kind. */
    target: Int8TargetSchema.optional(),
    /**
     * --int8_search: 'auto' (default) chooses the algorithm per tensor and keeps the most
     * sensitive tensors in FP16 until the target is met; 'off' only checks.
     */
    search: z.enum(['auto', 'off']).default('auto'),
    /** --allow_below_target: an INT8 below its target still exits 0 (the verdict stays in the report). */
    allowBelowTarget: z.boolean().default(false),
  })
  .strict();
export type Fidelity = z.infer<typeof FidelitySchema>;

export const OutputsSchema = z
  .object({
    /** The encrypted model. */
    etlt: z.string().min(1),
    /** A plain ONNX copy (DeepStream reads this one; it cannot decrypt our .etlt). */
    onnx: z.string().min(1).optional(),
    /** Q/DQ ONNX for TensorRT explicit quantization (INT8 only). */
    qdq: z.string().min(1).optional(),
    /** TensorRT calibration cache (INT8 only). */
    cache: z.string().min(1).optional(),
    /** Write nvinfer_config.txt beside the output (--gen_ds_config). */
    dsConfig: z.boolean().default(false),
    /** Write labels.txt beside the output (with dsConfig). */
    labels: z.boolean().default(true),
    /** TAO-style tlt-encoded-model / tlt-model-key lines in the DeepStream config (opt-in). */
    dsConfigEmbedKey: z.boolean().default(false),
    /** custom-lib-path in the DeepStream config: the built Mask R-CNN parser (--ds_custom_lib). */
    dsCustomLib: z.string().min(1).optional(),
    /** JSON report of the whole job. */
    report: z.string().min(1).optional(),
    /** Full log file (--log_file). */
    logFile: z.string().min(1).optional(),
    /** TensorRT engine built with trtexec (--engine_file). */
    engine: z.string().min(1).optional(),
    /** TAO's --results_dir: status.json goes there. */
    resultsDir: z.string().min(1).optional(),
  })
  .strict();
export type Outputs = z.infer<typeof OutputsSchema>;

export const ExportRequestSchema = z
  .object({
    model: z.string().min(1),
    /** The model key. Never logged; masked wherever it is shown. */
    key: z.string(),
    spec: z.string().min(1).optional(),
    preprocessing: PreprocessingSchema.optional(),
    precision: PrecisionSchema.default(D.precision),
    calibration: CalibrationSchema.optional(),
    fidelity: FidelitySchema.optional(),
    outputs: OutputsSchema,
    gpu: z.union([z.number().int().nonnegative(), z.literal('cpu')]).default(0),
    overwrite: z.boolean().default(false),
    trtVersion: z.string().regex(TRT_VERSION_RE, 'expected MAJOR.MINOR.PATCH, e.g. 10.16.0').default(D.trtVersion),
    /**
     * Tensors kept in float (not quantized), empty by default: left out of the cache, no Q/DQ on
     * them, pinned with trtexec --layerPrecisions and nvinfer layer-device-precision.
     */
    floatTensors: z.array(z.string().min(1)).default([]),
    maxBatchSize: z.number().int().positive().max(LIMITS.batchSize).default(D.maxBatchSize),
    maxWorkspaceSize: z.number().int().positive().default(D.maxWorkspaceSize),
    verbose: z.boolean().default(false),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.precision === 'int8' && r.calibration === undefined) {
      ctx.addIssue({ code: 'custom', path: ['calibration'], message: 'INT8 needs a calibration source' });
    }
    const c = r.calibration;
    if (c) {
      if (c.source === 'image-dir' && !c.imageDir) {
        ctx.addIssue({ code: 'custom', path: ['calibration', 'imageDir'], message: 'image-dir needs imageDir' });
      }
      if (c.source === 'images' && (!c.images || c.images.length === 0)) {
        ctx.addIssue({ code: 'custom', path: ['calibration', 'images'], message: 'images needs at least one file' });
      }
      if (c.source === 'tensorfile' && !c.tensorfile) {
        ctx.addIssue({ code: 'custom', path: ['calibration', 'tensorfile'], message: 'tensorfile needs a path' });
      }
      if (c.source === 'spec-loader' && !r.spec) {
        ctx.addIssue({ code: 'custom', path: ['spec'], message: 'the spec loader needs an experiment spec' });
      }
    }
  });

/** What callers build (defaults optional). */
export type ExportRequestInput = z.input<typeof ExportRequestSchema>;
/** What the pipeline receives (defaults applied). */
export type ExportRequest = z.output<typeof ExportRequestSchema>;

/** Validate a request at a boundary: the parsed request, or E_REQUEST_INVALID listing every bad field. */
export function parseExportRequest(input: unknown): ExportRequest {
  const parsed = ExportRequestSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(request)'}: ${i.message}`);
  throw new StudioError('E_REQUEST_INVALID', `Invalid export request: ${issues.join('; ')}`, 'Fix the listed fields; `export-studio mask_rcnn export --help` lists the flags.');
}
