// Loads an ONNX file in onnxruntime-node, runs it once on a seeded [0,1) input and prints
// input/output names and shapes. Used by export_maskrcnn.py; also usable on its own:
//   node scripts/torchvision/verify-onnx.mjs /tmp/tv-maskrcnn.onnx
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import ort from 'onnxruntime-node';

const file = process.argv[2];
if (!file) {
  console.error('usage: node verify-onnx.mjs MODEL.onnx');
  process.exit(2);
}

const t0 = performance.now();
const session = await ort.InferenceSession.create(readFileSync(file), { graphOptimizationLevel: 'all' });
const t1 = performance.now();
const feeds = {};
for (const name of session.inputNames) {
  const meta = session.inputMetadata.find((m) => m.name === name);
  const dims = (meta?.shape ?? []).map((d) => (typeof d === 'number' && d > 0 ? d : 1));
  const n = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    data[i] = (s >>> 8) / 16777216;
  }
  feeds[name] = new ort.Tensor('float32', data, dims);
  console.log(`input  ${name} [${dims.join(',')}]`);
}
const out = await session.run(feeds);
const t2 = performance.now();
for (const name of session.outputNames) {
  const t = out[name];
  console.log(`output ${name} ${t.type} [${t.dims.join(',')}]`);
}
console.log(`onnxruntime-node: session created in ${(t1 - t0).toFixed(0)} ms, first run ${(t2 - t1).toFixed(0)} ms`);
await session.release();
