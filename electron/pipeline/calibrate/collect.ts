/**
 * Statistics collection: what one calibration run's outputs add to the per-tensor statistics.
 *
 * The statistics graph (instrument.ts) returns a few small tensors per run; a StatsCollector
 * parses them and keeps, per calibrated tensor, the exact max |x| over all runs and, for the
 * histogram forms, an |x| histogram (histogram.ts). It also derives the statistics of tensors
 * that were not reduced in-graph (Relu outputs, BatchNormalization inputs) from their related
 * tensor's chunk. It knows nothing of ONNX Runtime: the engine runs the session and hands the
 * output arrays over, so the parsing and the derivations can be tested on hand-made layouts.
 */
import { StudioError } from '../../../shared/errors.js';
import { DEFAULT_BINS, accumulate, addValues, emptyHistogram, histogramOf, mergeHistograms, type AbsHistogram } from './histogram.js';
import { derivableBatchNorms, derivableRelus, foldHistogram, sampleStep, type AffineDerivation, type CalibTensor, type ChunkLayout } from './instrument.js';
import { isDefaultDomain, type onnx } from '../onnx/index.js';

/** How the statistics are gathered (see CalibrationResult.method). */
export type CollectMethod = 'minmax' | 'sampled' | 'exact' | 'fetch';

export interface CollectorConfig {
  /** The calibrated tensors, in the order the statistics graph's chunks follow. */
  tensors: readonly CalibTensor[];
  method: CollectMethod;
  /** Keep histograms (entropy / percentile); false for minmax. */
  histograms: boolean;
  /** Histogram bins (power of two, default 2048). */
  bins?: number;
  /** Values sampled per tensor per run ('sampled'). */
  sampleTarget: number;
  /** Chunk layout per tensor name ('minmax' / 'sampled'); derived tensors have none. */
  layout?: ReadonlyMap<string, ChunkLayout>;
  /** y = Relu(x): y → x, both calibrated (all forms but 'fetch'; see planExactDerivations for 'exact'). */
  relus?: ReadonlyMap<string, string>;
  /** BatchNormalization input x → its derivation from the output y ('minmax' / 'sampled'). */
  batchNorms?: ReadonlyMap<string, AffineDerivation>;
  /** Concat output → its inputs, all calibrated ('exact'; see planExactDerivations). */
  concats?: ReadonlyMap<string, readonly string[]>;
}

/** Tensors whose statistics follow exactly from another calibrated tensor's (not reduced in-graph). */
export interface Derivations {
  /** y = Relu(x): y → x. */
  relus: Map<string, string>;
  /** BatchNormalization input x → its derivation from the output y. */
  batchNorms: Map<string, AffineDerivation>;
  /** 'exact' only: Concat output → its inputs (its |x| histogram is the merge of theirs). */
  concats: Map<string, string[]>;
  /** Every derived tensor (the statistics graph skips them). */
  derived: Set<string>;
  /** Tensors to reduce per channel (BatchNormalization outputs) → rank. */
  perChannel: Map<string, number>;
}

export function noDerivations(): Derivations {
  return { relus: new Map(), batchNorms: new Map(), concats: new Map(), derived: new Set(), perChannel: new Map() };
}

/**
 * 'exact': Concat outputs whose inputs are all calibrated. Their values are exactly the inputs'
 * values, so per run amax = the inputs' max, and the in-graph bin width (the smallest power of
 * two with nbins·w > amax, monotone in amax) is the largest of the inputs' widths: merging the
 * inputs' histograms (coarsening each by its power-of-two ratio, which is exact) gives the very
 * counts a ScatterElements pass over the Concat output would. Saves that pass (ISNet: 18 % of
 * the values counted). And y = Relu(x) with x reduced: x's pass counts negative values at x's
 * width w and the others at y's width w₊ = width(max(x, 0)) ≤ w; x's histogram is then the
 * non-negative part coarsened to w plus the negative part, and y's is the non-negative part with
 * every negative value moved to bin 0 (ISNet: another 23 %).
 */
