import type { ExportReport } from '../../../shared/report.js';

/**
 * Optional per-tensor statistics for the Results charts. Not (yet) in the shared
 * CalibrationSummary: read defensively from `report.calibration.tensorStats` when a host sends it.
 */
export interface TensorStat {
  name: string;
  amax: number;
  histogram?: { edges: number[]; counts: number[] };
}

function isNumArray(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x));
}

export function tensorStatsOf(report: ExportReport | null): TensorStat[] {
  const raw: unknown = report?.calibration ? (report.calibration as unknown as Record<string, unknown>)['tensorStats'] : undefined;
  if (!Array.isArray(raw)) return [];
  const out: TensorStat[] = [];
  for (const r of raw) {
    if (typeof r !== 'object' || r === null) continue;
    const o = r as Record<string, unknown>;
    if (typeof o['name'] !== 'string' || typeof o['amax'] !== 'number' || !Number.isFinite(o['amax'])) continue;
    const t: TensorStat = { name: o['name'], amax: o['amax'] };
    const h = o['histogram'] as Record<string, unknown> | undefined;
    if (h && isNumArray(h['edges']) && isNumArray(h['counts']) && h['edges'].length === h['counts'].length + 1) {
      t.histogram = { edges: h['edges'], counts: h['counts'] };
    }
    out.push(t);
  }
  return out;
}
