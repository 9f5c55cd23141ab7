import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import { z } from 'zod';
import type { CalibrationAlgorithm } from '../../../shared/request.js';
import type { ResolvedPreprocessing } from '../data/types.js';
import { encodeTrtVersion, headerAlgorithmFor, parseCalibrationCache } from './cache.js';

/**
 * `<cache>.json` written beside a calibration cache: what produced it. A cache is reused only
 * when every field that affects the scales matches the new request.
 *
 * Bump STATS_VERSION whenever a change to the engine or algorithms changes the scales it
 * computes for the same inputs; tool patch releases that do not, keep reusing caches.
 */
export const STATS_VERSION = 1;

export const ProvenanceSchema = z.object({
  kind: z.literal('export-studio/calibration-provenance'),
  formatVersion: z.literal(1),
  tool: z.object({ name: z.string(), version: z.string(), statsVersion: z.number().int() }),
  /**
   * header: the cache's first line (EntropyCalibration2 whatever the algorithm: the calibrator
   * the consumers instantiate); floatTensors: tensors left out of the cache (kept in float).
   */
  target: z.object({ trtVersion: z.string(), header: z.string(), floatTensors: z.array(z.string()).default([]) }),
  algorithm: z.object({
    name: z.enum(['entropy', 'minmax', 'percentile']),
    percentile: z.number().nullable(),
    bins: z.number().int(),
    /** 'minmax' | 'sampled' | 'exact' | 'fetch' and, for 'sampled', the sample target. */
    statistics: z.string(),
    sampleTarget: z.number().int().nullable(),
  }),
  model: z.object({ sha256: z.string(), bytes: z.number().int() }),
  preprocessing: z.object({ sha256: z.string(), summary: z.string() }),
  data: z.object({
    sha256: z.string(),
    /** Items selected, in order. */
    count: z.number().int(),
    /** What the digest covers: ids with file size and mtime. */
    basis: z.literal('id+size+mtime'),
    source: z.string(),
  }),
  batches: z.number().int(),
  batchSize: z.number().int(),
  seed: z.number().int(),
  samplesUsed: z.number().int(),
  createdAt: z.string(),
  /** INT8 search settings that shape the cache (`off`, or `auto` with the target): part of the match. */
  search: z.string().optional(),
  /** What the INT8 search chose (not part of the match: it follows from the fields above). */
  int8: z
    .object({
      floatTensors: z.array(z.object({ name: z.string(), layers: z.array(z.string()), precision: z.literal('fp16'), reason: z.string() })),
      algorithmOf: z.record(z.string(), z.enum(['entropy', 'minmax', 'percentile'])),
      calibrationSeconds: z.number(),
      /**
       * Indices into the selection of the items whose samples went into the statistics (the
       * reserve the calibration never needed is not among them): the fidelity check of a later
       * export that reuses this cache holds out the same images.
       */
      calibrationUsed: z.array(z.number().int().nonnegative()).optional(),
      meetsTarget: z.boolean().optional(),
      /** Digest of what the fidelity check compared (held-out ids with size and mtime, options, target) … */
      fidelityInputs: z.string().optional(),
      /** … and its report, reused as is while that digest matches. */
      fidelity: z.record(z.string(), z.unknown()).optional(),
    })
    .optional(),
});
export type Provenance = z.infer<typeof ProvenanceSchema>;

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Hash of the preprocessing that decides what the model sees. `origin` (where the values came
 * from) is left out: the same numbers from a spec or from a preset give the same tensors.
 */
export function preprocessingDigest(p: ResolvedPreprocessing): { sha256: string; summary: string } {
  const canonical = JSON.stringify([p.height, p.width, p.mean, p.scale, p.order, p.layout, p.resize]);
  return {
    sha256: sha256Hex(canonical),
    summary: `${p.width}x${p.height} ${p.layout} ${p.order} mean=[${p.mean.join(',')}] scale=[${p.scale.join(',')}] ${p.resize}`,
  };
}

