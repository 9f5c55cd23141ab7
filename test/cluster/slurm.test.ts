// `batch submit --slurm` and `batch status` on a real single-node Slurm cluster: Debian's
// slurm-wlm and munge, started here (munged on a private socket, slurmctld + slurmd as root with a
// generated slurm.conf) and torn down after. Two fake GPUs (gres.conf points gpu at two char
// devices): Slurm allocates them and sets CUDA_VISIBLE_DEVICES per task; the exports run on the
// CPU (onnxruntime-node here has no CUDA), standing in for GPU tasks.
// Skipped, with the reason, where slurm-wlm/munge are not installed or we are not root.
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import { existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSample, SAMPLE_KEY, type SampleLayout } from '../../scripts/make-sample.js';
import { bundleFromSource } from '../../electron/host/worker-process.js';
import type { BatchSummary } from '../../electron/cli/batch/summary.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BINARIES = ['/usr/sbin/munged', '/usr/sbin/slurmctld', '/usr/sbin/slurmd', '/usr/bin/sbatch', '/usr/bin/squeue', '/usr/bin/sinfo'];
const missing = BINARIES.filter((b) => !existsSync(b));
const isRoot = process.getuid?.() === 0;
const SKIP_REASON = missing.length ? `slurm-wlm/munge not installed (${missing.map((m) => path.basename(m)).join(', ')} missing: apt-get install slurm-wlm munge)` : !isRoot ? 'not root (slurmd must run as root)' : '';
if (SKIP_REASON) console.warn(`SKIPPED test/cluster/slurm.test.ts: ${SKIP_REASON}`);

/** A canary key: it must appear nowhere the issue forbids (script, job name, logs, scheduler state shown). */
const CANARY = `${SAMPLE_KEY}`;

let root: string;
let S: SampleLayout;
let cliJs: string;
let env: NodeJS.ProcessEnv;
const pids: number[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

function sh(cmd: string, args: string[], e: NodeJS.ProcessEnv = env): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env: e, timeout: 60_000, maxBuffer: 16 * 2 ** 20 }, (err, out, errOut) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: String(out), err: String(errOut) });
    });
  });
}

