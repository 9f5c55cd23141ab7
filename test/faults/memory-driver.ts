// Runs one worst-accepted-size case in its own process (spawned by memory.test.ts under
// --max-old-space-size) and prints {"ok":true,"maxRssMiB":N,...} on the last line.
import fs from 'node:fs/promises';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { loadSpec } from '../../electron/pipeline/spec/index.js';
import { buildLabels } from '../../electron/pipeline/deploy/labels.js';
import { nvinferConfig } from '../../electron/pipeline/deploy/dsconfig.js';
import { indexTfRecordFile, readTfRecords } from '../../electron/pipeline/data/tfrecord.js';
import { previewTensorRead } from '../../electron/worker/reads.js';
import { OutputSet } from '../../electron/pipeline/io/outputs.js';
import { TensorfileWriter } from '../../electron/pipeline/data/tensorfile.js';

const [, , which, ...args] = process.argv;
// Peak resident memory of this process: VmHWM, not getrusage's maxRSS. Linux carries maxRSS over
// fork + exec, so a child spawned by a big parent (the vitest worker) reported the parent's peak.
const rssMiB = (): number => {
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : process.resourceUsage().maxRSS / 1024;
};
const out: Record<string, unknown> = { case: which };

switch (which) {
  case 'spec': {
    const { spec } = await loadSpec(args[0] as string);
    out.numClasses = spec.numClasses;
    break;
  }
  case 'classes': {
    const n = Number(args[0]);
    const labels = await buildLabels(undefined, n);
    const { text } = nvinferConfig({ onnxFile: 'm.onnx', precision: 'fp32', imageSize: [832, 1344], numClasses: n, outputBlobNames: ['generate_detections', 'mask_fcn_logits/BiasAdd'] });
    out.labelLines = labels.text.split('\n').length - 1;
    out.configBytes = text.length;
    break;
  }
  case 'tfrecord': {
    const ix = await indexTfRecordFile(args[0] as string);
    out.records = ix.records.length;
    out.recordBytes = ix.records[0]?.length;
    out.indexRssMiB = rssMiB();
    for await (const r of readTfRecords(ix, ix.records)) out.read = r.data ? r.data.length : String(r.error);
    break;
  }
  case 'preview': {
    const size = Number(args[1]);
    const p = await previewTensorRead({ path: args[0] as string, specPath: null, preprocessing: { preset: 'tao-maskrcnn', size: [size, size] }, resize: 'keep-aspect-pad' });
    out.width = p.width;
    out.pngChars = p.png.length;
    break;
  }
  case 'tensorfile': {
    const [dir, batchesText, per] = args as [string, string, string];
    const batches = Number(batchesText);
    const side = Number(per);
    const outputs = new OutputSet({ overwrite: true });
    const w = await TensorfileWriter.open(outputs, path.join(dir, 'cal.h5'));
    for (let i = 0; i < batches; i++) {
      // A fresh batch each time, as calibration produces them; the writer must not keep it.
      const data = new Float32Array(2 * 3 * side * side).fill(i);
      w.add({ ids: [`${i}a`, `${i}b`], count: 2, dims: [2, 3, side, side], data });
    }
    out.written = w.finish();
    await outputs.commit();
    out.fileBytes = (await fs.stat(path.join(dir, 'cal.h5'))).size;
    break;
  }
  default:
    throw new Error(`unknown case ${which}`);
}
out.ok = true;
out.maxRssMiB = Math.round(rssMiB());
process.stdout.write(JSON.stringify(out) + '\n');
