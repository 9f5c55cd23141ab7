import { DataType, NameScope, attrFloat, attrInt, isDefaultDomain, makeNode, makeTensor, makeValueInfo, onnx, tensorToFloat32, type Dim } from '../onnx/index.js';

type Node = onnx.NodeProto.$Properties;

/** Names of the few outputs the statistics model returns. */
export const STAT_OUTPUTS = {
  /** minmax / sampled: per tensor [max, min] or [max, min, n, n sampled values]. */
  stats: '__calib_stats',
  /** exact: per reduced tensor [amax, bin width], or [amax, w, max(x, 0), w₊] for a Relu source. */
  scalars: '__calib_scalars',
  /**
   * exact: per tensor 2·nbins int32 counts of the signed bin index trunc(x/w): bins 0…nbins−1 for
   * x ≥ 0 (and −w < x < 0), bin 2·nbins − j for −(j+1)·w < x ≤ −j·w (j ≥ 1); foldHistogram folds them.
   */
  hist: '__calib_hist',
} as const;

export interface CalibTensor {
  name: string;
  elemType: number;
}

/**
 * Tensors whose statistics can be derived exactly from their input's: y = Relu(x) with x also
 * calibrated (same shape, so the strided sample positions coincide). Not for 'exact' histograms,
 * which keep only |x| and so lose the sign Relu needs.
 */
export function derivableRelus(nodes: readonly Node[], runnable: readonly number[], calibrated: ReadonlySet<string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const k of runnable) {
    const n = nodes[k]!;
    if (n.opType !== 'Relu' || !isDefaultDomain(n.domain)) continue;
    const x = n.input?.[0] ?? '';
    const y = n.output?.[0] ?? '';
    if (calibrated.has(x) && calibrated.has(y) && !out.has(x)) out.set(y, x);
  }
  return out;
}

/** x = (y − b_c) / a_c per channel: the input of an inference BatchNormalization from its output. */
export interface AffineDerivation {
  /** The BatchNormalization input (typically a Conv output), derived. */
  x: string;
  /** The BatchNormalization output, reduced per channel in-graph. */
  y: string;
  rank: number;
  a: Float64Array;
  b: Float64Array;
}

/**
 * BatchNormalization nodes (inference form, constant parameters) whose input and output are both
 * calibrated: reduce only the output (per channel) and derive the input's statistics from it.
 * The Conv → BN pair then stays fusable in ONNX Runtime (the Conv output has no other consumer),
 * which is what makes calibrating TAO-style graphs with explicit BN cheap.
 */
export function derivableBatchNorms(
  nodes: readonly Node[],
  runnable: readonly number[],
  calibrated: ReadonlySet<string>,
  ranks: ReadonlyMap<string, number | null>,
  initializers: ReadonlyMap<string, onnx.TensorProto.$Properties>,
): Map<string, AffineDerivation> {
  const out = new Map<string, AffineDerivation>();
  for (const k of runnable) {
    const n = nodes[k]!;
    if (n.opType !== 'BatchNormalization' || !isDefaultDomain(n.domain)) continue;
    if (attrInt(n, 'training_mode', 0) !== 0 || attrInt(n, 'spatial', 1) !== 1 || (n.output ?? []).slice(1).some((o) => o !== '')) continue;
    const [x = '', scale = '', bias = '', mean = '', variance = ''] = n.input ?? [];
    const y = n.output?.[0] ?? '';
    const rank = ranks.get(y);
    if (!calibrated.has(x) || !calibrated.has(y) || out.has(x) || rank === null || rank === undefined || rank < 2) continue;
    const params = [scale, bias, mean, variance].map((name) => initializers.get(name));
    if (params.some((t) => t === undefined || t.dataType !== DataType.FLOAT)) continue;
    const [g, bb, mu, v] = params.map((t) => tensorToFloat32(t!));
    const c = g!.length;
    if (![bb, mu, v].every((t) => t!.length === c) || c === 0) continue;
    const eps = attrFloat(n, 'epsilon', 1e-5);
    const a = new Float64Array(c);
    const b = new Float64Array(c);
    let ok = true;
    for (let i = 0; i < c; i++) {
      a[i] = g![i]! / Math.sqrt(v![i]! + eps);
      b[i] = bb![i]! - mu![i]! * a[i]!;
      if (!Number.isFinite(a[i]!) || a[i] === 0 || !Number.isFinite(b[i]!)) ok = false;
    }
    if (ok) out.set(x, { x, y, rank, a, b });
  }
  return out;
}

