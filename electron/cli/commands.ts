import path from 'node:path';
import { StudioError, asStudioError, formatError, isStudioError } from '../../shared/errors.js';
import { formatBytes } from '../../shared/format.js';
import type { ModelSummary } from '../../shared/report.js';
import { readModel, sealFile, unsealFile } from '../pipeline/model/index.js';
import { inspectModel } from '../pipeline/onnx/index.js';
import { listGpus } from '../host/gpus.js';
import { cudaProviderInstalled } from '../pipeline/runtime/cuda.js';
import { INSTALL_CUDA_COMMAND } from '../../shared/api.js';
import type { CliIO } from './program.js';

function keyOf(o: { key?: string }, io: CliIO, required: boolean): string {
  const key = o.key ?? io.env.EXPORT_STUDIO_KEY;
  if (key === undefined) {
    if (!required) return '';
    throw new StudioError('E_KEY_REQUIRED', 'No key given', 'Pass -k <key> or set EXPORT_STUDIO_KEY.');
  }
  return key;
}

/**
 * Print a failure the standard way (`error <CODE>: …`, location, hint) unless it was already
 * printed, and return its exit code; anything not a StudioError is an E_INTERNAL (exit 70) and
 * its stack follows so the bug can be reported.
 */
export function failureExit(io: CliIO, e: unknown, alreadyPrinted = false): number {
  const err = asStudioError(e, 'in the CLI', 'This is a bug in Export Studio: please report it with this output (and --log_file).');
  if (!alreadyPrinted) io.stderr(formatError(err.toData()) + '\n');
  if (!isStudioError(e)) io.stderr(`${e instanceof Error && e.stack ? e.stack : String(e)}\n`);
  return err.exitCode;
}

/** Run a command body, print a failure the standard way and return the exit code. */
async function guarded(io: CliIO, body: () => Promise<void>): Promise<number> {
  try {
    await body();
    return 0;
  } catch (e) {
    return failureExit(io, e);
  }
}

export function formatModelCard(s: ModelSummary, file: string): string {
  const dims = (shape: (number | string | null)[] | null) => (shape === null ? '?' : `[${shape.map((d) => (d === null ? '?' : String(d))).join(', ')}]`);
  const lines = [
    `${path.basename(file)}  (${s.format}${s.etltInputName ? `, header input name '${s.etltInputName}'` : ''}, ${formatBytes(s.bytes)})`,
    `  sha256      ${s.sha256}`,
    `  IR version  ${s.irVersion}   opsets ${s.opsets.map((o) => `${o.domain || 'ai.onnx'} ${o.version}`).join(', ')}`,
    `  producer    ${s.producer || '(none)'}`,
    `  nodes       ${s.nodeCount}   initializers ${s.initializerCount}   parameters ${s.parameterCount.toLocaleString('en-US')}`,
    '  inputs',
    ...s.inputs.map((t) => `    ${t.name}  ${t.type} ${dims(t.shape)}`),
    '  outputs',
    ...s.outputs.map((t) => `    ${t.name}  ${t.type} ${dims(t.shape)}`),
    `  ops         ${Object.entries(s.opCounts)
      .sort((a, b) => b[1] - a[1])
      .map(([op, n]) => `${op}×${n}`)
      .join(' ')}`,
  ];
  if (s.customOps.length) {
    lines.push('  plugin/custom ops ONNX Runtime cannot run (TensorRT plugins?):');
    for (const c of s.customOps) lines.push(`    ${c.domain ? c.domain + '::' : ''}${c.opType} ×${c.count}`);
  }
  if (s.externalData) lines.push('  external data: yes (tensors stored in separate files)');
  return lines.join('\n') + '\n';
}

export function inspectCommand(o: { model: string; key?: string; json?: boolean }, io: CliIO): Promise<number> {
  return guarded(io, async () => {
    const key = keyOf(o, io, false);
    const m = await readModel(o.model, key, { signal: io.signal });
    const summary = inspectModel(m.onnx, { format: m.format, ...(m.etltInputName ? { etltInputName: m.etltInputName } : {}), fileBytes: m.fileBytes, sha256: m.sha256, modelPath: o.model });
    io.stdout(o.json ? JSON.stringify(summary, null, 2) + '\n' : formatModelCard(summary, o.model));
  });
}

export function sealCommand(o: { model: string; key?: string; output_file: string; input_name?: string; overwrite?: boolean }, io: CliIO): Promise<number> {
  return guarded(io, async () => {
    const key = keyOf(o, io, true);
    const ext = path.extname(o.output_file).toLowerCase();
    if (ext !== '.etlt' && ext !== '.tlt') {
      throw new StudioError('E_USAGE', `seal writes .etlt or .tlt, not '${ext || '(no extension)'}'`, 'Name the output model.etlt (with TAO header) or model.tlt (no header).');
    }
    const format = ext === '.etlt' ? 'etlt' : 'tlt';
    const w = await sealFile(o.model, o.output_file, key, { format, overwrite: o.overwrite ?? false, signal: io.signal, ...(o.input_name !== undefined ? { inputName: o.input_name } : {}) });
    for (const line of w.warnings) io.stderr(`warning: ${line}\n`);
    io.stdout(`sealed ${o.model} → ${o.output_file} (${format})\n`);
  });
}

export function unsealCommand(o: { model: string; key?: string; output_file: string; overwrite?: boolean }, io: CliIO): Promise<number> {
  return guarded(io, async () => {
    const key = keyOf(o, io, true);
    const w = await unsealFile(o.model, o.output_file, key, { overwrite: o.overwrite ?? false, signal: io.signal });
    for (const line of w.warnings) io.stderr(`warning: ${line}\n`);
    io.stdout(`unsealed ${o.model} → ${o.output_file}\n`);
  });
}

export function gpusCommand(o: { json?: boolean }, io: CliIO): Promise<number> {
  return guarded(io, async () => {
    const inv = await listGpus({ env: io.env });
    const cudaProvider = cudaProviderInstalled() ? 'installed' : 'missing';
    if (o.json) {
      io.stdout(JSON.stringify({ ...inv, cudaProvider }, null, 2) + '\n');
      return;
    }
    if (inv.gpus.length === 0) {
      io.stdout(`No GPU: ${inv.reason ?? 'none found'}\nExports run on the CPU.\n`);
      return;
    }
    for (const g of inv.gpus) {
      const mem = g.memoryTotalMiB === null ? '' : `  ${g.memoryUsedMiB ?? '?'} / ${g.memoryTotalMiB} MiB`;
      const util = g.utilizationPct === null ? '' : `  ${g.utilizationPct}% busy`;
      io.stdout(`${g.index}  ${g.name}${mem}${util}  ${g.pciBusId}  driver ${g.driverVersion}\n`);
    }
    if (cudaProvider === 'missing') io.stdout(`ONNX Runtime's CUDA provider is not installed: exports run on the CPU. To use the GPU: ${INSTALL_CUDA_COMMAND}\n`);
  });
}
