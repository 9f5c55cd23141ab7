import fs from 'node:fs';
import path from 'node:path';
import type { StudioErrorData } from '../../../shared/errors.js';
import type { ArtifactInfo } from '../../../shared/report.js';

/** One entry's outcome, as `batch run` and `batch status` report it. */
export interface EntryResult {
  index: number;
  name: string;
  model: string;
  precision: string;
  /** Where it ran: 'cpu', a GPU index, or the scheduler's words (e.g. "slurm 1234_3 on node7"). */
  device: string;
  status: 'done' | 'failed' | 'cancelled' | 'crashed' | 'queued' | 'running' | 'pending' | 'unknown';
  seconds: number | null;
  artifacts: ArtifactInfo[];
  /** The INT8 verdict of the report when it has one (read generically), else null. */
  int8Verdict: string | null;
  error: Pick<StudioErrorData, 'code' | 'message' | 'hint'> | null;
  /** Per-task log (Slurm/Kubernetes) or the report file. */
  log?: string;
}

export interface BatchSummary {
  manifest: string;
  name: string;
  /** 'local', 'slurm <jobid>', 'kubernetes <namespace>/<job>'. */
  runner: string;
  startedAt: string;
  finishedAt: string | null;
  counts: Record<string, number>;
  entries: EntryResult[];
}

/**
 * The INT8 verdict of a report, read without knowing its exact shape: the first `verdict` found
 * (a string, or an object with a status/label/summary/text), depth first, preferring the
 * fidelity block. null when the report has none (FP32/FP16, or a version without verdicts).
 */
export function findVerdict(report: unknown): string | null {
  const fromValue = (v: unknown): string | null => {
    if (typeof v === 'string' && v.trim() !== '') return v.trim();
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      const parts = ['status', 'label', 'verdict', 'summary', 'text', 'message'].map((k) => o[k]).filter((x): x is string => typeof x === 'string' && x.trim() !== '');
      if (parts.length) return [...new Set(parts)].join(': ');
      if (typeof o.pass === 'boolean') return o.pass ? 'pass' : 'fail';
      if (typeof o.ok === 'boolean') return o.ok ? 'pass' : 'fail';
    }
    return null;
  };
  const seen = new Set<unknown>();
  const walk = (node: unknown, depth: number): string | null => {
    if (!node || typeof node !== 'object' || seen.has(node) || depth > 6) return null;
    seen.add(node);
    const o = node as Record<string, unknown>;
    for (const [k, v] of Object.entries(o)) if (/verdict/i.test(k)) return fromValue(v);
    const order = Object.keys(o).sort((a, b) => Number(b === 'fidelity') - Number(a === 'fidelity'));
    for (const k of order) {
      const r = walk(o[k], depth + 1);
      if (r !== null) return r;
    }
    return null;
  };
  return walk(report, 0);
}

export function countStatuses(entries: readonly EntryResult[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const e of entries) counts[e.status] = (counts[e.status] ?? 0) + 1;
  return counts;
}

function fmtSeconds(s: number | null): string {
  if (s === null) return '—';
  return s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
}

/** The summary as an aligned text table (what the terminal shows). */
export function summaryTable(s: BatchSummary): string {
  const header = ['#', 'name', 'precision', 'device', 'status', 'time', 'artifacts', 'INT8 verdict'];
  const rows = s.entries.map((e) => [
    String(e.index + 1),
    e.name,
    e.precision,
    e.device,
    e.status === 'done' ? 'done' : e.error ? `${e.status} (${e.error.code})` : e.status,
    fmtSeconds(e.seconds),
    e.artifacts.length ? String(e.artifacts.length) : '—',
    e.int8Verdict ?? (e.precision === 'int8' && e.status === 'done' ? 'n/a (no verdict in report)' : '—'),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  const out = [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
  const counts = Object.entries(s.counts).map(([k, n]) => `${n} ${k}`).join(', ');
  out.push('', `${s.entries.length} export(s): ${counts}`);
  for (const e of s.entries) {
    if (e.error) out.push(`  ${e.name}: ${e.error.code}: ${e.error.message}${e.log ? ` (log: ${e.log})` : ''}`);
  }
  return out.join('\n') + '\n';
}

/** Write the JSON summary atomically (temp file + rename). */
export function writeSummaryJson(file: string, s: BatchSummary): void {
  const abs = path.resolve(file);
  fs.mkdirSync(path.dirname(abs), { recursive: true });
  const tmp = `${abs}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(s, null, 2) + '\n');
  fs.renameSync(tmp, abs);
}
