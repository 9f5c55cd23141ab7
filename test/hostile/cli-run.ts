/** Running the CLI in-process for the hostile-input suites: all output captured, optional cwd. */
import fs from 'node:fs/promises';
import { runCli, type CliIO } from '../../electron/cli/program.js';

/**
 * Run `export-studio <args>` with only PATH (plus `env`) in its environment; with `cwd`, in that
 * folder (a relative default such as ./cal.bin lands there, so a suite can check it stays empty).
 */
export async function cli(args: string[], env: Record<string, string> = {}, cwd?: string): Promise<{ code: number; all: string }> {
  let all = '';
  const io: CliIO = { stdout: (s) => void (all += s), stderr: (s) => void (all += s), isTTY: false, env: { PATH: process.env.PATH, ...env }, signal: new AbortController().signal };
  const prev = process.cwd();
  if (cwd) process.chdir(cwd);
  try {
    return { code: await runCli(args, io), all };
  } finally {
    if (cwd) process.chdir(prev);
  }
}

/** Every path under `dir`, sorted (recursive). */
export async function listing(dir: string): Promise<string[]> {
  return ((await fs.readdir(dir, { recursive: true })) as string[]).sort();
}
