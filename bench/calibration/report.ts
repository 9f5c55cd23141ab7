import type { Mode, ModeResult } from './modes.js';

/** One measured cell: a model at an image count in one mode. */
export interface Row {
  model: string;
  count: number;
  result: ModeResult;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Repetitions of one mode folded into one result: medians of the measures; failed if any failed. */
export function medianResult(reps: readonly ModeResult[]): ModeResult {
  const first = reps[0];
  if (!first) throw new Error('no repetitions');
  if (reps.length === 1) return first;
  const failed = reps.find((r) => !r.ok);
  const pick = (f: (r: ModeResult) => number) => median(reps.map(f));
  return {
    ...(failed ?? first),
    seconds: pick((r) => r.seconds),
    cpuSeconds: pick((r) => r.cpuSeconds),
    peakRssMb: pick((r) => r.peakRssMb),
    ortSeconds: pick((r) => r.ortSeconds),
    gapSeconds: pick((r) => r.gapSeconds),
    detail: `${(failed ?? first).detail}${(failed ?? first).detail ? '; ' : ''}median of ${reps.length}`,
  };
}

/** The baseline a mode is compared with: its own feed's plain inference. */
export function baselineOf(mode: Mode): Mode {
  return mode.endsWith('-loader') ? 'plain-loader' : 'plain';
}

export interface Ratios {
  time?: number;
  cpu?: number;
  rss?: number;
}

export function ratios(rows: readonly Row[], row: Row): Ratios {
  const base = rows.find((r) => r.model === row.model && r.count === row.count && r.result.mode === baselineOf(row.result.mode) && r.result.ok);
  if (!base || !row.result.ok) return {};
  return { time: row.result.seconds / base.result.seconds, cpu: row.result.cpuSeconds / base.result.cpuSeconds, rss: row.result.peakRssMb / base.result.peakRssMb };
}

const fmt = (x: number | undefined, digits = 2): string => (x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(digits));

/** Ratio cell with the target check (≤ 1.5×) for calibration modes. */
function ratioCell(mode: Mode, x: number | undefined): string {
  if (x === undefined) return '—';
  const isEngine = mode !== 'naive' && !mode.startsWith('plain');
  return `${fmt(x)}×${isEngine ? (x <= 1.5 ? ' ✓' : ' ✗') : ''}`;
}

/** The results as a Markdown table (one row per model × count × mode). */
export function markdownTable(rows: readonly Row[]): string {
  const lines = [
    '| model | images | mode | wall s | wall ÷ plain | CPU s | CPU ÷ plain | peak RSS MiB | RSS ÷ plain | in ORT s | between runs s | provider | notes |',
    '|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|',
  ];
  for (const row of rows) {
    const r = row.result;
    const q = ratios(rows, row);
    const notes = [r.detail, r.error ? `**${r.ok ? 'note' : 'failed'}:** ${r.error}` : '', r.notice ?? ''].filter(Boolean).join('; ').replace(/\|/g, '\\|');
    const cell = (x: number | undefined) => (r.mode.startsWith('plain') ? '1×' : ratioCell(r.mode, x));
    lines.push(
      `| ${row.model} | ${row.count} | ${r.mode} | ${fmt(r.seconds)} | ${cell(q.time)} | ${fmt(r.cpuSeconds)} | ${cell(q.cpu)} | ${fmt(r.peakRssMb, 0)} | ${cell(q.rss)} | ${fmt(r.ortSeconds)} | ${fmt(r.gapSeconds)} | ${r.provider} | ${notes} |`,
    );
  }
  return lines.join('\n');
}

/** Replaces the text between the two markers in `doc` (or appends a marked block). */
export function replaceBlock(doc: string, block: string, name = 'calibration-results'): string {
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  const body = `${start}\n${block.trim()}\n${end}`;
  const i = doc.indexOf(start);
  const j = doc.indexOf(end);
  if (i >= 0 && j > i) return doc.slice(0, i) + body + doc.slice(j + end.length);
  return `${doc.trimEnd()}\n\n${body}\n`;
}
