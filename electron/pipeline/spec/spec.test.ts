import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StudioError } from '../../../shared/errors.js';
import { isSet, loadSpec, parseSpec, redactedExperiment, requireImageSize } from './index.js';

/** The smallest spec export accepts, so each test can add the one thing it is about. */
const BASE = 'data_config {\n  image_size: "(832, 1344)"\n  num_classes: 2\n}\n';

/** 1-based line/column of the `nth` occurrence of `needle` (plus `shift` characters). */
function posOf(text: string, needle: string, shift = 0, nth = 1): { line: number; column: number } {
  let at = -1;
  for (let k = 0; k < nth; k++) at = text.indexOf(needle, at + 1);
  if (at < 0) throw new Error(`${needle} not in text`);
  const before = text.slice(0, at + shift);
  const line = before.split('\n').length;
  return { line, column: at + shift - before.lastIndexOf('\n') };
}

function errorOf(text: string, options?: Parameters<typeof parseSpec>[2]): StudioError {
  try {
    parseSpec(text, 'spec.txt', options);
  } catch (e) {
    if (e instanceof StudioError) return e;
    throw e;
  }
  throw new Error('expected a StudioError');
}

describe('parseSpec: values', () => {
  it('reads every scalar syntax into its proto type', () => {
    const text =
      BASE +
      'use_amp: t\nvisualize_images_summary: 1\nmomentum: 10.\ninit_learning_rate: 1e-4\nl1_weight_decay: .5\n' +
      'l2_weight_decay: 2.5f\nglobal_gradient_clip_ratio: -inf\nwarmup_learning_rate: 3\nseed: 0x1F\ntotal_steps: 010\n' +
      'wandb_config { mode: 2 tags: "a" tags: ["b", "c"]; key: "secret" }\nclearml_config: { project: \'p\' deferred_init: True }';
    const { spec } = parseSpec(text, 'spec.txt');
    const e = spec.experiment;
    expect([e.use_amp, e.visualize_images_summary]).toEqual([true, true]);
    expect([e.momentum, e.init_learning_rate, e.l1_weight_decay, e.l2_weight_decay]).toEqual([10, 1e-4, 0.5, 2.5]);
    expect(e.global_gradient_clip_ratio).toBe(-Infinity);
    expect(e.warmup_learning_rate).toBe(3);
    expect(e.seed).toBe(31);
    expect(e.total_steps).toBe(8); // a leading 0 is octal in protobuf text format
    expect(e.wandb_config.mode).toBe('DISABLED');
    expect(e.wandb_config.tags).toEqual(['a', 'b', 'c']);
    expect(e.clearml_config).toMatchObject({ project: 'p', deferred_init: true, reuse_last_task_id: false });
    expect(isSet(spec, 'wandb_config.tags')).toBe(true);
    expect(isSet(spec, 'clearml_config.task')).toBe(false);
    expect(redactedExperiment(spec).wandb_config.key).toBe('***');
    expect(spec.experiment.wandb_config.key).toBe('secret');
    // A leading zero is octal for integers but decimal for floats (as Python's text_format reads them).
    expect(parseSpec(BASE + 'momentum: 017', 's').spec.experiment.momentum).toBe(17);
    const nan = parseSpec(BASE + 'momentum: nan', 's').spec.experiment.momentum;
    expect(Number.isNaN(nan)).toBe(true);
  });

  it('keeps proto3 zero values for unset fields and an empty message for an empty block', () => {
    const { spec } = parseSpec(BASE + 'maskrcnn_config {}', 'spec.txt');
    expect(spec.experiment.maskrcnn_config.nlayers).toBe(0);
    expect(spec.experiment.maskrcnn_config.arch).toBe('');
    expect(isSet(spec, 'maskrcnn_config')).toBe(true);
    expect(isSet(spec, 'maskrcnn_config.nlayers')).toBe(false);
    expect(spec.aspectRatios).toBeUndefined();
  });

  it('parses the tuple strings', () => {
    const text =
      BASE +
      'learning_rate_steps: "[100000, 150000]"\nlearning_rate_decay_levels: "(0.1, 1e-2)"\n' +
      'maskrcnn_config { aspect_ratios: "[(1.0, 1.0), [2, 0.5],]" bbox_reg_weights: "[10, 10., 5, 5.]" freeze_blocks: "()" }';
    const { spec } = parseSpec(text, 'spec.txt');
    expect(spec.learningRateSteps).toEqual([100000, 150000]);
    expect(spec.learningRateDecayLevels).toEqual([0.1, 0.01]);
    expect(spec.aspectRatios).toEqual([[1, 1], [2, 0.5]]);
    expect(spec.bboxRegWeights).toEqual([10, 10, 5, 5]);
    expect(spec.freezeBlocks).toEqual([]);
  });
});

