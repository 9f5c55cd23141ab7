import { describe, expect, it } from 'vitest';
import { StagePlan, type PhaseSpec } from './progress-plan.js';

/**
 * A stage replayed on a deterministic clock: each step either changes the plan (set, begin, end)
 * or runs a unit that takes `seconds`; during units the clock advances in 10 ms ticks and the
 * snapshot (ETA, fraction) is sampled at every tick, so the ETA can be compared with the time
 * really left at any point of the stage.
 */
type Step =
  | { set: string; spec: PhaseSpec | ((t: number) => PhaseSpec) }
  | { begin: string }
  | { end: string }
  | { unit: string; seconds: number };

interface Sample {
  t: number;
  eta?: number;
  fraction: number;
}

function replay(steps: Step[]): { samples: Sample[]; total: number } {
  let ms = 0;
  const plan = new StagePlan(() => ms);
  const samples: Sample[] = [];
  const sample = () => {
    const s = plan.snapshot();
    samples.push({ t: ms / 1000, fraction: s.fraction, ...(s.eta !== undefined ? { eta: s.eta } : {}) });
  };
  const run = (seconds: number) => {
    const end = ms + Math.round(seconds * 1000);
    while (ms < end) {
      ms = Math.min(end, ms + 10);
      sample();
    }
  };
  for (const s of steps) {
    if ('set' in s) plan.set(s.set, typeof s.spec === 'function' ? s.spec(ms) : s.spec);
    else if ('begin' in s) plan.begin(s.begin);
    else if ('end' in s) plan.end(s.end);
    else {
      run(s.seconds);
      plan.unit(s.unit);
    }
    sample();
  }
  return { samples, total: ms / 1000 };
}

/** |ETA − time really left| ÷ time left, at the first sample with an ETA at or past q of the stage (as bench/int8 measures it). */
function etaErrors(r: { samples: Sample[]; total: number }, qs = [0.25, 0.5, 0.75]): number[] {
  return qs.map((q) => {
    const s = r.samples.find((x) => x.t >= q * r.total && x.eta !== undefined);
    if (!s || s.eta === undefined) throw new Error(`no ETA at ${q}`);
    return Math.abs(s.eta - (r.total - s.t)) / (r.total - s.t);
  });
}

function monotonic(r: { samples: Sample[] }): boolean {
  return r.samples.every((s, i) => i === 0 || s.fraction >= r.samples[i - 1]!.fraction);
}

const units = (phase: string, n: number, seconds: number): Step[] => Array.from({ length: n }, () => ({ unit: phase, seconds }));

/**
 * The INT8 check as runFidelity drives its plan: sessions open, 8 images (FP32 + Q/DQ each; the
 * first 2 pay the warm-up), then the solo runs (the first pays extra), their prior from the image
 * runs, stopped by the budget (the cap) before a run that would end past it.
 */
function checkTimeline(o: { imageS: number; soloS: number; soloPriorS: number; firstSoloS?: number; capS?: number; solos?: number }): Step[] {
  const solos = o.solos ?? 12;
  const capAt = o.capS !== undefined ? o.capS * 1000 : undefined;
  const soloSpec = (extra: Partial<PhaseSpec> = {}): PhaseSpec => ({ units: solos, warmup: 1, ...(capAt !== undefined ? { capAt } : {}), ...extra });
  const firstSolo = o.firstSoloS ?? o.soloS;
  const steps: Step[] = [
    { set: 'open', spec: { units: 1 } },
    { begin: 'open' },
    { set: 'images', spec: { units: 8, warmup: 2 } },
    { set: 'solo', spec: soloSpec() },
    { unit: 'open', seconds: 0.3 },
    { begin: 'images' },
    { unit: 'images', seconds: 3 * o.imageS },
    // The prior for a solo run comes from the image runs (here deliberately off: soloPriorS).
    { set: 'solo', spec: soloSpec({ unitSeconds: o.soloPriorS }) },
    ...units('images', 7, o.imageS),
    { begin: 'solo' },
  ];
  // The solo loop's own rule: start a run only if it is expected to end within the budget (mean so far, else the prior).
  let t = 0.3 + 10 * o.imageS;
  let ran = 0;
  let spent = 0;
  while (ran < solos) {
    const expected = ran === 0 ? o.soloPriorS : spent / ran;
    if (o.capS !== undefined && t + expected > o.capS) break;
    const d = ran === 0 ? firstSolo : o.soloS;
    steps.push({ unit: 'solo', seconds: d });
    t += d;
    spent += d;
    ran++;
  }
  steps.push({ end: 'solo' });
  return steps;
}

