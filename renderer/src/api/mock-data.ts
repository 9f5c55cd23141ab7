import type { DirEntry, GpuList, ImageEntry, SpecSummary } from '../../../shared/api.js';
import type { StudioErrorData } from '../../../shared/errors.js';
import type { ModelSummary } from '../../../shared/report.js';

/** Fake data for the dev page (renderer/dev.html): a Mask R-CNN user's home folder. */
export const MOCK_HOME = '/home/ml';
export const MOCK_KEY = 'nvidia_tlt';

export const MASKRCNN_SUMMARY: ModelSummary = {
  format: 'tlt',
  irVersion: 7,
  opsets: [
    { domain: '', version: 12 },
    { domain: 'trt.plugins', version: 1 },
  ],
  producer: 'tf2onnx 1.9.3',
  inputs: [{ name: 'Input', type: 'float32', shape: ['N', 3, 832, 1344] }],
  outputs: [
    { name: 'generate_detections', type: 'float32', shape: ['N', 100, 6] },
    { name: 'mask_fcn_logits/BiasAdd', type: 'float32', shape: ['N', 100, 2, 28, 28] },
  ],
  nodeCount: 1873,
  initializerCount: 412,
  parameterCount: 44_356_772,
  opCounts: { Conv: 113, Relu: 98, Add: 61, BatchNormalization: 53, Reshape: 44, Transpose: 38, Concat: 27, MaxPool: 5, Resize: 4, Sigmoid: 3, Gemm: 3 },
  customOps: [
    { domain: 'trt.plugins', opType: 'MultilevelProposeROI_TRT', count: 1 },
    { domain: 'trt.plugins', opType: 'MultilevelCropAndResize_TRT', count: 2 },
    { domain: 'trt.plugins', opType: 'GenerateDetection_TRT', count: 1 },
    { domain: 'trt.plugins', opType: 'SpecialSlice_TRT', count: 1 },
  ],
  externalData: false,
  sha256: '3f6a1c9e0b2d4e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f',
  bytes: 178_456_112,
};

export const PEOPLESEG_SUMMARY: ModelSummary = {
  ...MASKRCNN_SUMMARY,
  format: 'onnx',
  producer: 'pytorch 1.13.1',
  inputs: [{ name: 'images', type: 'float32', shape: [1, 3, 544, 960] }],
  outputs: [
    { name: 'boxes', type: 'float32', shape: [1, 'num_det', 4] },
    { name: 'masks', type: 'float32', shape: [1, 'num_det', 544, 960] },
  ],
  nodeCount: 742,
  parameterCount: 25_610_000,
  opCounts: { Conv: 72, Relu: 66, Add: 16, Resize: 3, Concat: 9, Sigmoid: 2 },
  customOps: [],
  opsets: [{ domain: '', version: 17 }],
  sha256: 'a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8',
  bytes: 102_441_000,
};

export const GOOD_SPEC: SpecSummary = {
  path: `${MOCK_HOME}/specs/maskrcnn_retrain.txt`,
  imageSize: [832, 1344],
  numClasses: 91,
  trainingFilePattern: '/workspace/data/coco/train*.tfrecord',
  validationFilePattern: '/workspace/data/coco/val*.tfrecord',
  valJsonFile: '/workspace/data/coco/annotations/instances_val2017.json',
  trainingFiles: Array.from({ length: 4 }, (_, i) => ({ path: `/workspace/data/coco/train-0000${i}-of-00004.tfrecord`, records: 2957 + i * 13 })),
  valJsonFound: true,
  warnings: [{ message: 'unknown field "use_amp" ignored (TAO 3.x only)', line: 14, column: 3 }],
};

export const SPEC_SYNTAX_ERROR: StudioErrorData = {
  code: 'E_SPEC_SYNTAX',
  message: 'expected ":" or "{" after field name "num_classes"',
  hint: 'Protobuf text format writes a scalar as `name: value`. Add the colon.',
  file: `${MOCK_HOME}/specs/maskrcnn_typo.txt`,
  line: 23,
  column: 15,
  excerpt: ['22 |   image_size: "(832, 1344)"', '23 |   num_classes 91', '   |               ^'].join('\n'),
};

export const WRONG_KEY_ERROR = (path: string): StudioErrorData => ({
  code: 'E_WRONG_KEY_OR_CORRUPT',
  message: 'The key does not decrypt this model (the first block is not an ONNX ModelProto)',
  hint: 'Use the key the model was trained or exported with (tao … -k KEY). Keys are case-sensitive.',
  file: path,
  offset: 4,
});

const IMAGE_WORDS = ['street', 'crossing', 'warehouse', 'dock', 'parking', 'lobby', 'platform', 'aisle'];

