import type { HostMessage, WorkerPort } from './protocol.js';
import { serve } from './serve.js';

/**
 * Worker entry for Node's child_process.fork (web mode, tests). The parent must fork it with
 * `serialization: 'advanced'` so Uint8Arrays (thumbnails) cross as bytes, not JSON arrays.
 */
const send = process.send?.bind(process);
if (!send) {
  process.stderr.write('export-studio worker: start me with child_process.fork (no IPC channel)\n');
  process.exit(2);
}
const port: WorkerPort = {
  post: (msg) => {
    if (process.connected) send(msg);
  },
  onMessage: (handler) => process.on('message', (m) => handler(m as HostMessage)),
};
serve(port, { onShutdown: () => process.exit(0), trapTermDuringCommit: process, keepCommitJournals: true });
// The host went away: nothing will read our events, and outputs stay uncommitted.
process.on('disconnect', () => process.exit(0));