describe('StagePlan', () => {
  it('no ETA before a phase has a cost; the warm-up units are not taken as the cost', () => {
    let ms = 0;
    const plan = new StagePlan(() => ms);
    plan.set('images', { units: 10, warmup: 2 });
    plan.begin('images');
    expect(plan.snapshot().eta).toBeUndefined();
    ms += 5000; // a slow first image (sessions' first runs, loader start)
    plan.unit('images');
    ms += 3000;
    plan.unit('images');
    expect(plan.unitSeconds('images')).toBeUndefined();
    expect(plan.snapshot().eta).toBeUndefined();
    ms += 1000;
    plan.unit('images');
    expect(plan.unitSeconds('images')).toBeCloseTo(1, 6);
    expect(plan.snapshot().eta).toBeCloseTo(7, 6);
  });

  it('with few units left, the warm-up unit stands in for the cost (a big model: 2 held-out images)', () => {
    let ms = 0;
    const plan = new StagePlan(() => ms);
    plan.set('images', { units: 2, warmup: 2 });
    plan.begin('images');
    ms += 16_000;
    plan.unit('images');
    // 1 left ≤ 1 measured: the 16 s image stands in, less what the second has run.
    ms += 4_000;
    expect(plan.snapshot().eta).toBeCloseTo(12, 6);
  });

  it('a unit the cap did not let start is not counted as in progress (the search stopped by its bound)', () => {
    let ms = 0;
    const plan = new StagePlan(() => ms);
    plan.set('evals', { units: 4, unitSeconds: 13, capAt: 50_000 });
    plan.begin('evals');
    for (let i = 0; i < 3; i++) {
      ms += 13_000;
      plan.unit('evals');
    }
    // At 39 s a 4th evaluation would end at 52 s, past the bound: the search stops, ETA 0.
    expect(plan.remaining()).toBe(0);
    // With a later cap it would have started, and it counts.
    plan.set('evals', { units: 4, capAt: 60_000 });
    ms += 3_000;
    expect(plan.remaining()).toBeCloseTo(10, 6);
  });

  it('a bounded phase counts only the whole units that fit before its cap (the first always when allowed)', () => {
    const plan = new StagePlan(() => 0);
    plan.set('a', { units: 2, unitSeconds: 1 });
    plan.set('solo', { units: 12, unitSeconds: 3, capAt: 11_000 });
    // a: 2 s, then solo from t = 2: floor(9 / 3) = 3 runs → ends at 11.
    expect(plan.remaining()).toBeCloseTo(11, 6);
    plan.set('solo', { units: 12, capAt: 2_500, firstAlways: true });
    // Cap 0.5 s after the solo phase starts: the first run still goes (as the check does).
    expect(plan.remaining()).toBeCloseTo(5, 6);
    plan.set('solo', { units: 12, capAt: 2_500, firstAlways: false });
    expect(plan.remaining()).toBeCloseTo(2, 6);
    plan.set('solo', { units: 12, capAt: 1_000, firstAlways: true });
    // Past the cap when the phase would start: nothing.
    expect(plan.remaining()).toBeCloseTo(2, 6);
  });

  it('the INT8 check timeline with stable unit costs: ETA within 25 % at 25 / 50 / 75 % of the stage, progress never backwards', () => {
    // Solo prior 20 % off (a full Q/DQ run is dearer than a model with one quantizer) and the first solo run 2× slower.
    const r = replay(checkTimeline({ imageS: 0.5, soloS: 0.4, soloPriorS: 0.48, firstSoloS: 0.8 }));
    const errors = etaErrors(r);
    for (const e of errors) expect(e).toBeLessThanOrEqual(0.25);
    expect(monotonic(r)).toBe(true);
    expect(r.samples.at(-1)!.fraction).toBe(1);
    expect(r.samples.at(-1)!.eta).toBe(0);
  });

  it('the check timeline with unit costs jittered ±20 % (a shared machine): ETA still within 25 %', () => {
    // Deterministic jitter (an LCG): every unit's time × 0.8…1.2.
    let seed = 12345;
    const jitter = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return 0.8 + 0.4 * (seed / 2 ** 31);
    };
    const steps = checkTimeline({ imageS: 0.5, soloS: 0.4, soloPriorS: 0.48, firstSoloS: 0.8 }).map((x) => ('seconds' in x ? { ...x, seconds: x.seconds * jitter() } : x));
    const r = replay(steps);
    for (const e of etaErrors(r)) expect(e).toBeLessThanOrEqual(0.25);
    expect(monotonic(r)).toBe(true);
  });

  it('the check timeline stopped by its budget: the cap is planned from the start, ETA within 25 %', () => {
    // 12 solo runs of 2 s would take 24 s; the budget (cap at 14 s) allows 4.
    const r = replay(checkTimeline({ imageS: 0.5, soloS: 2, soloPriorS: 1.8, firstSoloS: 2.4, capS: 14 }));
    expect(r.total).toBeLessThanOrEqual(14);
    for (const e of etaErrors(r)) expect(e).toBeLessThanOrEqual(0.25);
    expect(monotonic(r)).toBe(true);
  });

  it('the old way (run counts, elapsed ÷ fraction) misses the same timeline by far more than 25 %', () => {
    // Same stable timeline, ETA = elapsed × (total runs − done) ÷ done with runs as equal units:
    // what the check showed before (8 image runs + 12 solo runs of very different cost).
    const r = replay(checkTimeline({ imageS: 0.5, soloS: 0.4, soloPriorS: 0.4 }));
    const runs = 8 + 12;
    const doneAt = (t: number) => {
      const imagesEnd = 0.3 + 10 * 0.5;
      if (t < 0.3 + 1.5) return 0;
      if (t < imagesEnd) return 1 + Math.min(7, Math.floor((t - 1.8) / 0.5));
      return 8 + Math.floor((t - imagesEnd) / 0.4);
    };
    const errs = [0.25, 0.5].map((q) => {
      const t = q * r.total;
      const d = doneAt(t);
      const eta = (t * (runs - d)) / d;
      return Math.abs(eta - (r.total - t)) / (r.total - t);
    });
    expect(Math.max(...errs)).toBeGreaterThan(0.25);
  });

  it('a mid-stage re-plan (the search adds fallback steps): the bar holds, the ETA takes the new work at the measured cost', () => {
    let ms = 0;
    const plan = new StagePlan(() => ms);
    const cap = 100_000;
    // 3 mixes + the fallback's first step, at the cost the check measured (2 s).
    plan.set('evals', { units: 4, unitSeconds: 2, capAt: cap });
    plan.begin('evals');
    const fractions: number[] = [];
    const etas: number[] = [];
    const step = (seconds: number) => {
      for (let i = 0; i < seconds * 100; i++) {
        ms += 10;
        const s = plan.snapshot();
        fractions.push(s.fraction);
        if (s.eta !== undefined) etas.push(s.eta);
      }
      plan.unit('evals');
    };
    for (let i = 0; i < 4; i++) step(2.5);
    // The fallback's first step missed: one more gallop step and the bisection after it (3 more evaluations).
    plan.set('evals', { units: 7, capAt: cap });
    const after = plan.snapshot();
    expect(after.eta).toBeCloseTo(3 * 2.5, 6);
    for (let i = 0; i < 3; i++) step(2.5);
    plan.end('evals');
    const last = plan.snapshot();
    expect(last.eta).toBe(0);
    expect(last.fraction).toBe(1);
    expect(fractions.every((f, i) => i === 0 || f >= fractions[i - 1]!)).toBe(true);
    // After the re-plan, ETA vs the 7.5 s really left at each point: exact at stable cost.
    const t0 = 10;
    const tail = etas.slice(-750);
    tail.forEach((e, i) => expect(Math.abs(e - (17.5 - (t0 + (i + 1) * 0.01)))).toBeLessThan(0.05 + 1e-9));
  });

  it('the re-plan that cuts work (a target met early) leaves the bar where it was and jumps to the end', () => {
    let ms = 0;
    const plan = new StagePlan(() => ms);
    plan.set('evals', { units: 4, unitSeconds: 1 });
    plan.begin('evals');
    ms += 1000;
    plan.unit('evals');
    const before = plan.snapshot();
    expect(before.fraction).toBeCloseTo(0.25, 6);
    plan.end('evals');
    expect(plan.snapshot().fraction).toBe(1);
  });
});