export function mockImages(dir: string, count: number): ImageEntry[] {
  return Array.from({ length: count }, (_, i) => {
    const name = `${IMAGE_WORDS[i % IMAGE_WORDS.length]}_${String(i).padStart(5, '0')}.${i % 5 === 0 ? 'png' : 'jpg'}`;
    return { id: `img-${dir.length}-${i}`, name, path: `${dir}/${name}`, bytes: 120_000 + ((i * 7919) % 380_000) };
  });
}

interface FakeDir {
  entries: DirEntry[];
}

function file(dir: string, name: string, bytes: number): DirEntry {
  return { name, path: `${dir}/${name}`, kind: 'file', bytes };
}
function folder(dir: string, name: string): DirEntry {
  return { name, path: `${dir}/${name}`, kind: 'dir' };
}

export const IMAGE_DIRS: Record<string, number> = {
  [`${MOCK_HOME}/data/calib_images`]: 2400,
  [`${MOCK_HOME}/data/small_set`]: 12,
};

export function mockTree(): Record<string, FakeDir> {
  const h = MOCK_HOME;
  const tree: Record<string, FakeDir> = {
    '/': { entries: [folder('', 'home')].map((e) => ({ ...e, path: '/home' })) },
    '/home': { entries: [folder('/home', 'ml')] },
    [h]: { entries: [folder(h, 'data'), folder(h, 'models'), folder(h, 'specs'), folder(h, 'exports')] },
    [`${h}/models`]: {
      entries: [
        file(`${h}/models`, 'broken.onnx', 2_048),
        file(`${h}/models`, 'maskrcnn_resnet50.etlt', 178_456_148),
        file(`${h}/models`, 'maskrcnn_resnet50.tlt', 178_456_112),
        file(`${h}/models`, 'maskrcnn_resnet50.cal.bin', 41_233),
        file(`${h}/models`, 'peoplesegnet.onnx', 102_441_000),
      ],
    },
    [`${h}/specs`]: { entries: [file(`${h}/specs`, 'maskrcnn_retrain.txt', 3_112), file(`${h}/specs`, 'maskrcnn_typo.txt', 3_098)] },
    [`${h}/data`]: {
      entries: [folder(`${h}/data`, 'calib_images'), folder(`${h}/data`, 'small_set'), file(`${h}/data`, 'calib.tensorfile', 1_310_720_000)],
    },
    [`${h}/exports`]: { entries: [] },
  };
  for (const [dir, n] of Object.entries(IMAGE_DIRS)) {
    tree[dir] = { entries: mockImages(dir, Math.min(n, 60)).map((i) => ({ name: i.name, path: i.path, kind: 'file' as const, bytes: i.bytes })) };
  }
  return tree;
}

export const MOCK_GPUS: GpuList = {
  gpus: [
    { index: 0, name: 'NVIDIA RTX A6000', memoryUsedMiB: 1_243, memoryTotalMiB: 49_140, utilizationPct: 3, pciBusId: '00000000:17:00.0' },
    { index: 1, name: 'NVIDIA GeForce RTX 3090', memoryUsedMiB: 18_502, memoryTotalMiB: 24_576, utilizationPct: 87, pciBusId: '00000000:65:00.0' },
  ],
  cudaProvider: 'installed',
};

/** A small deterministic colour per image, so thumbnails differ without any files. */
export function hueOf(id: string): number {
  let h = 2166136261;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619) >>> 0;
  // murmur3 finalizer: neighbouring ids get unrelated hues
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  return h % 360;
}

export function svgDataUrl(svg: string): string {
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
}

export function thumbnailSvg(id: string, size: number): string {
  const hue = hueOf(id);
  const h2 = (hue + 40) % 360;
  const w = size;
  const hh = Math.round(size * 0.75);
  return svgDataUrl(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${hh}" viewBox="0 0 160 120">` +
      `<defs><linearGradient id="g" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="hsl(${hue},55%,72%)"/><stop offset="1" stop-color="hsl(${h2},45%,38%)"/></linearGradient></defs>` +
      `<rect width="160" height="120" fill="url(#g)"/><rect x="0" y="82" width="160" height="38" fill="hsl(${h2},20%,28%)"/>` +
      `<rect x="${20 + (hue % 70)}" y="48" width="16" height="40" rx="6" fill="hsl(${hue},30%,18%)"/>` +
      `<circle cx="${28 + (hue % 70)}" cy="42" r="7" fill="hsl(${hue},30%,18%)"/>` +
      `<rect x="${90 - (hue % 40)}" y="64" width="46" height="22" rx="4" fill="hsl(${(hue + 180) % 360},50%,45%)"/></svg>`,
  );
}