export interface SelectedItem {
  id: string;
  size: number;
  mtimeMs: number;
}

/**
 * Digest of the data selection: ordered ids with each file's size and mtime. Stat data rather
 * than content hashes: deciding whether to reuse a cache must not read gigabytes of images (which
 * is what a content hash would cost every run); an edited or replaced file changes its size or
 * mtime, and a touched-but-identical file only causes a harmless recalibration. Order is part
 * of the digest because batches are formed in that order.
 */
export function dataSelectionDigest(items: readonly SelectedItem[]): string {
  const h = createHash('sha256');
  for (const it of items) h.update(`${it.id}\u0000${it.size}\u0000${Math.trunc(it.mtimeMs)}\n`);
  return h.digest('hex');
}

/** Stat the files behind selection ids (`path` or `path#record` for TFRecords), in order. */
export async function statSelection(ids: readonly string[]): Promise<SelectedItem[]> {
  const cache = new Map<string, { size: number; mtimeMs: number }>();
  const out: SelectedItem[] = [];
  for (const id of ids) {
    const hash = id.lastIndexOf('#');
    const file = hash > 0 ? id.slice(0, hash) : id;
    let st = cache.get(file);
    if (!st) {
      try {
        const s = await fs.stat(file);
        st = { size: s.size, mtimeMs: s.mtimeMs };
      } catch {
        st = { size: -1, mtimeMs: -1 };
      }
      cache.set(file, st);
    }
    out.push({ id, size: st.size, mtimeMs: st.mtimeMs });
  }
  return out;
}

export interface ProvenanceInput {
  tool: { name: string; version: string };
  trtVersion: string;
  algorithm: CalibrationAlgorithm;
  percentile: number;
  bins: number;
  statistics: string;
  sampleTarget: number | null;
  headerAlgorithm?: string;
  /** Tensors kept in float (left out of the cache). */
  floatTensors?: readonly string[];
  model: Uint8Array;
  preprocessing: ResolvedPreprocessing;
  data: { items: readonly SelectedItem[]; source: string };
  batches: number;
  batchSize: number;
  seed: number;
  samplesUsed: number;
  createdAt?: Date;
  search?: string;
}

export function buildProvenance(i: ProvenanceInput): Provenance {
  return {
    kind: 'export-studio/calibration-provenance',
    formatVersion: 1,
    tool: { name: i.tool.name, version: i.tool.version, statsVersion: STATS_VERSION },
    target: { trtVersion: i.trtVersion, header: `TRT-${encodeTrtVersion(i.trtVersion)}-${i.headerAlgorithm ?? headerAlgorithmFor(i.algorithm)}`, floatTensors: [...new Set(i.floatTensors ?? [])].sort() },
    algorithm: {
      name: i.algorithm,
      percentile: i.algorithm === 'percentile' ? i.percentile : null,
      bins: i.bins,
      statistics: i.statistics,
      sampleTarget: i.statistics === 'sampled' ? i.sampleTarget : null,
    },
    model: { sha256: sha256Hex(i.model), bytes: i.model.length },
    preprocessing: preprocessingDigest(i.preprocessing),
    data: { sha256: dataSelectionDigest(i.data.items), count: i.data.items.length, basis: 'id+size+mtime', source: i.data.source },
    batches: i.batches,
    batchSize: i.batchSize,
    seed: i.seed,
    samplesUsed: i.samplesUsed,
    createdAt: (i.createdAt ?? new Date()).toISOString(),
    ...(i.search !== undefined ? { search: i.search } : {}),
  };
}

export function serializeProvenance(p: Provenance): string {
  return JSON.stringify(p, null, 2) + '\n';
}

/** Parse a provenance file; null (with the reason) when it is not one of ours. */
export function parseProvenance(text: string): { provenance: Provenance } | { error: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { error: `not JSON (${e instanceof Error ? e.message : String(e)})` };
  }
  const r = ProvenanceSchema.safeParse(json);
  if (!r.success) return { error: `not an export-studio provenance file (${r.error.issues[0]?.path.join('.') ?? ''}: ${r.error.issues[0]?.message ?? ''})` };
  return { provenance: r.data };
}

