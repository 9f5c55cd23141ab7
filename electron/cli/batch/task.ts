import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StudioError, formatError, isStudioError } from '../../../shared/errors.js';
import type { JobEvent } from '../../../shared/events.js';
import { runExport } from '../../pipeline/run.js';
import type { CliIO } from '../program.js';
import { ConsoleRenderer } from '../progress.js';
import type { Manifest } from './manifest.js';
import { findVerdict, type EntryResult } from './summary.js';

/** Where a scheduler's task runs: which entry, and what it was given. */
export interface TaskContext {
  index: number;
  /** "slurm 1234_5 on node7 (gpu 3)", "kubernetes pod x (index 2)", "local". */
  where: string;
  /** The GPU the task was allocated (as CUDA sees it: the first visible one), or the CPU. */
  gpu: number | 'cpu';
}

/**
 * The entry index and device of a task from the scheduler's environment: Slurm array tasks
 * (SLURM_ARRAY_TASK_ID), Kubernetes Indexed Jobs (JOB_COMPLETION_INDEX). The GPU is the one the
 * scheduler allocated: CUDA_VISIBLE_DEVICES (set by Slurm's gres and by the NVIDIA device plugin)
 * makes it CUDA device 0; with none visible the task runs on the CPU.
 */
export function taskContext(env: NodeJS.ProcessEnv, index?: number): TaskContext {
  const raw = index ?? (env.SLURM_ARRAY_TASK_ID !== undefined ? Number(env.SLURM_ARRAY_TASK_ID) : env.JOB_COMPLETION_INDEX !== undefined ? Number(env.JOB_COMPLETION_INDEX) : NaN);
  if (!Number.isInteger(raw) || raw < 0) {
    throw new StudioError('E_USAGE', 'No task index: pass --index N, or run inside a Slurm array task (SLURM_ARRAY_TASK_ID) or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX)', 'batch task is what the generated sbatch script and Job run; use `batch run` on a workstation.');
  }
  const visible = (env.CUDA_VISIBLE_DEVICES ?? env.NVIDIA_VISIBLE_DEVICES ?? '').trim();
  const hasGpu = visible !== '' && visible !== 'void' && visible !== 'none' && visible !== 'NoDevFiles';
  let where = 'local';
  if (env.SLURM_ARRAY_JOB_ID) where = `slurm ${env.SLURM_ARRAY_JOB_ID}_${env.SLURM_ARRAY_TASK_ID ?? raw} on ${env.SLURMD_NODENAME ?? os.hostname()}`;
  else if (env.JOB_COMPLETION_INDEX !== undefined) where = `kubernetes pod ${os.hostname()} (index ${raw})`;
  return { index: raw, where: hasGpu ? `${where} (GPU ${visible})` : `${where} (CPU)`, gpu: hasGpu ? 0 : 'cpu' };
}

export function resultFile(resultsDir: string, index: number, name: string): string {
  return path.join(resultsDir, 'results', `${String(index).padStart(4, '0')}-${name}.json`);
}

/**
 * `batch task`: run one manifest entry in this process (the scheduler already gave it its
 * GPU), print progress to stderr (the task's log), and write its result JSON for `batch status`.
 * The key comes from the entry's key_env variable, passed by the scheduler's environment.
 */
export async function runTask(manifest: Manifest, ctx: TaskContext, resultsDir: string, io: CliIO): Promise<number> {
  const entry = manifest.entries[ctx.index];
  if (!entry) throw new StudioError('E_USAGE', `Task index ${ctx.index} is outside the manifest (${manifest.entries.length} exports)`, 'The manifest changed after the job was submitted: submit it again.');
  const started = Date.now();
  io.stderr(`export-studio batch task ${ctx.index} (${entry.name}) · ${ctx.where}\n`);
  const renderer = new ConsoleRenderer({ tty: false, verbose: entry.request.verbose, write: io.stderr });
  for (const n of entry.notices) renderer.handle({ type: 'log', level: n.level, text: n.text, time: Date.now() });
  if (entry.deviceChosen) renderer.handle({ type: 'log', level: 'info', text: 'gpu_index/cpu in the manifest are ignored on a cluster: the task runs on the GPU the scheduler allocated.', time: Date.now() });
  let reported = false;
  const result: EntryResult = {
    index: entry.index,
    name: entry.name,
    model: entry.request.model,
    precision: entry.request.precision,
    device: ctx.where,
    status: 'failed',
    seconds: null,
    artifacts: [],
    int8Verdict: null,
    error: null,
  };
  let code = 0;
  try {
    const report = await runExport({ ...entry.request, gpu: ctx.gpu }, (e: JobEvent) => {
      if (e.type === 'error') reported = true;
      renderer.handle(e);
    }, io.signal);
    Object.assign(result, { status: 'done', seconds: report.seconds, artifacts: report.artifacts, int8Verdict: findVerdict(report) });
  } catch (e) {
    const err = isStudioError(e) ? e : new StudioError('E_INTERNAL', `Unexpected failure: ${(e as Error)?.message ?? String(e)}`, 'Report this with the task log.');
    if (!reported) io.stderr(formatError(err.toData()) + '\n');
    result.status = err.code === 'E_CANCELLED' ? 'cancelled' : 'failed';
    result.error = { code: err.code, message: err.message, hint: err.hint };
    result.seconds = (Date.now() - started) / 1000;
    code = err.exitCode;
  }
  const file = resultFile(resultsDir, entry.index, entry.name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(result, null, 2) + '\n');
  fs.renameSync(tmp, file);
  io.stderr(`result: ${result.status} → ${file}\n`);
  return code;
}
