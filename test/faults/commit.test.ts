import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutputSet, sweepStale, lockNameFor, recoverCommitsOf, hashFile, type CommitPoint } from '../../electron/pipeline/io/outputs.js';
import { StudioError } from '../../shared/errors.js';
import type { JobEvent } from '../../shared/events.js';
import { runExport } from '../../electron/pipeline/run.js';
import { makeSample, type SampleLayout } from '../../scripts/make-sample.js';
import { int8Request, PRECIOUS } from './helpers.js';

/**
 * Issue 11, point 2: commit is all-or-nothing across every output of a job. A fault is injected
 * before each file is placed and after the last (every gap between two renames); a file appears
 * between the check and the link; the process is SIGKILLed mid-commit (the journal is rolled back
 * by the next sweep); and a cancel at every moment of a real export reports what is on disk.
 */

let root: string;
let bundle: string;
beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'faults-commit-'));
  bundle = path.join(root, 'outputs-bundle.mjs');
  await build({ entryPoints: [new URL('../../electron/pipeline/io/outputs.ts', import.meta.url).pathname], bundle: true, platform: 'node', format: 'esm', outfile: bundle, logLevel: 'silent' });
});
afterAll(async () => {
  if (root) await fs.rm(root, { recursive: true, force: true });
});

/** Every file (hidden ones too) with its content, for exact before/after comparisons. */
async function snapshot(dirs: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const d of dirs) for (const n of (await fs.readdir(d)).sort()) out[path.join(d, n)] = await fs.readFile(path.join(d, n), 'utf8');
  return out;
}

const NAMES = ['model.etlt', 'model.onnx', 'nvinfer_config.txt', 'labels.txt'];

/** Two folders; in each, some targets exist with old content and some do not. */
async function scene(name: string): Promise<{ dirs: string[]; targets: string[] }> {
  const a = path.join(root, name, 'a');
  const b = path.join(root, name, 'b');
  await fs.mkdir(a, { recursive: true });
  await fs.mkdir(b, { recursive: true });
  const targets = [...NAMES.map((n) => path.join(a, n)), path.join(b, 'cal.bin'), path.join(b, 'report.json')];
  for (const [i, t] of targets.entries()) if (i % 2 === 0) await fs.writeFile(t, `old ${path.basename(t)}\n`);
  return { dirs: [a, b], targets };
}

async function stageAll(set: OutputSet, targets: string[]): Promise<void> {
  for (const t of targets) await set.write(t, `new ${path.basename(t)}\n`);
}

