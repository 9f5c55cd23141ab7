/**
 * Cross-check against an independent implementation: ONNX Runtime's Resize (mode linear) with
 * coordinate_transformation_mode 'asymmetric' is TF1's resize_bilinear(align_corners=False) and
 * 'half_pixel' is TF2's tf.image.resize — the mappings tf2onnx uses for those ops.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { named, pythonModule } from '../../../test/support/needs.js';
import { resizeBilinear, type ResizeMapping } from './resize.js';
import { tempDir } from './test-images.js';

const PY = '/usr/bin/python3';
const MODEL = `
import sys, onnx
from onnx import helper, TensorProto
mode, out = sys.argv[1], sys.argv[2]
node = helper.make_node('Resize', ['x', '', '', 'sizes'], ['y'], mode='linear', coordinate_transformation_mode=mode)
g = helper.make_graph([node], 'r', [helper.make_tensor_value_info('x', TensorProto.FLOAT, ['n', 'c', 'h', 'w']),
                                     helper.make_tensor_value_info('sizes', TensorProto.INT64, [4])],
                      [helper.make_tensor_value_info('y', TensorProto.FLOAT, None)])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)]), out)
`;
const ONNX_PY = pythonModule('onnx', 'python3-onnx');
const haveOnnx = ONNX_PY.ok;

let dir: string | undefined;
afterAll(async () => {
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

describe.skipIf(!haveOnnx)(named('resizeBilinear vs ONNX Runtime Resize', ONNX_PY), () => {
  it.each([
    ['asymmetric', 'asymmetric'],
    ['half-pixel', 'half_pixel'],
  ] as const)('%s matches ORT on up/down/non-square sizes', async (mapping: ResizeMapping, onnxMode) => {
    dir ??= await tempDir('es-resize-');
    const file = path.join(dir, `${onnxMode}.onnx`);
    execFileSync(PY, ['-c', MODEL, onnxMode, file]);
    const session = await ort.InferenceSession.create(file);
    const [h, w, c] = [7, 10, 3];
    const hwc = Float32Array.from({ length: h * w * c }, (_, i) => ((i * 7919) % 256) - 0.5 * (i % 3));
    const chw = new Float32Array(hwc.length);
    for (let i = 0; i < h * w; i++) for (let k = 0; k < c; k++) chw[k * h * w + i] = hwc[i * c + k]!;
    for (const [oh, ow] of [[13, 21], [3, 4], [7, 10], [16, 5], [1, 1]] as const) {
      const { y } = await session.run({ x: new ort.Tensor('float32', chw, [1, c, h, w]), sizes: new ort.Tensor('int64', BigInt64Array.from([1n, BigInt(c), BigInt(oh), BigInt(ow)]), [4]) });
      const ref = y!.data as Float32Array;
      const ours = resizeBilinear(hwc, h, w, c, oh, ow, mapping);
      let maxErr = 0;
      for (let i = 0; i < oh * ow; i++) for (let k = 0; k < c; k++) maxErr = Math.max(maxErr, Math.abs(ours[i * c + k]! - ref[k * oh * ow + i]!));
      expect(maxErr, `${h}×${w} → ${oh}×${ow}`).toBeLessThan(1e-3);
    }
    await session.release();
  });
});