async function waitFor(what: string, cond: () => Promise<boolean>, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function startCluster(dir: string): Promise<void> {
  const host = os.hostname().split('.')[0] ?? 'localhost';
  const run = path.join(dir, 'slurm');
  for (const d of ['state', 'spool', 'munge']) await fs.mkdir(path.join(run, d), { recursive: true, mode: 0o700 });
  const key = path.join(run, 'munge', 'key');
  await fs.writeFile(key, (await import('node:crypto')).randomBytes(128), { mode: 0o600 });
  const sock = path.join(run, 'munge', 'sock');
  const m = spawnSync('/usr/sbin/munged', ['--force', `--socket=${sock}`, `--key-file=${key}`, `--pid-file=${run}/munge/pid`, `--log-file=${run}/munge/log`, `--seed-file=${run}/munge/seed`]);
  if (m.status !== 0) throw new Error(`munged failed: ${String(m.stderr)}`);
  pids.push(Number(await fs.readFile(`${run}/munge/pid`, 'utf8')));
  const [ctld, slurmd] = [await freePort(), await freePort()];
  const conf = path.join(run, 'slurm.conf');
  await fs.writeFile(
    conf,
    [
      'ClusterName=exportstudio',
      `SlurmctldHost=${host}`,
      `SlurmctldPort=${ctld}`,
      `SlurmdPort=${slurmd}`,
      'SlurmUser=root',
      'SlurmdUser=root',
      'AuthType=auth/munge',
      'CredType=cred/munge',
      `AuthInfo=socket=${sock}`,
      `StateSaveLocation=${run}/state`,
      `SlurmdSpoolDir=${run}/spool`,
      `SlurmctldPidFile=${run}/slurmctld.pid`,
      `SlurmdPidFile=${run}/slurmd.pid`,
      `SlurmctldLogFile=${run}/slurmctld.log`,
      `SlurmdLogFile=${run}/slurmd.log`,
      'SlurmctldDebug=debug',
      'SlurmdDebug=debug',
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_Core',
      'MpiDefault=none',
      'ReturnToService=2',
      'SchedulerType=sched/backfill',
      'AccountingStorageType=accounting_storage/none',
      'JobCompType=jobcomp/none',
      'JobAcctGatherType=jobacct_gather/none',
      'GresTypes=gpu',
      'InactiveLimit=0',
      'MinJobAge=300',
      'KillWait=5',
      `NodeName=${host} CPUs=${Math.max(2, os.cpus().length)} RealMemory=2000 Gres=gpu:2 State=UNKNOWN`,
      `PartitionName=debug Nodes=${host} Default=YES MaxTime=INFINITE State=UP`,
      '',
    ].join('\n'),
  );
  // Two "GPUs": gres needs device files; the tasks never open them.
  await fs.writeFile(path.join(run, 'gres.conf'), `NodeName=${host} Name=gpu File=/dev/tty0\nNodeName=${host} Name=gpu File=/dev/tty1\n`);
  env = { ...process.env, SLURM_CONF: conf, EXPORT_STUDIO_KEY: CANARY };
  for (const [bin, pidFile] of [
    ['/usr/sbin/slurmctld', `${run}/slurmctld.pid`],
    ['/usr/sbin/slurmd', `${run}/slurmd.pid`],
  ] as const) {
    const r = await sh(bin, ['-f', conf]);
    if (r.code !== 0) throw new Error(`${bin} failed: ${r.err}`);
    await waitFor(`${bin} pid file`, async () => existsSync(pidFile), 10_000);
    pids.push(Number(await fs.readFile(pidFile, 'utf8')));
  }
  await waitFor('the node to be idle', async () => (await sh('/usr/bin/sinfo', ['-h', '-N', '-o', '%T'])).out.trim() === 'idle', 30_000);
}

beforeAll(async () => {
  if (SKIP_REASON) return;
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'slurm-batch-'));
  const [sample, bundle] = await Promise.all([
    makeSample({ dir: path.join(root, 'sample'), trainShards: 1, trainPerShard: 2, valImages: 2, calImages: 4 }),
    bundleFromSource(repo, 'cli', { 'export-studio': path.join(repo, 'electron/cli/export-studio.ts'), 'loader-worker': path.join(repo, 'electron/pipeline/data/loader-worker.ts') }),
    startCluster(root),
  ]);
  S = sample;
  cliJs = path.join(bundle, 'export-studio.js');
}, 120_000);

afterAll(async () => {
  // Tear down in reverse: slurmd, slurmctld, munged (only the processes started here, by pid).
  for (const pid of [...pids].reverse()) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  await new Promise((r) => setTimeout(r, 500));
  if (root) await fs.rm(root, { recursive: true, force: true });
});

