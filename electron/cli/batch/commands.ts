import fs from 'node:fs';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { StudioError, formatError, isStudioError } from '../../../shared/errors.js';
import type { CliIO } from '../program.js';
import { loadManifest, type Manifest } from './manifest.js';
import { k8sName, submitK8s } from './k8s.js';
import { runBatch } from './run.js';
import { gatherResults, jobName, squeueStates, submitSlurm } from './slurm.js';
import { summaryTable, writeSummaryJson } from './summary.js';
import { runTask, taskContext } from './task.js';

const BATCH_HELP = `
A manifest lists exports in the CLI's own terms: the long flags of \`mask_rcnn export\`
without dashes, with defaults shared by every entry. Keys never go in it: each entry reads
its key from an environment variable (key_env, default EXPORT_STUDIO_KEY).

  defaults:
    experiment_spec: specs/maskrcnn.txt
    gen_ds_config: true
  exports:
    - name: retail-fp16
      model: models/retail.tlt
      data_type: fp16
      output_file: out/retail-fp16/model.etlt
    - name: retail-int8
      model: models/retail.tlt
      data_type: int8
      cal_image_dir: data/cal
      output_file: out/retail-int8/model.etlt

Examples:
  export-studio batch run exports.yaml --gpu_index 0 1
  export-studio batch submit --slurm exports.yaml --partition gpu --time 01:00:00
  export-studio batch status exports.yaml
  export-studio batch submit --k8s exports.yaml --image registry/export-studio:0.1.0 --pvc models --dry-run
`;

function int(name: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new StudioError('E_USAGE', `--${name} must be an integer ≥ ${min}, got '${v}'`, `Example: --${name} ${Math.max(min, 2)}`);
  return n;
}

function defaultResultsDir(manifest: Manifest): string {
  return path.resolve(`${manifest.name}-batch`);
}