export function planExactDerivations(graph: onnx.GraphProto.$Properties, runnable: readonly number[], tensors: readonly CalibTensor[]): Derivations {
  const calibrated = new Set(tensors.map((t) => t.name));
  const nodes = graph.node ?? [];
  const d = noDerivations();
  for (const k of runnable) {
    const n = nodes[k]!;
    if (n.opType !== 'Concat' || !isDefaultDomain(n.domain)) continue;
    const y = n.output?.[0] ?? '';
    const xs = n.input ?? [];
    if (!calibrated.has(y) || xs.length === 0 || !xs.every((x) => calibrated.has(x)) || d.concats.has(y)) continue;
    d.concats.set(y, [...xs]);
    d.derived.add(y);
  }
  // y = Relu(x) with x reduced in-graph: x's pass counts x ≥ 0 at y's width (both exact).
  const sources = new Set<string>();
  for (const k of runnable) {
    const n = nodes[k]!;
    if (n.opType !== 'Relu' || !isDefaultDomain(n.domain)) continue;
    const x = n.input?.[0] ?? '';
    const y = n.output?.[0] ?? '';
    if (!calibrated.has(x) || !calibrated.has(y) || d.derived.has(x) || d.derived.has(y) || sources.has(x) || x === y) continue;
    d.relus.set(y, x);
    d.derived.add(y);
    sources.add(x);
  }
  return d;
}

/**
 * The derivations for the 'minmax' and 'sampled' forms: y = Relu(x) from x, and a
 * BatchNormalization input from its output (per-channel affine). Not for 'exact' histograms,
 * which keep only |x| and so lose the sign both need.
 */
export function planDerivations(graph: onnx.GraphProto.$Properties, runnable: readonly number[], tensors: readonly CalibTensor[], ranks: ReadonlyMap<string, number | null>): Derivations {
  const calibrated = new Set(tensors.map((t) => t.name));
  const nodes = graph.node ?? [];
  const initializers = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const batchNorms = derivableBatchNorms(nodes, runnable, calibrated, ranks, initializers);
  const relus = derivableRelus(nodes, runnable, calibrated);
  const perChannel = new Map<string, number>([...batchNorms.values()].map((d) => [d.y, d.rank]));
  const derived = new Set<string>([...batchNorms.keys(), ...[...relus.keys()].filter((y) => !batchNorms.has(y))]);
  return { relus, batchNorms, concats: new Map(), derived, perChannel };
}

/** One run's histogram from its counts (null when empty). */
function histogramFrom(counts: ArrayLike<number>, exponent: number, amax: number): AbsHistogram | null {
  let total = 0;
  for (let j = 0; j < counts.length; j++) total += counts[j]!;
  return total > 0 ? { exponent, counts: Float64Array.from(counts), amax, total } : null;
}

/** What a tensor accumulated over all runs. */
export interface CollectedTensor {
  name: string;
  /** Max |x| over all runs (0 when never seen or non-finite). */
  amax: number;
  /** At least one run had values (an empty tensor reduces to max = −∞). */
  seen: boolean;
  /** NaN or ±∞ in at least one run. */
  nonFinite: boolean;
  /** |x| histogram (when histograms are kept; empty when never seen). */
  histogram: AbsHistogram | null;
}

/**
 * Accumulates per-tensor statistics run by run. Use one of addStats (minmax / sampled chunks),
 * addExact (in-graph histograms) or addFetched (whole tensors), per the method.
 */