describe.skipIf(SKIP_REASON !== '')('Slurm: batch submit --slurm and batch status on a real single-node cluster', () => {
  it('submits one array task per entry with --gres=gpu:1, each on an allocated GPU; status gathers the results; the key is nowhere', async () => {
    const dir = path.join(root, 'work');
    for (const d of ['a', 'b', 'c']) await fs.mkdir(path.join(dir, d), { recursive: true });
    await fs.writeFile(path.join(dir, 'c', 'model.etlt'), 'precious'); // entry c fails: output exists
    const manifest = path.join(dir, 'exports.yaml');
    await fs.writeFile(
      manifest,
      ['name: nightly', 'defaults:', `  experiment_spec: ${S.spec}`, '  gen_ds_config: true', 'exports:', ...['a', 'b', 'c'].flatMap((n) => [`  - name: ${n}`, `    model: ${S.tlt}`, `    output_file: ${dir}/${n}/model.etlt`])].join('\n'),
    );
    const results = path.join(dir, 'results');
    const cli = (args: string[]) => sh(process.execPath, [cliJs, ...args], { ...env, PATH: process.env.PATH ?? '' });

    const sub = await cli(['batch', 'submit', '--slurm', manifest, '--results_dir', results, '--cpus_per_task', '1']);
    expect(sub.code, sub.err).toBe(0);
    const jobId = /Submitted Slurm job (\d+)/.exec(sub.out)?.[1];
    expect(jobId, sub.out).toBeDefined();
    const script = await fs.readFile(path.join(results, 'nightly.sbatch'), 'utf8');
    expect(script).toContain('#SBATCH --array=0-2');
    expect(script).toContain('#SBATCH --gres=gpu:1');
    expect(script).toContain('#SBATCH --job-name=export-studio-nightly');
    expect(script).toMatch(/#SBATCH --output=.*logs\/%x-%A_%a\.log/);
    expect(script).toContain('batch task');
    expect(script).toContain('--index "$SLURM_ARRAY_TASK_ID"');

    // While it runs, status answers (pending/running/done) and exits 75 until every task is over.
    const early = await cli(['batch', 'status', manifest, '--results_dir', results, '--json']);
    expect([0, 1, 75]).toContain(early.code);

    await waitFor('every task to write its result', async () => (await fs.readdir(path.join(results, 'results')).catch(() => [])).filter((f) => f.endsWith('.json')).length === 3, 45_000);
    const st = await cli(['batch', 'status', manifest, '--results_dir', results, '--json']);
    expect(st.code, st.err).toBe(1); // c failed
    const summary = JSON.parse(st.out) as BatchSummary;
    expect(summary.runner).toBe(`slurm ${jobId}`);
    expect(summary.entries.map((e) => [e.name, e.status, e.error?.code ?? null])).toEqual([
      ['a', 'done', null],
      ['b', 'done', null],
      ['c', 'failed', 'E_OUTPUT_EXISTS'],
    ]);
    // Each task ran inside the array job on a GPU Slurm allocated to it.
    for (const e of summary.entries) expect(e.device).toMatch(new RegExp(`^slurm ${jobId}_${e.index} on \\S+ \\(GPU [01]\\)$`));
    for (const e of summary.entries.slice(0, 2)) {
      expect(e.artifacts.map((a) => path.basename(a.path)).sort()).toEqual(['labels.txt', 'model.etlt', 'model.onnx', 'nvinfer_config.txt']);
      for (const a of e.artifacts) expect((await fs.stat(a.path)).size).toBe(a.bytes);
    }
    expect(await fs.readFile(path.join(dir, 'c', 'model.etlt'), 'utf8')).toBe('precious');
    const table = await cli(['batch', 'status', manifest, '--results_dir', results]);
    expect(table.out).toMatch(/c\s+fp32\s+slurm \d+_2 .*failed \(E_OUTPUT_EXISTS\)/);

    // One log per task, and the key in none of: script, logs, results, job name, squeue/scontrol, slurm's own logs.
    const logs = await fs.readdir(path.join(results, 'logs'));
    expect(logs.sort()).toEqual([0, 1, 2].map((i) => `export-studio-nightly-${jobId}_${i}.log`));
    expect(await fs.readFile(path.join(results, 'logs', logs[2] ?? ''), 'utf8')).toMatch(/E_OUTPUT_EXISTS/);
    const texts: [string, string][] = [['script', script]];
    for (const f of logs) texts.push([f, await fs.readFile(path.join(results, 'logs', f), 'utf8')]);
    for (const f of await fs.readdir(path.join(results, 'results'))) texts.push([f, await fs.readFile(path.join(results, 'results', f), 'utf8')]);
    texts.push(['submit output', sub.out + sub.err], ['status output', st.out + table.out]);
    texts.push(['scontrol', (await sh('/usr/bin/scontrol', ['show', 'job', jobId ?? ''])).out]);
    texts.push(['squeue', (await sh('/usr/bin/squeue', ['-a', '-o', '%all'])).out]);
    for (const f of ['slurmctld.log', 'slurmd.log']) texts.push([f, await fs.readFile(path.join(root, 'slurm', f), 'utf8')]);
    for (const [what, text] of texts) expect(text, what).not.toContain(CANARY);
  });

  it('refuses to submit without the key in the environment (it is never written into the script)', async () => {
    const manifest = path.join(root, 'work', 'exports.yaml');
    const r = await sh(process.execPath, [cliJs, 'batch', 'submit', '--slurm', manifest, '--results_dir', path.join(root, 'nokey')], { ...env, EXPORT_STUDIO_KEY: '' });
    expect(r.code).toBe(4);
    expect(r.err).toMatch(/E_KEY_REQUIRED/);
  });
});