describe('parseSpec: errors point at the field or value', () => {
  it('unknown field: did you mean, with line and column', () => {
    const text = BASE + 'maskrcnn_config {\n  nlayer: 50\n}';
    const e = errorOf(text);
    expect(e.code).toBe('E_SPEC_UNKNOWN_FIELD');
    expect(e.message).toContain("did you mean 'nlayers'");
    expect(e.location).toMatchObject({ file: 'spec.txt', ...posOf(text, 'nlayer:') });
    expect(e.location.excerpt).toContain('nlayer: 50');
  });

  it('unknown field that belongs to another block says where', () => {
    const text = 'image_size: "(832, 1344)"\n' + BASE;
    const e = errorOf(text);
    expect(e.code).toBe('E_SPEC_UNKNOWN_FIELD');
    expect(e.hint).toContain('data_config');
    expect(e.location).toMatchObject({ line: 1, column: 1 });
  });

  it('unknown field with nothing close lists the known ones', () => {
    const e = errorOf(BASE + 'clearml_config { zzzzzzzz: 1 }');
    expect(e.code).toBe('E_SPEC_UNKNOWN_FIELD');
    expect(e.hint).toContain('reuse_last_task_id');
  });

  const typeCases: [string, string, string, RegExp][] = [
    ['string for a number', 'momentum: "0.9"', '"0.9"', /expects a number/],
    ['negative for uint32', 'seed: -1', '-1', /unsigned \(uint32\).*negative/],
    ['fraction for an integer', 'total_steps: 1.5', '1.5', /integer \(uint32\).*'1\.5'/],
    ['exponent for an integer', 'total_steps: 1e3', '1e3', /integer/],
    ['out of uint32 range', 'seed: 4294967296', '4294967296', /outside the uint32 range/],
    ['number for a string', 'checkpoint: 3', '3', /expects a string/],
    ['message for a scalar', 'seed { }', '{', /is a uint32 but is given a message/],
    ['scalar for a message', 'maskrcnn_config: "x"', '"x"', /is a message \(MaskRCNNConfig\)/],
    ['list for a non-repeated field', 'seed: [1, 2]', '[', /not repeated/],
    ['bad bool', 'use_amp: yes', 'yes', /expects a bool/],
    ['bad bool number', 'use_amp: 2', '2', /expects a bool/],
    ['bad enum number', 'wandb_config { mode: 7 }', '7', /expects one of ONLINE/],
  ];
  it.each(typeCases)('E_SPEC_TYPE: %s', (_name, line, at, message) => {
    const text = BASE + line + '\n';
    const e = errorOf(text);
    expect(e.code).toBe('E_SPEC_TYPE');
    expect(e.message).toMatch(message);
    const index = text.indexOf(at, BASE.length);
    expect(e.location).toMatchObject(posOf(text.slice(0, index) + '\u0000', '\u0000'));
  });

  it('E_SPEC_VALUE: enum name not in the enum, with a suggestion', () => {
    const text = BASE + 'wandb_config { mode: OFFLNE }';
    const e = errorOf(text);
    expect(e.code).toBe('E_SPEC_VALUE');
    expect(e.message).toContain("did you mean 'OFFLINE'");
    expect(e.location).toMatchObject(posOf(text, 'OFFLNE'));
  });

  it('a non-repeated field given twice is an error at the second one', () => {
    const text = BASE + 'seed: 1\nseed: 2\n';
    const e = errorOf(text);
    expect(e.code).toBe('E_SPEC_VALUE');
    expect(e.message).toContain('given twice (first at line 5)');
    expect(e.location).toMatchObject({ line: 6, column: 1 });
    const block = errorOf(BASE + 'data_config { }');
    expect(block.location).toMatchObject({ line: 5, column: 1 });
  });

  const tupleCases: [string, string, string, number, string, RegExp][] = [
    // [name, field line, needle, shift into the needle, code, message]
    ['image_size fraction', 'data_config {\n  image_size: "(832, 1344.5)"\n  num_classes: 2\n}\n', '1344.5', 0, 'E_SPEC_TYPE', /whole numbers, found a fraction \(1344\.5\)/],
    ['image_size arity', 'data_config {\n  image_size: "(832, 1344, 3)"\n  num_classes: 2\n}\n', '"(832', 1, 'E_SPEC_VALUE', /exactly 2 values, found 3/],
    ['image_size zero', 'data_config {\n  image_size: "(0, 1344)"\n  num_classes: 2\n}\n', '0,', 0, 'E_SPEC_VALUE', /≥ 1, found 0/],
    ['image_size scalar', 'data_config {\n  image_size: "832"\n  num_classes: 2\n}\n', '832', 0, 'E_SPEC_TYPE', /tuple or list/],
    ['image_size syntax', 'data_config {\n  image_size: "(832; 1344)"\n  num_classes: 2\n}\n', ';', 0, 'E_SPEC_SYNTAX', /not a valid Python literal: expected ','/],
    ['aspect_ratios pair', BASE + 'maskrcnn_config { aspect_ratios: "[(1.0, 1.0), (1.4, 0.7, 2)]" }', '(1.4', 0, 'E_SPEC_VALUE', /exactly 2 values, found 3/],
    ['aspect_ratios negative', BASE + 'maskrcnn_config { aspect_ratios: "[(1.0, -1.0)]" }', '-1.0', 0, 'E_SPEC_VALUE', /positive, found -1/],
    ['aspect_ratios empty', BASE + 'maskrcnn_config { aspect_ratios: "[]" }', '[]', 0, 'E_SPEC_VALUE', /empty/],
    ['bbox_reg_weights arity', BASE + 'maskrcnn_config { bbox_reg_weights: "(10., 10., 5.)" }', '(10.', 0, 'E_SPEC_VALUE', /exactly 4 values, found 3/],
    ['freeze_blocks negative', BASE + 'maskrcnn_config { freeze_blocks: "[0, -1]" }', '-1', 0, 'E_SPEC_VALUE', /≥ 0, found -1/],
    ['learning_rate_steps fraction', BASE + 'learning_rate_steps: "[10, 20.5]"', '20.5', 0, 'E_SPEC_TYPE', /fraction/],
    ['escaped string keeps positions', BASE + 'learning_rate_steps: "[\\x31, 2.5]"', '2.5', 0, 'E_SPEC_TYPE', /fraction/],
  ];
  it.each(tupleCases)('tuple string: %s points inside the string', (_name, text, needle, shift, code, message) => {
    const e = errorOf(text);
    expect(e.code).toBe(code);
    expect(e.message).toMatch(message);
    expect(e.location).toMatchObject(posOf(text, needle, shift));
  });

  it('num_classes must be more than 1', () => {
    const text = 'data_config {\n  image_size: "(832, 1344)"\n  num_classes: 1\n}\n';
    const e = errorOf(text);
    expect(e.code).toBe('E_SPEC_VALUE');
    expect(e.location).toMatchObject({ line: 3, column: 16 });
  });

  it('image_size and num_classes are required for export, not for inspection', () => {
    const noSize = 'seed: 1\ndata_config {\n  num_classes: 2\n}\n';
    const e = errorOf(noSize);
    expect(e.code).toBe('E_SPEC_REQUIRED');
    expect(e.message).toContain('image_size');
    expect(e.location).toMatchObject({ line: 2, column: 1 });
    const noClasses = errorOf('data_config { image_size: "(64, 64)" }');
    expect(noClasses.code).toBe('E_SPEC_REQUIRED');
    expect(noClasses.message).toContain('num_classes');
    const { spec } = parseSpec(noSize, 'spec.txt', { purpose: 'inspect' });
    expect(spec.imageSize).toBeUndefined();
    expect(() => requireImageSize(spec)).toThrowError(expect.objectContaining({ code: 'E_SPEC_REQUIRED' }));
  });

  it('min_level above max_level is refused', () => {
    const text = BASE + 'maskrcnn_config {\n  min_level: 7\n  max_level: 6\n}';
    const e = errorOf(text);
    expect(e.code).toBe('E_SPEC_VALUE');
    expect(e.location).toMatchObject(posOf(text, 'min_level'));
  });
});

