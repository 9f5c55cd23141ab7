import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { childGpuEnv } from './runtime/device.js';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { StudioError } from '../../shared/errors.js';
import { must, type JobState, type Step } from './job.js';
import { cancelledError } from './cancel.js';
import { trtexecArgsFor } from './deploy/index.js';
import { shellQuote } from '../../shared/redact.js';
import { ownerGone } from './io/outputs.js';

/** Prefix of the private temp folder (decrypted ONNX, cache copy, trtexec's pgid): `<prefix><pid>-XXXXXX`. */
export const ENGINE_TEMP_PREFIX = 'export-studio-trt-';
/** After SIGTERM to trtexec's process group, SIGKILL follows after this long. */
export const TRTEXEC_KILL_GRACE_MS = 2000;

/** Process groups of the trtexec runs of this process, with their temp folders (killed and removed on exit). */
const running = new Map<number, string>();

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

/** Synchronous last resort when this process is being terminated: kill every trtexec group, remove its temps. */
function killAllNow(): void {
  for (const [pgid, dir] of running) {
    killGroup(pgid, 'SIGKILL');
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort while exiting
    }
  }
  running.clear();
}

let exitHooks = false;
function installExitHooks(): void {
  if (exitHooks) return;
  exitHooks = true;
  process.on('exit', killAllNow);
  for (const sig of ['SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      killAllNow();
      // Where nobody else handles the signal (a worker process), die of it as before.
      if (process.listenerCount(sig) === 1) {
        process.removeListener(sig, onSignal);
        process.kill(process.pid, sig);
      }
    };
    process.on(sig, onSignal);
  }
}

/**
 * Remove the engine temp folders of dead processes (a worker SIGKILLed while trtexec ran) and
 * kill the trtexec process group recorded in each. Called before an engine build and by the
 * JobManager after a killed job.
 */
export async function sweepEngineTemps(dir: string = os.tmpdir(), deadOwner?: number): Promise<string[]> {
  const removed: string[] = [];
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    const m = new RegExp(`^${ENGINE_TEMP_PREFIX}(\\d+)-`).exec(name);
    // `deadOwner`: a pid the caller saw exit (the JobManager's worker): swept without asking the
    // process table, which a reused pid or a slow reap could otherwise answer wrongly.
    if (!m || (Number(m[1]) !== deadOwner && !ownerGone(m[1] as string))) continue;
    const full = path.join(dir, name);
    const pgid = Number((await fs.readFile(path.join(full, 'trtexec.pgid'), 'utf8').catch(() => '')).trim());
    if (Number.isInteger(pgid) && pgid > 0) killGroup(pgid, 'SIGKILL');
    await fs.rm(full, { recursive: true, force: true });
    removed.push(full);
  }
  return removed;
}

/** Where trtexec usually lives besides PATH (TensorRT tarball / Debian package / NGC containers). */
const TRTEXEC_FALLBACKS = ['/usr/src/tensorrt/bin/trtexec', '/opt/tensorrt/bin/trtexec'];

