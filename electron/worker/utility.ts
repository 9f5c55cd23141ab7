import type { ParentPort } from 'electron';
import type { HostMessage, WorkerPort } from './protocol.js';
import { serve } from './serve.js';

/**
 * Worker entry for Electron's utilityProcess.fork: messages arrive on process.parentPort as
 * `{data}` and are structured-cloned both ways. (Type-only Electron import: this file runs in a
 * utility process, where the 'electron' npm package must not be loaded.)
 */
const parentPort = (process as unknown as { parentPort?: ParentPort | null }).parentPort;
if (!parentPort) {
  process.stderr.write('export-studio worker: start me with utilityProcess.fork (no parentPort)\n');
  process.exit(2);
}
const port: WorkerPort = {
  post: (msg) => parentPort.postMessage(msg),
  onMessage: (handler) => parentPort.on('message', (e) => handler(e.data as HostMessage)),
};
serve(port, { onShutdown: () => process.exit(0), trapTermDuringCommit: process, keepCommitJournals: true });
