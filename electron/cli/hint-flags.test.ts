// Every `--flag` the product's messages and hints name is a flag the CLI accepts (issue 12: a hint
// said "Pass --overwrite (or -f)" while the CLI rejects -f). Flags of other tools (trtexec,
// nvidia-smi, esbuild) are listed explicitly, so a new one is a decision, not an accident.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { FLAG_CONTROLS } from '../../shared/app-controls.js';
import { buildProgram } from './program.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SOURCES = ['electron/pipeline', 'electron/cli', 'electron/host', 'electron/worker', 'electron/web', 'shared'];
const OTHER_TOOLS = new Set([
  // trtexec / polygraphy
  '--layerPrecisions', '--precisionConstraints', '--saveEngine', '--memPoolSize', '--onnx', '--int8', '--fp16', '--calib', '--stronglyTyped', '--fold-constants',
  // nvidia-smi, esbuild, electron, node
  '--query-gpu', '--format', '--bundle', '--platform', '--packages', '--outfile', '--no-renderer', '--input-type', '--help', '--version',
  // sbatch / kubectl (batch scripts the CLI writes)
  '--array', '--chdir', '--cpus-per-task', '--export', '--from-literal', '--gres', '--job-name', '--ntasks', '--output', '--parsable', '--qos',
]);

function files(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true, recursive: true }).filter((d) => d.isFile() && d.name.endsWith('.ts') && !d.name.endsWith('.test.ts')).map((d) => path.join(d.parentPath, d.name));
}

function cliFlags(): Set<string> {
  const program = buildProgram({ stdout: () => undefined, stderr: () => undefined, isTTY: false, env: {}, signal: new AbortController().signal }, () => undefined);
  const out = new Set<string>();
  const walk = (c: Command) => {
    for (const o of c.options) {
      if (o.long) out.add(o.long);
      if (o.short) out.add(o.short);
    }
    c.commands.forEach(walk);
  };
  walk(program);
  return out;
}

describe('flags named in messages and hints', () => {
  it('are all flags the CLI accepts (or listed tools’ flags)', () => {
    const known = cliFlags();
    expect(known.has('--overwrite')).toBe(true);
    const unknown: string[] = [];
    for (const f of SOURCES.flatMap(files)) {
      const text = fs.readFileSync(f, 'utf8');
      // Inside string literals and template text only: after a quote, backtick, space or paren.
      for (const m of text.matchAll(/['"`( ](--[a-zA-Z][a-zA-Z0-9_-]*)(?![\w.-])/g)) {
        const flag = m[1]!;
        if (!known.has(flag) && !OTHER_TOOLS.has(flag)) unknown.push(`${path.relative(ROOT, f)}: ${flag}`);
      }
    }
    expect(unknown).toEqual([]);
  });

  it('never offer -f, which the CLI rejects', () => {
    expect(cliFlags().has('-f')).toBe(false);
    for (const f of SOURCES.flatMap(files)) expect(fs.readFileSync(f, 'utf8'), f).not.toMatch(/\(or -f\)|or -f\b/);
  });

  it('each have a control in the app wizard, so the app can name it instead (shared/app-controls.ts)', () => {
    const named = new Set<string>();
    // The export's hints (the batch commands are CLI-only: their flags have no wizard control).
    for (const f of ['electron/pipeline', 'electron/cli'].flatMap(files).filter((f) => !f.includes(`${path.sep}batch${path.sep}`))) {
      const text = fs.readFileSync(f, 'utf8');
      // Hints: the third argument of new StudioError(code, message, hint, …) when it is a literal.
      for (const m of text.matchAll(/new StudioError\(\s*'[A-Z_]+',\s*(?:`[^`]*`|'[^']*'),\s*(`[^`]*`|'[^']*')/g)) {
        for (const fl of m[1]!.matchAll(/(?:^|[\s(`'])(--[a-z][a-z_-]*|-[a-z])(?![\w-])/g)) named.add(fl[1]!);
      }
    }
    expect(named.size).toBeGreaterThan(5);
    expect([...named].filter((fl) => !(fl in FLAG_CONTROLS) && fl !== '--help' && fl !== '--root')).toEqual([]);
  });
});
