import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { file, met, named } from '../../../test/support/needs.js';
import { isSet, parseSpec, loadSpec, inputDims, pluginParams } from './index.js';

const repoRoot = path.resolve(import.meta.dirname, '../../..');
const FIXTURE = path.resolve(repoRoot, '../shared/fixtures/specs/tao_maskrcnn_default.txt');
const fixture = file(FIXTURE, 'the shared fixture specs/tao_maskrcnn_default.txt');

describe.skipIf(!met(fixture))(named('TAO default.txt', fixture), () => {
  it('parses to exactly the values written in the file', async () => {
    const { spec, warnings } = await loadSpec(FIXTURE);
    const e = spec.experiment;
    // Top level, in file order.
    expect(e.seed).toBe(123);
    expect(e.use_amp).toBe(false);
    expect(e.warmup_steps).toBe(0);
    expect(e.learning_rate_steps).toBe('[1, 2, 3]');
    expect(e.learning_rate_decay_levels).toBe('[0.1, 0.02, 0.002]');
    expect(e.total_steps).toBe(120000);
    expect(e.num_epochs).toBe(10);
    expect(e.num_examples_per_epoch).toBe(100);
    expect(e.train_batch_size).toBe(2);
    expect(e.eval_batch_size).toBe(4);
    expect(e.num_steps_per_eval).toBe(3);
    expect(e.momentum).toBe(0.9);
    expect(e.l2_weight_decay).toBe(0.0001);
    expect(e.l1_weight_decay).toBe(0);
    expect(e.warmup_learning_rate).toBe(0.0001);
    expect(e.init_learning_rate).toBe(0.02);
    // Commented out in the file: zero values, not set.
    expect(e.checkpoint).toBe('');
    expect(e.pruned_model_path).toBe('');
    expect(isSet(spec, 'checkpoint')).toBe(false);
    expect(isSet(spec, 'pruned_model_path')).toBe(false);
    // Never mentioned: proto3 zero values.
    expect(e.skip_checkpoint_variables).toBe('');
    expect(e.save_checkpoints_steps).toBe(0);
    expect(e.global_gradient_clip_ratio).toBe(0);
    expect(e.visualize_images_summary).toBe(false);
    expect(e.report_frequency).toBe(0);
    expect(e.logging_frequency).toBe(0);
    expect(e.wandb_config).toEqual({ enabled: false, key: '', project: '', entity: '', reinit: false, name: '', tags: [], wandb_dir: '', notes: '', mode: 'ONLINE' });
    expect(e.clearml_config).toEqual({ project: '', task: '', tags: [], reuse_last_task_id: false, continue_last_task: false, deferred_init: false });
    expect(isSet(spec, 'wandb_config')).toBe(false);

    expect(e.data_config).toEqual({
      image_size: '(832, 1344)',
      augment_input_data: true,
      num_classes: 91,
      skip_crowd_during_training: true,
      training_file_pattern: '/workspace/tlt-experiments/data/train*.tfrecord',
      validation_file_pattern: '/workspace/tlt-experiments/data/val*.tfrecord',
      val_json_file: '/workspace/tlt-experiments/data/annotations/instances_val2017.json',
      eval_samples: 5,
      prefetch_buffer_size: 0,
      shuffle_buffer_size: 0,
      n_workers: 0,
      max_num_instances: 200,
    });
    expect(e.maskrcnn_config).toEqual({
      nlayers: 50,
      arch: 'resnet',
      freeze_bn: true,
      freeze_blocks: '[0,1]',
      gt_mask_size: 112,
      rpn_positive_overlap: 0.7,
      rpn_negative_overlap: 0.3,
      rpn_batch_size_per_im: 256,
      rpn_fg_fraction: 0.5,
      rpn_min_size: 0,
      batch_size_per_im: 512,
      fg_fraction: 0.25,
      fg_thresh: 0.5,
      bg_thresh_hi: 0.5,
      bg_thresh_lo: 0,
      fast_rcnn_mlp_head_dim: 1024,
      bbox_reg_weights: '(10., 10., 5., 5.)',
      include_mask: true,
      mrcnn_resolution: 28,
      train_rpn_pre_nms_topn: 2000,
      train_rpn_post_nms_topn: 1000,
      train_rpn_nms_threshold: 0.7,
      test_detections_per_image: 100,
      test_nms: 0.5,
      test_rpn_pre_nms_topn: 1000,
      test_rpn_post_nms_topn: 1000,
      test_rpn_nms_thresh: 0.7,
      min_level: 2,
      max_level: 6,
      num_scales: 1,
      aspect_ratios: '[(1.0, 1.0), (1.4, 0.7), (0.7, 1.4)]',
      anchor_scale: 8,
      rpn_box_loss_weight: 1,
      fast_rcnn_box_loss_weight: 1,
      mrcnn_weight_loss_mask: 1,
    });

    // Derived values.
    expect(spec.imageSize).toEqual([832, 1344]);
    expect(inputDims(spec)).toEqual([3, 832, 1344]);
    expect(spec.aspectRatios).toEqual([[1, 1], [1.4, 0.7], [0.7, 1.4]]);
    expect(spec.bboxRegWeights).toEqual([10, 10, 5, 5]);
    expect(spec.freezeBlocks).toEqual([0, 1]);
    expect(spec.learningRateSteps).toEqual([1, 2, 3]);
    expect(spec.learningRateDecayLevels).toEqual([0.1, 0.02, 0.002]);
    expect(spec.numClasses).toBe(91);
    expect(pluginParams(spec)).toEqual({ numClasses: 91, keepTopK: 100, detectionIouThreshold: 0.5, rpnKeepTopK: 1000, rpnIouThreshold: 0.7, boxPooledSize: 7, maskPooledSize: 14 });
    expect(warnings).toEqual([]);
  });

  it('records where each field was written (data_config{ without a space included)', () => {
    const text = readFileSync(FIXTURE, 'utf8');
    const { spec } = parseSpec(text, FIXTURE);
    const lines = text.split('\n');
    const locate = (re: RegExp): { line: number; column: number } => {
      const i = lines.findIndex((l) => re.test(l));
      return { line: i + 1, column: (lines[i] ?? '').search(/\S/) + 1 };
    };
    expect(spec.set['data_config']).toEqual(locate(/^data_config\{/));
    expect(spec.set['data_config.image_size']).toEqual(locate(/^\s+image_size:/));
    expect(spec.set['maskrcnn_config.rpn_min_size']).toEqual(locate(/rpn_min_size: 0\.$/));
    expect(spec.set['use_amp']).toEqual(locate(/^use_amp: False/));
    // Every written field is recorded, and nothing else: count the `name:` / `name {` lines.
    const written = lines.filter((l) => /^\s*[a-z][a-z0-9_]*\s*(:|\{)/.test(l)).length;
    expect(Object.keys(spec.set)).toHaveLength(written);
  });
});
