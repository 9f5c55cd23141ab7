import fs from 'node:fs/promises';
import path from 'node:path';
import { StudioError } from '../../shared/errors.js';
import type { CalibrationSummary } from '../../shared/report.js';
import type { Batch, ResolvedPreprocessing, SampleSource } from './data/types.js';
import { resolvePreprocessing, sampleDims } from './data/preprocess.js';
import { createPreprocessPool, prefetchBatches, type PreprocessPool, type PrefetchStats } from './data/loader.js';
import { createSpecLoaderSource } from './data/spec-loader.js';
import { createImageDirSource, createImageListSource } from './data/image-dir.js';
import { readTensorfile, TensorfileWriter } from './data/tensorfile.js';
import {
  buildCalibrationReport,
  buildProvenance,
  buildQdqModelWithSummary,
  auditQdq,
  isWritableScale,
  scaleForAmax,
  decideCacheReuse,
  parseCalibrationCache,
  runCalibration,
  serializeProvenance,
  statSelection,
  writeCalibrationCache,
  DEFAULT_BINS,
  DEFAULT_SAMPLE_TARGET,
  type CalibrationResult,
} from './calibrate/index.js';
import { TOOL } from './version.js';
import { must, stageWrite, type JobState, type Step } from './job.js';

/** What the INT8 stages hand to the later ones (DeepStream config, trtexec, Q/DQ). */
export interface CalibrationOutcome {
  preprocessing: ResolvedPreprocessing;
  /** amax (= scale × 127) per tensor name. */
  amax: Map<string, number>;
  cacheText: string;
  qdqBytes?: Uint8Array;
  /** The calibration items (ids), so the fidelity check can keep its held-out images apart. */
  selection?: readonly string[];
}

const readOrNull = (file: string | undefined) => (file ? fs.readFile(file, 'utf8').catch(() => null) : Promise.resolve(null));

function amaxFromCache(text: string, file: string): Map<string, number> {
  const parsed = parseCalibrationCache(text, file);
  return new Map(parsed.entries.map((e) => [e.name, e.scale * 127]));
}

/** What a cache alone says per tensor: its threshold (scale × 127); max |x| is not known, so amax = threshold. */
function cacheStats(amax: Map<string, number>): NonNullable<CalibrationSummary['tensorStats']> {
  return [...amax].map(([name, t]) => ({ name, amax: t, threshold: t }));
}

/** Preprocessing for this request: the spec's image size, the model's input, explicit overrides. */
export function requestPreprocessing(s: JobState): ResolvedPreprocessing {
  const r = s.request;
  const input = must(s.model?.summary, 'model summary').inputs[0];
  const resize = r.calibration?.resize;
  return resolvePreprocessing(
    { preset: 'tao-maskrcnn', ...(r.preprocessing ?? {}), ...(resize ? { resize } : {}) },
    { ...(s.spec ? { specImageSize: s.spec.imageSize } : {}), ...(input?.shape ? { modelInputShape: input.shape } : {}) },
  );
}

interface PreparedSource {
  source?: SampleSource;
  batches?: AsyncIterable<Batch>;
  selection: readonly string[];
  description: string;
  totalBatches: number;
  close(): Promise<void>;
}

