import fs from 'node:fs/promises';
import path from 'node:path';
import { StudioError } from '../../shared/errors.js';
import type { ExportRequest } from '../../shared/request.js';
import type { OutputPlan } from '../../shared/defaults.js';
import { planOutputPaths } from '../../shared/plan.js';

export type { OutputPlan } from '../../shared/defaults.js';

/**
 * Every file a request will write, absolute, resolved once so preflight, stages and the report
 * agree: relative request paths against `cwd` (the CLI's CWD; the host passes its own). The rules
 * are shared/plan.ts + shared/defaults.ts, the ones the CLI and the app use for their defaults.
 */
export function planOutputs(r: ExportRequest, cwd: string = process.cwd()): OutputPlan {
  return planOutputPaths(r, (p) => path.resolve(cwd, p));
}

/** The path a file will really be read from or written to: `..` and symlinks (of the folder and, when it exists, the file) resolved. */
export async function realTarget(p: string, cwd: string = process.cwd()): Promise<string> {
  const abs = path.resolve(cwd, p);
  const real = await fs.realpath(abs).catch(() => null);
  if (real) return real;
  // A dangling link: where it points (so an output cannot be a link into an input).
  const link = await fs.readlink(abs).catch(() => null);
  if (link !== null) return realTarget(path.resolve(path.dirname(abs), link), cwd);
  const dir = await fs.realpath(path.dirname(abs)).catch(() => path.dirname(abs));
  return path.join(dir, path.basename(abs));
}

/** Files a request reads (before the spec is parsed; the spec's own inputs are checked by the spec stage). */
export function requestInputs(r: ExportRequest, cwd: string = process.cwd()): { role: string; file: string }[] {
  const abs = (p: string) => path.resolve(cwd, p);
  const inputs = [{ role: 'the input model (-m)', file: abs(r.model) }];
  if (r.spec) inputs.push({ role: 'the experiment spec (-e)', file: abs(r.spec) });
  const c = r.calibration;
  if (r.precision === 'int8' && c) {
    if (c.tensorfile && !c.writeTensorfile) inputs.push({ role: 'the calibration tensorfile', file: abs(c.tensorfile) });
    for (const im of c.images ?? []) inputs.push({ role: 'a calibration image', file: abs(im) });
  }
  return inputs;
}

/** The raw output paths of a request with their flags, for the checks on how they are spelled. */
function rawOutputs(r: ExportRequest): [string, string][] {
  const o = r.outputs;
  const list: [string, string | undefined][] = [
    ['-o', o.etlt],
    ['--onnx_file', o.onnx],
    ['--qdq_file', r.precision === 'int8' ? o.qdq : undefined],
    ['--cal_cache_file', r.precision === 'int8' ? o.cache : undefined],
    ['--report_file', o.report],
    ['--log_file', o.logFile],
    ['--engine_file', o.engine],
  ];
  return list.filter((x): x is [string, string] => x[1] !== undefined);
}

/**
 * Every output (the log included) must be its own file and none may be an input — compared after
 * resolving `..` and symlinks, so `./m.tlt`, `a/../m.tlt` and a link to it are the same file.
 * Also refuses outputs spelled as folders (`out/`, `out/.`). Throws E_OUTPUT_EXISTS when an
 * output would write into an input, E_USAGE when two outputs are the same file.
 */
export async function checkPathCollisions(r: ExportRequest, plan: OutputPlan, extraInputs: { role: string; file: string }[] = [], cwd: string = process.cwd()): Promise<void> {
  for (const [flag, p] of rawOutputs(r)) {
    if (/[/\\]$/.test(p) || /(^|[/\\])\.{1,2}$/.test(p)) {
      throw new StudioError('E_OUTPUT_WRITE', `${flag} names a folder, not a file: ${p}`, `Give a file name, e.g. ${path.join(p, flag === '--log_file' ? 'export.log' : 'model.etlt')}.`, { file: path.resolve(cwd, p) });
    }
  }
  const outputs: [string, string][] = Object.entries(plan).map(([k, v]) => [k, v as string]);
  if (r.outputs.logFile) outputs.push(['logFile', path.resolve(cwd, r.outputs.logFile)]);
  if (r.outputs.resultsDir) outputs.push(['status.json', path.join(path.resolve(cwd, r.outputs.resultsDir), 'status.json')]);
  const reals = new Map<string, string>();
  for (const [k, file] of outputs) {
    const real = await realTarget(file, cwd);
    const other = reals.get(real);
    if (other !== undefined) throw new StudioError('E_USAGE', `Two outputs point at the same file: ${other} and ${k} → ${file}`, 'Give each output its own path.', { file });
    reals.set(real, k);
  }
  for (const input of [...requestInputs(r, cwd), ...extraInputs]) {
    const real = await realTarget(input.file, cwd);
    const out = reals.get(real);
    if (out !== undefined) {
      throw new StudioError(
        'E_OUTPUT_EXISTS',
        `The output ${out} would write into ${input.role}: ${input.file}`,
        'Inputs are never written, not even with --overwrite: choose another output path.',
        { file: input.file },
        { details: { output: out } },
      );
    }
  }
}