export class StatsCollector {
  readonly method: CollectMethod;
  private readonly tensors: readonly CalibTensor[];
  private readonly nbins: number;
  private readonly wantHist: boolean;
  private readonly sampleTarget: number;
  private readonly layoutOf: (ChunkLayout | undefined)[];
  private readonly derived: boolean[];
  private readonly reluFrom: Int32Array;
  /** 'exact': x → the index of its derived Relu output, or −1. */
  private readonly reluTo: Int32Array;
  private readonly bnFrom: (AffineDerivation | undefined)[];
  private readonly concatFrom: (number[] | undefined)[];
  private readonly hasConcats: boolean;
  private readonly indexOf: Map<string, number>;

  private readonly hists: AbsHistogram[];
  private readonly amax: Float64Array;
  private readonly seen: Uint8Array;
  private readonly nonFinite: Uint8Array;
  private readonly scratch: Float64Array;
  // Per-run state, shared between the reduced tensors and those derived from them.
  private readonly runMax: Float64Array;
  private readonly runSample: (Float32Array | undefined)[];
  private readonly runDims: (number[] | undefined)[];
  private readonly runCh: ([Float32Array, Float32Array] | undefined)[];
  /** 'exact': this run's amax and |x| histogram per tensor (null: empty or non-finite). */
  private readonly runHist: (AbsHistogram | null)[];
  private readonly runAmax: Float64Array;

  constructor(cfg: CollectorConfig) {
    const n = cfg.tensors.length;
    this.method = cfg.method;
    this.tensors = cfg.tensors;
    this.nbins = cfg.bins ?? DEFAULT_BINS;
    this.wantHist = cfg.histograms;
    this.sampleTarget = cfg.sampleTarget;
    this.indexOf = new Map(cfg.tensors.map((t, k) => [t.name, k]));
    this.layoutOf = cfg.tensors.map((t) => cfg.layout?.get(t.name));
    const bn = cfg.batchNorms ?? new Map<string, AffineDerivation>();
    const relus = cfg.relus ?? new Map<string, string>();
    this.reluFrom = new Int32Array(n).fill(-1);
    this.reluTo = new Int32Array(n).fill(-1);
    for (const [y, x] of relus) {
      const ky = this.indexOf.get(y);
      const kx = this.indexOf.get(x);
      if (ky === undefined || kx === undefined) throw new StudioError('E_INTERNAL', `Relu derivation ${x} → ${y} names a tensor that is not calibrated`, 'Please report this bug.');
      if (!bn.has(y)) {
        this.reluFrom[ky] = kx;
        this.reluTo[kx] = ky;
      }
    }
    this.bnFrom = cfg.tensors.map((t) => bn.get(t.name));
    for (const d of bn.values()) {
      if (!this.indexOf.has(d.y)) throw new StudioError('E_INTERNAL', `BatchNormalization derivation from "${d.y}": that tensor is not calibrated`, 'Please report this bug.');
    }
    const concats = cfg.concats ?? new Map<string, readonly string[]>();
    this.concatFrom = cfg.tensors.map((t, k) => {
      const xs = concats.get(t.name);
      if (!xs) return undefined;
      return xs.map((x) => {
        const kx = this.indexOf.get(x);
        if (kx === undefined || kx >= k) throw new StudioError('E_INTERNAL', `Concat derivation of "${t.name}" from "${x}": not a calibrated tensor before it`, 'Please report this bug.');
        return kx;
      });
    });
    this.hasConcats = concats.size > 0;
    this.derived = cfg.tensors.map((t) => bn.has(t.name) || relus.has(t.name) || concats.has(t.name));
    this.hists = cfg.tensors.map(() => emptyHistogram(this.nbins));
    this.amax = new Float64Array(n);
    this.seen = new Uint8Array(n);
    this.nonFinite = new Uint8Array(n);
    this.scratch = new Float64Array(this.nbins);
    this.runMax = new Float64Array(n);
    this.runSample = new Array<Float32Array | undefined>(n);
    this.runDims = new Array<number[] | undefined>(n);
    this.runCh = new Array<[Float32Array, Float32Array] | undefined>(n);
    this.runHist = new Array<AbsHistogram | null>(n).fill(null);
    this.runAmax = new Float64Array(n);
  }