/** A model with the runnable nodes only and the given outputs (initializers shared, not copied). */
export function subModel(model: onnx.ModelProto, runnable: readonly number[], outputs: onnx.ValueInfoProto[]): onnx.ModelProto {
  const g = model.graph!;
  const nodes = g.node ?? [];
  const keep = runnable.map((k) => nodes[k]!);
  const defined = new Set<string>();
  for (const n of keep) for (const o of n.output ?? []) defined.add(o);
  const graph = onnx.GraphProto.create({
    ...g,
    node: keep,
    output: outputs,
    valueInfo: (g.valueInfo ?? []).filter((v) => defined.has(v.name ?? '')),
  });
  return onnx.ModelProto.create({ ...model, graph });
}

/**
 * Name-only outputs: ONNX Runtime infers their types (used to probe intermediate types and, in the
 * fetch fallback, to fetch tensors). With `lightWeights`, large initializers become typed graph
 * inputs instead, so the probe session is cheap to encode and create: types do not depend on
 * weight values (small ones, typically shapes, are kept so shape-dependent ops still resolve).
 */
export function probeModel(model: onnx.ModelProto, runnable: readonly number[], names: readonly string[], lightWeights = false): onnx.ModelProto {
  const m = subModel(model, runnable, names.map((name) => onnx.ValueInfoProto.create({ name })));
  if (!lightWeights) return m;
  const g = m.graph!;
  const keep: onnx.TensorProto[] = [];
  const asInputs: onnx.ValueInfoProto[] = [];
  const declared = new Set((g.input ?? []).map((v) => v.name ?? ''));
  for (const t of g.initializer ?? []) {
    const count = (t.dims ?? []).reduce<number>((a, d) => a * Number(d), 1);
    if (count > 64 && !(t.externalData && t.externalData.length > 0) && t.name && !declared.has(t.name)) {
      asInputs.push(makeValueInfo(t.name, t.dataType ?? DataType.FLOAT, (t.dims ?? []).map((d) => Number(d))));
    } else keep.push(t as onnx.TensorProto);
  }
  g.initializer = keep;
  g.input = [...(g.input ?? []), ...asInputs];
  return m;
}

/** How one tensor's chunk of the stats output is laid out (JS mirrors it when parsing). */
export interface ChunkLayout {
  /** Known at build time: then no dims / n are in the chunk. */
  staticDims: number[] | null;
  /** Constant sample step, or null when computed in-graph (then n leads the sample, except in per-channel chunks, whose dims give the size). */
  step: number | null;
  /** Per-channel chunk (BatchNormalization output) of this rank, or null. */
  rank: number | null;
}

/**
 * The |x| counts (nbins) of one tensor's signed 2·nbins exact-histogram chunk: bin j ≥ 1 gets
 * the values in [j·w, (j+1)·w) and in (−(j+1)·w, −j·w], bin 0 those in (−w, w).
 */
export function foldHistogram(signed: Int32Array, nbins: number): Int32Array {
  if (signed.length !== 2 * nbins) throw new Error(`expected ${2 * nbins} signed bins, got ${signed.length}`);
  if (signed[nbins] !== 0) throw new Error(`signed histogram has ${signed[nbins]} values at index ${nbins}, which no value can reach`);
  const out = new Int32Array(nbins);
  out[0] = signed[0]!;
  for (let j = 1; j < nbins; j++) out[j] = signed[j]! + signed[2 * nbins - j]!;
  return out;
}

/**
 * Largest piece counted by one ScatterElements in the exact form: its int64 copy of the indices
 * (16 MiB) then stays below glibc's largest dynamic mmap threshold (32 MiB) and is reused.
 */
export const EXACT_CHUNK = 2 ** 21;

/** Sample stride: odd, about size/S, so ⅔S…2S values are kept (all when size < 2S). */
export function sampleStep(size: number, target: number): number {
  return 2 * Math.floor(size / (2 * Math.max(1, Math.floor(target)))) + 1;
}

