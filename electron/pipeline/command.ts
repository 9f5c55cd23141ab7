import { DEFAULT_TRT_VERSION, type ExportRequest } from '../../shared/request.js';
import { KEY_MASK, shellQuote } from '../../shared/redact.js';

/**
 * The CLI command equivalent to a request, with the key masked: shown in the app's Review step,
 * written into reports and logs. Uses TAO's flag names so it pastes into existing scripts
 * (after replacing the mask).
 */
export function requestToCommand(r: ExportRequest): string {
  const a: string[] = ['export-studio', 'mask_rcnn', 'export', '-m', r.model, '-k', KEY_MASK];
  if (r.spec) a.push('-e', r.spec);
  a.push('-o', r.outputs.etlt);
  if (r.precision !== 'fp32') a.push('--data_type', r.precision);
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
  if (r.maxBatchSize !== 1) a.push('--max_batch_size', String(r.maxBatchSize));
  if (r.trtVersion !== DEFAULT_TRT_VERSION) a.push('--trt_version', r.trtVersion);
  const pp = r.preprocessing;
  if (pp) {
    if (pp.preset !== 'tao-maskrcnn') a.push('--preset', pp.preset);
    if (pp.mean) a.push('--mean', pp.mean.join(','));
    if (pp.scale) a.push('--scale', pp.scale.join(','));
    if (pp.order) a.push('--channel_order', pp.order);
    if (pp.layout) a.push('--layout', pp.layout);
    if (pp.size) a.push('--input_size', `${pp.size[0]}x${pp.size[1]}`);
  }
  const c = r.calibration;
  if (r.precision === 'int8' && c) {
    if (r.outputs.cache && r.outputs.cache !== './cal.bin') a.push('--cal_cache_file', r.outputs.cache);
    if (r.outputs.qdq) a.push('--qdq_file', r.outputs.qdq);
    if (c.source === 'image-dir' && c.imageDir) a.push('--cal_image_dir', c.imageDir);
    if (c.source === 'images' && c.images) a.push('--cal_images', c.images.join(','));
    if (c.tensorfile) a.push('--cal_data_file', c.tensorfile);
    if (c.source === 'spec-loader') a.push('--cal_source', 'spec');
    if (c.source === 'cache') a.push('--cal_source', 'cache');
    a.push('--batches', String(c.batches), '--batch_size', String(c.batchSize));
    if (c.algorithm !== 'entropy') a.push('--cal_algorithm', c.algorithm);
    if (c.algorithm === 'percentile') a.push('--cal_percentile', String(c.percentile));
    if (c.histogram !== 'sampled' && c.algorithm !== 'minmax') a.push('--cal_histogram', c.histogram);
    if (c.seed !== 42) a.push('--cal_seed', String(c.seed));
    if (c.acceptFewer) a.push('--cal_accept_fewer');
    if (c.resize !== 'keep-aspect-pad') a.push('--cal_resize', c.resize);
    if (c.reuse === 'never') a.push('--no-cal_reuse');
    if (r.fidelity && !r.fidelity.enabled) a.push('--no_fidelity');
    else if (r.fidelity && r.fidelity.images !== 8) a.push('--fidelity_images', String(r.fidelity.images));
  }
  if (r.overwrite) a.push('--overwrite');
  if (r.verbose) a.push('-v');
  return a.map((x) => (x === KEY_MASK ? x : shellQuote(x))).join(' ');
}
