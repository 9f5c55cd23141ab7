import fs from 'node:fs';
import path from 'node:path';
import { formatError, isStudioError } from '../../../shared/errors.js';
import type { JobEventBatch } from '../../../shared/api.js';
import { listGpus } from '../../host/gpus.js';
import { JobManager, type JobOutcome } from '../../host/job-manager.js';
import { forkWorkerFactory, type WorkerFactory } from '../../host/worker-process.js';
import type { CliIO } from '../program.js';
import type { Manifest } from './manifest.js';
import { countStatuses, findVerdict, summaryTable, writeSummaryJson, type BatchSummary, type EntryResult } from './summary.js';

export interface BatchRunOptions {
  /** GPUs to spread entries over (nvidia-smi indices); default every GPU nvidia-smi lists. */
  gpus?: number[];
  /** Run every entry that did not choose a device on the CPU. */
  cpu?: boolean;
  /** CPU entries at once (default 1). */
  cpuJobs?: number;
  /** Folder for batch-summary.json and one log per entry. */
  resultsDir: string;
  /** Worker factory (tests). */
  spawn?: WorkerFactory;
}

/**
 * `batch run`: every entry through the same JobManager queue as the app — one job per GPU,
 * CPU jobs limited — a line per state change, one log file per entry, then the summary (table on
 * stdout, JSON in the results folder). Ctrl+C cancels what runs (partial outputs removed) and
 * still writes the summary. Exit code 0 only when every entry succeeded.
 */