type AddFn = (op: string, inputs: string[], attrs?: Parameters<typeof makeNode>[3]) => string;

const NON_NEGATIVE_OPS = new Set(['Relu', 'Sigmoid', 'Softmax', 'Abs', 'Exp', 'Sqrt']);

/**
 * Append per-tensor reductions so one run returns only a few small tensors. Three forms:
 *
 * minmax:  [max(x), min(x)] per tensor (two reads, no full-size temporaries); amax in JS.
 * sampled: [max(x), min(x), (n), x[0], x[s], x[2s], …] per tensor: exact extremes plus a
 *          deterministic strided sample of the flattened tensor, s = 2·⌊size/(2·target)⌋ + 1
 *          (odd, so it does not alias with power-of-two widths/channels), about ⅔·target…2·target
 *          values per run whatever the tensor size; all values when the tensor is small. The
 *          histogram is built in JS. Needs Slice with a steps input (opset ≥ 10).
 * exact:   amax_b = max(ReduceMax(x), −ReduceMin(x)), w_b = the smallest power of two with
 *          nbins · w_b > amax_b (Log/Floor/Pow, then corrected one step either way with exact
 *          comparisons), idx = Cast(x · (1/w_b), int32) (truncation toward zero = sign(x)·floor(|x|/w_b),
 *          exact since 1/w_b is a power of two), hist = ScatterElements(zeros[2·nbins], idx, ones,
 *          reduction='add') (opset ≥ 16): a negative index −j counts at 2·nbins − j, and JS folds
 *          the two halves into the |x| histogram (foldHistogram). No Abs pass: ORT's CPU Abs costs
 *          ~4 ns per value against ~0.3 ns for a reduction; ScatterElements ~10 ns.
 *
 * Everything stays valid at the model's own opset (ReduceMax/Min are called without axes, which
 * reduces all dimensions both before and after opset 18 moved `axes` to an input).
 *
 * Tensors in `derived` get no reduction: their statistics follow exactly from another tensor's
 * (y = Relu(x): max(y) = max(max(x), 0) and the sample of y is Relu of the sample of x, taken
 * at the same positions), which saves the reads on about a third of a CNN's tensors. Tensors in
 * `perChannel` (BatchNormalization outputs) are reduced per channel so that the BN input can be
 * derived from them (see derivableBatchNorms). `layout` tells the parser what each chunk holds.
 *
 * Placement matters for memory: ONNX Runtime's default execution order is a reverse DFS from the
 * leaf nodes that visits a node's inputs highest node index first. So the per-tensor chains are
 * appended in REVERSE tensor order and all feed one final Concat: the DFS then emits "everything
 * needed for tensor 0, its reduction, everything more for tensor 1, its reduction, …", each
 * activation is freed right after it is reduced, and peak memory stays near plain inference.
 * (Appending chains in forward order makes ORT run the whole model first and keep every
 * activation alive until the end: measured 5× the RSS.)
 */
export type StatsForm = 'minmax' | 'sampled' | 'exact';

