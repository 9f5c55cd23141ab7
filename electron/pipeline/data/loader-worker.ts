/**
 * Worker-thread entry: preprocesses images for the pool in loader.ts and transfers the float
 * tensors back. Requests queue here, in the worker, and run one at a time, so the worker keeps
 * going while the main thread is blocked (e.g. in a synchronous inference call).
 * Bundled to `loader-worker.js` beside the bundle that imports loader.ts (see
 * docs/FORMATS.md); under vitest loader.ts bundles it on the fly.
 */
import { parentPort } from 'node:worker_threads';
import { isStudioError } from '../../../shared/errors.js';
import type { WorkerReply, WorkerRequest } from './loader-protocol.js';
import { preprocessInThread } from './preprocess.js';

const port = parentPort;
if (!port) throw new Error('loader-worker must run in a worker thread');

const queue: WorkerRequest[] = [];
let running = false;

async function drain(p: NonNullable<typeof parentPort>): Promise<void> {
  running = true;
  for (let msg = queue.shift(); msg; msg = queue.shift()) {
    try {
      const data = await preprocessInThread(msg.input, msg.pp, msg.id);
      const reply: WorkerReply = { seq: msg.seq, ok: true, data };
      p.postMessage(reply, [data.buffer as ArrayBuffer]);
    } catch (e) {
      const error = isStudioError(e)
        ? e.toData()
        : { code: 'E_INTERNAL' as const, message: `Preprocessing ${msg.id} failed: ${(e as Error)?.message ?? String(e)}`, hint: 'This is a bug; please report it with the image.', file: msg.id };
      const reply: WorkerReply = { seq: msg.seq, ok: false, error };
      p.postMessage(reply);
    }
  }
  running = false;
}

port.on('message', (msg: WorkerRequest) => {
  queue.push(msg);
  if (!running) void drain(port);
});
