import { formatInt8Target } from '../../shared/int8-target.js';
import type { ExportRequest } from '../../shared/request.js';
import { shellQuote } from '../../shared/redact.js';
import { EXPORT_DEFAULTS as D } from '../../shared/defaults.js';

/** The key's place in a shown command: the CLI's environment variable, double-quoted so it expands as one word. */
export const KEY_ENV_REF = '"$EXPORT_STUDIO_KEY"';

/**
 * The CLI command equivalent to a request, without the key: it reads the key from
 * EXPORT_STUDIO_KEY (`-k "$EXPORT_STUDIO_KEY"`), so the command runs as pasted once that variable
 * is set, and neither the app, the report nor a log ever holds the key. Shown in the app's Review
 * step, written into reports and logs. Uses TAO's flag names so it pastes into existing scripts.
 * Every option that differs from the CLI's default is written out.
 */
export function requestToCommand(r: ExportRequest): string {
  const a: string[] = ['export-studio', 'mask_rcnn', 'export', '-m', r.model, '-k', KEY_ENV_REF];
  if (r.spec) a.push('-e', r.spec);
  a.push('-o', r.outputs.etlt);
  if (r.precision !== D.precision) a.push('--data_type', r.precision);
  if (r.gpu === 'cpu') a.push('--cpu');
  else if (r.gpu !== 0) a.push('--gpu_index', String(r.gpu));
  if (r.outputs.dsConfig) a.push('--gen_ds_config');
  if (r.outputs.dsConfigEmbedKey) a.push('--ds_embed_key');
  if (r.outputs.dsCustomLib) a.push('--ds_custom_lib', r.outputs.dsCustomLib);
  if (r.outputs.onnx) a.push('--onnx_file', r.outputs.onnx);
  if (r.outputs.logFile) a.push('--log_file', r.outputs.logFile);
  if (r.outputs.report) a.push('--report_file', r.outputs.report);
  if (r.outputs.engine) a.push('--engine_file', r.outputs.engine);
  if (r.outputs.resultsDir) a.push('--results_dir', r.outputs.resultsDir);
  if (r.maxBatchSize !== D.maxBatchSize) a.push('--max_batch_size', String(r.maxBatchSize));
  if (r.trtVersion !== D.trtVersion) a.push('--trt_version', r.trtVersion);
  if (r.maxWorkspaceSize !== D.maxWorkspaceSize) a.push('--max_workspace_size', String(r.maxWorkspaceSize));
  const pp = r.preprocessing;
  if (pp) {
    if (pp.preset !== D.preset) a.push('--preset', pp.preset);
    if (pp.mean) a.push('--mean', pp.mean.join(','));
    if (pp.scale) a.push('--scale', pp.scale.join(','));
    if (pp.order) a.push('--channel_order', pp.order);
    if (pp.layout) a.push('--layout', pp.layout);
    if (pp.size) a.push('--input_size', `${pp.size[0]}x${pp.size[1]}`);
  }
  const c = r.calibration;
  if (r.precision === 'int8' && c) {
    if (r.outputs.cache && r.outputs.cache !== D.calCacheFile) a.push('--cal_cache_file', r.outputs.cache);
    if (r.outputs.qdq) a.push('--qdq_file', r.outputs.qdq);
    if (c.source === 'image-dir' && c.imageDir) a.push('--cal_image_dir', c.imageDir);
    if (c.source === 'images' && c.images) a.push('--cal_images', c.images.join(','));
    if (c.tensorfile) a.push('--cal_data_file', c.tensorfile);
    if (c.source === 'spec-loader') a.push('--cal_source', 'spec');
    if (c.source === 'cache') a.push('--cal_source', 'cache');
    a.push('--batches', String(c.batches), '--batch_size', String(c.batchSize));
    if (c.algorithm !== D.calAlgorithm) a.push('--cal_algorithm', c.algorithm);
    if (c.algorithm === 'percentile') a.push('--cal_percentile', String(c.percentile));
    if (c.histogram !== D.calHistogram && c.algorithm !== 'minmax') a.push('--cal_histogram', c.histogram);
    if (c.seed !== D.calSeed) a.push('--cal_seed', String(c.seed));
    if (c.acceptFewer) a.push('--cal_accept_fewer');
    if (c.resize !== D.calResize) a.push('--cal_resize', c.resize);
    if (c.reuse === 'never') a.push('--no-cal_reuse');
    if (r.fidelity && !r.fidelity.enabled) a.push('--no_fidelity');
    else if (r.fidelity && r.fidelity.images !== D.fidelityImages) a.push('--fidelity_images', String(r.fidelity.images));
    if (r.fidelity?.enabled) {
      if (r.fidelity.target) a.push('--int8_target', formatInt8Target(r.fidelity.target));
      if (r.fidelity.search === 'off') a.push('--int8_search', 'off');
      if (r.fidelity.allowBelowTarget) a.push('--allow_below_target');
    }
  }
  if (r.overwrite) a.push('--overwrite');
  if (r.verbose) a.push('-v');
  return a.map((x) => (x === KEY_ENV_REF ? x : shellQuote(x))).join(' ');
}
