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
  parseProvenance,
  runCalibration,
  serializeProvenance,
  statSelection,
  writeCalibrationCache,
  DEFAULT_BINS,
  DEFAULT_SAMPLE_TARGET,
  type CalibrationResult,
  type Provenance,
} from './calibrate/index.js';
import type { CalibrationAlgorithm } from '../../shared/request.js';
import type { FidelityReport, FloatTensor } from '../../shared/report.js';
import { formatInt8Target } from '../../shared/int8-target.js';
import { TOOL } from './version.js';
import { must, setFloatTensors, stageWrite, type JobState, type Step } from './job.js';
import { decodeModel } from './onnx/index.js';

/** What the INT8 stages hand to the later ones (DeepStream config, trtexec, Q/DQ). */
export interface CalibrationOutcome {
  preprocessing: ResolvedPreprocessing;
  /** amax (= scale × 127) per tensor name. */
  amax: Map<string, number>;
  cacheText: string;
  qdqBytes?: Uint8Array;
  /**
   * The items (ids) whose samples went into the statistics, so the fidelity check can keep its
   * held-out images apart. Reserve images the calibration never needed are not in it: they stay
   * available as held-out images.
   */
  selection?: readonly string[];
  /** Every algorithm's threshold per tensor (from this run's histograms): the INT8 search's choices. */
  alternatives?: Map<string, Record<CalibrationAlgorithm, number>>;
  /** Each tensor's own fake-quant SNR at each alternative, from its histogram (the search's cheap ranking). */
  localSnr?: Map<string, Record<CalibrationAlgorithm, number>>;
  /**
   * Tensors kept out of INT8 (the search's float fallback): no scale in the cache, no Q/DQ,
   * pinned to FP16 in the trtexec line and the DeepStream config.
   */
  floatTensors: FloatTensor[];
  /** Seconds the statistics took (this run, or the run recorded in a reused cache's provenance): the search's bound is twice this. */
  calibrationSeconds: number;
  /** A reused cache's recorded fidelity result and the digest of its inputs (reused when they match). */
  recordedFidelity?: { inputs: string; report: FidelityReport };
  /** Digest of this run's fidelity inputs (set by the fidelity step, recorded with the cache). */
  fidelityInputs?: string;
  /** Files still to write once the search has settled the thresholds (absent when the cache was reused). */
  pending?: { cacheFile: string; provenance: Provenance; result: CalibrationResult; algorithm: CalibrationAlgorithm; header: string; used?: number[] };
}

const readOrNull = (file: string | undefined) => (file ? fs.readFile(file, 'utf8').catch(() => null) : Promise.resolve(null));

function amaxFromCache(text: string, file: string): Map<string, number> {
  const parsed = parseCalibrationCache(text, file);
  return new Map(parsed.entries.map((e) => [e.name, e.scale * 127]));
}