const short = (h: string): string => `${h.slice(0, 12)}…`;

/** Every difference that changes the scales, in words for the log. */
export function compareProvenance(existing: Provenance, wanted: Provenance): { match: boolean; reasons: string[] } {
  const r: string[] = [];
  const diff = (what: string, a: unknown, b: unknown): void => {
    if (a !== b) r.push(`${what} ${String(a)} → ${String(b)}`);
  };
  if (existing.model.sha256 !== wanted.model.sha256) r.push(`model changed (sha256 ${short(existing.model.sha256)} → ${short(wanted.model.sha256)})`);
  diff('algorithm', existing.algorithm.name, wanted.algorithm.name);
  diff('percentile', existing.algorithm.percentile, wanted.algorithm.percentile);
  diff('histogram bins', existing.algorithm.bins, wanted.algorithm.bins);
  diff('statistics', existing.algorithm.statistics, wanted.algorithm.statistics);
  diff('sample target', existing.algorithm.sampleTarget, wanted.algorithm.sampleTarget);
  diff('target TensorRT', existing.target.trtVersion, wanted.target.trtVersion);
  diff('cache header', existing.target.header, wanted.target.header);
  diff('tensors kept in float', existing.target.floatTensors.join(', ') || 'none', wanted.target.floatTensors.join(', ') || 'none');
  if (existing.preprocessing.sha256 !== wanted.preprocessing.sha256) {
    r.push(`preprocessing changed (${existing.preprocessing.summary} → ${wanted.preprocessing.summary})`);
  }
  if (existing.data.sha256 !== wanted.data.sha256) {
    r.push(`calibration data changed (${existing.data.count} items from ${existing.data.source} → ${wanted.data.count} items from ${wanted.data.source}; ids, sizes or modification times differ)`);
  }
  diff('batches', existing.batches, wanted.batches);
  diff('batch size', existing.batchSize, wanted.batchSize);
  diff('seed', existing.seed, wanted.seed);
  diff('statistics version', existing.tool.statsVersion, wanted.tool.statsVersion);
  diff('INT8 search', existing.search ?? 'none', wanted.search ?? 'none');
  return { match: r.length === 0, reasons: r };
}

/**
 * Whether an existing cache may be reused: it must parse, carry the wanted header, and its
 * provenance must match. Returns the reason either way, for the log and the report.
 */
export function decideCacheReuse(args: {
  reuse: 'auto' | 'never';
  cacheText: string | null;
  provenanceText: string | null;
  wanted: Provenance;
  cacheFile?: string;
}): { reuse: boolean; reason: string } {
  if (args.reuse === 'never') return { reuse: false, reason: 'reuse disabled: recalibrating' };
  if (args.cacheText === null) return { reuse: false, reason: 'no existing cache: calibrating' };
  let header: string;
  try {
    const parsed = parseCalibrationCache(args.cacheText, args.cacheFile);
    header = `TRT-${parsed.header.version}-${parsed.header.algorithm}`;
  } catch (e) {
    return { reuse: false, reason: `existing cache is not valid (${e instanceof Error ? e.message : String(e)}): recalibrating` };
  }
  if (args.provenanceText === null) return { reuse: false, reason: 'existing cache has no provenance file (<cache>.json): recalibrating' };
  const p = parseProvenance(args.provenanceText);
  if ('error' in p) return { reuse: false, reason: `provenance file is ${p.error}: recalibrating` };
  if (header !== args.wanted.target.header) return { reuse: false, reason: `cache header ${header} ≠ wanted ${args.wanted.target.header}: recalibrating` };
  const c = compareProvenance(p.provenance, args.wanted);
  if (!c.match) return { reuse: false, reason: `recalibrating: ${c.reasons.join('; ')}` };
  return { reuse: true, reason: `reusing the cache: model, data, preprocessing, algorithm and target match (created ${p.provenance.createdAt})` };
}