async function prepareSource(s: JobState, pp: ResolvedPreprocessing): Promise<PreparedSource> {
  const r = s.request;
  const c = must(r.calibration, 'calibration');
  const count = c.batches * c.batchSize;
  const signal = s.ctx.signal;
  if (c.source === 'tensorfile') {
    const file = must(c.tensorfile, 'tensorfile');
    const tf = await readTensorfile(file, { modelInputShape: must(s.model?.summary, 'summary').inputs[0]?.shape ?? undefined });
    return {
      batches: tf.batches(),
      selection: [`${path.resolve(file)}`],
      description: `tensorfile ${file}: ${tf.count} batches of shape [${tf.shape.join(', ')}]`,
      totalBatches: tf.count,
      close: async () => undefined,
    };
  }
  let pool: PreprocessPool | undefined;
  try {
    pool = await createPreprocessPool({ signal });
    const p = pool;
    let source: SampleSource;
    if (c.source === 'spec-loader') {
      const spec = s.spec;
      if (!spec) throw new StudioError('E_USAGE', 'The spec loader needs the experiment spec (-e)', 'Pass -e spec.txt, or calibrate from images with --cal_image_dir.');
      const pattern = spec.parsed.experiment.data_config.training_file_pattern;
      if (!pattern) {
        throw new StudioError('E_SPEC_REQUIRED', 'data_config.training_file_pattern is empty: the spec loader has no TFRecords to read', 'Set training_file_pattern in the spec, or calibrate from images with --cal_image_dir.', { file: spec.path });
      }
      source = await createSpecLoaderSource({
        pattern,
        specDir: spec.dir,
        count,
        seed: c.seed,
        preprocessing: pp,
        preprocess: (bytes, id) => p.preprocess({ bytes }, pp, id),
        concurrency: p.size + 1,
        signal,
      });
    } else if (c.source === 'image-dir') {
      source = await createImageDirSource({ dir: must(c.imageDir, 'imageDir'), count, seed: c.seed, pp, preprocess: p.preprocess, concurrency: p.size + 1 });
    } else if (c.source === 'images') {
      source = createImageListSource({ files: must(c.images, 'images'), count, pp, preprocess: p.preprocess, concurrency: p.size + 1 });
      for (const w of (source as { warnings?: readonly string[] }).warnings ?? []) s.ctx.warn(w);
    } else {
      throw new StudioError('E_INTERNAL', `unexpected calibration source ${c.source}`, 'Please report this bug.');
    }
    return {
      source,
      selection: source.selection,
      description: source.description,
      totalBatches: Math.ceil(Math.min(count, source.planned) / c.batchSize),
      close: () => p.close(),
    };
  } catch (e) {
    await pool?.close();
    throw e;
  }
}

