// Loss landscapes from the server (`POST /v1/landscape`): the curve loss(w) of a 1-D loss and the grid of a 2-D one,
// evaluated by the engine itself for every loss kind (the page has no copy of the losses). Answers are cached by
// loss, bounds and resolution; a missing one is fetched once and `ready()` is called when it arrives.

import { api } from './api.js';

const MAX_CACHED = 64;

export class Landscapes {
  /** @param {() => void} ready called when a requested landscape arrived (the charts redraw) */
  constructor(ready) {
    this.ready = ready;
    this.cache = new Map(); // key → {data} | {error} | {pending: true}
  }

  static key(loss, bounds, resolution) {
    return JSON.stringify([loss, bounds, resolution]);
  }

  /**
   * The landscape of `loss` on `bounds` ([[lo, hi]] or [[xlo, xhi], [ylo, yhi]]), or null while it is being
   * fetched (or when the server could not evaluate it: then `failure(...)` says why).
   */
  get(loss, bounds, resolution) {
    const key = Landscapes.key(loss, bounds, resolution);
    const entry = this.cache.get(key);
    if (entry) return entry.data || null;
    this.cache.set(key, { pending: true });
    if (this.cache.size > MAX_CACHED) this.cache.delete(this.cache.keys().next().value);
    api
      .landscape({ loss, bounds, resolution, dtype: 'float64' })
      .then((data) => this.cache.set(key, { data }))
      .catch((error) => this.cache.set(key, { error: error.message || String(error) }))
      .finally(() => this.ready());
    return null;
  }

  failure(loss, bounds, resolution) {
    const entry = this.cache.get(Landscapes.key(loss, bounds, resolution));
    return entry && entry.error ? entry.error : null;
  }
}

/**
 * Bounds rounded outwards to `digits` significant digits of their span, so small moves of the view reuse a
 * landscape (a live run's growing path: 2 digits, a fetch per few percent of growth, not per frame).
 */
export function roundBounds(lo, hi, digits = 3) {
  const span = hi - lo;
  if (!(span > 0)) return [lo - 1, hi + 1];
  const unit = 10 ** (Math.floor(Math.log10(span)) - (digits - 1));
  return [Math.floor(lo / unit) * unit, Math.ceil(hi / unit) * unit].map((v) => Number(v.toPrecision(12)));
}
