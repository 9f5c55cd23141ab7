import fs from 'node:fs/promises';
import path from 'node:path';
import { parseExportRequest, type ExportRequest, type ExportRequestInput } from '../../shared/request.js';
import type { EventSink } from '../../shared/events.js';
import type { ArtifactInfo, ExportReport, ModelSummary } from '../../shared/report.js';
import { StudioError, asStudioError, isStudioError } from '../../shared/errors.js';
import { JobContext } from './context.js';
import { cancelledError } from './cancel.js';
import { OutputSet, sweepStale, type CommittedFile } from './io/outputs.js';
import { checkPathCollisions, planOutputs } from './paths.js';
import { LogFile } from './io/logfile.js';
import { TOOL } from './version.js';
import { requestToCommand } from './command.js';
import { steps, type JobState } from './steps.js';
import { trtexecCommandFor } from './engine-step.js';

/**
 * Run one export. The single entry point every front door uses (CLI in-process, the app's
 * utility process, web mode's child process). Validates the request, emits JobEvents to the
 * sink, honours the signal, writes every output atomically (all or nothing) and returns the
 * report. On failure it emits an `error` event and rejects with the StudioError.
 */
export async function runExport(input: ExportRequestInput | ExportRequest, sink: EventSink, signal: AbortSignal = new AbortController().signal): Promise<ExportReport> {
  const started = Date.now();
  const key = typeof (input as { key?: unknown }).key === 'string' ? (input as { key: string }).key : '';
  let logFile: LogFile | null = null;
  const teeSink: EventSink = (e) => {
    logFile?.write(e);
    sink(e);
  };
  const ctx = new JobContext(teeSink, signal, [key]);

  let request: ExportRequest;
  try {
    request = parseExportRequest(input);
  } catch (err) {
    ctx.emit({ type: 'error', error: asStudioError(err, 'validating the request').toData() });
    throw err;
  }
  // The log is an output like the others: same collision rules (after resolving links and `..`),
  // never an input, never another output, never a special file; checked before it is opened.
  try {
    await checkPathCollisions(request, planOutputs(request));
    if (request.outputs.logFile) {
      await sweepStale(path.dirname(path.resolve(request.outputs.logFile)));
      logFile = await LogFile.open(request.outputs.logFile, request.overwrite);
    }
  } catch (e) {
    const err = toStudioError(e, signal);
    ctx.emit({ type: 'error', error: err.toData() });
    throw err;
  }

  const outputs = new OutputSet({ overwrite: request.overwrite });
  const state: JobState = {
    request,
    ctx,
    outputs,
    command: requestToCommand(request),
    stageTimes: [],
    artifacts: [],
    roles: new Map(),
  };
  const onAbort = () => ctx.debug('cancel requested');
  signal.addEventListener('abort', onAbort);

  try {
    ctx.infoMasked(`${TOOL.name} ${TOOL.version}: ${state.command}`);
    for (const step of steps) {
      ctx.checkCancelled();
      const applies = step.when(state);
      if (applies !== true) {
        // Not applicable (false) is still announced, so every UI can settle the stage's row.
        ctx.stage(step.stage, 'skipped', applies === false ? undefined : applies);
        if (applies !== false) state.stageTimes.push({ stage: step.stage, status: 'skipped', seconds: 0, detail: applies });
        continue;
      }
      const t0 = Date.now();
      ctx.stage(step.stage, 'started');
      const out = await step.run(state);
      ctx.checkCancelled();
      const seconds = (Date.now() - t0) / 1000;
      const detail = typeof out === 'object' ? out.detail : out;
      const alert = typeof out === 'object' && out.alert;
      ctx.stage(step.stage, 'done', detail ?? undefined, alert);
      state.stageTimes.push({ stage: step.stage, status: 'done', seconds, ...(detail ? { detail } : {}), ...(alert ? { alert } : {}) });
    }

    ctx.checkCancelled();
    // The 'report' stage: the JSON report staged with the other outputs, then all committed at once.
    ctx.stage('report', 'started');
    const report = buildReport(state, started);
    if (request.outputs.report) await outputs.write(request.outputs.report, JSON.stringify(report, null, 2) + '\n').then(() => state.roles.set(path.resolve(request.outputs.report as string), 'report'));
    // Last moment a cancel can stop the job: from here the commit runs to its end (all or nothing).
    ctx.checkCancelled();
    const artifactsOf = (files: readonly CommittedFile[]): ArtifactInfo[] => files.map((c) => ({ role: state.roles.get(c.path) ?? 'etlt', path: c.path, bytes: c.bytes, sha256: c.sha256 }));
    const lateCancel = 'Cancel arrived while the outputs were being committed: the commit finished and every output listed below is on disk.';
    // The journal marked committed keeps the report as it stands then (a JobManager worker): if
    // this process dies before its result reaches the host, the host reports that, not a crash.
    const committed = await outputs.commit({
      record: (files): ExportReport => ({ ...report, artifacts: artifactsOf(files), warnings: [...report.warnings, ...(signal.aborted ? [lateCancel] : [])], finishedAt: new Date().toISOString(), seconds: (Date.now() - started) / 1000 }),
    });
    if (signal.aborted) {
      // Too late to undo: the job ends as done (the report says so), never as "cancelled, nothing written".
      ctx.warn(lateCancel);
      report.warnings.push(ctx.warnings.at(-1) as string);
    }
    for (const a of artifactsOf(committed)) {
      report.artifacts.push(a);
      ctx.emit({ type: 'artifact', ...a });
    }
    ctx.stage('report', 'done', `${committed.length} file(s) committed`);
    report.finishedAt = new Date().toISOString();
    report.seconds = (Date.now() - started) / 1000;
    // The outputs are committed: a status.json that cannot be written is a warning, not a failed export.
    const verdict = report.fidelity?.verdict;
    const below = verdict !== undefined && !verdict.meetsTarget;
    const statusLine: [Parameters<typeof writeStatus>[1], string] = below
      ? [verdict.allowed ? 'SUCCESS' : 'FAILURE', `${verdict.summary} (all files written${verdict.allowed ? '; --allow_below_target' : ''}). Next: ${verdict.nextStep ?? ''}`]
      : ['SUCCESS', verdict ? `Export finished successfully. ${verdict.summary}.` : 'Export finished successfully.'];
    await writeStatus(request, ...statusLine, verdict ? { verdict: verdict.meetsTarget ? 'meets target' : 'INT8 below target', checks: verdict.checks.map((c) => ({ term: c.term, value: c.value, target: c.target })) } : undefined).catch((e: unknown) => ctx.warn(`Could not write ${request.outputs.resultsDir}/status.json: ${e instanceof Error ? e.message : String(e)}`));
    ctx.emit({ type: 'result', report });
    return report;
  } catch (e) {
    await outputs.abort();
    let err = toStudioError(e, signal);
    if (outputs.committed) {
      // Never say "nothing was written" about files that are in place.
      err = new StudioError(err.code, `${err.message} (after the commit: ${outputs.finalPaths.join(', ')} are on disk)`, err.hint, err.location, err.details ? { details: err.details } : {});
    }
    ctx.emit({ type: 'error', error: err.toData() });
    // The log names an input found later (the spec's val_json_file): it must not be written there.
    if (err.details?.output === 'logFile') await logFile?.discard();
    await writeStatus(request, err.code === 'E_CANCELLED' ? 'INTERRUPTED' : 'FAILURE', ctx.clean(err.message)).catch(() => undefined);
    throw err;
  } finally {
    signal.removeEventListener('abort', onAbort);
    ctx.flushProgress();
    const logProblem = await logFile?.close();
    // The log is closed: say it on the sink only.
    if (logProblem) sink({ type: 'log', level: 'warn', text: ctx.clean(logProblem), time: Date.now() });
  }
}