  /** The accumulated statistics, in tensor order. */
  results(): CollectedTensor[] {
    return this.tensors.map((t, k) => ({ name: t.name, amax: this.amax[k]!, seen: this.seen[k] === 1, nonFinite: this.nonFinite[k] === 1, histogram: this.wantHist ? this.hists[k]! : null }));
  }

  /** Record one run's max |x| of tensor k; false when there is nothing more to add (empty or non-finite). */
  private addAmax(k: number, m: number): boolean {
    // An empty tensor (e.g. no detections) reduces to max = −∞, min = +∞: nothing to add.
    if (m === -Infinity) return false;
    this.seen[k] = 1;
    if (!Number.isFinite(m)) {
      this.nonFinite[k] = 1;
      return false;
    }
    if (m > this.amax[k]!) this.amax[k] = m;
    return true;
  }

  /**
   * 'exact': per tensor [amax, bin width] in `scalars` and 2·nbins int32 signed-index counts in
   * `hist`, in tensor order (instrument.ts, STAT_OUTPUTS.scalars / hist; foldHistogram).
   */
  addExact(scalars: Float32Array, hist: Int32Array): void {
    const nb = this.nbins;
    let reduced = 0;
    let wantScalars = 0;
    for (let k = 0; k < this.tensors.length; k++) {
      if (this.derived[k]) continue;
      reduced++;
      wantScalars += this.reluTo[k]! >= 0 ? 4 : 2;
    }
    if (scalars.length !== wantScalars || hist.length !== 2 * nb * reduced) {
      throw new StudioError('E_INTERNAL', `exact calibration statistics have ${scalars.length} scalars and ${hist.length} counts, expected ${wantScalars} and ${2 * nb * reduced}`, 'Please report this bug.');
    }
    let c = 0;
    let sp = 0;
    for (let k = 0; k < this.tensors.length; k++) {
      const from = this.concatFrom[k];
      if (from) {
        // Derived (its inputs come earlier): amax and histogram from the inputs' of this run.
        this.runHist[k] = null;
        let m = -Infinity;
        for (const x of from) m = Math.max(m, this.runAmax[x]!); // NaN propagates
        this.runAmax[k] = m;
        if (!this.addAmax(k, m)) continue;
        let h: AbsHistogram = emptyHistogram(nb);
        for (const x of from) if (this.runHist[x]) h = mergeHistograms(h, this.runHist[x]!);
        this.runHist[k] = h;
        this.hists[k] = accumulate(this.hists[k]!, h.counts, h.exponent, m);
        continue;
      }
      if (this.reluFrom[k]! >= 0) {
        // A Relu output: its run statistics were set with its source's.
        const h = this.runHist[k];
        if (this.addAmax(k, this.runAmax[k]!) && h) this.hists[k] = accumulate(this.hists[k]!, h.counts, h.exponent, h.amax);
        continue;
      }
      const signed = hist.subarray(2 * c * nb, 2 * (c + 1) * nb);
      c++;
      const m = scalars[sp]!;
      const exponent = Math.round(Math.log2(scalars[sp + 1]!));
      const ky = this.reluTo[k]!;
      this.runHist[k] = null;
      if (ky < 0) {
        sp += 2;
        this.runAmax[k] = m;
        if (!this.addAmax(k, m)) continue;
        const counts = foldHistogram(signed, nb);
        this.hists[k] = accumulate(this.hists[k]!, counts, exponent, m);
        if (this.hasConcats) this.runHist[k] = histogramFrom(counts, exponent, m);
        continue;
      }
      // A Relu source: values ≥ 0 (and those in (−w, 0)) at w₊, the rest at w.
      const mPos = scalars[sp + 2]!;
      const ePos = Math.round(Math.log2(scalars[sp + 3]!));
      sp += 4;
      this.runAmax[k] = m;
      this.runAmax[ky] = mPos;
      this.runHist[ky] = null;
      if (!this.addAmax(k, m)) {
        // Empty: so is y. Non-finite: y's amax tells for itself (NaN stays NaN, −∞ gives 0 … or ∞).
        if (m === -Infinity) this.runAmax[ky] = -Infinity;
        continue;
      }
      if (signed[nb] !== 0) throw new StudioError('E_INTERNAL', `signed histogram of "${this.tensors[k]!.name}" has values at index ${nb}`, 'Please report this bug.');
      const shift = exponent - ePos;
      if (!(shift >= 0)) throw new StudioError('E_INTERNAL', `Relu output of "${this.tensors[k]!.name}" has a wider bin (2^${ePos}) than its input (2^${exponent})`, 'Please report this bug.');
      const xs = new Float64Array(nb);
      const ys = new Float64Array(nb);
      const f = 2 ** Math.min(shift, 53);
      for (let j = 0; j < nb; j++) {
        const v = signed[j]!;
        ys[j] = v;
        if (v !== 0) xs[shift >= 53 ? 0 : Math.floor(j / f)]! += v;
      }
      for (let j = 1; j < nb; j++) {
        const v = signed[2 * nb - j]!;
        xs[j]! += v;
        ys[0]! += v;
      }
      this.hists[k] = accumulate(this.hists[k]!, xs, exponent, m);
      const hx = histogramFrom(xs, exponent, m);
      this.runHist[k] = hx;
      if (Number.isFinite(mPos)) this.runHist[ky] = histogramFrom(ys, ePos, mPos);
    }
  }