export const calibrateStep: Step = {
  stage: 'calibrate',
  when: (s) => s.request.precision === 'int8',
  async run(s) {
    const r = s.request;
    const c = must(r.calibration, 'calibration');
    const plan = must(s.plan, 'plan');
    const model = must(s.model, 'model');
    const summary = must(model.summary, 'model summary');
    const cacheFile = must(plan.cache, 'cache path');
    // The preprocessing deriveDeployment resolved: the DeepStream config repeats exactly this.
    const deployment = must(s.deployment, 'deployment');
    const pp = must(deployment.preprocessing, 'preprocessing');
    const header = must(deployment.cache, 'cache settings').header;
    s.ctx.info(`preprocessing: ${pp.width}×${pp.height} ${pp.layout.toUpperCase()} ${pp.order.toUpperCase()}, mean [${pp.mean.join(', ')}], scale [${pp.scale.map((x) => x.toPrecision(6)).join(', ')}], ${pp.resize} (${pp.origin})`);
    if (pp.resize === 'stretch') s.ctx.warn('Calibrating with stretch resize (TAO exporter parity): training and DeepStream keep the aspect ratio, so the statistics may differ from deployment.');
    const t0 = performance.now();

    if (c.source === 'cache') {
      const text = await readOrNull(cacheFile);
      if (text === null) throw new StudioError('E_FILE_NOT_FOUND', `No calibration cache to reuse at ${cacheFile}`, 'Give the cache with --cal_cache_file, or choose a calibration data source.', { file: cacheFile });
      const parsed = parseCalibrationCache(text, cacheFile);
      // Consumers load it only under their header and version, and never with a 0 scale: normalise it.
      const entries = parsed.entries.flatMap((e) => {
        const scale = scaleForAmax(e.amax);
        return scale === null ? [] : [{ name: e.name, scale }];
      });
      const normalised = writeCalibrationCache({ trtVersion: r.trtVersion, algorithm: c.algorithm, entries, floatTensors: deployment.floatTensors });
      let cacheText = text;
      if (normalised !== text) {
        const why = [
          `TRT-${parsed.header.version}-${parsed.header.algorithm}` !== header ? `its header is TRT-${parsed.header.version}-${parsed.header.algorithm}, and trtexec --calib / nvinfer for TensorRT ${r.trtVersion} load only ${header}` : '',
          parsed.entries.some((e) => !isWritableScale(e.scale)) ? 'it holds zero scales' : '',
          parsed.entries.some((e) => deployment.floatTensors.includes(e.name)) ? 'it has scales for tensors kept in float' : '',
        ].filter(Boolean);
        if (!r.overwrite) {
          throw new StudioError(
            'E_CACHE_FORMAT',
            `The calibration cache ${cacheFile} cannot be used as is: ${why.join('; ') || 'it is not in the form consumers load'}`,
            `Pass --overwrite to rewrite it in place with the same scales under ${header} (zero scales become 1/127), or recalibrate with a data source.`,
            { file: cacheFile },
          );
        }
        s.ctx.warn(`rewriting ${cacheFile} with the same scales: ${why.join('; ')}`);
        await stageWrite(s, 'cache', cacheFile, normalised);
        cacheText = normalised;
      }
      const amax = amaxFromCache(cacheText, cacheFile);
      s.ctx.info(`using the existing cache ${cacheFile} as given (${amax.size} tensors); its provenance is not checked with --cal_source cache`);
      s.calibrated = { preprocessing: pp, amax, cacheText };
      s.calibration = { source: 'cache', algorithm: c.algorithm, cacheHeader: header, samplesRequested: 0, samplesUsed: 0, skipped: [], tensors: amax.size, reused: true, reuseReason: 'cache given as the source', executionProvider: 'none', seconds: 0, tensorStats: cacheStats(amax) };
      return `reused ${path.basename(cacheFile)} (${amax.size} tensors)`;
    }

    const prepared = await prepareSource(s, pp);
    let tensorfile: TensorfileWriter | undefined;
    try {
      s.ctx.info(`calibration data: ${prepared.description}`);
      const requested = c.batches * c.batchSize;
      const items = await statSelection(prepared.selection);
      const wanted = buildProvenance({
        tool: TOOL,
        trtVersion: r.trtVersion,
        floatTensors: deployment.floatTensors,
        algorithm: c.algorithm,
        percentile: c.percentile,
        bins: DEFAULT_BINS,
        statistics: c.algorithm === 'minmax' ? 'minmax' : c.histogram,
        sampleTarget: c.algorithm !== 'minmax' && c.histogram === 'sampled' ? DEFAULT_SAMPLE_TARGET : null,
        model: model.onnx,
        preprocessing: pp,
        data: { items, source: c.source },
        batches: c.batches,
        batchSize: c.batchSize,
        seed: c.seed,
        samplesUsed: 0,
      });
      const [cacheText, provText] = await Promise.all([readOrNull(cacheFile), readOrNull(plan.provenance)]);
      const decision = decideCacheReuse({ reuse: c.reuse, cacheText, provenanceText: provText, wanted, cacheFile });
      if (decision.reuse && cacheText !== null) {
        s.ctx.info(`${cacheFile}: ${decision.reason}`);
        const amax = amaxFromCache(cacheText, cacheFile);
        s.calibrated = { preprocessing: pp, amax, cacheText, selection: prepared.selection };
        s.calibration = { source: c.source, algorithm: c.algorithm, cacheHeader: header, samplesRequested: requested, samplesUsed: 0, skipped: [], tensors: amax.size, reused: true, reuseReason: decision.reason, executionProvider: 'none', seconds: (performance.now() - t0) / 1000, tensorStats: cacheStats(amax) };
        return `reused ${path.basename(cacheFile)}: provenance matches`;
      }
      if (cacheText !== null && !r.overwrite) {
        throw new StudioError(
          'E_OUTPUT_EXISTS',
          `Calibration cache ${cacheFile} exists but cannot be reused: ${decision.reason.replace(/^recalibrating: /, '')}`,
          'Pass --overwrite to recalibrate and replace it, or choose another --cal_cache_file. The existing cache was left untouched.',
          { file: cacheFile },
        );
      }
      s.ctx.info(decision.reason);
      // The cache and its provenance are written by this job: reserve them now.
      for (const f of [cacheFile, plan.provenance, plan.calibrationReport]) if (f) await s.outputs.preflight(f);

      let batches: AsyncIterable<Batch>;
      let stats: PrefetchStats | undefined;
      if (prepared.source) {
        const pf = prefetchBatches(prepared.source, c.batchSize, { sampleDims: sampleDims(pp), depth: 2, signal: s.ctx.signal });
        stats = pf.stats;
        batches = pf;
      } else batches = must(prepared.batches, 'batches');

      // --cal_data_file with --cal_image_dir: also write TAO's tensorfile from the same batches.
      // Streamed: each batch goes to the tensorfile as calibration consumes it (never all in memory).
      tensorfile = plan.tensorfile ? await TensorfileWriter.open(s.outputs, plan.tensorfile) : undefined;
      if (tensorfile) batches = tee(batches, tensorfile);

      const result: CalibrationResult = await runCalibration({
        model: model.onnx,
        ...(summary.inputs[0] ? { inputName: summary.inputs[0].name } : {}),
        batches,
        totalBatches: prepared.totalBatches,
        algorithm: c.algorithm,
        percentile: c.percentile,
        histogram: c.histogram,
        provider: r.gpu === 'cpu' ? 'cpu' : { gpu: r.gpu },
        signal: s.ctx.signal,
        onProgress: (done, total) => s.ctx.progress('calibrate', done, total, 'batches'),
        log: (level, text) => s.ctx.log(level, text),
      }).catch((e: unknown) => {
        // Nothing usable at all: say why every item was skipped (missing file, bad CRC, undecodable …).
        const skippedAll = prepared.source ? [...prepared.source.skipped.entries()] : [];
        if (e instanceof StudioError && e.code === 'E_CAL_TOO_FEW_SAMPLES' && skippedAll.length > 0) {
          const why = skippedAll.map(([reason, n]) => `${n} ${reason}`).join(', ');
          throw new StudioError('E_CAL_TOO_FEW_SAMPLES', `No usable calibration samples: every item was skipped (${why})`, 'Fix or replace the calibration data named above; Export Studio never calibrates on random data.', {}, { cause: e });
        }
        throw e;
      });

      const skipped = prepared.source ? [...prepared.source.skipped.entries()].map(([reason, count]) => ({ reason, count })) : [];
      for (const k of skipped) s.ctx.warn(`skipped ${k.count} calibration item(s): ${k.reason}`);
      if (result.samples < requested) {
        const why = skipped.length ? ` (${skipped.map((k) => `${k.count} ${k.reason}`).join(', ')})` : '';
        if (!c.acceptFewer) {
          throw new StudioError(
            'E_CAL_TOO_FEW_SAMPLES',
            `Only ${result.samples} usable calibration samples, ${requested} requested (--batches ${c.batches} × --batch_size ${c.batchSize})${why}`,
            'Add data, lower --batches/--batch_size, or pass --cal_accept_fewer to calibrate on what there is.',
          );
        }
        s.ctx.warn(`calibrating on ${result.samples} samples instead of ${requested} (--cal_accept_fewer)`);
      }
      if (stats) s.ctx.debug(`data loading: inference waited ${stats.waitMs.toFixed(0)} ms in total, ${stats.firstWaitMs.toFixed(0)} ms of it for the first batch; producing took ${stats.produceMs.toFixed(0)} ms`);
      if (result.uncalibrated.length) {
        s.ctx.warn(`${result.uncalibrated.length} tensor(s) could not be calibrated and are not in the cache (TensorRT keeps them in higher precision): ${result.uncalibrated.slice(0, 8).map((u) => `${u.name} (${u.reason})`).join(', ')}${result.uncalibrated.length > 8 ? ', …' : ''}`);
      }

      const text = writeCalibrationCache({ trtVersion: r.trtVersion, algorithm: c.algorithm, entries: result.tensors.map((t) => ({ name: t.name, scale: t.scale })), floatTensors: deployment.floatTensors });
      if (!text.startsWith(`${header}\n`)) throw new StudioError('E_INTERNAL', `cache header ${text.split('\n')[0]} differs from the derived ${header}`, 'This is a bug in Export Studio; please report it.');
      s.ctx.info(`cache ${path.basename(cacheFile)}: ${header} (scales from ${c.algorithm}; the header names the calibrator trtexec --calib and nvinfer instantiate)`);
      await stageWrite(s, 'cache', cacheFile, text);
      const provenance = { ...wanted, algorithm: { ...wanted.algorithm, statistics: result.method, sampleTarget: result.method === 'sampled' ? wanted.algorithm.sampleTarget : null }, samplesUsed: result.samples };
      if (plan.provenance) await stageWrite(s, 'cache-provenance', plan.provenance, serializeProvenance(provenance));
      if (plan.calibrationReport) await stageWrite(s, 'calibration-report', plan.calibrationReport, JSON.stringify(buildCalibrationReport(result, c.algorithm), null, 1) + '\n');
      if (plan.tensorfile && tensorfile) {
        tensorfile.finish();
        s.roles.set(plan.tensorfile, 'tensorfile');
      }
      const amax = new Map(result.tensors.filter((t) => !deployment.floatTensors.includes(t.name)).map((t) => [t.name, t.threshold]));
      s.calibrated = { preprocessing: pp, amax, cacheText: text, selection: prepared.selection };
      s.calibration = {
        source: c.source,
        algorithm: c.algorithm,
        cacheHeader: header,
        samplesRequested: requested,
        samplesUsed: result.samples,
        skipped,
        tensors: result.tensors.length,
        reused: false,
        reuseReason: decision.reason,
        executionProvider: result.provider,
        seconds: (performance.now() - t0) / 1000,
        tensorStats: result.tensors.map((t) => ({
          name: t.name,
          amax: t.amax,
          threshold: t.threshold,
          ...(t.histogram ? { histogram: { edges: t.histogram.counts.map((_, i) => i * t.histogram!.binWidth).concat(t.histogram.counts.length * t.histogram.binWidth), counts: [...t.histogram.counts] } } : {}),
        })),
      };
      return `${result.tensors.length} tensors from ${result.samples} samples (${c.algorithm}, ${result.provider})`;
    } finally {
      tensorfile?.close();
      await prepared.close();
    }
  },
};

