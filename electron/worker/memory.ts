import type { HostMessage, HostPort, WorkerMessage, WorkerPort } from './protocol.js';
import { serve, type ServeOptions, type WorkerServer } from './serve.js';

/**
 * An in-memory port pair for tests: messages are delivered asynchronously (like real IPC) and
 * structured-cloned, so a test catches a message that would not survive a process boundary.
 */
export function memoryPair(): { host: HostPort; worker: WorkerPort } {
  const toWorker: ((m: HostMessage) => void)[] = [];
  const toHost: ((m: WorkerMessage) => void)[] = [];
  const deliver = <T>(handlers: ((m: T) => void)[], msg: T) => {
    const copy = structuredClone(msg);
    setImmediate(() => {
      for (const h of handlers) h(copy);
    });
  };
  return {
    host: { post: (m) => deliver(toWorker, m), onMessage: (h) => void toHost.push(h) },
    worker: { post: (m) => deliver(toHost, m), onMessage: (h) => void toWorker.push(h) },
  };
}

/** A worker served in this process over an in-memory pair; returns the host's end. */
export function serveInMemory(options: ServeOptions = {}): { port: HostPort; server: WorkerServer } {
  const { host, worker } = memoryPair();
  const server = serve(worker, options);
  return { port: host, server };
}
