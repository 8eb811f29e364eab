// A run's column of numbers as one Float64Array that grows in place: a 1M-row run held in plain arrays made V8
// copy every column each time it outgrew its backing store (1.5 x), up to 37 ms on one message at 870,000 rows.
// A column reserves the rows the run plans (its steps / record.every) once, so streaming never copies it.

/** A growable column of numbers (NaN for a missing value: null or undefined is stored as NaN). */
export class Column {
  /** @param {number} [capacity] */
  constructor(capacity = 1024) {
    this.data = new Float64Array(Math.max(1, capacity));
    this.length = 0;
    /** @type {Float64Array | null} */
    this.cached = null;
  }

  /**
   * Room for `rows` values without another allocation (a no-op when there is room already).
   * @param {number} rows
   */
  reserve(rows) {
    if (rows <= this.data.length) return;
    const bigger = new Float64Array(rows);
    bigger.set(this.data.subarray(0, this.length));
    this.data = bigger;
  }

  /** @param {number | null | undefined} v */
  push(v) {
    if (this.length === this.data.length) this.reserve(this.data.length * 2);
    this.data[this.length++] = v === null || v === undefined ? NaN : v;
  }

  /** The values held: a view on the storage (not a copy), the same object until the column grows. */
  view() {
    const cached = this.cached;
    if (cached && cached.length === this.length && cached.buffer === this.data.buffer) return cached;
    return (this.cached = this.data.subarray(0, this.length));
  }
}

/**
 * A value as the charts and texts take it: a number, or null for a missing one (NaN in a column).
 * @param {number | null | undefined} v
 */
export const orNull = (v) => (v === null || v === undefined || v !== v ? null : v);
