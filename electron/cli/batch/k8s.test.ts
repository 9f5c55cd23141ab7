// `batch submit --k8s --dry-run`: the ConfigMap + Indexed Job it writes, validated against the
// Kubernetes OpenAPI schemas as packaged by kubernetes-models (types, required fields, enums,
// formats; compiled validators). Unknown fields are not rejected by those validators (the
// OpenAPI spec does not close objects): the generator's literals are typed with the same
// package's interfaces, so an unknown field fails the type-check instead. Not validated offline:
// admission (quotas, the nvidia.com/gpu device plugin, that the Secret and PVC exist).
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Job } from 'kubernetes-models/batch/v1/Job';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import { runCli, type CliIO } from '../program.js';

const CANARY = 'CANARY-k8s-key-93c1f';
let root: string;
let manifest: string;

function io(env: NodeJS.ProcessEnv): CliIO & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: (s) => out.push(s), stderr: (s) => err.push(s), isTTY: false, env, signal: new AbortController().signal };
}

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'k8s-'));
  manifest = path.join(root, 'Team Models.yaml');
  // Paths are the pod's (on the claim mounted at /workspace): not checked on this machine.
  await fs.writeFile(
    manifest,
    [
      'defaults:',
      '  experiment_spec: specs/maskrcnn.txt',
      '  gen_ds_config: true',
      'exports:',
      '  - name: retail-fp16',
      '    model: models/retail.tlt',
      '    data_type: fp16',
      '    output_file: out/retail-fp16/model.etlt',
      '  - name: retail-int8',
      '    model: models/retail.tlt',
      '    data_type: int8',
      '    cal_image_dir: data/cal',
      '    output_file: out/retail-int8/model.etlt',
      '    cal_cache_file: out/retail-int8/cal.bin',
      '  - name: people',
      '    model: models/people.etlt',
      '    key_env: PEOPLE_KEY',
      '    output_file: out/people/model.etlt',
    ].join('\n'),
  );
});
afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

async function generate(extra: string[] = []): Promise<{ text: string; configMap: Record<string, unknown>; job: IJob; out: string }> {
  const file = path.join(root, `objects-${extra.length}.yaml`);
  const cli = io({ EXPORT_STUDIO_KEY: CANARY, PEOPLE_KEY: `${CANARY}-2`, PATH: '/nonexistent' });
  const code = await runCli(['batch', 'submit', '--k8s', manifest, '--dry-run', '--image', 'registry.example.com/export-studio:0.1.0', '--pvc', 'models', '--namespace', 'ml', '--out', file, ...extra], cli);
  expect(code, cli.err.join('')).toBe(0);
  const text = await fs.readFile(file, 'utf8');
  const docs = parseAllDocuments(text).map((d) => d.toJS() as Record<string, unknown>);
  expect(docs.map((d) => d.kind)).toEqual(['ConfigMap', 'Job']);
  return { text, configMap: docs[0] as Record<string, unknown>, job: docs[1] as unknown as IJob, out: cli.out.join('') };
}

