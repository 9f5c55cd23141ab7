import type { ExportReport } from '../../../shared/report.js';

/** Per-tensor statistics for the Results charts: what the pipeline's calibration reported. */
export interface TensorStat {
  name: string;
  /** max |x| seen. */
  amax: number;
  /** The clip threshold the algorithm chose (scale × 127). */
  threshold: number;
  histogram?: { edges: number[]; counts: number[] };
}

function isNumArray(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x));
}

/** The report's tensorStats, checked (a malformed entry is left out, never drawn wrong). */
export function tensorStatsOf(report: ExportReport | null): TensorStat[] {
  const raw = report?.calibration?.tensorStats;
  if (!Array.isArray(raw)) return [];
  const out: TensorStat[] = [];
  for (const o of raw) {
    if (typeof o.name !== 'string' || !Number.isFinite(o.amax) || !Number.isFinite(o.threshold)) continue;
    const t: TensorStat = { name: o.name, amax: o.amax, threshold: o.threshold };
    const h = o.histogram;
    if (h && isNumArray(h.edges) && isNumArray(h.counts) && h.edges.length === h.counts.length + 1) t.histogram = { edges: h.edges, counts: h.counts };
    out.push(t);
  }
  return out;
}
