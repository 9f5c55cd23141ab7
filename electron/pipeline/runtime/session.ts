import ort from 'onnxruntime-node';
import { cudaOrdinal } from './device.js';
import { StudioError } from '../../../shared/errors.js';

/** Where to run: the CPU, a CUDA GPU by index, or (opt-in) the bundled WebGPU provider. */
export type ProviderChoice = 'cpu' | 'webgpu' | { gpu: number };

export type GraphOptimization = 'disabled' | 'basic' | 'extended' | 'all';

export type LogFn = (level: 'debug' | 'info' | 'warn', text: string) => void;

export interface CreateSessionOptions {
  provider: ProviderChoice;
  /** ONNX Runtime graph optimizations; default 'all'. */
  optimization?: GraphOptimization;
  log?: LogFn;
  /** Intra-op threads (default: ONNX Runtime's choice, one per core). */
  threads?: number;
  /** Write an ONNX Runtime profile with this file prefix (for benchmarks). */
  profilePrefix?: string;
}

export interface StudioSession {
  session: ort.InferenceSession;
  /** The provider that actually runs the model: 'cpu', 'cuda:0', 'webgpu'. */
  provider: string;
  /** Set when the requested provider was unavailable and the CPU is used instead. */
  notice?: string;
  /** Frees the native session (idempotent). */
  release(): Promise<void>;
}

// ORT prints "Failed to load library …" (a missing CUDA provider) through its process-wide logger,
// which our fallback notice already explains; errors still reach us as exceptions. That level is
// read when the process's first session is created, so set it when this module loads.
if (ort.env.logLevel === undefined || ort.env.logLevel === 'warning') ort.env.logLevel = 'fatal';

export function describeProvider(p: ProviderChoice): string {
  return typeof p === 'object' ? `cuda:${p.gpu}` : p;
}

function baseOptions(opts: CreateSessionOptions): ort.InferenceSession.SessionOptions {
  const o: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: opts.optimization ?? 'all',
    // Errors are reported by us with context; ORT's own console output would duplicate them.
    logSeverityLevel: 3,
  };
  if (opts.threads !== undefined) o.intraOpNumThreads = opts.threads;
  if (opts.profilePrefix !== undefined) {
    o.enableProfiling = true;
    o.profileFilePrefix = opts.profilePrefix;
  }
  return o;
}

function wrap(session: ort.InferenceSession, provider: string, notice?: string): StudioSession {
  let released = false;
  const s: StudioSession = {
    session,
    provider,
    async release() {
      if (released) return;
      released = true;
      await session.release();
    },
  };
  if (notice !== undefined) s.notice = notice;
  return s;
}

/** Why a provider could not start, in one line for the notice. */
function shortReason(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  if (/Failed to load (shared )?library|cannot open shared object/i.test(msg)) return 'its ONNX Runtime provider library (CUDA 12 / cuDNN 9) is not installed';
  if (/No supported adapters|WebGPU adapter/i.test(msg)) return 'no WebGPU adapter is available';
  if (/no available backend/i.test(msg)) return 'this ONNX Runtime build has no such backend';
  const first = msg.split('\n')[0] ?? msg;
  return first.length > 200 ? `${first.slice(0, 200)}…` : first;
}

/**
 * One long-lived session per model (ORT's CPU arena never shrinks and repeated create/release
 * grows RSS, so callers keep it and call release() once). A GPU or WebGPU choice that cannot
 * start falls back to the CPU with a warning that is logged and returned as `notice`, so the UI
 * can show it; onnxruntime-node itself never falls back (a missing CUDA library throws).
 */
/** Providers that already failed in this process, with the notice shown then (shown once per process). */
const failedProviders = new Map<string, string>();

export async function createSession(model: Uint8Array, opts: CreateSessionOptions): Promise<StudioSession> {
  const log = opts.log ?? (() => undefined);
  const base = baseOptions(opts);
  const wanted = opts.provider;
  let notice: string | undefined;
  const known = wanted === 'cpu' ? undefined : failedProviders.get(describeProvider(wanted));
  if (known !== undefined) {
    // Same process, same provider: it failed before and will again; say so once, not per session.
    notice = known;
    log('debug', `${describeProvider(wanted)} failed earlier in this process: using the CPU`);
  } else if (wanted !== 'cpu') {
    const ep: ort.InferenceSession.ExecutionProviderConfig =
      wanted === 'webgpu' ? { name: 'webgpu' } : { name: 'cuda', deviceId: cudaOrdinal(wanted.gpu) };
    try {
      const session = await ort.InferenceSession.create(model, { ...base, executionProviders: [ep], logSeverityLevel: 4 });
      log('info', `ONNX Runtime session on ${describeProvider(wanted)}`);
      return wrap(session, describeProvider(wanted));
    } catch (e) {
      notice = `Running on the CPU: ${describeProvider(wanted)} could not start because ${shortReason(e)}. Calibration results are the same, only slower.`;
      failedProviders.set(describeProvider(wanted), notice);
      log('warn', notice);
      log('debug', `provider error: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  try {
    const session = await ort.InferenceSession.create(model, { ...base, executionProviders: ['cpu'] });
    if (notice === undefined) log('info', 'ONNX Runtime session on the CPU');
    return wrap(session, 'cpu', notice);
  } catch (e) {
    throw runtimeError(e);
  }
}

/** Map an ONNX Runtime load/run failure to a StudioError with a hint. */
export function runtimeError(e: unknown, what = 'ONNX Runtime could not load the model'): StudioError {
  if (e instanceof StudioError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  const unsupported = /Could not find an implementation|not a registered function|No Op registered|Unrecognized attribute|opset/i.test(msg);
  return new StudioError(
    unsupported ? 'E_RUNTIME_UNSUPPORTED_OPS' : 'E_RUNTIME',
    `${what}: ${msg.split('\n')[0]}`,
    unsupported
      ? 'The model uses operators or an opset this ONNX Runtime cannot run. Export with standard ONNX ops, or calibrate only the runnable part.'
      : 'Check that the model is valid ONNX (e.g. onnx.checker) and that inputs match its declared shapes.',
    {},
    { cause: e },
  );
}