describe('batch submit --k8s --dry-run', () => {
  it('writes a ConfigMap and an Indexed Job that pass the Kubernetes schema validators', async () => {
    const { configMap, job, out } = await generate();
    expect(() => new ConfigMap(configMap as never).validate()).not.toThrow();
    expect(() => new Job(job).validate()).not.toThrow();
    expect(out).toMatch(/Dry run: nothing applied/);

    const spec = job.spec;
    expect(spec).toMatchObject({ completionMode: 'Indexed', completions: 3, parallelism: 3, backoffLimitPerIndex: 0 });
    const name = job.metadata?.name ?? '';
    expect(name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toBe('export-studio-team-models');
    expect(job.metadata?.namespace).toBe('ml');
    const pod = spec?.template.spec;
    expect(pod?.restartPolicy).toBe('Never');
    const c = pod?.containers[0];
    expect(c?.resources?.limits).toEqual({ 'nvidia.com/gpu': 1 });
    expect(c?.command).toEqual(['export-studio', 'batch', 'task', '/etc/export-studio/manifest.yaml', '--results_dir', '/workspace/export-studio-results/Team-Models']);
    expect(c?.workingDir).toBe('/workspace');
    // One env var per key_env, each from the Secret: never a value.
    expect(c?.env).toEqual([
      { name: 'EXPORT_STUDIO_KEY', valueFrom: { secretKeyRef: { name: 'export-studio-keys', key: 'EXPORT_STUDIO_KEY' } } },
      { name: 'PEOPLE_KEY', valueFrom: { secretKeyRef: { name: 'export-studio-keys', key: 'PEOPLE_KEY' } } },
    ]);
    for (const e of c?.env ?? []) expect(e).not.toHaveProperty('value');
    expect(pod?.volumes).toEqual([
      { name: 'manifest', configMap: { name: 'export-studio-team-models-manifest' } },
      { name: 'work', persistentVolumeClaim: { claimName: 'models' } },
    ]);
    // The pods read the very manifest that was validated here.
    expect((configMap.data as Record<string, string>)['manifest.yaml']).toBe(await fs.readFile(manifest, 'utf8'));
  });

  it('never puts a key in the objects, the job name or what it prints', async () => {
    const { text, out } = await generate();
    expect(text).not.toContain(CANARY);
    expect(out).not.toContain(CANARY);
  });

  it('the validators are live: a broken Job is rejected (so the pass above means something)', async () => {
    const { job } = await generate();
    const broken = structuredClone(job) as unknown as { spec: { completionMode: string; completions: unknown } };
    broken.spec.completionMode = 'Sequential';
    expect(() => new Job(broken as never).validate()).toThrow(/completionMode/);
    const noKey = structuredClone(job);
    const env0 = noKey.spec?.template.spec?.containers[0]?.env?.[0];
    if (env0?.valueFrom?.secretKeyRef) delete (env0.valueFrom.secretKeyRef as { key?: string }).key;
    expect(() => new Job(noKey).validate()).toThrow(/secretKeyRef must have required property '?key'?/);
  });

  it('CPU pods, parallelism and requests follow the flags', async () => {
    const { job } = await generate(['--gpus_per_pod', '0', '--max_parallel', '2', '--cpu_request', '4', '--mem', '16Gi']);
    expect(() => new Job(job).validate()).not.toThrow();
    expect(job.spec?.parallelism).toBe(2);
    expect(job.spec?.template.spec?.containers[0]?.resources).toEqual({ limits: { memory: '16Gi' }, requests: { cpu: '4', memory: '16Gi' } });
  });

  it('without --dry-run it applies with the user kubectl; a missing kubectl is a clear E_SCHEDULER', async () => {
    const cli = io({ EXPORT_STUDIO_KEY: CANARY, PEOPLE_KEY: 'x', PATH: '/nonexistent' });
    const code = await runCli(['batch', 'submit', '--k8s', manifest, '--image', 'img:1', '--out', path.join(root, 'apply.yaml')], cli);
    expect(code).toBe(8);
    expect(cli.err.join('')).toMatch(/E_SCHEDULER: kubectl not found on PATH/);
  });

  it('a manifest with a key in it is refused before anything is written', async () => {
    const bad = path.join(root, 'bad.yaml');
    await fs.writeFile(bad, `exports:\n  - model: models/a.tlt\n    key: ${CANARY}\n`);
    const cli = io({});
    const out = path.join(root, 'never.yaml');
    expect(await runCli(['batch', 'submit', '--k8s', bad, '--dry-run', '--image', 'img:1', '--out', out], cli)).toBe(2);
    expect(cli.err.join('')).toMatch(/bad\.yaml:3:5: Keys never go in a manifest/);
    expect(cli.err.join('')).not.toContain(CANARY);
    await expect(fs.stat(out)).rejects.toThrow();
  });
});
