#!/usr/bin/env node
// Generates the bundled sample into ./sample (or the folder given): a small Mask R-CNN-shaped
// ONNX model (plain and sealed as .tlt with the sample key), a TAO experiment spec for it,
// synthetic images, COCO annotations and TFRecords in TAO dataset_convert's layout.
// Deterministic for a given seed. Nothing it writes is committed.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { buildSampleModel } from './sample/model.js';
import { renderScene, SAMPLE_CATEGORIES, type Scene } from './sample/scenes.js';
import { encodeExample } from '../electron/pipeline/data/example.js';
import { writeTfRecordFile } from '../electron/pipeline/data/tfrecord.js';
import { sealFile } from '../electron/pipeline/model/index.js';

export const SAMPLE_KEY = 'nvidia_tlt';
export const SAMPLE_IMAGE_SIZE: [number, number] = [320, 512];
export const SAMPLE_NUM_CLASSES = 5; // background + ids up to 4 (id 3 unused)

export interface SampleLayout {
  dir: string;
  onnx: string;
  tlt: string;
  spec: string;
  images: string;
  calImages: string;
  tfrecords: string;
  valJson: string;
}

export function sampleLayout(dir: string): SampleLayout {
  return {
    dir,
    onnx: path.join(dir, 'model.onnx'),
    tlt: path.join(dir, 'model.tlt'),
    spec: path.join(dir, 'spec.txt'),
    images: path.join(dir, 'images'),
    calImages: path.join(dir, 'cal_images'),
    tfrecords: path.join(dir, 'tfrecords'),
    valJson: path.join(dir, 'annotations', 'instances_val.json'),
  };
}

function specText(): string {
  const [h, w] = SAMPLE_IMAGE_SIZE;
  return `# Export Studio bundled sample: a TAO Mask R-CNN experiment spec for the sample model.
seed: 123
use_amp: False
warmup_steps: 0
total_steps: 1000
num_epochs: 1
train_batch_size: 2
eval_batch_size: 2
num_steps_per_eval: 100
momentum: 0.9
l2_weight_decay: 0.0001
init_learning_rate: 0.02
learning_rate_steps: "[500, 800]"
learning_rate_decay_levels: "[0.1, 0.01]"

data_config{
    image_size: "(${h}, ${w})"
    augment_input_data: True
    eval_samples: 8
    training_file_pattern: "tfrecords/train-*.tfrecord"
    validation_file_pattern: "tfrecords/val-*.tfrecord"
    val_json_file: "annotations/instances_val.json"
    num_classes: ${SAMPLE_NUM_CLASSES}
    skip_crowd_during_training: True
    max_num_instances: 20
}

maskrcnn_config {
    nlayers: 18
    arch: "resnet"
    freeze_bn: True
    freeze_blocks: "[0]"
    gt_mask_size: 56
    rpn_positive_overlap: 0.7
    rpn_negative_overlap: 0.3
    batch_size_per_im: 256
    fg_fraction: 0.25
    fast_rcnn_mlp_head_dim: 256
    bbox_reg_weights: "(10., 10., 5., 5.)"
    include_mask: True
    mrcnn_resolution: 28
    test_detections_per_image: 100
    test_nms: 0.5
    test_rpn_pre_nms_topn: 1000
    test_rpn_post_nms_topn: 1000
    test_rpn_nms_thresh: 0.7
    min_level: 2
    max_level: 6
    num_scales: 1
    aspect_ratios: "[(1.0, 1.0), (1.4, 0.7), (0.7, 1.4)]"
    anchor_scale: 8
}
`;
}

function exampleFor(scene: Scene, id: number): Uint8Array {
  const W = scene.width;
  const H = scene.height;
  const o = scene.objects;
  return encodeExample({
    'image/height': { kind: 'int64', value: [H] },
    'image/width': { kind: 'int64', value: [W] },
    'image/filename': { kind: 'bytes', value: [scene.fileName] },
    'image/source_id': { kind: 'bytes', value: [String(id)] },
    'image/key/sha256': { kind: 'bytes', value: [createHash('sha256').update(scene.bytes).digest('hex')] },
    'image/encoded': { kind: 'bytes', value: [scene.bytes] },
    'image/format': { kind: 'bytes', value: ['jpeg'] }, // always "jpeg", even for PNG (TAO convention)
    'image/object/bbox/xmin': { kind: 'float', value: o.map((b) => b.bbox[0] / W) },
    'image/object/bbox/xmax': { kind: 'float', value: o.map((b) => (b.bbox[0] + b.bbox[2]) / W) },
    'image/object/bbox/ymin': { kind: 'float', value: o.map((b) => b.bbox[1] / H) },
    'image/object/bbox/ymax': { kind: 'float', value: o.map((b) => (b.bbox[1] + b.bbox[3]) / H) },
    'image/object/class/text': { kind: 'bytes', value: o.map((b) => SAMPLE_CATEGORIES.find((c) => c.id === b.categoryId)?.name ?? '') },
    'image/object/class/label': { kind: 'int64', value: o.map((b) => b.categoryId) },
    'image/object/is_crowd': { kind: 'int64', value: o.map(() => 0) },
    'image/object/area': { kind: 'float', value: o.map((b) => b.bbox[2] * b.bbox[3]) },
  });
}