/** The INT8 search settings that shape the cache (recorded in, and matched against, the provenance). */
function searchSetting(s: JobState): string {
  const f = s.request.fidelity;
  if (f && (!f.enabled || f.search === 'off')) return 'off';
  return f?.target ? `auto ${formatInt8Target(f.target)}` : 'auto default-target';
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
      s.calibrated = { preprocessing: pp, amax, cacheText, floatTensors: [], calibrationSeconds: 0 };
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
        search: searchSetting(s),
      });
      const [cacheText, provText] = await Promise.all([readOrNull(cacheFile), readOrNull(plan.provenance)]);
      const decision = decideCacheReuse({ reuse: c.reuse, cacheText, provenanceText: provText, wanted, cacheFile });
      if (decision.reuse && cacheText !== null) {
        s.ctx.info(`${cacheFile}: ${decision.reason}`);
        const amax = amaxFromCache(cacheText, cacheFile);
        const recorded = parseProvenance(provText ?? '');
        const int8 = 'provenance' in recorded ? recorded.provenance.int8 : undefined;
        s.calibrated = {
          preprocessing: pp,
          amax,
          cacheText,
          selection: usedItems(prepared.selection, int8?.calibrationUsed),
          floatTensors: int8?.floatTensors ?? [],
          calibrationSeconds: int8?.calibrationSeconds ?? 0,
          ...(int8?.fidelity && int8.fidelityInputs ? { recordedFidelity: { inputs: int8.fidelityInputs, report: int8.fidelity as unknown as FidelityReport } } : {}),
        };
        if (int8?.floatTensors.length) {
          s.ctx.info(`the reused cache keeps ${int8.floatTensors.length} tensor(s) in FP16 (INT8 search of the run that wrote it): ${int8.floatTensors.map((f) => f.name).join(', ')}`);
          setFloatTensors(s, [...new Set([...r.floatTensors, ...int8.floatTensors.map((f) => f.name)])], decodeModel(model.onnx).graph?.node ?? []);
        }
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
      const used: string[] = [];
      batches = recordIds(batches, used);

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

      const provenance = { ...wanted, algorithm: { ...wanted.algorithm, statistics: result.method, sampleTarget: result.method === 'sampled' ? wanted.algorithm.sampleTarget : null }, samplesUsed: result.samples };
      if (plan.tensorfile && tensorfile) {
        tensorfile.finish();
        s.roles.set(plan.tensorfile, 'tensorfile');
      }
      const amax = new Map(result.tensors.filter((t) => !deployment.floatTensors.includes(t.name)).map((t) => [t.name, t.threshold]));
      const alternatives = new Map(result.tensors.flatMap((t) => (t.alternatives ? [[t.name, t.alternatives] as const] : [])));
      const localSnr = new Map(result.tensors.flatMap((t) => (t.localSnr ? [[t.name, t.localSnr] as const] : [])));
      s.calibrated = {
        preprocessing: pp,
        amax,
        cacheText: cacheTextFor(r.trtVersion, c.algorithm, amax, deployment.floatTensors),
        selection: used,
        ...(alternatives.size ? { alternatives } : {}),
        ...(localSnr.size ? { localSnr } : {}),
        floatTensors: [],
        calibrationSeconds: result.seconds,
        pending: { cacheFile, provenance, result, algorithm: c.algorithm, header, ...usedIndices(prepared.selection, used) },
      };
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

/** The cache text for final thresholds: tensors kept in float get no line (TensorRT leaves them out of INT8). */
export function cacheTextFor(trtVersion: string, algorithm: CalibrationAlgorithm, amax: ReadonlyMap<string, number>, floatTensors: readonly string[]): string {
  return writeCalibrationCache({ trtVersion, algorithm, entries: [...amax].map(([name, a]) => ({ name, scale: scaleForAmax(a) ?? a / 127 })), floatTensors });
}

/**
 * After the fidelity check and search: the cache (tensors kept in float left out), its
 * provenance (with the search outcome), the calibration report, and the Q/DQ model (no Q/DQ on
 * tensors kept in float).
 */
export const quantizeStep: Step = {
  stage: 'quantize',
  when: (s) => s.request.precision === 'int8',
  async run(s) {
    const calibrated = must(s.calibrated, 'calibration');
    const model = must(s.model, 'model');
    const plan = must(s.plan, 'plan');
    const r = s.request;
    const float = calibrated.floatTensors;
    // Every tensor kept in float: the request's (floatTensors) and the search's, as the deployment derived them.
    const floatNames = s.deployment?.floatTensors ?? float.map((f) => f.name);
    const written: string[] = [];
    const p = calibrated.pending;
    if (p) {
      const algorithmOf = s.fidelity?.search?.algorithmOf ?? {};
      const text = cacheTextFor(r.trtVersion, p.algorithm, calibrated.amax, floatNames);
      if (!text.startsWith(`${p.header}\n`)) throw new StudioError('E_INTERNAL', `cache header ${text.split('\n')[0]} differs from the derived ${p.header}`, 'This is a bug in Export Studio; please report it.');
      calibrated.cacheText = text;
      await stageWrite(s, 'cache', p.cacheFile, text);
      written.push(path.basename(p.cacheFile));
      const int8 = {
        floatTensors: float,
        algorithmOf,
        calibrationSeconds: calibrated.calibrationSeconds,
        ...(s.fidelity?.verdict ? { meetsTarget: s.fidelity.verdict.meetsTarget } : {}),
        ...(p.used ? { calibrationUsed: p.used } : {}),
        ...(s.fidelity && calibrated.fidelityInputs ? { fidelityInputs: calibrated.fidelityInputs, fidelity: s.fidelity as unknown as Record<string, unknown> } : {}),
      };
      if (plan.provenance) await stageWrite(s, 'cache-provenance', plan.provenance, serializeProvenance({ ...p.provenance, int8 }));
      if (plan.calibrationReport) {
        // The report's thresholds are the final ones (after the search), each with its algorithm.
        const tensors = p.result.tensors.filter((t) => calibrated.amax.has(t.name)).map((t) => ({ ...t, threshold: calibrated.amax.get(t.name)!, scale: calibrated.amax.get(t.name)! / 127 }));
        const report = { ...buildCalibrationReport({ ...p.result, tensors }, p.algorithm), floatTensors: float, algorithmOf };
        await stageWrite(s, 'calibration-report', plan.calibrationReport, JSON.stringify(report, null, 1) + '\n');
      }
    }
    if (r.outputs.qdq) {
      const { model: bytes, summary } = buildQdqModelWithSummary(model.onnx, calibrated.amax, { floatTensors: floatNames, log: (level: 'debug' | 'info' | 'warn', text: string) => s.ctx.log(level, text) });
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
      await stageWrite(s, 'qdq', must(plan.qdq, 'qdq path'), bytes);
      written.push(summary.line.replace(/^Q\/DQ: /, ''));
    }
    return `${written.join(' + ') || 'cache reused as is'}${floatNames.length ? `; ${floatNames.length} tensor(s) kept in float` : ''}`;
  },
};

/** `batches`, recording the id of every sample that goes into the statistics. */
async function* recordIds(batches: AsyncIterable<Batch>, into: string[]): AsyncIterable<Batch> {
  for await (const b of batches) {
    into.push(...b.ids);
    yield b;
  }
}

/** The used ids as indices into the selection (for the provenance), when every one is in it. */
function usedIndices(selection: readonly string[], used: readonly string[]): { used?: number[] } {
  const at = new Map(selection.map((id, i) => [id, i]));
  const indices = used.map((id) => at.get(id));
  return indices.every((i) => i !== undefined) ? { used: indices as number[] } : {};
}

/** The ids a reused cache's calibration read (its provenance's indices), else its whole selection. */
function usedItems(selection: readonly string[], indices: readonly number[] | undefined): readonly string[] {
  if (!indices || indices.some((i) => i >= selection.length)) return selection;
  return indices.map((i) => selection[i]!);
}
