import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Result } from '../../shared/api.js';
import type { OutputPlan } from '../../shared/defaults.js';
import type { ExportRequestInput } from '../../shared/request.js';
import { runCli, type CliIO } from '../../electron/cli/program.js';
import { createHost, type Host } from '../../electron/host/compose.js';
import { forkWorkerFactory } from '../../electron/host/worker-process.js';
import { startWebServer, type WebServer } from '../../electron/web/server.js';
import { buildRequest } from '../../renderer/src/store/request.js';
import { initialOptions, type OptionsState } from '../../renderer/src/store/options.js';
import { initialSource } from '../../renderer/src/store/source.js';
import { initialImages } from '../../renderer/src/store/images.js';

/**
 * One set of defaults for every door (shared/defaults.ts): the same export through the CLI
 * (`--dry_run` prints its plan) and through the app's request builder + web mode's API
 * (`planOutputs`) plans the same files.
 */
let root: string;
let host: Host;
let web: WebServer;

beforeAll(async () => {
  root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'doors-')));
  await fs.mkdir(path.join(root, 'models'));
  await fs.mkdir(path.join(root, 'renderer'));
  await fs.writeFile(path.join(root, 'renderer', 'index.html'), '<!doctype html>');
  host = createHost({ mode: 'web', configDir: path.join(root, 'config'), roots: [root], spawnWorker: forkWorkerFactory(undefined, { stdio: 'ignore' }) });
  web = await startWebServer({ port: 0, rendererDir: path.join(root, 'renderer'), api: host.api });
});
afterAll(async () => {
  await web?.close();
  await host?.dispose();
  await fs.rm(root, { recursive: true, force: true });
});

async function cliPlan(args: string[], cwd: string): Promise<OutputPlan> {
  let out = '';
  let err = '';
  const io: CliIO = { stdout: (s) => void (out += s), stderr: (s) => void (err += s), isTTY: false, env: {}, signal: new AbortController().signal };
  const prev = process.cwd();
  process.chdir(cwd);
  try {
    const code = await runCli(['mask_rcnn', 'export', ...args, '--dry_run'], io);
    expect(err).toBe('');
    expect(code).toBe(0);
  } finally {
    process.chdir(prev);
  }
  return JSON.parse(out) as OutputPlan;
}

function webPlan(request: ExportRequestInput): Promise<OutputPlan> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ args: [request] });
    const req = http.request(
      { host: '127.0.0.1', port: web.port, method: 'POST', path: '/api/planOutputs', headers: { host: `127.0.0.1:${web.port}`, 'x-studio-token': web.token, 'content-type': 'application/json' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const r = JSON.parse(Buffer.concat(chunks).toString()) as Result<OutputPlan>;
          if (r.ok) resolve(r.value);
          else reject(new Error(`${r.error.code}: ${r.error.message}`));
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** What the wizard sends when the user picked only the model, key, spec and precision. */
function appRequest(model: string, spec: string, precision: OptionsState['precision']): ExportRequestInput {
  const options = initialOptions();
  options.precision = precision;
  options.outputs = { ...options.outputs, dsConfig: true, qdq: false };
  return buildRequest({ ...initialSource(), modelPath: model, key: 'k', specPath: spec }, options, initialImages());
}

describe('the CLI and the app/web mode plan the same default outputs', () => {
  it.each(['int8', 'fp16'] as const)('%s: .etlt beside the model, TAO cal.bin in the working directory, DeepStream files beside the .etlt', async (precision) => {
    const model = path.join(root, 'models', 'mrcnn.epoch-12.tlt');
    const spec = path.join(root, 'models', 'spec.txt');
    // The CLI run from the model's folder (TAO's ./cal.bin lands there, as the app's default does).
    const viaCli = await cliPlan(['-m', model, '-k', 'k', '-e', spec, '--data_type', precision, '--gen_ds_config'], path.dirname(model));
    const viaWeb = await webPlan(appRequest(model, spec, precision));
    expect(viaWeb).toEqual(viaCli);
    expect(viaCli.etlt).toBe(path.join(root, 'models', 'mrcnn.epoch-12.etlt'));
    expect(viaCli.dsConfig).toBe(path.join(root, 'models', 'nvinfer_config.txt'));
    if (precision === 'int8') expect(viaCli).toMatchObject({ cache: path.join(root, 'models', 'cal.bin'), provenance: path.join(root, 'models', 'cal.bin.json') });
    else expect(viaCli.cache).toBeUndefined();
  });

  it('an .etlt input never defaults onto itself, through either door', async () => {
    const model = path.join(root, 'models', 'sealed.etlt');
    const spec = path.join(root, 'models', 'spec.txt');
    const viaCli = await cliPlan(['-m', model, '-k', 'k', '-e', spec, '--data_type', 'fp16'], root);
    const viaWeb = await webPlan({ ...appRequest(model, spec, 'fp16'), outputs: { etlt: viaCli.etlt, dsConfig: false } });
    expect(viaCli.etlt).toBe(path.join(root, 'models', 'sealed.fp16.etlt'));
    expect(viaWeb).toEqual(viaCli);
    expect(appRequest(model, spec, 'fp16').outputs.etlt).toBe(viaCli.etlt);
  });

  it('relative paths resolve against the working directory in both doors', async () => {
    const flags = ['-m', 'models/m.onnx', '-k', 'k', '-e', 'spec.txt', '--data_type', 'int8', '-o', 'out/x.etlt', '--cal_cache_file', 'caches/c.bin', '--qdq_file', 'out/x.qdq.onnx', '--report_file', 'out/r.json'];
    const viaCli = await cliPlan(flags, process.cwd());
    const viaWeb = await webPlan({
      model: 'models/m.onnx',
      key: 'k',
      spec: 'spec.txt',
      precision: 'int8',
      calibration: { source: 'spec-loader' },
      outputs: { etlt: 'out/x.etlt', cache: 'caches/c.bin', qdq: 'out/x.qdq.onnx', report: 'out/r.json' },
    });
    expect(viaWeb).toEqual(viaCli);
    expect(viaCli.calibrationReport).toBe(path.resolve('caches/c.calibration.json'));
  });
});

describe('web mode applies the path checks of the Electron main', () => {
  async function call(method: string, args: unknown[]): Promise<Result<unknown>> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: web.port, method: 'POST', path: `/api/${method}`, headers: { host: `127.0.0.1:${web.port}`, 'x-studio-token': web.token, 'content-type': 'application/json' } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString()) as Result<unknown>));
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify({ args }));
    });
  }

  it('missing files, wrong kinds and NUL paths are refused before the host acts', async () => {
    const file = path.join(root, 'models', 'plain.txt');
    await fs.writeFile(file, 'x');
    const code = (r: Result<unknown>) => (r.ok ? 'ok' : r.error.code);
    expect(code(await call('inspectModel', [path.join(root, 'nope.onnx'), 'k']))).toBe('E_FILE_NOT_FOUND');
    expect(code(await call('inspectModel', [root, 'k']))).toBe('E_REQUEST_INVALID');
    expect(code(await call('parseSpec', [path.join(root, 'models')]))).toBe('E_REQUEST_INVALID');
    expect(code(await call('listImages', [file]))).toBe('E_REQUEST_INVALID');
    expect(code(await call('openFolder', [`${root}\0/etc`]))).toBe('E_REQUEST_INVALID');
    expect(code(await call('storeKey', [path.join(root, 'models'), 'k']))).toBe('E_REQUEST_INVALID');
  });
});
