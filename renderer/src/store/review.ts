import type { PreflightFix, PreflightProblem } from '../../../shared/api.js';
import type { ImagesState } from './images.js';
import type { OptionsState } from './options.js';
import { buildRequest, inputGeometry, preprocessingFor, preprocessingProblems, validateRequest } from './request.js';
import { sampleNeed } from './selection.js';
import type { SourceState } from './source.js';
import { STEP_LABELS, type StepId } from './steps.js';

/** What a problem's button does in the app (issue 12: remedies as actions, not flags). */
export type ReviewFix = PreflightFix | { kind: 'accept-fewer' } | { kind: 'goto'; step: StepId };

/** One problem the Review step lists; Start stays disabled until each is fixed (or, a warning, accepted). */
export interface ReviewProblem {
  /** Stable for the same problem on the same files (what "accepted" remembers). */
  key: string;
  id: PreflightProblem['id'] | 'invalid' | 'too-few-samples' | 'input-size';
  severity: 'error' | 'warning';
  message: string;
  files: string[];
  fix?: ReviewFix;
  fixLabel?: string;
}

/**
 * The problems the page itself can see (the host adds outputs, folders and unreadable images):
 * an incomplete request, a calibration shortage the Calibration step already counts, a dynamic
 * model input without an input size.
 */
export function clientProblems(source: SourceState, options: OptionsState, images: Pick<ImagesState, 'images' | 'selection'>): ReviewProblem[] {
  const out: ReviewProblem[] = [];
  const req = buildRequest(source, options, images);
  for (const i of validateRequest(req)) {
    out.push({ key: `invalid:${i.path}:${i.message}`, id: 'invalid', severity: 'error', message: `${i.path}: ${i.message}`, files: [], fix: { kind: 'goto', step: i.step }, fixLabel: `Go to ${STEP_LABELS[i.step]}` });
  }
  if (!source.specPath.trim()) {
    for (const p of preprocessingProblems(source.pp)) out.push({ key: `pp:${p}`, id: 'invalid', severity: 'error', message: p, files: [], fix: { kind: 'goto', step: 'spec' }, fixLabel: `Go to ${STEP_LABELS.spec}` });
    const geo = inputGeometry(source.model?.inputs[0]?.shape ?? null);
    const needsSize = options.precision === 'int8' || options.outputs.dsConfig;
    if (geo.dynamic && needsSize && preprocessingFor(source).size === undefined) {
      out.push({
        key: 'input-size',
        id: 'input-size',
        severity: 'error',
        message: `The model input ${geo.text} has a dynamic height/width and there is no spec: ${options.precision === 'int8' ? 'calibration' : 'the DeepStream config'} needs the input size.`,
        files: [],
        fix: { kind: 'goto', step: 'spec' },
        fixLabel: 'Set the input size',
      });
    }
  }
  const c = options.calibration;
  if (options.precision === 'int8' && !c.acceptFewer) {
    let have: number | null = null;
    let what = '';
    if (c.source === 'image-dir' && images.images.length > 0) {
      have = images.selection.selected.size;
      what = 'selected images';
    } else if (c.source === 'spec-loader' && source.spec) {
      have = source.spec.trainingFiles.reduce((n, f) => n + f.records, 0);
      what = 'TFRecord records';
    }
    if (have !== null) {
      const need = sampleNeed(have, c.batches, c.batchSize);
      if (need.short > 0 && have > 0) {
        out.push({
          key: `too-few:${have}:${need.needed}`,
          id: 'too-few-samples',
          severity: 'error',
          message: `Calibration needs ${c.batches} × ${c.batchSize} = ${need.needed} samples but there are ${have} ${what}; the export would stop.`,
          files: [],
          fix: { kind: 'accept-fewer' },
          fixLabel: `Accept fewer samples (${have})`,
        });
      }
    }
  }
  return out;
}

export function fromPreflight(p: PreflightProblem): ReviewProblem {
  return { key: `${p.id}:${p.files.join('|')}`, id: p.id, severity: p.severity, message: p.message, files: p.files, ...(p.fix ? { fix: p.fix } : {}), ...(p.fixLabel ? { fixLabel: p.fixLabel } : {}) };
}

/** Problems that still block Start: every error, and warnings not accepted. */
export function blocking(problems: readonly ReviewProblem[], accepted: ReadonlySet<string>): ReviewProblem[] {
  return problems.filter((p) => p.severity === 'error' || !accepted.has(p.key));
}
