import type { MessageSchema, MessageTS } from './schema.js';

/**
 * TAO Mask R-CNN's experiment spec schema, field for field, from
 * github.com/NVIDIA/tao_tensorflow1_backend (TAO 5.0, d73dcfc… / d700902):
 * `nvidia_tao_tf1/cv/mask_rcnn/proto/{experiment,data_config,maskrcnn_config}.proto` and
 * `nvidia_tao_tf1/cv/common/proto/{wandb_config,clearml_config}.proto`. All proto3.
 * Field numbers are kept for reference; commented-out fields in the .proto files are absent.
 */

export const WandbConfigSchema = {
  name: 'WandBConfig',
  fields: {
    enabled: { kind: 'bool', number: 1 },
    key: { kind: 'string', number: 2, secret: true },
    project: { kind: 'string', number: 3 },
    entity: { kind: 'string', number: 4 },
    reinit: { kind: 'bool', number: 5 },
    name: { kind: 'string', number: 6 },
    tags: { kind: 'string', number: 7, repeated: true },
    wandb_dir: { kind: 'string', number: 8 },
    notes: { kind: 'string', number: 9 },
    mode: { kind: 'enum', number: 10, values: ['ONLINE', 'OFFLINE', 'DISABLED'] },
  },
} as const satisfies MessageSchema;

export const ClearmlConfigSchema = {
  name: 'ClearMLConfig',
  fields: {
    project: { kind: 'string', number: 1 },
    task: { kind: 'string', number: 2 },
    tags: { kind: 'string', number: 3, repeated: true },
    reuse_last_task_id: { kind: 'bool', number: 4 },
    continue_last_task: { kind: 'bool', number: 5 },
    deferred_init: { kind: 'bool', number: 6 },
  },
} as const satisfies MessageSchema;

export const DataConfigSchema = {
  name: 'DataConfig',
  fields: {
    /** Python tuple string "(H, W)"; fixes the exported input shape. */
    image_size: { kind: 'string', number: 1 },
    augment_input_data: { kind: 'bool', number: 2 },
    /** Includes background; category ids are used raw, so it must exceed the largest id. */
    num_classes: { kind: 'uint32', number: 3 },
    skip_crowd_during_training: { kind: 'bool', number: 4 },
    training_file_pattern: { kind: 'string', number: 6 },
    validation_file_pattern: { kind: 'string', number: 7 },
    /** COCO annotations; the source of labels.txt. */
    val_json_file: { kind: 'string', number: 8 },
    eval_samples: { kind: 'uint32', number: 9 },
    prefetch_buffer_size: { kind: 'uint32', number: 10 },
    shuffle_buffer_size: { kind: 'uint32', number: 11 },
    n_workers: { kind: 'uint32', number: 12 },
    max_num_instances: { kind: 'uint32', number: 13 },
  },
} as const satisfies MessageSchema;

