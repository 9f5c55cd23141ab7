/**
 * Development measurement: plain inference vs calibration on the same batches, one mode per
 * process so peak RSS (ru_maxrss) is per mode. Bundle and run:
 *   npx esbuild electron/pipeline/calibrate/measure.ts --bundle --platform=node --format=esm \
 *     --packages=external --outfile=/tmp/measure.mjs
 *   node /tmp/measure.mjs <plain|entropy|exact|minmax|fetch> <model.onnx|convnet> <batches> <batchSize> <size>
 * Prints one JSON line. The bench/ suite owns the reported numbers; this is for iterating.
 */
import { readFileSync } from 'node:fs';
import ort from 'onnxruntime-node';
import { runCalibration } from './engine.js';
import { asAsync, convNetBytes, syntheticBatches } from './testmodels.js';

async function main(): Promise<void> {
  const [mode = 'plain', modelArg = 'convnet', nb = '8', bs = '4', sz = '224'] = process.argv.slice(2);
  const size = Number(sz);
  const model = modelArg === 'convnet' ? convNetBytes({ size, channels: [32, 64, 128], blocks: 2 }) : new Uint8Array(readFileSync(modelArg));
  const batches = syntheticBatches(Number(nb), Number(bs), size);
  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const threads = process.env.THREADS ? Number(process.env.THREADS) : undefined;
  let detail: Record<string, unknown>;
  if (mode === 'plain') {
    const s = await ort.InferenceSession.create(model, { graphOptimizationLevel: (process.env.OPT ?? 'all') as 'all', ...(threads ? { intraOpNumThreads: threads } : {}) });
    const tLoaded = performance.now();
    const inputName = s.inputNames[0]!;
    const meta = s.inputMetadata[0];
    const rank3 = meta !== undefined && meta.isTensor && meta.shape.length === 3;
    for (const b of batches) {
      if (!rank3) await s.run({ [inputName]: new ort.Tensor('float32', b.data, b.dims) });
      else {
        const per = b.data.length / b.count;
        for (let k = 0; k < b.count; k++) await s.run({ [inputName]: new ort.Tensor('float32', b.data.subarray(k * per, (k + 1) * per), b.dims.slice(1)) });
      }
    }
    detail = { setup: (tLoaded - t0) / 1000, loop: (performance.now() - tLoaded) / 1000 };
    await s.release();
  } else {
    const r = await runCalibration({
      model,
      batches: asAsync(batches),
      totalBatches: batches.length,
      algorithm: mode === 'minmax' ? 'minmax' : 'entropy',
      histogram: mode === 'exact' ? 'exact' : 'sampled',
      percentile: 99.99,
      provider: 'cpu',
      forceFetch: mode === 'fetch',
      ...(threads ? { threads } : {}),
      ...(process.env.SAMPLE ? { sampleTarget: Number(process.env.SAMPLE) } : {}),
      log: (level, text) => {
        if (level !== 'info' || process.env.VERBOSE) console.error(`${(performance.now() / 1000).toFixed(2)} ${level}: ${text}`);
      },
      optimization: (process.env.OPT ?? 'all') as 'all',
      fetchGroup: 1000,
      ...(process.env.PROFILE ? { profilePrefix: process.env.PROFILE } : {}),
    });
    if (process.env.SHOW_UNCALIBRATED) console.error(JSON.stringify(r.uncalibrated.slice(0, 20), null, 1));
    detail = { setup: r.setupSeconds, loop: r.seconds - r.setupSeconds, tensors: r.tensors.length, uncalibrated: r.uncalibrated.length, method: r.method };
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  console.log(JSON.stringify({ mode, model: modelArg, seconds: +seconds.toFixed(3), cpuSeconds: +((cpu.user + cpu.system) / 1e6).toFixed(3), maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024), startRssMB: Math.round(rss0 / 2 ** 20), ...detail }));
}

await main();
