import { spawn } from 'node:child_process';
import { childGpuEnv } from './runtime/device.js';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { StudioError } from '../../shared/errors.js';
import { must, type JobState, type Step } from './job.js';
import { cancelledError } from './cancel.js';
import { trtexecArgsFor } from './deploy/index.js';
import { shellQuote } from '../../shared/redact.js';

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
    // trtexec reads ONNX from disk: a private temp copy (the .etlt is encrypted).
    const tmpDir = await fs.mkdtemp(path.join(os.tmpdir(), 'export-studio-trt-'));
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
      await runLogged(trtexec, args, s);
      const st = await fs.stat(engine.tempPath).catch(() => null);
      if (!st || st.size === 0) throw new StudioError('E_TRTEXEC_FAILED', 'trtexec finished without writing the engine', 'See the trtexec lines in the log (-v or --log_file).');
      return `${path.basename(engine.finalPath)} (${st.size} bytes)`;
    } finally {
      await fs.rm(tmpDir, { recursive: true, force: true });
    }
  },
};

function runLogged(cmd: string, args: string[], s: JobState): Promise<void> {
  return new Promise((resolve, reject) => {
    const gpuEnv = s.request.gpu === 'cpu' ? {} : childGpuEnv(s.request.gpu);
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...gpuEnv } });
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
    const onAbort = () => child.kill('SIGTERM');
    s.ctx.signal.addEventListener('abort', onAbort);
    child.on('error', (e) => {
      clearInterval(beat);
      reject(new StudioError('E_TRTEXEC_FAILED', `Could not start trtexec: ${e.message}`, 'Check the TensorRT installation.', {}, { cause: e }));
    });
    child.on('close', (code, signal) => {
      clearInterval(beat);
      s.ctx.signal.removeEventListener('abort', onAbort);
      if (s.ctx.signal.aborted) return reject(cancelledError('Building the TensorRT engine'));
      if (code === 0) return resolve();
      reject(
        new StudioError('E_TRTEXEC_FAILED', `trtexec failed (${signal ?? `exit ${code}`}): ${tail.filter((l) => /error|fail/i.test(l)).slice(-1)[0] ?? tail.slice(-1)[0] ?? ''}`, 'The last trtexec lines are in the log; a missing TensorRT plugin (e.g. MultilevelProposeROI_TRT) needs the TensorRT OSS plugins.'),
      );
    });
  });
}