describe('commit is all or nothing', () => {
  for (const overwrite of [true, false]) {
    it(`a fault between any two placements leaves the old state exactly (overwrite: ${overwrite})`, async () => {
      for (let k = 0; k <= 6; k++) {
        const { dirs, targets } = await scene(`fault-${overwrite}-${k}`);
        // Without --overwrite only the targets that do not exist can be written.
        const mine = overwrite ? targets : targets.filter((_, i) => i % 2 === 1);
        const before = await snapshot(dirs);
        const points: CommitPoint[] = [];
        const set = new OutputSet({
          overwrite,
          onCommitPoint: (p) => {
            points.push(p);
            if (p.placed === k) throw Object.assign(new Error(`injected EIO after ${k} placements`), { code: 'EIO' });
          },
        });
        await stageAll(set, mine);
        if (k > mine.length) {
          await set.commit();
          await set.abort();
          continue;
        }
        const err = await set.commit().then(() => null, (e: unknown) => e);
        expect(err, `fault after ${k}`).toBeInstanceOf(StudioError);
        expect((err as StudioError).code).toBe('E_OUTPUT_WRITE');
        expect(await snapshot(dirs), `fault after ${k} placement(s)`).toEqual(before);
        // The next run works: same targets, a clean commit.
        const again = new OutputSet({ overwrite });
        await stageAll(again, mine);
        const done = await again.commit();
        expect(done.map((d) => d.path)).toEqual(mine);
        for (const t of mine) expect(await fs.readFile(t, 'utf8')).toBe(`new ${path.basename(t)}\n`);
        const left = Object.keys(await snapshot(dirs)).filter((n) => n.includes('.export-studio-'));
        expect(left).toEqual([]);
      }
    });
  }

  it('a file created between the check and the placement is never clobbered (no --overwrite), and the set rolls back', async () => {
    for (let k = 0; k < 3; k++) {
      const { dirs, targets } = await scene(`intruder-${k}`);
      const mine = targets.filter((_, i) => i % 2 === 1);
      const set = new OutputSet({
        overwrite: false,
        onCommitPoint: async (p) => {
          if (p.placed === k && p.next) await fs.writeFile(p.next, 'someone else wrote this\n');
        },
      });
      await stageAll(set, mine);
      const before = await snapshot(dirs);
      const err = await set.commit().then(() => null, (e: unknown) => e);
      expect((err as StudioError).code).toBe('E_OUTPUT_EXISTS');
      const after = await snapshot(dirs);
      const intruder = mine[k] as string;
      expect(after[intruder]).toBe('someone else wrote this\n');
      delete after[intruder];
      // Everything else as before the commit, minus our temps and locks.
      const expected = Object.fromEntries(Object.entries(before).filter(([n]) => !n.includes('.export-studio-')));
      expect(after).toEqual(expected);
    }
  });

  it('a process SIGKILLed between placements leaves a journal that the next sweep rolls back', async () => {
    for (const killAfter of [1, 3, 5]) {
      const { dirs, targets } = await scene(`sigkill-${killAfter}`);
      const before = await snapshot(dirs);
      const script = `
        const { OutputSet } = await import(${JSON.stringify(bundle)});
        const s = new OutputSet({ overwrite: true });
        for (const t of ${JSON.stringify(targets)}) await s.write(t, 'new ' + t.split('/').pop() + '\\n');
        await s.commit();
      `;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore', env: { ...process.env, EXPORT_STUDIO_TEST_HOOKS: '1', EXPORT_STUDIO_TEST_COMMIT_KILL_AFTER: String(killAfter) } });
      const signal = await new Promise<NodeJS.Signals | null>((res) => child.on('exit', (_c, s) => res(s)));
      expect(signal).toBe('SIGKILL');
      const mid = await snapshot(dirs);
      expect(Object.keys(mid).some((n) => n.endsWith('.journal'))).toBe(true);
      // Some targets already hold the new content: the set is half-placed until the sweep.
      expect(Object.entries(mid).filter(([n, v]) => targets.includes(n) && v.startsWith('new')).length).toBe(killAfter);
      for (const d of dirs) await sweepStale(d);
      expect(await snapshot(dirs), `killed after ${killAfter}`).toEqual(before);
    }
  });

  it('a kept journal tells a host what a dead process committed: files and hashes (and its record), or a rollback', async () => {
    // keepCommittedJournals (a JobManager worker): killed at each moment after and during the commit.
    for (const [moment, record] of [['committed', true], ['released', true], ['released', false], ['3', true]] as const) {
      const { dirs, targets } = await scene(`kept-${moment}-${record}`);
      const before = await snapshot(dirs);
      const script = `
        const { OutputSet, keepCommittedJournals } = await import(${JSON.stringify(bundle)});
        keepCommittedJournals(true);
        const s = new OutputSet({ overwrite: true });
        for (const t of ${JSON.stringify(targets)}) await s.write(t, 'new ' + t.split('/').pop() + '\\n');
        await s.commit(${record ? "{ record: (files) => ({ what: 'the report', files: files.length }) }" : ''});
      `;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore', env: { ...process.env, EXPORT_STUDIO_TEST_HOOKS: '1', EXPORT_STUDIO_TEST_COMMIT_KILL_AFTER: moment } });
      const pid = child.pid as number;
      expect(await new Promise<NodeJS.Signals | null>((res) => child.on('exit', (_c, sig) => res(sig)))).toBe('SIGKILL');
      const found = (await Promise.all(dirs.map((d) => recoverCommitsOf(d, pid)))).flat();
      expect(found.length, moment).toBe(1);
      const r = found[0];
      if (!r) continue;
      if (moment === '3') {
        expect(r.state).toBe('committing');
        expect(r.problems).toEqual([]);
        // Rolled back: exactly the old state once the temps and locks of the dead pid are swept.
        for (const d of dirs) await sweepStale(d);
        expect(await snapshot(dirs)).toEqual(before);
        continue;
      }
      expect(r.state).toBe('committed');
      expect(r.record).toEqual(record ? { what: 'the report', files: targets.length } : undefined);
      expect(r.files.map((f) => f.path)).toEqual(targets);
      for (const f of r.files) {
        expect(f.onDisk).toBe(true);
        expect(await hashFile(f.path)).toEqual({ bytes: f.bytes, sha256: f.sha256 });
      }
      // The journal, backups and temps are gone; only the new files (and the dead pid's locks, for the sweep) remain.
      for (const d of dirs) await sweepStale(d);
      const after = await snapshot(dirs);
      expect(Object.keys(after).filter((n) => n.includes('.export-studio-'))).toEqual([]);
      for (const t of targets) expect(after[t]).toBe(`new ${path.basename(t)}\n`);
      // A second look finds nothing: the journal was settled once.
      expect((await Promise.all(dirs.map((d) => recoverCommitsOf(d, pid)))).flat()).toEqual([]);
    }
  });

  it('a lock without a pid (creator died before writing it) or with a reused pid is replaced; a live one names its file', async () => {
    const d = path.join(root, 'locks');
    await fs.mkdir(d);
    const target = path.join(d, 'model.etlt');
    const lock = lockNameFor(target);
    // Empty and old.
    await fs.writeFile(lock, '');
    await fs.utimes(lock, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    let s = new OutputSet({ overwrite: false });
    await s.write(target, 'a');
    await s.commit();
    // pid 1 is alive but started long before the recorded start time: a reused pid.
    await fs.writeFile(lock, '1 999999999999\n');
    s = new OutputSet({ overwrite: true });
    await s.write(target, 'b');
    await s.commit();
    expect(await fs.readFile(target, 'utf8')).toBe('b');
    // A live holder: refused, and the hint names the lock file to delete if no export runs.
    const holder = new OutputSet({ overwrite: true });
    await holder.reserve(target);
    const err = (await new OutputSet({ overwrite: true }).reserve(target).catch((e: unknown) => e)) as StudioError;
    expect(err.code).toBe('E_OUTPUT_LOCKED');
    expect(err.hint).toContain(lock);
    await holder.abort();
    expect(await fs.readdir(d)).toEqual(['model.etlt']);
  });
});

describe('cancel at every moment of a real export reports what is really on disk', () => {
  let S: SampleLayout;
  beforeAll(async () => {
    S = await makeSample({ dir: path.join(root, 'sample'), trainShards: 1, trainPerShard: 2, valImages: 2, calImages: 4 });
  });

  it('cancel after each event: E_CANCELLED with the old files intact, or success with exactly the reported artifacts', async () => {
    // First a baseline to count the events a full run emits.
    const base = path.join(root, 'cancel-base');
    await fs.mkdir(base);
    const all: JobEvent[] = [];
    await runExport({ ...(await int8Request(S, base)), fidelity: { enabled: false, images: 2, sensitivity: false, suggest: 0 } }, (e) => all.push(e));
    const moments = all.map((e, i) => ({ i, kind: e.type === 'stage' ? `${e.stage} ${e.status}` : e.type })).filter((m) => m.kind !== 'progress')
      // Every stage transition, the artifacts and the result; log lines only up to three (they repeat the same moments).
      .filter((m, k, all) => m.kind !== 'log' || all.slice(0, k).filter((x) => x.kind === 'log').length < 3);
    expect(moments.some((m) => m.kind === 'artifact')).toBe(true);
    let current = '';
    const unhandled: string[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(`${current}: ${String(e)}`);
    process.on('unhandledRejection', onUnhandled);
    let cancelled = 0;
    let committed = 0;
    for (const m of moments) {
      const dir = path.join(root, `cancel-${m.i}`);
      await fs.mkdir(dir);
      await fs.writeFile(path.join(dir, 'model.etlt'), PRECIOUS);
      current = m.kind;
      const ac = new AbortController();
      let n = 0;
      const events: JobEvent[] = [];
      const req = { ...(await int8Request(S, dir)), fidelity: { enabled: false, images: 2, sensitivity: false, suggest: 0 } };
      const outcome = await runExport(req, (e) => {
        events.push(e);
        if (n++ === m.i) ac.abort();
      }, ac.signal).then((r) => r, (e: unknown) => e as StudioError);
      const names = (await fs.readdir(dir)).sort();
      expect(names.filter((x) => x.includes('.export-studio-')), `after ${m.kind}`).toEqual([]);
      if (outcome instanceof StudioError) {
        cancelled++;
        expect(outcome.code, `after ${m.kind}`).toBe('E_CANCELLED');
        expect(names).toEqual(['model.etlt']);
        expect(await fs.readFile(path.join(dir, 'model.etlt'), 'utf8')).toBe(PRECIOUS);
      } else {
        committed++;
        // The cancel came after the commit: every reported artifact is on disk with its hash, nothing else.
        const reported = outcome.artifacts.map((a) => path.basename(a.path)).sort();
        expect(names).toEqual(reported);
        expect(outcome.warnings.join('\n') + events.map((e) => (e.type === 'log' ? e.text : '')).join('\n')).toMatch(/after|commit/);
      }
    }
    await new Promise((r) => setTimeout(r, 200));
    process.off('unhandledRejection', onUnhandled);
    expect(unhandled).toEqual([]);
    expect(cancelled).toBeGreaterThan(5);
    expect(committed).toBeGreaterThan(0);
  }, 300_000);
});
