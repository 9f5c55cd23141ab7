/**
 * The one place that owns Export Studio's defaults: option values (TAO's where TAO has one) and
 * the default output paths. Every front door uses it — the CLI (electron/cli/export-flags.ts), the
 * request schema (shared/request.ts), the worker's output plan (electron/pipeline/paths.ts), the
 * app's wizard (renderer/src/store/request.ts) and web mode (through the host API) — so the same
 * inputs plan the same files whichever door they come through.
 *
 * Pure string code (no node:path): the renderer uses it too. Paths may be POSIX or Windows paths of
 * the machine that runs the pipeline.
 *
 * Default output paths (TAO `tao model mask_rcnn export`, [TF1] cv/common/export/app.py):
 * - the model `<dir>/<name>.<ext>` → `<dir>/<name>.etlt`, beside the model; when that is the model
 *   itself (an `.etlt` input) → `<dir>/<name>.<precision>.etlt`, so a default never targets its input;
 * - the INT8 cache → `cal.bin` in the working directory (TAO: `./cal.bin`, made absolute against
 *   the CWD). The CLI's working directory is its CWD; the app and web mode have no shell, so theirs
 *   is the folder of the output .etlt (see `appWorkDir`);
 * - derived files sit beside what they derive from: `<etlt stem>.onnx` (plain ONNX with
 *   --gen_ds_config), `<etlt stem>.qdq.onnx`, `<cache>.json` (provenance),
 *   `<cache stem>.calibration.json`, `nvinfer_config.txt` and `labels.txt` in the .etlt's folder.
 */

/** Every file an export request will write, as absolute paths (electron/pipeline/paths.ts plans it). */
export interface OutputPlan {
  etlt: string;
  /** Plain ONNX: when asked for, or with the DeepStream config (DeepStream cannot read our .etlt). */
  onnx?: string;
  qdq?: string;
  cache?: string;
  provenance?: string;
  calibrationReport?: string;
  tensorfile?: string;
  dsConfig?: string;
  labels?: string;
  report?: string;
  engine?: string;
}

/** Option defaults. Changing one here changes the CLI's help, the schema and the app together. */
export const EXPORT_DEFAULTS = {
  precision: 'fp32',
  /** TAO --cal_cache_file. */
  calCacheFile: './cal.bin',
  /** TAO --batches. */
  batches: 10,
  /** TAO --batch_size (TAO 3/4/5 export: 16). */
  batchSize: 16,
  /** TAO --max_batch_size. */
  maxBatchSize: 1,
  /** TAO --max_workspace_size, bytes. */
  maxWorkspaceSize: 2 * 2 ** 30,
  /**
   * Target TensorRT (the cache header carries it: TRT-101600-…): DeepStream 9.2's, "TensorRT
   * 10.16.0.72 for x86" (DeepStream 9.2 Migration Guide). docs/FORMATS.md, Target TensorRT version.
   */
  trtVersion: '10.16.0',
  /**
   * custom-lib-path of the DeepStream config: deepstream_tao_apps' post_processor/Makefile builds
   * libnvds_infercustomparser_tao.so in post_processor/ of the checkout, assumed at
   * /opt/nvidia/deepstream/deepstream/sources/deepstream_tao_apps (docs/FORMATS.md).
   */
  dsCustomLib: '/opt/nvidia/deepstream/deepstream/sources/deepstream_tao_apps/post_processor/libnvds_infercustomparser_tao.so',
  calAlgorithm: 'entropy',
  calPercentile: 99.99,
  calHistogram: 'sampled',
  calSeed: 42,
  calResize: 'keep-aspect-pad',
  fidelityImages: 8,
  fidelitySuggest: 5,
  preset: 'tao-maskrcnn',
} as const;

/** File name of the default INT8 cache inside the working directory. */
export const DEFAULT_CACHE_NAME = 'cal.bin';

function sepOf(p: string): '/' | '\\' {
  return p.includes('\\') && !p.includes('/') ? '\\' : '/';
}