export async function runBatch(manifest: Manifest, opts: BatchRunOptions, io: CliIO): Promise<number> {
  let pool: number[] | null = null;
  if (!opts.cpu) {
    if (opts.gpus && opts.gpus.length > 0) pool = opts.gpus;
    else {
      const inv = await listGpus({ env: io.env });
      if (inv.gpus.length > 0) pool = inv.gpus.map((g) => g.index);
      else io.stderr(`No GPU: ${inv.reason ?? 'none found.'} Running on the CPU, ${opts.cpuJobs ?? 1} at a time.\n`);
    }
  }
  const resultsDir = path.resolve(opts.resultsDir);
  fs.mkdirSync(resultsDir, { recursive: true });
  const jobs = new JobManager({ spawn: opts.spawn ?? forkWorkerFactory(), cpuSlots: opts.cpuJobs ?? 1 });
  const total = manifest.entries.length;
  const ids = new Map<string, number>();
  const logs = new Map<number, fs.WriteStream>();
  const startedAt = new Date();
  const lastState = new Map<string, string>();
  /** One line per state change of an entry (queued, started on GPU n, done, failed …). */
  const say = (jobId: string, i: number, status: string, gpu: number | 'cpu' | null) => {
    if (lastState.get(jobId) === status || status === 'running') return;
    lastState.set(jobId, status);
    const dev = gpu === 'cpu' ? 'CPU' : gpu === null ? 'next free GPU' : `GPU ${gpu}`;
    const what = status === 'queued' ? `queued (waits for ${dev})` : status === 'starting' ? `started on ${dev}` : status;
    io.stderr(`[${i + 1}/${total}] ${manifest.entries[i]?.name ?? i}: ${what}\n`);
  };
  const off = jobs.subscribe((b: JobEventBatch) => {
    const i = ids.get(b.jobId);
    if (i === undefined) return;
    const entry = manifest.entries[i];
    if (!entry) return;
    const log = logs.get(i);
    for (const e of b.events) {
      if (e.type === 'log') log?.write(`${new Date(e.time).toISOString()} ${e.level.toUpperCase().padEnd(5)} ${e.text}\n`);
      else if (e.type === 'error') log?.write(`${formatError(e.error)}\n`);
    }
    if (b.state) say(b.jobId, i, b.state.status, b.state.gpu);
  });
  const onAbort = () => void jobs.dispose();
  io.signal.addEventListener('abort', onAbort, { once: true });

  const outcomes: (JobOutcome | null)[] = manifest.entries.map(() => null);
  const waits: Promise<void>[] = [];
  for (const entry of manifest.entries) {
    if (io.signal.aborted) break;
    const logFile = path.join(resultsDir, `${entry.name}.log`);
    logs.set(entry.index, fs.createWriteStream(logFile));
    for (const n of entry.notices) logs.get(entry.index)?.write(`${n.level.toUpperCase()} ${n.text}\n`);
    let request = entry.request;
    if (!entry.deviceChosen) request = { ...request, gpu: pool ? (pool[0] ?? 0) : 'cpu' };
    try {
      const id = jobs.start(request, !entry.deviceChosen && pool ? { gpuPool: pool } : {});
      ids.set(id, entry.index);
      // Its first state (queued or started) was announced inside start(), before the id was known here.
      const info = jobs.info(id);
      if (info) say(id, entry.index, info.status, info.gpu);
      waits.push(jobs.wait(id).then((o) => void (outcomes[entry.index] = o)));
    } catch (e) {
      // Validation already refused shared outputs between entries; this is another process's job.
      const error = isStudioError(e) ? e.toData() : { code: 'E_INTERNAL' as const, message: String(e), hint: 'Report this.' };
      outcomes[entry.index] = { ok: false, error };
      io.stderr(`[${entry.index + 1}/${total}] ${entry.name}: ${error.code}: ${error.message}\n`);
    }
  }
  await Promise.all(waits);
  off();
  io.signal.removeEventListener('abort', onAbort);
  await Promise.all([...logs.values()].map((s) => new Promise<void>((r) => s.end(() => r()))));

  const snaps = new Map(jobs.list().map((s) => [s.jobId, s]));
  const byIndex = new Map([...ids].map(([id, i]) => [i, id]));
  const entries: EntryResult[] = manifest.entries.map((entry) => {
    const o = outcomes[entry.index] ?? null;
    const jobId = byIndex.get(entry.index);
    const snap = jobId ? snaps.get(jobId) : undefined;
    const report = o?.ok ? o.report : null;
    const status: EntryResult['status'] = o === null ? 'cancelled' : o.ok ? 'done' : o.error.code === 'E_CANCELLED' ? 'cancelled' : snap?.status === 'crashed' ? 'crashed' : 'failed';
    return {
      index: entry.index,
      name: entry.name,
      model: entry.request.model,
      precision: entry.request.precision,
      device: snap?.gpu === undefined || snap.gpu === null ? '—' : snap.gpu === 'cpu' ? 'cpu' : `gpu ${snap.gpu}`,
      status,
      seconds: report ? report.seconds : snap?.startedAt && snap.endedAt ? (snap.endedAt - snap.startedAt) / 1000 : null,
      artifacts: report?.artifacts ?? [],
      int8Verdict: report ? findVerdict(report) : null,
      error: o && !o.ok ? { code: o.error.code, message: o.error.message, hint: o.error.hint } : o === null ? { code: 'E_CANCELLED', message: 'Not started: the batch was interrupted', hint: 'Run the batch again.' } : null,
      log: path.join(resultsDir, `${entry.name}.log`),
    };
  });
  const summary: BatchSummary = {
    manifest: manifest.file,
    name: manifest.name,
    runner: `local (${pool ? `GPUs ${pool.join(', ')}` : `CPU ×${opts.cpuJobs ?? 1}`})`,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    counts: countStatuses(entries),
    entries,
  };
  const jsonFile = path.join(resultsDir, 'batch-summary.json');
  writeSummaryJson(jsonFile, summary);
  io.stdout(summaryTable(summary));
  io.stdout(`Summary: ${jsonFile}\n`);
  await jobs.dispose();
  if (entries.every((e) => e.status === 'done')) return 0;
  if (io.signal.aborted || entries.some((e) => e.status === 'cancelled')) return 130;
  return 1;
}