export async function findTrtexec(env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
  const dirs = (env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const candidate of [...dirs.map((d) => path.join(d, 'trtexec')), ...TRTEXEC_FALLBACKS]) {
    try {
      await fs.access(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  return null;
}

/** The trtexec command that builds the engine from the files this job writes (for the report and the log). */
export function trtexecCommandFor(s: JobState): string | undefined {
  const d = s.deployment;
  const plan = s.plan;
  if (!d || !plan) return undefined;
  const onnx = d.explicitQdq ? plan.qdq : plan.onnx;
  const args = trtexecArgsFor(d, {
    onnx: onnx ?? '<plain ONNX: add --onnx_file>',
    engine: plan.engine ?? `${(onnx ?? 'model.onnx').replace(/\.onnx$/i, '')}.engine`,
    cache: d.cache ? plan.cache : undefined,
    workspaceBytes: s.request.maxWorkspaceSize,
  });
  return ['trtexec', ...args].map((a) => shellQuote(a)).join(' ');
}

export const engineStep: Step = {
  stage: 'engine',
  when: (s) => Boolean(s.request.outputs.engine),
  async run(s: JobState) {
    const trtexec = await findTrtexec();
    if (!trtexec) {
      throw new StudioError(
        'E_TRTEXEC_NOT_FOUND',
        '--engine_file needs TensorRT\'s trtexec, which is not on PATH',
        'Install TensorRT (trtexec ships in its bin/ folder) and add it to PATH, or drop --engine_file and build the engine on the target with trtexec/DeepStream from the written ONNX and cache.',
      );
    }
    const plan = must(s.plan, 'plan');
    const model = must(s.model, 'model');
    const engine = await s.outputs.stage(must(plan.engine, 'engine path'));
    s.roles.set(engine.finalPath, 'engine');
    // trtexec reads ONNX from disk: a private temp copy (the .etlt is encrypted), in a folder named
    // with our pid so that it is swept if this process is killed.
    await sweepEngineTemps();
    const tmpDir = await fs.mkdtemp(path.join(os.tmpdir(), `${ENGINE_TEMP_PREFIX}${process.pid}-`));
    try {
      const explicitQdq = Boolean(s.calibrated?.qdqBytes);
      const onnxPath = path.join(tmpDir, 'model.onnx');
      await fs.writeFile(onnxPath, explicitQdq ? (s.calibrated?.qdqBytes as Uint8Array) : model.onnx, { mode: 0o600 });
      let cachePath: string | undefined;
      if (s.calibrated?.cacheText) {
        cachePath = path.join(tmpDir, 'cal.bin');
        await fs.writeFile(cachePath, s.calibrated.cacheText);
      }
      const d = must(s.deployment, 'deployment');
      if (d.explicitQdq !== explicitQdq) throw new StudioError('E_INTERNAL', 'the Q/DQ model the deployment settings expect was not built', 'This is a bug in Export Studio; please report it.');
      const args = trtexecArgsFor(d, { onnx: onnxPath, engine: engine.tempPath, cache: cachePath, workspaceBytes: s.request.maxWorkspaceSize });
      s.ctx.info(`running ${trtexec} ${args.join(' ')}`);
      await runLogged(trtexec, args, s, tmpDir);
      const st = await fs.stat(engine.tempPath).catch(() => null);
      if (!st || st.size === 0) throw new StudioError('E_TRTEXEC_FAILED', 'trtexec finished without writing the engine', 'See the trtexec lines in the log (-v or --log_file).');
      return `${path.basename(engine.finalPath)} (${st.size} bytes)`;
    } finally {
      await fs.rm(tmpDir, { recursive: true, force: true });
    }
  },
};

/**
 * Run trtexec in its own process group (so everything it starts goes with it), recorded in the
 * temp folder. Cancel: SIGTERM to the group, SIGKILL after TRTEXEC_KILL_GRACE_MS; the promise
 * settles only once the process is gone, so the caller's cleanup removes the temps after it.
 */
function runLogged(cmd: string, args: string[], s: JobState, tmpDir: string): Promise<void> {
  installExitHooks();
  return new Promise((resolve, reject) => {
    const gpuEnv = s.request.gpu === 'cpu' ? {} : childGpuEnv(s.request.gpu);
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...gpuEnv }, detached: true });
    const pgid = child.pid;
    if (pgid !== undefined) {
      running.set(pgid, tmpDir);
      writeFileSync(path.join(tmpDir, 'trtexec.pgid'), String(pgid));
    }
    let killTimer: NodeJS.Timeout | undefined;
    const tail: string[] = [];
    const onLine = (buf: Buffer) => {
      for (const line of buf.toString('utf8').split(/\r?\n/)) {
        if (!line.trim()) continue;
        s.ctx.debug(`trtexec: ${line}`);
        tail.push(line);
        if (tail.length > 20) tail.shift();
      }
    };
    child.stdout.on('data', onLine);
    child.stderr.on('data', onLine);
    const started = Date.now();
    const beat = setInterval(() => s.ctx.progress('engine', Math.round((Date.now() - started) / 1000), 0, 's elapsed'), 1000);
    const onAbort = () => {
      if (pgid === undefined) return;
      killGroup(pgid, 'SIGTERM');
      killTimer = setTimeout(() => killGroup(pgid, 'SIGKILL'), TRTEXEC_KILL_GRACE_MS);
    };
    s.ctx.signal.addEventListener('abort', onAbort);
    child.on('error', (e) => {
      clearInterval(beat);
      reject(new StudioError('E_TRTEXEC_FAILED', `Could not start trtexec: ${e.message}`, 'Check the TensorRT installation.', {}, { cause: e }));
    });
    child.on('close', (code, signal) => {
      clearInterval(beat);
      if (killTimer) clearTimeout(killTimer);
      if (pgid !== undefined) {
        // Anything trtexec left running in its group goes too.
        killGroup(pgid, 'SIGKILL');
        running.delete(pgid);
      }
      s.ctx.signal.removeEventListener('abort', onAbort);
      if (s.ctx.signal.aborted) return reject(cancelledError('Building the TensorRT engine'));
      if (code === 0) return resolve();
      reject(
        new StudioError('E_TRTEXEC_FAILED', `trtexec failed (${signal ?? `exit ${code}`}): ${tail.filter((l) => /error|fail/i.test(l)).slice(-1)[0] ?? tail.slice(-1)[0] ?? ''}`, 'The last trtexec lines are in the log; a missing TensorRT plugin (e.g. MultilevelProposeROI_TRT) needs the TensorRT OSS plugins.'),
      );
    });
  });
}