  /** 'fetch': the whole of tensor k from one run (float32 values). */
  addFetched(k: number, values: Float32Array): void {
    if (values.length === 0) return;
    let m = 0;
    for (let q = 0; q < values.length; q++) {
      const a = Math.abs(values[q]!);
      if (a > m) m = a;
      else if (!(a <= m)) {
        m = NaN; // NaN compares false both ways
        break;
      }
    }
    if (this.addAmax(k, m) && this.wantHist) this.hists[k] = mergeHistograms(this.hists[k]!, histogramOf(values, this.nbins, m));
  }

  /**
   * 'minmax' / 'sampled': the concatenated chunks of STAT_OUTPUTS.stats, one per reduced tensor in
   * tensor order, each as its ChunkLayout says: [dims…] (per-channel, dynamic shape),
   * [max, min] or [max per channel…, min per channel…], then for 'sampled' [n] (dynamic shape,
   * not per-channel) and the sample. Derived tensors follow from their sources afterwards.
   */
  addStats(st: Float32Array): void {
    let p = 0;
    const { runDims, runCh, runMax, runSample } = this;
    // Pass 1: tensors reduced in-graph, in chunk order.
    for (let k = 0; k < this.tensors.length; k++) {
      runDims[k] = undefined;
      runCh[k] = undefined;
      if (this.derived[k]) continue;
      const lay = this.layoutOf[k];
      if (!lay) throw new StudioError('E_INTERNAL', `no statistics layout for "${this.tensors[k]!.name}"`, 'Please report this bug.');
      let m: number;
      let size: number | null = lay.staticDims ? lay.staticDims.reduce((a, b) => a * b, 1) : null;
      if (lay.rank !== null) {
        const rank = lay.rank;
        let dims = lay.staticDims;
        if (!dims) {
          dims = Array.from(st.subarray(p, p + rank));
          p += rank;
          size = dims.reduce((a, b) => a * b, 1);
        }
        const c = dims[1]!;
        const cmax = st.subarray(p, p + c);
        const cmin = st.subarray(p + c, p + 2 * c);
        p += 2 * c;
        runDims[k] = dims;
        runCh[k] = [cmax, cmin];
        let mx = -Infinity;
        let mn = Infinity;
        for (let i = 0; i < c; i++) {
          mx = Math.max(mx, cmax[i]!);
          mn = Math.min(mn, cmin[i]!);
        }
        runMax[k] = mx;
        m = Math.max(mx, -mn);
      } else {
        runMax[k] = st[p]!;
        m = Math.max(st[p]!, -st[p + 1]!);
        p += 2;
      }
      if (this.method === 'sampled') {
        let n: number;
        if (size !== null) n = Math.ceil(size / (lay.step ?? sampleStep(size, this.sampleTarget)));
        else {
          n = st[p]!;
          p += 1;
        }
        runSample[k] = st.subarray(p, p + n);
        p += n;
      } else runSample[k] = undefined;
      if (this.addAmax(k, m) && runSample[k]) this.hists[k] = addValues(this.hists[k]!, runSample[k]!, m, this.scratch);
    }
    // Pass 2: derived tensors, in graph order (their sources are reduced or derived earlier).
    for (let k = 0; k < this.tensors.length; k++) {
      const bn = this.bnFrom[k];
      if (bn) {
        this.deriveAffine(k, this.indexOf.get(bn.y)!, bn);
        continue;
      }
      const from = this.reluFrom[k]!;
      if (from < 0) continue;
      // Relu: max(y) = max(max(x), 0) and sample(y) = Relu(sample(x)), same positions.
      const mx = Math.max(runMax[from]!, 0);
      runMax[k] = mx;
      const xs = runSample[from];
      runSample[k] = xs;
      if (this.addAmax(k, mx) && xs) this.hists[k] = addValues(this.hists[k]!, xs, mx, this.scratch, true);
    }
    if (p !== st.length) throw new StudioError('E_INTERNAL', `calibration statistics have ${st.length} values, expected ${p}`, 'Please report this bug.');
  }

