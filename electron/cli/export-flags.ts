import { Option, type Command } from 'commander';
import { EXPORT_DEFAULTS } from '../../shared/defaults.js';

/**
 * The flags of `export-studio mask_rcnn export`: ONE typed table from which commander's options,
 * their defaults and help text (`--help`, docs/CLI.md) and the `ExportFlags` type that
 * flagsToRequest (export-args.ts) reads are all derived. Adding a flag is a one-place change here,
 * plus the line in flagsToRequest that maps it into the ExportRequest (the compiler then knows
 * the field; electron/cli/flags.test.ts fails until the flag reaches the request and docs/CLI.md
 * shows it). See docs/CLI.md, "Adding a flag".
 *
 * Keys are the camelCase of the long flag (`--cal_cache_file` → `calCacheFile`); the value type
 * follows from `flags`: `<x...>` → string[], `<x>` → string (or the `choices` union), none →
 * boolean. Only `required` flags are required fields: commander fills `default`s on the command line,
 * and flagsToRequest applies the same EXPORT_DEFAULTS to flags built elsewhere (tests, batch manifests).
 */
export interface FlagDef {
  /** commander's flags string: `-m, --model <path>`, `--gen_ds_config`, `--no-cal_reuse`. */
  readonly flags: string;
  readonly help: string;
  readonly choices?: readonly string[];
  readonly default?: string;
  readonly required?: true;
  /** Accepted for TAO compatibility but not shown in --help (TAO hides them too). */
  readonly hidden?: true;
}

const D = EXPORT_DEFAULTS;

export const EXPORT_FLAGS = {
  model: { flags: '-m, --model <path>', help: 'path to the model: .tlt, .etlt or .onnx', required: true },
  key: { flags: '-k, --key <key>', help: 'model key (or set EXPORT_STUDIO_KEY): opens a .tlt/.etlt and seals the output .etlt' },
  experimentSpec: { flags: '-e, --experiment_spec <path>', help: 'experiment spec file (protobuf text) used for training' },
  outputFile: { flags: '-o, --output_file <path>', help: 'output .etlt (default: the model path with .etlt, beside the model)' },
  dataType: { flags: '--data_type <type>', help: 'precision of the exported artifacts', choices: ['fp32', 'fp16', 'int8'], default: D.precision },
  genDsConfig: { flags: '--gen_ds_config', help: 'write a DeepStream nvinfer_config.txt and labels.txt beside the output' },
  gpuIndex: { flags: '--gpu_index <index...>', help: 'GPU to run on (nvidia-smi index)' },
  logFile: { flags: '--log_file <path>', help: 'write the full log to this file' },
  verbose: { flags: '-v, --verbose', help: 'verbose (debug) logging' },
  resultsDir: { flags: '--results_dir <dir>', help: 'write TAO status.json there' },
  calImageDir: { flags: '--cal_image_dir <dir>', help: 'folder of calibration images (int8)' },
  calDataFile: { flags: '--cal_data_file <path>', help: 'TAO tensorfile (HDF5) to read, or to write from --cal_image_dir' },
  calCacheFile: { flags: '--cal_cache_file <path>', help: 'TensorRT calibration cache to write (int8)', default: D.calCacheFile },
  batches: { flags: '--batches <n>', help: 'number of calibration batches', default: String(D.batches) },
  batchSize: { flags: '--batch_size <n>', help: 'images per calibration batch', default: String(D.batchSize) },
  maxBatchSize: { flags: '--max_batch_size <n>', help: 'max batch size in the DeepStream config / engine', default: String(D.maxBatchSize) },
  engineFile: { flags: '--engine_file <path>', help: 'also build a TensorRT engine with trtexec (must be on PATH)' },
  onnxFile: { flags: '--onnx_file <path>', help: 'also write the plain ONNX here (default with --gen_ds_config: <output>.onnx)' },
  qdqFile: { flags: '--qdq_file <path>', help: 'also write a Q/DQ ONNX for TensorRT explicit quantization (int8)' },
  reportFile: { flags: '--report_file <path>', help: 'write the JSON report here' },
  calSource: { flags: '--cal_source <source>', help: 'force the calibration source', choices: ['spec', 'image-dir', 'images', 'tensorfile', 'cache'] },
  calImages: { flags: '--cal_images <files>', help: 'comma-separated calibration images (what the app picker sends)' },
  calAlgorithm: { flags: '--cal_algorithm <name>', help: 'calibration algorithm', choices: ['entropy', 'minmax', 'percentile'], default: D.calAlgorithm },
  calHistogram: {
    flags: '--cal_histogram <mode>',
    help: `entropy/percentile histograms: sampled (fast, default) or exact (every value; opset ≥ 16)`,
    choices: ['sampled', 'exact'],
  },
  calPercentile: { flags: '--cal_percentile <p>', help: `percentile for --cal_algorithm percentile (default ${D.calPercentile})` },
  calSeed: { flags: '--cal_seed <n>', help: `seed for sampling calibration data (default ${D.calSeed})` },
  calAcceptFewer: { flags: '--cal_accept_fewer', help: 'accept fewer usable calibration samples than batches × batch_size' },
  calResize: { flags: '--cal_resize <mode>', help: 'calibration image resize: keep-aspect-pad (training) or stretch (TAO exporter parity)', choices: ['keep-aspect-pad', 'stretch'] },
  calReuse: { flags: '--no-cal_reuse', help: 'always recalibrate, even if the cache provenance matches' },
  noFidelity: { flags: '--no_fidelity', help: 'skip the INT8 fidelity check (FP32 vs Q/DQ on held-out images; on by default for int8)' },
  fidelityImages: { flags: '--fidelity_images <n>', help: `held-out images for the fidelity check (default ${D.fidelityImages})` },
  trtVersion: { flags: '--trt_version <x.y.z>', help: `TensorRT version of the deployment target; the cache header carries it (default ${D.trtVersion}, DeepStream 9.2)` },
  overwrite: { flags: '--overwrite', help: 'replace existing output files' },
  dsCustomLib: { flags: '--ds_custom_lib <path>', help: `custom-lib-path in the DeepStream config: the built Mask R-CNN parser (default ${D.dsCustomLib})` },
  dsEmbedKey: { flags: '--ds_embed_key', help: 'write TAO-style tlt-encoded-model / tlt-model-key lines into the DeepStream config (puts the key in that file)' },
  preset: { flags: '--preset <name>', help: 'preprocessing preset for a model without a spec', choices: ['tao-maskrcnn', 'imagenet', 'unit'] },
  mean: { flags: '--mean <r,g,b>', help: 'per-channel mean in pixel units (model channel order)' },
  scale: { flags: '--scale <r,g,b>', help: 'per-channel multiplier after the mean' },
  channelOrder: { flags: '--channel_order <order>', help: 'channel order of the model input', choices: ['rgb', 'bgr'] },
  layout: { flags: '--layout <layout>', help: 'layout of the model input', choices: ['nchw', 'nhwc'] },
  inputSize: { flags: '--input_size <HxW>', help: 'input size for models with dynamic spatial dims' },
  cpu: { flags: '--cpu', help: 'run on the CPU even if a GPU is present' },
  dryRun: { flags: '--dry_run', help: 'check the flags and print the planned output files as JSON; write nothing' },
  // Accepted for TAO compatibility (hidden there too); reported as having no effect.
  strictTypeConstraints: { flags: '-s, --strict_type_constraints', help: 'TAO: no effect on Mask R-CNN', hidden: true },
  forcePtq: { flags: '--force_ptq', help: 'TAO: no effect on Mask R-CNN', hidden: true },
  calJsonFile: { flags: '--cal_json_file <path>', help: 'TAO: QAT tensor scales, not used by Mask R-CNN', hidden: true },
  minBatchSize: { flags: '--min_batch_size <n>', help: 'TAO: unused on this path', hidden: true },
  optBatchSize: { flags: '--opt_batch_size <n>', help: 'TAO: unused on this path', hidden: true },
  maxWorkspaceSize: { flags: '--max_workspace_size <bytes>', help: 'TensorRT workspace for trtexec, bytes', hidden: true },
  staticBatchSize: { flags: '--static_batch_size <n>', help: 'TAO: ONNX only', hidden: true },
  targetOpset: { flags: '--target_opset <n>', help: 'TAO: ONNX only', hidden: true },
  onnxRoute: { flags: '--onnx_route <route>', help: 'TAO: ONNX only', hidden: true },
  gpus: { flags: '--gpus <n>', help: 'TAO launcher: number of GPUs (export uses one)', hidden: true },
} as const satisfies Record<string, FlagDef>;

