#!/usr/bin/env node
/**
 * Which onnxruntime-node execution providers start on this machine, and do they agree with the
 * CPU? For each provider: create a session on the bundled sample model (and any extra .onnx
 * given), run a seeded batch a few times, compare every output with the CPU's.
 *
 *   node out/bench/gpu-probe.js [--providers webgpu,cuda] [--model FILE.onnx ...] [--runs 5] [--json OUT.json]
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import { buildSampleModel } from '../../scripts/sample/model.js';
import { mulberry32 } from '../../electron/pipeline/onnx/testing.js';

interface ProbeResult {
  model: string;
  provider: string;
  ok: boolean;
  createMs?: number;
  /** First run (includes kernel compilation/upload on GPUs) and the median of the rest. */
  firstRunMs?: number;
  medianRunMs?: number;
  /** Largest |gpu − cpu| over all float outputs, relative to the largest |cpu|. */
  maxRelDiff?: number;
  error?: string;
}

function feedFor(session: ort.InferenceSession, batch: number): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  const rnd = mulberry32(1234);
  for (const meta of session.inputMetadata) {
    if (!meta.isTensor) continue;
    const dims = meta.shape.map((d) => (typeof d === 'number' && d > 0 ? d : batch));
    const n = dims.reduce((a, b) => a * b, 1);
    feeds[meta.name] = new ort.Tensor('float32', Float32Array.from({ length: n }, () => rnd() * 2 - 1), dims);
  }
  return feeds;
}

async function timeRuns(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>, runs: number): Promise<{ first: number; median: number; out: ort.InferenceSession.OnnxValueMapType }> {
  const times: number[] = [];
  let out: ort.InferenceSession.OnnxValueMapType = {};
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    out = await session.run(feeds);
    times.push(performance.now() - t);
  }
  const rest = times.slice(1).sort((a, b) => a - b);
  return { first: times[0]!, median: rest.length ? rest[Math.floor(rest.length / 2)]! : times[0]!, out };
}

function maxRelDiff(a: ort.InferenceSession.OnnxValueMapType, b: ort.InferenceSession.OnnxValueMapType): number {
  let diff = 0;
  let scale = 0;
  for (const [name, ta] of Object.entries(a)) {
    const tb = b[name];
    if (!tb || ta.type !== 'float32') continue;
    const x = ta.data as Float32Array;
    const y = tb.data as Float32Array;
    if (x.length !== y.length) return Infinity;
    for (let i = 0; i < x.length; i++) {
      diff = Math.max(diff, Math.abs(x[i]! - y[i]!));
      scale = Math.max(scale, Math.abs(x[i]!));
    }
  }
  return scale > 0 ? diff / scale : diff;
}

async function probe(name: string, bytes: Uint8Array, provider: string, runs: number, reference?: ort.InferenceSession.OnnxValueMapType): Promise<{ r: ProbeResult; out?: ort.InferenceSession.OnnxValueMapType }> {
  const t0 = performance.now();
  let session: ort.InferenceSession | undefined;
  try {
    session = await ort.InferenceSession.create(bytes, { executionProviders: [provider], graphOptimizationLevel: 'all', logSeverityLevel: 3 });
    const createMs = performance.now() - t0;
    const { first, median, out } = await timeRuns(session, feedFor(session, 2), runs);
    const r: ProbeResult = { model: name, provider, ok: true, createMs, firstRunMs: first, medianRunMs: median };
    if (reference) r.maxRelDiff = maxRelDiff(reference, out);
    return { r, out };
  } catch (e) {
    return { r: { model: name, provider, ok: false, error: e instanceof Error ? e.message.split('\n').slice(0, 3).join(' / ') : String(e) } };
  } finally {
    await session?.release();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      providers: { type: 'string', default: 'webgpu,cuda' },
      model: { type: 'string', multiple: true },
      runs: { type: 'string', default: '5' },
      json: { type: 'string' },
    },
  });
  const runs = Math.max(1, Number(values.runs));
  const models: [string, Uint8Array][] = [['sample', buildSampleModel({ height: 320, width: 512, numClasses: 5, seed: 42 })]];
  for (const f of values.model ?? []) if (fs.existsSync(f)) models.push([f, fs.readFileSync(f)]);
  console.log(`onnxruntime-node ${ort.env.versions.common}; backends: ${JSON.stringify(ort.listSupportedBackends?.() ?? 'n/a')}`);
  const results: ProbeResult[] = [];
  for (const [name, bytes] of models) {
    const cpu = await probe(name, bytes, 'cpu', runs);
    results.push(cpu.r);
    for (const p of values.providers.split(',').filter(Boolean)) results.push((await probe(name, bytes, p, runs, cpu.out)).r);
  }
  for (const r of results) {
    console.log(
      `${r.model.padEnd(24)} ${r.provider.padEnd(7)} ${r.ok ? `create ${r.createMs!.toFixed(0)} ms, first run ${r.firstRunMs!.toFixed(1)} ms, median ${r.medianRunMs!.toFixed(1)} ms${r.maxRelDiff !== undefined ? `, max rel diff vs cpu ${r.maxRelDiff.toExponential(2)}` : ''}` : `FAILED: ${r.error}`}`,
    );
  }
  if (values.json) fs.writeFileSync(values.json, JSON.stringify(results, null, 2));
}

await main();