describe('parseSpec: warnings', () => {
  const FULL_MC =
    'maskrcnn_config {\n  max_level: 6\n  aspect_ratios: "[(1.0, 1.0)]"\n  bbox_reg_weights: "(10., 10., 5., 5.)"\n' +
    '  test_detections_per_image: 100\n  test_nms: 0.5\n  test_rpn_post_nms_topn: 1000\n  test_rpn_nms_thresh: 0.7\n  mrcnn_resolution: 28\n}\n';

  it('image_size not a multiple of 2^max_level warns at the value inside the string', () => {
    const text = 'data_config {\n  image_size: "(800, 1333)"\n  num_classes: 2\n}\n' + FULL_MC;
    const { warnings, spec } = parseSpec(text, 'spec.txt');
    expect(spec.imageSize).toEqual([800, 1333]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.message).toMatch(/multiple of 64.*"\(832, 1344\)"/);
    expect(warnings[0]).toMatchObject(posOf(text, '(800'));
    // With max_level 5 the stride is 32: 800 and 1344 are fine.
    const ok = parseSpec('data_config {\n  image_size: "(800, 1344)"\n  num_classes: 2\n}\n' + FULL_MC.replace('max_level: 6', 'max_level: 5'), 's');
    expect(ok.warnings).toEqual([]);
  });

  it('export-relevant fields left unset are named in one warning', () => {
    const { warnings } = parseSpec(BASE + 'maskrcnn_config { aspect_ratios: "[(1, 1)]" bbox_reg_weights: "(1, 1, 1, 1)" test_nms: 0.5 }', 's');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.message).toContain('test_rpn_post_nms_topn, test_rpn_nms_thresh, test_detections_per_image, mrcnn_resolution unset');
    expect(warnings[0]).toMatchObject({ line: 5, column: 1 });
  });

  it('learning-rate steps that do not increase or do not pair with levels warn', () => {
    const text = BASE + FULL_MC + 'learning_rate_steps: "[10, 5]"\nlearning_rate_decay_levels: "[0.1]"\n';
    const { warnings } = parseSpec(text, 's');
    expect(warnings.map((w) => w.message)).toEqual([expect.stringContaining('should increase'), expect.stringContaining('has 1 values but learning_rate_steps has 2')]);
    expect(warnings[0]).toMatchObject(posOf(text, '5]'));
  });
});