export type ExportFlagName = keyof typeof EXPORT_FLAGS;

type ValueOf<D extends FlagDef> = D extends { choices: readonly (infer C)[] } ? C : D['flags'] extends `${string}...>` ? string[] : D['flags'] extends `${string}<${string}>` ? string : boolean;
type Given<D extends FlagDef> = D extends { required: true } ? true : false;
type Table = typeof EXPORT_FLAGS;

/** What `mask_rcnn export` hands to flagsToRequest, derived from EXPORT_FLAGS. */
export type ExportFlags = { -readonly [K in keyof Table as Given<Table[K]> extends true ? K : never]: ValueOf<Table[K]> } & {
  -readonly [K in keyof Table as Given<Table[K]> extends true ? never : K]?: ValueOf<Table[K]>;
};

/** commander's Option for one table entry. */
export function flagOption(def: FlagDef): Option {
  const o = new Option(def.flags, def.help);
  if (def.choices) o.choices(def.choices);
  if (def.default !== undefined) o.default(def.default);
  if (def.required) o.makeOptionMandatory();
  if (def.hidden) o.hideHelp();
  return o;
}

/** Add every table flag to `cmd`; returns name → Option so values are read back by attribute name. */
export function addExportFlags(cmd: Command): Map<ExportFlagName, Option> {
  const byName = new Map<ExportFlagName, Option>();
  for (const [name, def] of Object.entries(EXPORT_FLAGS) as [ExportFlagName, FlagDef][]) {
    const o = flagOption(def);
    cmd.addOption(o);
    byName.set(name, o);
  }
  return byName;
}

/** The ExportFlags of a parsed command: each table flag read under commander's attribute name. */
export function readExportFlags(opts: Readonly<Record<string, unknown>>, byName: ReadonlyMap<ExportFlagName, Option>): ExportFlags {
  const out: Partial<Record<ExportFlagName, unknown>> = {};
  for (const [name, o] of byName) {
    const v = opts[o.attributeName()];
    if (v !== undefined) out[name] = v;
  }
  if (typeof out.model !== 'string') throw new TypeError('commander did not enforce --model');
  // Types follow from EXPORT_FLAGS: commander enforced choices, mandatory and variadic shapes.
  return out as ExportFlags;
}
