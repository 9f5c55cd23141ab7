/**
 * A stage's progress and ETA planned in seconds of work, for stages whose units of work cost
 * very different amounts (the INT8 check: FP32 + Q/DQ runs, then solo sensitivity runs; the INT8
 * search: evaluations). A count of runs is a poor clock there: a solo run and an image run are not
 * the same work, and the number of runs changes as the stage learns (the sensitivity runs stop at a
 * time bound, the search stops when the target is met).
 *
 * The stage is planned up front as phases of units (`set`). Each phase's cost per unit is a prior
 * (measured elsewhere: the first run of the same kind) until the phase's own units are measured,
 * then an exponentially smoothed measurement of the time between its units. What is left is
 * simulated phase by phase from now: the unit in progress, the units still planned, and for a
 * bounded phase only the whole units that fit before its cap (the rule the stage itself stops by).
 * A re-plan (`set` again) changes only what is left; units done stay done.
 *
 * The fraction shown is time-based, elapsed ÷ (elapsed + ETA), and never goes backwards: when a
 * re-plan adds work, the bar waits while the ETA says how long.
 */

export interface PhaseSpec {
  /** Units of work planned for the phase (runs, evaluations); units already done count. */
  units: number;
  /** Seconds one unit is expected to cost until one of this phase is measured (undefined: unknown, no ETA yet). */
  unitSeconds?: number;
  /** The phase starts no unit that would end after this time (the plan's clock, ms): a time bound. */
  capAt?: number;
  /** With capAt: the phase's first unit runs whenever the cap is not yet reached, even if it will not fit. */
  firstAlways?: boolean;
  /**
   * The first `warmup` units pay a warm-up (a session's first run, a prefetching loader's first
   * images): their times are not taken as the phase's cost (the prior stands, or there is no ETA
   * yet); the next unit's time replaces them.
   */
  warmup?: number;
}

interface Phase extends PhaseSpec {
  id: string;
  done: number;
  /** When the unit in progress began (phase begun and not ended). */
  mark?: number;
  /** Smoothed measured seconds per unit. */
  measured?: number;
  /** How many samples went into `measured`. */
  samples: number;
  /** The latest sample. */
  latest?: number;
  ended: boolean;
}

export interface PlanSnapshot {
  /** 0…1, never smaller than a previous snapshot's. */
  fraction: number;
  /** Seconds left, undefined while some planned phase has no cost estimate. */
  eta?: number;
  /** Seconds since the plan was created. */
  elapsed: number;
}

export class StagePlan {
  private readonly phases: Phase[] = [];
  private readonly t0: number;
  private shown = 0;

  /**
   * @param now the clock in ms (injected in tests)
   * @param alpha weight of the newest unit in the smoothed cost per unit
   */
  constructor(
    private readonly now: () => number = () => performance.now(),
    private readonly alpha = 0.4,
  ) {
    this.t0 = now();
  }

  /** Plan a phase, or re-plan one (its units done and its measured cost are kept). Phases run in the order first set. */
  set(id: string, spec: PhaseSpec): this {
    const p = this.phases.find((x) => x.id === id);
    if (!p) {
      this.phases.push({ id, done: 0, ended: false, samples: 0, ...spec });
      return this;
    }
    p.units = spec.units;
    if (spec.unitSeconds !== undefined) p.unitSeconds = spec.unitSeconds;
    if (spec.capAt !== undefined) p.capAt = spec.capAt;
    if (spec.firstAlways !== undefined) p.firstAlways = spec.firstAlways;
    if (spec.warmup !== undefined) p.warmup = spec.warmup;
    return this;
  }

  has(id: string): boolean {
    return this.phases.some((x) => x.id === id);
  }

  /** The phase starts its first unit now (earlier phases not ended are over: they did what they did). */
  begin(id: string): void {
    const p = this.get(id);
    for (const q of this.phases) {
      if (q === p) break;
      this.close(q);
    }
    p.mark = this.now();
  }

