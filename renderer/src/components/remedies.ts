import type { StudioErrorData } from '../../../shared/errors.js';
import type { StepId } from '../store/steps.js';
import { STEP_LABELS } from '../store/steps.js';

/**
 * The CLI's hints name flags; in the app a remedy names the control (issue 12). Each CLI flag the
 * pipeline's hints may name maps to the wizard control that sets the same request field.
 */
export const FLAG_CONTROLS: Record<string, { label: string; step: StepId }> = {
  '-m': { label: 'Model file', step: 'model' },
  '--model': { label: 'Model file', step: 'model' },
  '-k': { label: 'Model key', step: 'key' },
  '--key': { label: 'Model key', step: 'key' },
  '-e': { label: 'Experiment spec', step: 'spec' },
  '--experiment_spec': { label: 'Experiment spec', step: 'spec' },
  '--input_size': { label: 'Input height and width', step: 'spec' },
  '--preset': { label: 'Preset', step: 'spec' },
  '--mean': { label: 'Mean', step: 'spec' },
  '--scale': { label: 'Scale', step: 'spec' },
  '--channel_order': { label: 'Channel order', step: 'spec' },
  '--layout': { label: 'Layout', step: 'spec' },
  '--data_type': { label: 'Precision', step: 'precision' },
  '--cal_source': { label: 'Calibration data', step: 'calibration' },
  '--cal_image_dir': { label: 'Image folder', step: 'calibration' },
  '--cal_images': { label: 'Image folder selection', step: 'calibration' },
  '--cal_data_file': { label: 'Tensorfile', step: 'calibration' },
  '--batches': { label: 'Batches', step: 'calibration' },
  '--batch_size': { label: 'Batch size', step: 'calibration' },
  '--cal_seed': { label: 'Seed', step: 'calibration' },
  '--cal_algorithm': { label: 'Algorithm', step: 'calibration' },
  '--cal_percentile': { label: 'Percentile', step: 'calibration' },
  '--cal_histogram': { label: 'Histogram', step: 'calibration' },
  '--cal_resize': { label: 'Resize', step: 'calibration' },
  '--cal_accept_fewer': { label: 'Accept fewer usable samples', step: 'calibration' },
  '--no-cal_reuse': { label: 'Reuse a matching cache', step: 'calibration' },
  '-o': { label: 'Output model (.etlt)', step: 'output' },
  '--output_file': { label: 'Output model (.etlt)', step: 'output' },
  '--overwrite': { label: 'Overwrite existing files', step: 'output' },
  '--gen_ds_config': { label: 'Write a DeepStream config', step: 'output' },
  '--ds_embed_key': { label: 'tlt-model-key lines (Advanced)', step: 'output' },
  '--cal_cache_file': { label: 'Calibration cache', step: 'output' },
  '--qdq_file': { label: 'Write a Q/DQ ONNX model', step: 'output' },
  '--onnx_file': { label: 'Plain ONNX (Advanced)', step: 'output' },
  '--engine_file': { label: 'TensorRT engine (Advanced)', step: 'output' },
  '--log_file': { label: 'Log file (Advanced)', step: 'output' },
  '--report_file': { label: 'Write a JSON report', step: 'output' },
  '--results_dir': { label: 'TAO results folder (Advanced)', step: 'output' },
  '--max_batch_size': { label: 'Max batch size (Advanced)', step: 'output' },
  '--max_workspace_size': { label: 'Max workspace bytes (Advanced)', step: 'output' },
  '--no_fidelity': { label: 'Check INT8 fidelity', step: 'output' },
  '--fidelity_images': { label: 'Check INT8 fidelity', step: 'output' },
  '--gpu_index': { label: 'Device', step: 'output' },
  '--cpu': { label: 'Device (CPU)', step: 'output' },
  '-v': { label: 'Verbose (Advanced)', step: 'output' },
};

const FLAG_RE = /(^|[\s(“"'`])(-{1,2}[a-z][a-z_-]*)(?:\s+(?:<[^>]+>|[A-Z]+x[A-Z]+|\d[\dx.,]*(?=[\s),.;]|$)))?/g;

/** The hint in the app's words: each known flag becomes “its control” (Step). Unknown flags stay. */
export function appHint(hint: string): { text: string; steps: StepId[] } {
  const steps: StepId[] = [];
  let text = hint.replace(FLAG_RE, (whole, pre: string, flag: string) => {
    const c = FLAG_CONTROLS[flag];
    if (!c) return whole;
    if (!steps.includes(c.step)) steps.push(c.step);
    return `${pre}“${c.label}” (${STEP_LABELS[c.step]} step)`;
  });
  // "Pass “X” (…)" reads as a flag; the app's verb is "use".
  text = text.replace(/\b[Pp]ass “/g, (m) => (m.startsWith('P') ? 'Use “' : 'use “')).replace(/\s*\(or set EXPORT_STUDIO_KEY[^)]*\)/g, '').replace(/\s{2,}/g, ' ');
  return { text: text.trim(), steps };
}

/** A one-click remedy the app offers for an error, beside the hint. */
export type Remedy = { kind: 'overwrite' } | { kind: 'accept-fewer' } | { kind: 'goto'; step: StepId };

export function remediesFor(error: StudioErrorData): { label: string; remedy: Remedy }[] {
  const out: { label: string; remedy: Remedy }[] = [];
  if (error.code === 'E_OUTPUT_EXISTS' && /--overwrite/.test(error.hint)) out.push({ label: 'Turn on overwrite', remedy: { kind: 'overwrite' } });
  if (error.code === 'E_CAL_TOO_FEW_SAMPLES') out.push({ label: 'Accept fewer samples', remedy: { kind: 'accept-fewer' } });
  for (const step of appHint(error.hint).steps) out.push({ label: `Go to ${STEP_LABELS[step]}`, remedy: { kind: 'goto', step } });
  return out;
}
