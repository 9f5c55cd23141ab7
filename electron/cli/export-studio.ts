#!/usr/bin/env node
// Entry of the `export-studio` command: wires process I/O and signals to runCli.
import { runCli } from './program.js';

const controller = new AbortController();
let interrupts = 0;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    interrupts++;
    if (interrupts > 1) process.exit(130); // second Ctrl-C: leave now (temp files are swept next run)
    // Promise nothing here: a cancel that lands once the outputs are being committed cannot undo
    // them, and the run then says so (and which files are on disk).
    process.stderr.write(`\n${sig}: cancelling… (again to force)\n`);
    controller.abort();
  });
}

const code = await runCli(process.argv.slice(2), {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  isTTY: Boolean(process.stderr.isTTY),
  ...(process.stderr.columns ? { columns: process.stderr.columns } : {}),
  env: process.env,
  signal: controller.signal,
});
process.exitCode = code;
