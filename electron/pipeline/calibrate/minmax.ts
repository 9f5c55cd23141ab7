import type { ThresholdResult } from './entropy.js';

/** Running max |x| over batches (TensorRT MinMaxCalibration is symmetric: the full range). */
export class AbsMax {
  private value = 0;
  private seen = false;

  add(batchAmax: number): void {
    if (batchAmax > this.value) this.value = batchAmax;
    this.seen = true;
  }

  /** Max |x| of a block of values (used where values are fetched into JS). */
  addValues(values: ArrayLike<number>): void {
    let m = 0;
    for (let k = 0; k < values.length; k++) {
      const a = Math.abs(values[k] as number);
      if (a > m) m = a;
    }
    this.add(m);
  }

  get amax(): number {
    return this.value;
  }

  get empty(): boolean {
    return !this.seen;
  }
}

export function minmaxThreshold(amax: number): ThresholdResult {
  return { threshold: amax, bins: -1, divergence: 0 };
}