async function* tee(src: AsyncIterable<Batch>, into: TensorfileWriter): AsyncGenerator<Batch> {
  for await (const b of src) {
    into.add(b);
    yield b;
  }
}

export const quantizeStep: Step = {
  stage: 'quantize',
  when: (s) => s.request.precision === 'int8' && Boolean(s.request.outputs.qdq),
  async run(s) {
    const calibrated = must(s.calibrated, 'calibration');
    const model = must(s.model, 'model');
    const floatTensors = s.deployment?.floatTensors ?? [];
    const { model: bytes, summary } = buildQdqModelWithSummary(model.onnx, calibrated.amax, { floatTensors, log: (level: 'debug' | 'info' | 'warn', text: string) => s.ctx.log(level, text) });
    // Self-check against the placement rules: a dangling pair or an unexplained float weight is a bug, never a success.
    const audit = auditQdq(bytes);
    const unexplained = audit.floatWeights.filter((w) => !summary.skipped.some((k) => k.name === w.weight));
    if (audit.dangling.length > 0 || unexplained.length > 0) {
      throw new StudioError(
        'E_INTERNAL',
        `The Q/DQ model breaks TensorRT's placement rules: ${audit.dangling.length} dangling pair(s)${audit.dangling.length ? ` (${audit.dangling.slice(0, 3).map((d) => d.tensor).join(', ')})` : ''}, ${unexplained.length} float weight(s) without a reason${unexplained.length ? ` (${unexplained.slice(0, 3).map((w) => w.weight).join(', ')})` : ''}`,
        'This is a bug in Export Studio; please report it with the model. The calibration cache is unaffected.',
      );
    }
    calibrated.qdqBytes = bytes;
    await stageWrite(s, 'qdq', must(s.plan?.qdq, 'qdq path'), bytes);
    return summary.line.replace(/^Q\/DQ: /, '');
  },
};