export function statsModel(
  model: onnx.ModelProto,
  runnable: readonly number[],
  tensors: readonly CalibTensor[],
  form: StatsForm,
  opts: {
    nbins: number;
    sampleTarget: number;
    derived?: ReadonlySet<string>;
    perChannel?: ReadonlyMap<string, number>;
    opset?: number;
    shapes?: ReadonlyMap<string, Dim[] | null>;
    /**
     * 'exact': tensors x whose Relu output is derived from x's chunk. Their chunk has 4 scalars
     * [amax, w, max(x, 0), w₊] and counts x ≥ 0 at the Relu output's own width w₊ ≤ w (see
     * StatsCollector.addExact), so both histograms follow exactly from one pass.
     */
    reluSources?: ReadonlySet<string>;
    /** 'exact': largest piece per ScatterElements for static shapes (default EXACT_CHUNK; tests use less). */
    exactChunk?: number;
  },
): { model: onnx.ModelProto; layout: Map<string, ChunkLayout> } {
  const g = model.graph!;
  const nbins = opts.nbins;
  const scope = new NameScope(g);
  for (const n of Object.values(STAT_OUTPUTS)) scope.reserve(n);
  const c = (base: string): string => scope.unique(base);
  const inits: onnx.TensorProto[] = [];
  const constant = (base: string, dims: number[], data: Float32Array | Int32Array | BigInt64Array): string => {
    const name = c(base);
    inits.push(makeTensor(name, dims, data));
    return name;
  };
  const K: Record<string, string> = {};
  if (form === 'minmax') K.flat = constant('__calib_flat', [1], BigInt64Array.of(-1n));
  if (form === 'sampled') {
    K.flat = constant('__calib_flat', [1], BigInt64Array.of(-1n));
    K.zero = constant('__calib_zero', [1], BigInt64Array.of(0n));
    K.end = constant('__calib_end', [1], BigInt64Array.of(0x7fffffffffffffffn));
    K.one = constant('__calib_one', [1], BigInt64Array.of(1n));
    K.two = constant('__calib_two_i', [1], BigInt64Array.of(2n));
    K.twoS = constant('__calib_2s', [1], BigInt64Array.of(BigInt(2 * Math.max(1, Math.floor(opts.sampleTarget)))));
  }
  if (form === 'exact') {
    K.flat = constant('__calib_flat', [1], BigInt64Array.of(-1n));
    K.invn = constant('__calib_invn', [1], Float32Array.of(1 / nbins));
    K.tiny = constant('__calib_tiny', [1], Float32Array.of(2 ** -121));
    K.invln2 = constant('__calib_invln2', [1], Float32Array.of(1 / Math.LN2));
    K.two = constant('__calib_two', [1], Float32Array.of(2));
    K.half = constant('__calib_half', [1], Float32Array.of(0.5));
    K.zerof = constant('__calib_zero_f', [1], Float32Array.of(0));
    K.onei = constant('__calib_one_i32', [], Int32Array.of(1));
    K.zeros = constant('__calib_zeros', [2 * nbins], new Int32Array(2 * nbins));
  }
  const layout = new Map<string, ChunkLayout>();
  const stepConsts = new Map<number, string>();
  const splitConsts = new Map<number, string>();

  // Sample x[0], x[s], x[2s], … of the flattened tensor, s = sampleStep(size). A static shape gets
  // a constant step and no n in the chunk (JS knows both); a dynamic one computes the step in-graph
  // and puts n = |sample| first. Fewer nodes matter: ORT's session creation grows faster than
  // linearly with the node count (Mask R-CNN: 9 500 nodes took ~7 s more than 4 300).
  const sampleOf = (flat: string, staticSize: number | null, withN: boolean, add: AddFn): { parts: string[]; step: number | null } => {
    if (staticSize !== null) {
      const v = sampleStep(staticSize, opts.sampleTarget);
      let stepName = stepConsts.get(v);
      if (stepName === undefined) {
        stepName = constant(`__calib_step_${v}`, [1], BigInt64Array.of(BigInt(v)));
        stepConsts.set(v, stepName);
      }
      return { parts: [add('Slice', [flat, K.zero!, K.end!, K.zero!, stepName])], step: v };
    }
    // Shape(flat) is already the 1-D [1] tensor Slice wants. The chunk carries n = |sample|
    // (≤ 2S, exact in float32; the size itself may not be), except per-channel chunks, whose
    // dims give the size and so the step and n.
    const step = add('Add', [add('Mul', [add('Div', [add('Shape', [flat]), K.twoS!]), K.two!]), K.one!]);
    const sample = add('Slice', [flat, K.zero!, K.end!, K.zero!, step]);
    return { parts: withN ? [add('Cast', [add('Shape', [sample])], { to: DataType.FLOAT }), sample] : [sample], step: null };
  };
  const nodes = g.node ?? [];
  // Outputs that cannot be negative need no ReduceMin (amax = max): saves a full read each.
  const nonNegative = new Set<string>();
  for (const k of runnable) {
    const n = nodes[k]!;
    if (NON_NEGATIVE_OPS.has(n.opType ?? '') && isDefaultDomain(n.domain)) for (const o of n.output ?? []) nonNegative.add(o);
  }
  const chains: Node[][] = [];
  const finals: string[] = [];
  const floats: string[] = [];
  for (const t of tensors) {
    if (opts.derived?.has(t.name)) continue;
    const ops: Node[] = [];
    const add = (op: string, inputs: string[], attrs: Parameters<typeof makeNode>[3] = {}): string => {
      const out = c(`${t.name}__cal_${op}`);
      ops.push(makeNode(op, inputs, [out], attrs, c(`__calib/${t.name}/${op}`)));
      return out;
    };
    let x = t.name;
    if (t.elemType !== DataType.FLOAT) x = add('Cast', [x], { to: DataType.FLOAT });
    if (form === 'exact') {
      // No Abs pass (ORT's CPU Abs costs ~4 ns per value, 10× a reduction): amax from the two
      // reductions, and signed bin indices; negative ones land at the top of a 2·nbins histogram.
      const flat = add('Reshape', [x, K.flat!]);
      const mx = add('ReduceMax', [flat], { keepdims: 1 });
      const m = add('Max', [mx, add('Neg', [add('ReduceMin', [flat], { keepdims: 1 })])]);
      // w = the smallest power of two with nbins·w > amax (amax ≥ nbins·2^-121).
      const widthOf = (amax: string): string => {
        const r = add('Max', [add('Mul', [amax, K.invn!]), K.tiny!]);
        const l = add('Floor', [add('Mul', [add('Log', [r]), K.invln2!])]);
        const w0 = add('Mul', [add('Pow', [K.two!, l]), K.two!]);
        const up = add('Cast', [add('Not', [add('Greater', [w0, r])])], { to: DataType.FLOAT });
        const down = add('Cast', [add('Greater', [add('Mul', [w0, K.half!]), r])], { to: DataType.FLOAT });
        return add('Mul', [w0, add('Pow', [K.two!, add('Sub', [up, down])])]);
      };
      const w = widthOf(m);
      let idx: string;
      if (opts.reluSources?.has(t.name)) {
        // Negative values at x's width, the rest at the Relu output's (finer or equal) width.
        const mPos = add('Max', [mx, K.zerof!]);
        const wPos = widthOf(mPos);
        // 1/w₊ ≥ 1/w (powers of two), so max(x/w₊, x/w) is x/w₊ for x ≥ 0 and x/w for x < 0:
        // both products exact; no Where (ORT's CPU Where with scalar branches: ~10 ns per value).
        const scaled = add('Max', [add('Mul', [flat, add('Reciprocal', [wPos])]), add('Mul', [flat, add('Reciprocal', [w])])]);
        idx = add('Cast', [scaled], { to: DataType.INT32 });
        floats.push(m, w, mPos, wPos);
      } else {
        idx = add('Cast', [add('Mul', [flat, add('Reciprocal', [w])])], { to: DataType.INT32 });
        floats.push(m, w);
      }
      // ORT's ScatterElements copies its indices into a fresh int64 vector each call; above glibc's
      // 32 MiB mmap threshold that is mmap/munmap and a page fault per 4 KiB every run (ISNet: a
      // third of the exact form's CPU time, in the kernel). Static tensors larger than
      // EXACT_CHUNK are therefore split and scattered piece by piece into the same histogram.
      const shape = opts.shapes?.get(t.name) ?? null;
      const size = shape !== null && shape.length > 0 && shape.every((d): d is number => typeof d === 'number') ? shape.reduce((a, b) => a * b, 1) : null;
      const chunk = Math.max(1, Math.floor(opts.exactChunk ?? EXACT_CHUNK));
      if (size !== null && size > chunk) {
        const sizes: number[] = [];
        for (let at = 0; at < size; at += chunk) sizes.push(Math.min(chunk, size - at));
        let splitName = splitConsts.get(size);
        if (splitName === undefined) {
          splitName = constant(`__calib_split_${size}`, [sizes.length], BigInt64Array.from(sizes.map(BigInt)));
          splitConsts.set(size, splitName);
        }
        const pieces = sizes.map(() => c(`${t.name}__cal_Split`));
        ops.push(makeNode('Split', [idx, splitName], pieces, { axis: 0 }, c(`__calib/${t.name}/Split`)));
        let h = K.zeros!;
        for (const piece of pieces) h = add('ScatterElements', [h, piece, add('Clip', [piece, K.onei!, K.onei!])], { axis: 0, reduction: 'add' });
        finals.push(h);
      } else {
        const ones = add('Clip', [idx, K.onei!, K.onei!]);
        finals.push(add('ScatterElements', [K.zeros!, idx, ones], { axis: 0, reduction: 'add' }));
      }
    } else {
      const shape = opts.shapes?.get(t.name) ?? null;
      const staticDims = shape !== null && shape.length > 0 && shape.every((d): d is number => typeof d === 'number') ? shape : null;
      const staticSize = staticDims ? staticDims.reduce((a, b) => a * b, 1) : null;
      const rank = opts.perChannel?.get(t.name);
      let flatName: string | undefined;
      const flat = (): string => (flatName ??= add('Reshape', [x, K.flat!]));
      const parts: string[] = [];
      if (rank !== undefined) {
        // [dims… (if not static), max per channel…, min per channel…]: what a BN input is derived from.
        const axes = [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)];
        const reduce = (op: string): string => {
          if ((opts.opset ?? 13) >= 18) return add(op, [x, constant('__calib_axes', [axes.length], BigInt64Array.from(axes.map(BigInt)))], { keepdims: 0 });
          return add(op, [x], { axes, keepdims: 0 });
        };
        if (!staticDims) parts.push(add('Cast', [add('Shape', [x])], { to: DataType.FLOAT }));
        parts.push(reduce('ReduceMax'), reduce('ReduceMin'));
      } else {
        // Reducing the flattened view gives shape [1] directly (no Reshape after keepdims).
        const mx = add('ReduceMax', [flat()], { keepdims: 1 });
        parts.push(mx, nonNegative.has(t.name) ? mx : add('ReduceMin', [flat()], { keepdims: 1 }));
      }
      let step: number | null = null;
      if (form === 'sampled') {
        const smp = sampleOf(flat(), staticSize, rank === undefined, add);
        parts.push(...smp.parts);
        step = smp.step;
      }
      layout.set(t.name, { staticDims, step, rank: rank ?? null });
      if (parts.length === 2 && form === 'minmax') finals.push(...parts);
      else finals.push(add('Concat', parts, { axis: 0 }));
    }
    chains.push(ops);
  }

  const ordered: Node[] = runnable.map((k) => nodes[k]!);
  for (let k = chains.length - 1; k >= 0; k--) ordered.push(...chains[k]!);
  const outputs: onnx.ValueInfoProto[] = [];
  if (form === 'exact') {
    if (floats.length > 0) {
      ordered.push(makeNode('Concat', floats, [STAT_OUTPUTS.scalars], { axis: 0 }, c('__calib/concat_scalars')));
      outputs.push(makeValueInfo(STAT_OUTPUTS.scalars, DataType.FLOAT, [floats.length]));
    }
    if (finals.length > 0) {
      ordered.push(makeNode('Concat', finals, [STAT_OUTPUTS.hist], { axis: 0 }, c('__calib/concat_hist')));
      outputs.push(makeValueInfo(STAT_OUTPUTS.hist, DataType.INT32, [finals.length * 2 * nbins]));
    }
  } else if (finals.length > 0) {
    ordered.push(makeNode('Concat', finals, [STAT_OUTPUTS.stats], { axis: 0 }, c('__calib/concat_stats')));
    outputs.push(makeValueInfo(STAT_OUTPUTS.stats, DataType.FLOAT, [null]));
  }
  const defined = new Set<string>();
  for (const k of runnable) for (const o of nodes[k]!.output ?? []) defined.add(o);
  // Keep the model's own outputs that are still computable (they are not fetched). Without them
  // ONNX Runtime 1.30 took 4–8× longer to create the session for a large graph (Mask R-CNN:
  // 5.9 s vs 1.4 s), for reasons we did not pin down.
  const inputs = new Set((g.input ?? []).map((v) => v.name ?? ''));
  for (const o of g.output ?? []) if (defined.has(o.name ?? '') || inputs.has(o.name ?? '')) outputs.push(o as onnx.ValueInfoProto);
  const graph = onnx.GraphProto.create({
    ...g,
    node: ordered,
    initializer: [...(g.initializer ?? []), ...inits],
    output: outputs,
    valueInfo: (g.valueInfo ?? []).filter((v) => defined.has(v.name ?? '')),
  });
  return { model: onnx.ModelProto.create({ ...model, graph }), layout };
}