export const MaskRcnnConfigSchema = {
  name: 'MaskRCNNConfig',
  fields: {
    rpn_box_loss_weight: { kind: 'float', number: 1 },
    fast_rcnn_box_loss_weight: { kind: 'float', number: 2 },
    mrcnn_weight_loss_mask: { kind: 'float', number: 3 },
    freeze_bn: { kind: 'bool', number: 4 },
    /** Python tuple string of 4 numbers, e.g. "(10., 10., 5., 5.)". */
    bbox_reg_weights: { kind: 'string', number: 5 },
    /** Python list of (w, h) tuples, e.g. "[(1.0, 1.0), (1.4, 0.7), (0.7, 1.4)]". */
    aspect_ratios: { kind: 'string', number: 6 },
    gt_mask_size: { kind: 'uint32', number: 7 },
    rpn_positive_overlap: { kind: 'float', number: 8 },
    rpn_negative_overlap: { kind: 'float', number: 9 },
    rpn_batch_size_per_im: { kind: 'uint32', number: 10 },
    rpn_fg_fraction: { kind: 'float', number: 11 },
    rpn_min_size: { kind: 'float', number: 12 },
    batch_size_per_im: { kind: 'uint32', number: 13 },
    fg_fraction: { kind: 'float', number: 14 },
    fg_thresh: { kind: 'float', number: 15 },
    bg_thresh_hi: { kind: 'float', number: 16 },
    bg_thresh_lo: { kind: 'float', number: 17 },
    fast_rcnn_mlp_head_dim: { kind: 'uint32', number: 18 },
    include_mask: { kind: 'bool', number: 19 },
    mrcnn_resolution: { kind: 'uint32', number: 20 },
    train_rpn_pre_nms_topn: { kind: 'uint32', number: 21 },
    train_rpn_post_nms_topn: { kind: 'uint32', number: 22 },
    train_rpn_nms_threshold: { kind: 'float', number: 23 },
    test_detections_per_image: { kind: 'uint32', number: 24 },
    test_nms: { kind: 'float', number: 25 },
    test_rpn_pre_nms_topn: { kind: 'uint32', number: 26 },
    test_rpn_post_nms_topn: { kind: 'uint32', number: 27 },
    test_rpn_nms_thresh: { kind: 'float', number: 28 },
    min_level: { kind: 'uint32', number: 29 },
    max_level: { kind: 'uint32', number: 30 },
    num_scales: { kind: 'uint32', number: 31 },
    anchor_scale: { kind: 'uint32', number: 32 },
    arch: { kind: 'string', number: 33 },
    nlayers: { kind: 'uint32', number: 34 },
    /** Python list of block indices, e.g. "[0,1]". */
    freeze_blocks: { kind: 'string', number: 35 },
  },
} as const satisfies MessageSchema;

export const ExperimentSchema = {
  name: 'Experiment',
  fields: {
    maskrcnn_config: { kind: 'message', number: 1, message: MaskRcnnConfigSchema },
    data_config: { kind: 'message', number: 2, message: DataConfigSchema },
    skip_checkpoint_variables: { kind: 'string', number: 3 },
    train_batch_size: { kind: 'uint32', number: 5 },
    save_checkpoints_steps: { kind: 'uint32', number: 6 },
    num_steps_per_eval: { kind: 'uint32', number: 7 },
    momentum: { kind: 'float', number: 8 },
    l2_weight_decay: { kind: 'float', number: 10 },
    warmup_learning_rate: { kind: 'float', number: 11 },
    init_learning_rate: { kind: 'float', number: 12 },
    global_gradient_clip_ratio: { kind: 'float', number: 13 },
    total_steps: { kind: 'uint32', number: 14 },
    visualize_images_summary: { kind: 'bool', number: 15 },
    checkpoint: { kind: 'string', number: 19 },
    eval_batch_size: { kind: 'uint32', number: 20 },
    warmup_steps: { kind: 'uint32', number: 21 },
    /** Python list of step numbers, e.g. "[100000, 150000]". */
    learning_rate_steps: { kind: 'string', number: 22 },
    /** Python list of multipliers, one per step, e.g. "[0.1, 0.02]". */
    learning_rate_decay_levels: { kind: 'string', number: 23 },
    seed: { kind: 'uint32', number: 24 },
    report_frequency: { kind: 'uint32', number: 25 },
    use_amp: { kind: 'bool', number: 26 },
    pruned_model_path: { kind: 'string', number: 27 },
    l1_weight_decay: { kind: 'float', number: 28 },
    num_epochs: { kind: 'uint32', number: 29 },
    num_examples_per_epoch: { kind: 'uint32', number: 30 },
    logging_frequency: { kind: 'uint32', number: 31 },
    wandb_config: { kind: 'message', number: 32, message: WandbConfigSchema },
    clearml_config: { kind: 'message', number: 33, message: ClearmlConfigSchema },
  },
} as const satisfies MessageSchema;

export type WandbConfig = MessageTS<typeof WandbConfigSchema>;
export type ClearmlConfig = MessageTS<typeof ClearmlConfigSchema>;
export type DataConfig = MessageTS<typeof DataConfigSchema>;
export type MaskRcnnConfig = MessageTS<typeof MaskRcnnConfigSchema>;
export type Experiment = MessageTS<typeof ExperimentSchema>;