export interface MakeSampleOptions {
  dir: string;
  seed?: number;
  trainShards?: number;
  trainPerShard?: number;
  valImages?: number;
  calImages?: number;
  force?: boolean;
  log?: (s: string) => void;
}

/** Generate the sample; skips work when the folder already holds a complete sample for the seed. */
export async function makeSample(o: MakeSampleOptions): Promise<SampleLayout> {
  const seed = o.seed ?? 1;
  const L = sampleLayout(path.resolve(o.dir));
  const log = o.log ?? (() => undefined);
  const stamp = path.join(L.dir, '.complete');
  const want = JSON.stringify({ seed, v: 1, shards: o.trainShards ?? 4, per: o.trainPerShard ?? 16, val: o.valImages ?? 8, cal: o.calImages ?? 24 });
  if (!o.force && (await fs.readFile(stamp, 'utf8').catch(() => '')) === want) return L;
  await fs.rm(L.dir, { recursive: true, force: true });
  for (const d of [L.images, L.calImages, L.tfrecords, path.dirname(L.valJson)]) await fs.mkdir(d, { recursive: true });

  const [h, w] = SAMPLE_IMAGE_SIZE;
  const model = buildSampleModel({ height: h, width: w, numClasses: SAMPLE_NUM_CLASSES, seed });
  await fs.writeFile(L.onnx, model);
  await sealFile(L.onnx, L.tlt, SAMPLE_KEY, { format: 'tlt', overwrite: true });
  await fs.writeFile(L.spec, specText());
  log(`model ${path.basename(L.onnx)} (${model.length} bytes), sealed ${path.basename(L.tlt)} with key '${SAMPLE_KEY}'`);

  const shards = o.trainShards ?? 4;
  const per = o.trainPerShard ?? 16;
  let index = 0;
  for (let s = 0; s < shards; s++) {
    const records: Uint8Array[] = [];
    for (let i = 0; i < per; i++, index++) {
      const scene = await renderScene(index, seed);
      records.push(exampleFor(scene, index + 1));
    }
    await writeTfRecordFile(path.join(L.tfrecords, `train-${String(s).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.tfrecord`), records, { overwrite: true });
  }
  const valScenes: Scene[] = [];
  for (let i = 0; i < (o.valImages ?? 8); i++, index++) valScenes.push(await renderScene(index, seed));
  await writeTfRecordFile(path.join(L.tfrecords, 'val-00000-of-00001.tfrecord'), valScenes.map((sc, i) => exampleFor(sc, 10_000 + i)), { overwrite: true });
  const coco = {
    info: { description: 'Export Studio sample (synthetic)' },
    images: valScenes.map((sc, i) => ({ id: 10_000 + i, file_name: sc.fileName, width: sc.width, height: sc.height })),
    annotations: valScenes.flatMap((sc, i) => sc.objects.map((ob, j) => ({ id: i * 100 + j + 1, image_id: 10_000 + i, category_id: ob.categoryId, bbox: ob.bbox, area: ob.bbox[2] * ob.bbox[3], iscrowd: 0 }))),
    categories: SAMPLE_CATEGORIES.map((c) => ({ id: c.id, name: c.name, supercategory: 'shape' })),
  };
  await fs.writeFile(L.valJson, JSON.stringify(coco, null, 1));
  for (let i = 0; i < (o.calImages ?? 24); i++, index++) {
    const scene = await renderScene(index, seed);
    await fs.writeFile(path.join(L.calImages, scene.fileName), scene.bytes);
    if (i < 8) await fs.writeFile(path.join(L.images, scene.fileName), scene.bytes);
  }
  log(`${shards}×${per} training records, ${valScenes.length} validation records, ${o.calImages ?? 24} calibration images`);
  await fs.writeFile(stamp, want);
  return L;
}

const isMain = process.argv[1] !== undefined && import.meta.url === new URL(`file://${path.resolve(process.argv[1])}`).href;
if (isMain) {
  const dir = process.argv[2] ?? 'sample';
  const L = await makeSample({ dir, force: process.argv.includes('--force'), log: (s) => console.log(s) });
  console.log(`sample ready in ${L.dir}`);
}
