// The drawn outline of a long series, kept up to date as rows arrive: the rows are cut into at most `buckets`
// buckets of equal size (doubling the size, pair by pair, when they would be more), and each bucket keeps the
// index of its lowest and highest value and of its first gap. A redraw then costs O(buckets), not O(rows), and
// oscillations keep their envelope. The stream worker (stream.worker.js) keeps these for streaming runs and hands
// the page the outline's row indices; the page keeps one itself for rows it read otherwise (a reload).
// A gap is null, undefined or NaN (the worker's typed columns hold NaN where the API wrote null).

const isGap = (y) => y === null || y === undefined || y !== y;

export class Envelope {
  constructor(buckets = 800) {
    this.max = buckets;
    this.size = 1; // rows per bucket
    this.lo = []; // per bucket: index of the lowest value (-1: none)
    this.hi = [];
    this.gap = []; // per bucket: index of the first null (-1: none)
    this.n = 0; // rows taken in so far
  }

  /** Takes in the rows of `ys` that arrived since the last call. */
  update(ys) {
    this.ys = ys;
    for (let i = this.n; i < ys.length; i++) {
      let b = Math.floor(i / this.size);
      if (b >= this.max) {
        this.halve();
        b = Math.floor(i / this.size);
      }
      if (b === this.lo.length) {
        this.lo.push(-1);
        this.hi.push(-1);
        this.gap.push(-1);
      }
      const y = ys[i];
      if (isGap(y)) {
        if (this.gap[b] < 0) this.gap[b] = i;
        continue;
      }
      if (this.lo[b] < 0 || y < ys[this.lo[b]]) this.lo[b] = i;
      if (this.hi[b] < 0 || y > ys[this.hi[b]]) this.hi[b] = i;
    }
    this.n = ys.length;
  }

  /** Merges neighbouring buckets: half as many, twice the size. */
  halve() {
    const ys = this.ys;
    const pick = (a, b, lower) => (a < 0 ? b : b < 0 ? a : (lower ? ys[b] < ys[a] : ys[b] > ys[a]) ? b : a);
    const lo = [];
    const hi = [];
    const gap = [];
    for (let k = 0; k < this.lo.length; k += 2) {
      const two = k + 1 < this.lo.length;
      lo.push(two ? pick(this.lo[k], this.lo[k + 1], true) : this.lo[k]);
      hi.push(two ? pick(this.hi[k], this.hi[k + 1], false) : this.hi[k]);
      gap.push(this.gap[k] >= 0 || !two ? this.gap[k] : this.gap[k + 1]);
    }
    this.lo = lo;
    this.hi = hi;
    this.gap = gap;
    this.size *= 2;
  }

  /**
   * The outline's row indices: the first row, each bucket's picks in row order, the last row.
   * @returns {number[]}
   */
  indices() {
    const out = [];
    let previous = -1;
    const add = (i) => {
      if (i < 0 || i === previous) return;
      out.push(i);
      previous = i;
    };
    if (this.n > 0) add(0);
    for (let b = 0; b < this.lo.length; b++) {
      const picks = [this.lo[b], this.hi[b], this.gap[b]].filter((i) => i > previous).sort((p, q) => p - q);
      for (const i of picks) add(i);
    }
    add(this.n - 1);
    return out;
  }

  /** The outline: the rows at `indices()`. */
  points(xs, ys) {
    this.ys = ys;
    return pick(this.indices(), xs, ys);
  }
}

/**
 * The rows of `xs` and `ys` at `indices` (NaN read as null, a gap).
 * @param {ArrayLike<number>} indices
 * @param {ArrayLike<number>} xs
 * @param {ArrayLike<number | null>} ys
 */
export function pick(indices, xs, ys) {
  const outX = new Array(indices.length);
  const outY = new Array(indices.length);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k];
    outX[k] = xs[i];
    const y = ys[i];
    outY[k] = isGap(y) ? null : y;
  }
  return { xs: outX, ys: outY };
}