  /** `n` units of the phase finished now: the time since the previous one (or the phase's start) is measured (not when the phase was never begun). */
  unit(id: string, n = 1): void {
    const p = this.get(id);
    const t = this.now();
    if (p.mark === undefined) this.begin(id);
    else this.sample(p, (t - p.mark) / 1000 / Math.max(1, n));
    p.done += n;
    p.units = Math.max(p.units, p.done);
    p.mark = t;
  }

  /** The phase is over, whatever was planned (a bound reached, a target met). */
  end(id: string): void {
    this.close(this.get(id));
  }

  /** A phase's cost per unit: measured (past the warm-up), else its prior. */
  unitSeconds(id: string): number | undefined {
    const p = this.phases.find((x) => x.id === id);
    return p ? cost(p) : undefined;
  }

  /** Units of a phase done so far. */
  done(id: string): number {
    return this.phases.find((x) => x.id === id)?.done ?? 0;
  }

  /** Seconds left, simulated phase by phase (module comment); undefined while a phase has no cost. */
  remaining(): number | undefined {
    const now = this.now();
    let t = now;
    for (const p of this.phases) {
      if (p.ended) continue;
      const c = cost(p);
      let left = Math.max(0, p.units - p.done);
      if (left === 0) continue;
      if (c === undefined) return undefined;
      let started = p.done > 0;
      if (p.mark !== undefined) {
        // The unit since the last mark runs to its end if the cap let it start then (the stage
        // decides before each unit); else the bound ends the phase there.
        const cap = p.capAt;
        const startedInTime = cap === undefined || p.mark + c * 1000 <= cap || (p.firstAlways === true && p.done === 0 && p.mark < cap);
        if (!startedInTime) continue;
        const spent = (now - p.mark) / 1000;
        t += Math.max(0, c - spent) * 1000;
        left -= 1;
        started = true;
      }
      let k = left;
      if (p.capAt !== undefined) {
        const fit = c > 0 ? Math.floor((p.capAt - t) / 1000 / c) : left;
        k = Math.min(left, Math.max(0, fit));
        if (k === 0 && left > 0 && p.firstAlways && !started && t < p.capAt) k = 1;
      }
      t += k * c * 1000;
    }
    return (t - now) / 1000;
  }

  /** Progress to show: time-based fraction (monotonic) and the ETA. */
  snapshot(): PlanSnapshot {
    const elapsed = (this.now() - this.t0) / 1000;
    const eta = this.remaining();
    if (eta !== undefined) {
      const f = elapsed + eta > 0 ? elapsed / (elapsed + eta) : 1;
      this.shown = Math.max(this.shown, Math.min(1, f));
    }
    return { fraction: this.shown, ...(eta !== undefined ? { eta } : {}), elapsed };
  }

  /** Smoothed cost per unit (the first sample past the warm-up replaces the warm-up ones instead of averaging with them). */
  private sample(p: Phase, seconds: number): void {
    p.measured = p.samples <= (p.warmup ?? 0) ? seconds : this.alpha * seconds + (1 - this.alpha) * (p.measured ?? seconds);
    p.latest = seconds;
    p.samples++;
  }

  /** "images 3/8 at 0.052 s, solo 1/12 at 0.091 s (ended)" — for debug logs. */
  describe(): string {
    return this.phases.map((p) => `${p.id} ${p.done}/${p.units} at ${cost(p)?.toFixed(3) ?? '?'} s${p.ended ? ' (ended)' : ''}`).join(', ');
  }

  private close(p: Phase): void {
    p.ended = true;
    delete p.mark;
  }

  private get(id: string): Phase {
    const p = this.phases.find((x) => x.id === id);
    if (!p) throw new Error(`StagePlan: no phase '${id}'`);
    return p;
  }
}

/**
 * A phase's cost per unit: measured past the warm-up, else its prior, else the latest warm-up
 * unit's time when no more units are left than were measured (the warm-up's excess can at most
 * double; extrapolated over many units it would swamp the ETA).
 */
function cost(p: Phase): number | undefined {
  if (p.measured !== undefined && p.samples > (p.warmup ?? 0)) return p.measured;
  if (p.unitSeconds !== undefined) return p.unitSeconds;
  return p.measured !== undefined && p.units - p.done <= p.done ? p.latest : undefined;
}