/** `export-studio batch run|submit|status|task`. */
export function addBatchCommands(program: Command, io: CliIO, setExit: (code: number) => void): void {
  const guarded = (body: () => Promise<number>) => async () => {
    try {
      setExit(await body());
    } catch (e) {
      if (isStudioError(e)) {
        io.stderr(formatError(e.toData()) + '\n');
        setExit(e.exitCode);
        return;
      }
      io.stderr(`internal error: ${(e as Error)?.stack ?? String(e)}\n`);
      setExit(70);
    }
  };
  const load = (file: string, requireKeys: boolean | ((i: number) => boolean), checkInputs: boolean) => loadManifest(file, { env: io.env, requireKeys, checkInputs });

  const batch = program.command('batch').description('Many exports from one YAML manifest: on this machine (one per GPU), as a Slurm job array, or as a Kubernetes Indexed Job').addHelpText('after', BATCH_HELP);

  batch
    .command('run')
    .description('Run every export of the manifest here, one per GPU (CPU exports --cpu_jobs at a time); write a summary')
    .argument('<manifest>', 'YAML manifest')
    .option('--gpu_index <index...>', 'GPUs to use (nvidia-smi indices; default: every GPU)')
    .option('--cpu', 'run every export on the CPU')
    .option('--cpu_jobs <n>', 'CPU exports at once', '1')
    .option('--results_dir <dir>', 'summary and per-export logs (default ./<manifest name>-batch)')
    .action((file: string, o: { gpu_index?: string[]; cpu?: boolean; cpu_jobs: string; results_dir?: string }) =>
      guarded(async () => {
        const m = load(file, true, true);
        const gpus = o.gpu_index?.map((g) => int('gpu_index', g, 0) ?? 0);
        return runBatch(m, { ...(gpus ? { gpus } : {}), cpu: o.cpu ?? false, cpuJobs: int('cpu_jobs', o.cpu_jobs, 1) ?? 1, resultsDir: o.results_dir ?? defaultResultsDir(m) }, io);
      })(),
    );

  batch
    .command('submit')
    .description('Submit the manifest to a cluster: --slurm (sbatch job array) or --k8s (Kubernetes Indexed Job)')
    .argument('<manifest>', 'YAML manifest')
    .option('--slurm', 'write an sbatch job-array script (one task per export, --gres=gpu:1) and submit it')
    .option('--k8s', 'write a Kubernetes Indexed Job (one completion index per export, nvidia.com/gpu: 1) and apply it with kubectl')
    .option('--dry-run', 'only write the script / objects (print where)')
    .option('--results_dir <dir>', 'Slurm: folder on shared storage for the script, per-task logs and results (default ./<manifest name>-batch); Kubernetes: the path inside the pod')
    .option('--command <words>', 'how the nodes run export-studio (default: this node and this script; Kubernetes: export-studio)')
    .option('--partition <name>', 'Slurm partition')
    .option('--account <name>', 'Slurm account')
    .option('--time <limit>', 'Slurm time limit per task, e.g. 01:00:00')
    .option('--cpus_per_task <n>', 'Slurm CPUs per task', '4')
    .option('--mem <size>', 'Slurm memory per task, e.g. 32G; Kubernetes memory request/limit, e.g. 32Gi')
    .option('--max_parallel <n>', 'at most this many exports at once (Slurm %N, Kubernetes parallelism)')
    .option('--no_gres', 'Slurm: do not request --gres=gpu:1 (CPU partition)')
    .option('--sbatch_arg <arg...>', 'extra #SBATCH lines, e.g. --sbatch_arg=--qos=high')
    .option('--image <image>', 'Kubernetes: container image with export-studio')
    .option('--namespace <ns>', 'Kubernetes namespace')
    .option('--key_secret <name>', 'Kubernetes Secret with the keys (one data key per key_env name)', 'export-studio-keys')
    .option('--pvc <claim>', 'Kubernetes PersistentVolumeClaim with models, data and outputs')
    .option('--mount <path>', 'Kubernetes: where the claim is mounted (the working directory)', '/workspace')
    .option('--gpus_per_pod <n>', 'Kubernetes nvidia.com/gpu limit per pod (0: CPU pods)', '1')
    .option('--cpu_request <cpu>', 'Kubernetes CPU request per pod, e.g. 4')
    .option('--service_account <name>', 'Kubernetes service account of the pods')
    .option('--out <file>', 'Kubernetes: where to write the objects (default ./<name>.k8s.yaml)')
    .addOption(new Option('--dry_run').hideHelp())
    .action((file: string, o: Record<string, string | boolean | string[] | undefined>) =>
      guarded(async () => {
        if (Boolean(o.slurm) === Boolean(o.k8s)) throw new StudioError('E_USAGE', 'Choose one scheduler: --slurm or --k8s', 'Example: export-studio batch submit --slurm exports.yaml');
        const dryRun = Boolean(o.dryRun ?? o.dry_run);
        const command = typeof o.command === 'string' ? o.command.split(/\s+/).filter(Boolean) : null;
        const maxParallel = int('max_parallel', o.max_parallel as string | undefined, 1);
        if (o.slurm) {
          const m = load(file, false, true);
          const resultsDir = path.resolve((o.results_dir as string | undefined) ?? defaultResultsDir(m));
          const missing = [...new Set(m.entries.map((e) => e.keyEnv))].filter((k) => !io.env[k]);
          if (missing.length && !dryRun) throw new StudioError('E_KEY_REQUIRED', `$${missing.join(', $')} not set: the tasks inherit the key from this environment`, `export ${missing[0]}=… before submitting (the key is never written into the script).`);
          const r = await submitSlurm(
            m,
            {
              resultsDir,
              command: command ?? [process.execPath, path.resolve(process.argv[1] ?? 'export-studio')],
              gres: !o.no_gres,
              cpusPerTask: int('cpus_per_task', o.cpus_per_task as string, 1) ?? 4,
              ...(typeof o.partition === 'string' ? { partition: o.partition } : {}),
              ...(typeof o.account === 'string' ? { account: o.account } : {}),
              ...(typeof o.time === 'string' ? { time: o.time } : {}),
              ...(typeof o.mem === 'string' ? { mem: o.mem } : {}),
              ...(maxParallel ? { maxParallel } : {}),
              ...(Array.isArray(o.sbatch_arg) ? { extra: o.sbatch_arg } : {}),
            },
            io.env,
            dryRun,
          );
          io.stdout(`sbatch script: ${r.script}\n`);
          if (r.jobId) io.stdout(`Submitted Slurm job ${r.jobId} (${m.entries.length} array tasks, name ${jobName(m)}). Logs: ${path.join(resultsDir, 'logs')}\nFollow it with: export-studio batch status ${file}${o.results_dir ? ` --results_dir ${resultsDir}` : ''}\n`);
          return 0;
        }
        const m = load(file, false, false);
        if (typeof o.image !== 'string') throw new StudioError('E_USAGE', '--k8s needs --image: the container image with export-studio in it', 'Example: --image registry.example.com/export-studio:0.1.0');
        const mount = (o.mount as string) || '/workspace';
        const r = await submitK8s(
          m,
          fs.readFileSync(file, 'utf8'),
          {
            image: o.image,
            keySecret: (o.key_secret as string) || 'export-studio-keys',
            mountPath: mount,
            resultsDir: (o.results_dir as string | undefined) ?? path.posix.join(mount, 'export-studio-results', m.name),
            gpus: int('gpus_per_pod', o.gpus_per_pod as string, 0) ?? 1,
            command: command ?? ['export-studio'],
            ...(typeof o.namespace === 'string' ? { namespace: o.namespace } : {}),
            ...(typeof o.pvc === 'string' ? { pvc: o.pvc } : {}),
            ...(maxParallel ? { parallelism: maxParallel } : {}),
            ...(typeof o.cpu_request === 'string' ? { cpu: o.cpu_request } : {}),
            ...(typeof o.mem === 'string' ? { memory: o.mem } : {}),
            ...(typeof o.service_account === 'string' ? { serviceAccount: o.service_account } : {}),
          },
          (o.out as string | undefined) ?? `${k8sName(m.name)}.k8s.yaml`,
          io.env,
          dryRun,
        );
        io.stdout(`Kubernetes objects: ${r.file}\n`);
        if (r.applied) io.stdout(`${r.applied}\n`);
        else io.stdout(`Dry run: nothing applied. Apply with: kubectl apply -f ${r.file}\n`);
        return 0;
      })(),
    );

  batch
    .command('status')
    .description('Gather the results of a submitted (or running) batch: per export status, artifacts, INT8 verdict')
    .argument('<manifest>', 'YAML manifest')
    .option('--results_dir <dir>', 'as given to batch submit (default ./<manifest name>-batch)')
    .option('--json', 'print the summary as JSON')
    .action((file: string, o: { results_dir?: string; json?: boolean }) =>
      guarded(async () => {
        const m = load(file, false, false);
        const resultsDir = path.resolve(o.results_dir ?? defaultResultsDir(m));
        let sub: { jobId?: string; submittedAt?: string } = {};
        try {
          sub = JSON.parse(fs.readFileSync(path.join(resultsDir, 'submission.json'), 'utf8')) as typeof sub;
        } catch {
          // not submitted from here: results only
        }
        const live = sub.jobId ? await squeueStates(sub.jobId, io.env) : new Map<number, string>();
        const summary = gatherResults(m, resultsDir, sub.jobId ? `slurm ${sub.jobId}` : 'results folder', live, sub.submittedAt ?? null);
        writeSummaryJson(path.join(resultsDir, 'batch-summary.json'), summary);
        io.stdout(o.json ? JSON.stringify(summary, null, 2) + '\n' : summaryTable(summary));
        const finished = summary.finishedAt !== null;
        if (!finished) return 75; // EX_TEMPFAIL: still running — poll again
        return summary.entries.every((e) => e.status === 'done') ? 0 : 1;
      })(),
    );

  batch
    .command('task', { hidden: true })
    .description('Run one export of the manifest (what the sbatch script and the Kubernetes Job run)')
    .argument('<manifest>', 'YAML manifest')
    .option('--index <n>', 'entry index (default SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX)')
    .requiredOption('--results_dir <dir>', 'where the result JSON goes')
    .action((file: string, o: { index?: string; results_dir: string }) =>
      guarded(async () => {
        const ctx = taskContext(io.env, int('index', o.index, 0));
        const m = load(file, (i) => i === ctx.index, true);
        return runTask(m, ctx, path.resolve(o.results_dir), io);
      })(),
    );
}