describe('loadSpec', () => {
  it('reads a file, and a missing file is E_SPEC_NOT_FOUND', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'spec-'));
    try {
      const file = path.join(dir, 'spec.txt');
      await fs.writeFile(file, BASE);
      const { spec } = await loadSpec(file);
      expect(spec.file).toBe(file);
      expect(spec.imageSize).toEqual([832, 1344]);
      await expect(loadSpec(path.join(dir, 'nope.txt'))).rejects.toMatchObject({ code: 'E_SPEC_NOT_FOUND', location: { file: path.join(dir, 'nope.txt') } });
      await expect(loadSpec(dir)).rejects.toMatchObject({ code: 'E_SPEC_NOT_FOUND' });
      await fs.writeFile(file, BASE + 'seed: "x"');
      await expect(loadSpec(file)).rejects.toMatchObject({ code: 'E_SPEC_TYPE', location: { file, line: 5, column: 7 } });
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

describe('secrets', () => {
  it('a mistyped wandb key is reported without showing it', () => {
    const text = BASE + 'wandb_config {\n  key: abc123secret\n}';
    const e = errorOf(text);
    expect(e.code).toBe('E_SPEC_TYPE');
    expect(e.location).toMatchObject({ line: 6, column: 3 });
    expect(JSON.stringify(e.toData())).not.toContain('abc123secret');
    expect(e.location.excerpt).toContain('key: ***');
    const twice = errorOf(BASE + 'wandb_config {\n  key: "s3cr3t-one"\n  key: "s3cr3t-two"\n}');
    expect(twice.code).toBe('E_SPEC_VALUE');
    expect(twice.location).toMatchObject({ line: 7, column: 3 });
    expect(JSON.stringify(twice.toData())).not.toMatch(/s3cr3t/);
  });
});

describe('parseSpec on arbitrary input', () => {
  it('returns a spec or throws a StudioError with a position, never anything else', () => {
    const tokens = fc.constantFrom(
      'data_config', 'maskrcnn_config', 'wandb_config', 'image_size', 'num_classes', 'aspect_ratios', 'freeze_blocks', 'mode', 'tags', 'seed', 'momentum', 'use_amp',
      '{', '}', ': ', '"(832, 1344)"', '"[(1.0, 1.0)]"', '"[0,1]"', '"(1,"', '"x"', '2', '-1', '1.5', 'True', 'OFFLINE', 'nan', '[', ']', ',', ';', '\n', ' ', '#c\n',
    );
    fc.assert(
      fc.property(fc.array(tokens, { maxLength: 60 }).map((a) => a.join('')), fc.constantFrom('export' as const, 'inspect' as const), (text, purpose) => {
        try {
          const { spec, warnings } = parseSpec(text, 'fuzz.txt', { purpose });
          expect(typeof spec.numClasses).toBe('number');
          for (const w of warnings) expect(w.line).toBeGreaterThanOrEqual(1);
        } catch (e) {
          expect(e).toBeInstanceOf(StudioError);
          const loc = (e as StudioError).location;
          expect(loc.file).toBe('fuzz.txt');
          expect(loc.line).toBeGreaterThanOrEqual(1);
          expect(loc.column).toBeGreaterThanOrEqual(1);
        }
      }),
      { numRuns: 600 },
    );
  });
});