/** Folder part of a path ('.' for a bare name). */
export function dirname(p: string): string {
  const i = Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\'));
  if (i < 0) return '.';
  if (i === 0) return p.slice(0, 1);
  return p.slice(0, i);
}

export function basename(p: string): string {
  const i = Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\'));
  return p.slice(i + 1);
}

/** The file name without its last extension (`a.b.tlt` → `a.b`; `.hidden` stays). */
export function stem(p: string): string {
  const b = basename(p);
  const dot = b.lastIndexOf('.');
  return dot > 0 ? b.slice(0, dot) : b;
}

/** The path without its last extension. */
export function stripExt(p: string): string {
  const b = basename(p);
  const dot = b.lastIndexOf('.');
  return dot > 0 ? p.slice(0, p.length - (b.length - dot)) : p;
}

export function join(dir: string, name: string): string {
  const sep = sepOf(dir);
  return dir.endsWith('/') || dir.endsWith('\\') ? dir + name : dir + sep + name;
}

/** A file beside `file` with its extension replaced by `suffix`: (`/o/m.etlt`, `.qdq.onnx`) → `/o/m.qdq.onnx`. */
export function sibling(file: string, suffix: string): string {
  return stripExt(file) + suffix;
}

/** TAO's default -o: the model path minus its extension + `.etlt`; never the model itself. */
export function defaultEtltPath(modelPath: string, precision: string = EXPORT_DEFAULTS.precision): string {
  const sameExt = basename(modelPath).toLowerCase().endsWith('.etlt');
  return sameExt ? sibling(modelPath, `.${precision}.etlt`) : sibling(modelPath, '.etlt');
}

/** TAO's default --cal_cache_file: `cal.bin` in the working directory. */
export function defaultCachePath(workDir: string): string {
  return join(workDir, DEFAULT_CACHE_NAME);
}

/** The app's and web mode's working directory: the folder of the output .etlt. */
export function appWorkDir(etltPath: string): string {
  return dirname(etltPath);
}

/** The Q/DQ ONNX the app writes when asked: `<etlt stem>.qdq.onnx`. */
export function defaultQdqPath(etltPath: string): string {
  return sibling(etltPath, '.qdq.onnx');
}

/**
 * The plain ONNX written with the DeepStream config: `<etlt stem>.onnx` — or, when that is the
 * input model itself (`-m x.onnx` beside `x.etlt`), `<etlt stem>.deepstream.onnx`: a default never
 * names an input. `modelPath` in the same terms as `etltPath` (both absolute, or both as typed).
 */
export function defaultOnnxPath(etltPath: string, modelPath?: string): string {
  const p = sibling(etltPath, '.onnx');
  return modelPath !== undefined && p === modelPath ? sibling(etltPath, '.deepstream.onnx') : p;
}

/** Provenance of a cache: `<cache>.json`. */
export function provenancePath(cachePath: string): string {
  return `${cachePath}.json`;
}

/** Calibration report of a cache: `<cache stem>.calibration.json`. */
export function calibrationReportPath(cachePath: string): string {
  return sibling(cachePath, '.calibration.json');
}

/** The DeepStream files, in the .etlt's folder (TAO writes them beside the output). */
export function dsConfigPaths(etltPath: string): { dsConfig: string; labels: string } {
  const dir = dirname(etltPath);
  return { dsConfig: join(dir, 'nvinfer_config.txt'), labels: join(dir, 'labels.txt') };
}

/**
 * The default output paths for a request that names none: what the CLI uses without -o /
 * --cal_cache_file and what the wizard pre-fills. `workDir` resolves the cache: the CLI passes
 * its CWD ('.' keeps TAO's relative './cal.bin'); the app passes `appWorkDir(etlt)`.
 */
export function defaultOutputs(modelPath: string, precision: string, workDir?: string): { etlt: string; cache: string } {
  const etlt = defaultEtltPath(modelPath, precision);
  const dir = workDir ?? appWorkDir(etlt);
  return { etlt, cache: dir === '.' ? EXPORT_DEFAULTS.calCacheFile : defaultCachePath(dir) };
}
