import type { StudioErrorData } from '../../../shared/errors.js';
import type { StepId } from '../store/steps.js';
import { STEP_LABELS } from '../store/steps.js';
import { FLAG_CONTROLS } from '../../../shared/app-controls.js';

export { FLAG_CONTROLS };


const FLAG_RE = /(^|[\s(“"'`])(-{1,2}[a-z][a-z_-]*)(?:\s+(?:<[^>]+>|[A-Z]+x[A-Z]+|\d[\dx.,]*(?=[\s),.;]|$)))?/g;

/** The hint in the app's words: each known flag becomes “its control” (Step). Unknown flags stay. */
export function appHint(hint: string): { text: string; steps: StepId[] } {
  const steps: StepId[] = [];
  let text = hint.replace(FLAG_RE, (whole, pre: string, flag: string) => {
    const c = FLAG_CONTROLS[flag];
    if (!c) return whole;
    if (!steps.includes(c.step)) steps.push(c.step);
    return `${pre}“${c.label}” (${STEP_LABELS[c.step]} step)`;
  });
  // "Pass “X” (…)" reads as a flag; the app's verb is "use".
  text = text.replace(/\b[Pp]ass “/g, (m) => (m.startsWith('P') ? 'Use “' : 'use “')).replace(/\s*\(or set EXPORT_STUDIO_KEY[^)]*\)/g, '').replace(/\s{2,}/g, ' ');
  return { text: text.trim(), steps };
}

/** A one-click remedy the app offers for an error, beside the hint. */
export type Remedy = { kind: 'overwrite' } | { kind: 'accept-fewer' } | { kind: 'goto'; step: StepId };

export function remediesFor(error: StudioErrorData): { label: string; remedy: Remedy }[] {
  const out: { label: string; remedy: Remedy }[] = [];
  if (error.code === 'E_OUTPUT_EXISTS' && /--overwrite/.test(error.hint)) out.push({ label: 'Turn on overwrite', remedy: { kind: 'overwrite' } });
  if (error.code === 'E_CAL_TOO_FEW_SAMPLES') out.push({ label: 'Accept fewer samples', remedy: { kind: 'accept-fewer' } });
  for (const step of appHint(error.hint).steps) out.push({ label: `Go to ${STEP_LABELS[step]}`, remedy: { kind: 'goto', step } });
  return out;
}