function toStudioError(e: unknown, signal: AbortSignal): StudioError {
  if (isStudioError(e)) return e;
  if (signal.aborted) return cancelledError();
  return asStudioError(e, 'in the export', 'This is a bug in Export Studio: please report it with the log (--log_file). Nothing was written.');
}

function buildReport(state: JobState, started: number): ExportReport {
  const { request } = state;
  const model: ModelSummary | undefined = state.model?.summary;
  if (!model) throw new StudioError('E_INTERNAL', 'No model summary at report time', 'Please report this bug.');
  const report: ExportReport = {
    tool: { name: TOOL.name, version: TOOL.version },
    startedAt: new Date(started).toISOString(),
    finishedAt: '',
    seconds: 0,
    precision: request.precision,
    model,
    artifacts: [],
    warnings: [...state.ctx.warnings],
    stages: state.stageTimes,
    command: state.command,
  };
  if (state.spec) report.spec = { path: state.spec.path, imageSize: state.spec.imageSize, numClasses: state.spec.numClasses, warnings: state.spec.warnings };
  if (state.calibration) report.calibration = state.calibration;
  if (state.fidelity) report.fidelity = state.fidelity;
  const d = state.deployment;
  const trtexec = trtexecCommandFor(state);
  if (d && trtexec) {
    report.deployment = {
      trtVersion: d.trt.version,
      ...(d.cache ? { cacheHeader: d.cache.header, calibrationAlgorithm: d.cache.scalesFrom } : {}),
      floatTensors: d.floatTensors,
      floatLayers: d.floatLayers.map((l) => `${l.name}:${l.precision}`),
      trtexec,
    };
    if (!request.outputs.engine) state.ctx.info(`build the engine on the target with: ${trtexec}`);
  }
  report.outcome = state.fidelity?.verdict && !state.fidelity.verdict.meetsTarget ? 'int8-below-target' : 'success';
  return report;
}

/** TAO's --results_dir/status.json, for pipelines that poll it. */
async function writeStatus(request: ExportRequest, status: 'SUCCESS' | 'FAILURE' | 'INTERRUPTED', message: string, int8?: { verdict: 'meets target' | 'INT8 below target'; checks: { term: string; value: number | null; target: number }[] }): Promise<void> {
  const dir = request.outputs.resultsDir;
  if (!dir) return;
  await fs.mkdir(dir, { recursive: true });
  const now = new Date();
  const body = {
    date: `${now.getMonth() + 1}/${now.getDate()}/${now.getFullYear()}`,
    time: now.toTimeString().slice(0, 8),
    status,
    verbosity: request.verbose ? 'DEBUG' : 'INFO',
    message,
    kpi: {},
    ...(int8 ? { int8 } : {}),
  };
  const file = path.join(dir, 'status.json');
  const tmp = `${file}.${process.pid}.tmp`;
  const prev = await fs.readFile(file, 'utf8').catch(() => '');
  await fs.writeFile(tmp, prev + JSON.stringify(body) + '\n');
  await fs.rename(tmp, file);
}