  /** x = (y − b_c)/a_c: extremes per channel, and the sample at the same flat positions. */
  private deriveAffine(k: number, src: number, d: AffineDerivation): void {
    const dims = this.runDims[src];
    const ch = this.runCh[src];
    if (!dims || !ch) return;
    const [cmax, cmin] = ch;
    const c = cmax.length;
    if (c !== d.a.length) {
      throw new StudioError('E_INTERNAL', `BatchNormalization output "${d.y}" has ${c} channels at run time, ${d.a.length} parameters`, 'Please report this bug.');
    }
    let mx = -Infinity;
    let mn = Infinity;
    for (let i = 0; i < c; i++) {
      if (!(cmax[i]! >= cmin[i]!)) continue; // empty (±∞) or NaN handled below
      const u = (cmax[i]! - d.b[i]!) / d.a[i]!;
      const v = (cmin[i]! - d.b[i]!) / d.a[i]!;
      mx = Math.max(mx, u, v);
      mn = Math.min(mn, u, v);
    }
    let m = Math.max(mx, -mn);
    if (cmax.some((v) => Number.isNaN(v) || v === Infinity)) m = NaN;
    this.runMax[k] = mx;
    const ys = this.runSample[src];
    if (!this.addAmax(k, Math.fround(m)) || !ys) return;
    const size = dims.reduce((a, b) => a * b, 1);
    const inner = dims.slice(2).reduce((a, b) => a * b, 1);
    const step = sampleStep(size, this.sampleTarget);
    if (ys.length !== Math.ceil(size / step)) {
      throw new StudioError('E_INTERNAL', `sample of "${d.y}" has ${ys.length} values, expected ${Math.ceil(size / step)}`, 'Please report this bug.');
    }
    const xs = new Float32Array(ys.length);
    for (let j = 0; j < ys.length; j++) {
      const ci = Math.floor((j * step) / inner) % c;
      xs[j] = (ys[j]! - d.b[ci]!) / d.a[ci]!;
    }
    this.runSample[k] = xs;
    this.hists[k] = addValues(this.hists[k]!, xs, Math.fround(m), this.scratch);
  }
}
