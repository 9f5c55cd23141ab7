import type { PreprocessingPreset, ResizeMode } from '../../../shared/request.js';

export interface PreprocessingPresetValues {
  /** Per-channel mean in 0–255 pixel units, in the preset's channel order. */
  mean: [number, number, number];
  /** Multiplier applied after subtracting the mean. */
  scale: [number, number, number];
  order: 'rgb' | 'bgr';
  layout: 'nchw' | 'nhwc';
  resize: ResizeMode;
  /** One line for the report. */
  description: string;
}

const TAO_STD = 0.224 * 255;

/**
 * tao-maskrcnn: nvidia_tao_tf1/cv/mask_rcnn/ops/preprocess_ops.py normalize_image (mode 'th'):
 * (x/255 − [0.485, 0.456, 0.406]) / 0.224 = (x − [123.675, 116.28, 103.53]) · 1/57.12.
 * imagenet: torchvision's mean/std ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]) × 255.
 * unit: x / 255.
 */
export const PRESETS: Readonly<Record<PreprocessingPreset, PreprocessingPresetValues>> = {
  'tao-maskrcnn': {
    mean: [123.675, 116.28, 103.53],
    scale: [1 / TAO_STD, 1 / TAO_STD, 1 / TAO_STD],
    order: 'rgb',
    layout: 'nchw',
    resize: 'keep-aspect-pad',
    description: 'TAO Mask R-CNN: RGB, (x − [123.675, 116.28, 103.53]) / 57.12, keep aspect + zero pad',
  },
  imagenet: {
    mean: [123.675, 116.28, 103.53],
    scale: [1 / 58.395, 1 / 57.12, 1 / 57.375],
    order: 'rgb',
    layout: 'nchw',
    resize: 'stretch',
    description: 'ImageNet: RGB, (x − [123.675, 116.28, 103.53]) / [58.395, 57.12, 57.375], stretch',
  },
  unit: {
    mean: [0, 0, 0],
    scale: [1 / 255, 1 / 255, 1 / 255],
    order: 'rgb',
    layout: 'nchw',
    resize: 'stretch',
    description: '0–1: RGB, x / 255, stretch',
  },
};
