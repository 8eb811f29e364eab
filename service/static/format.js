import { t } from './i18n.js';

// Number formatting: the course's `%f` for final values, compact forms for axes and read-outs.

/**
 * C's `%f` (six decimals, e.g. -0.995731, 0.000018) of the value as the run holds it: the API writes a float32 as
 * the shortest decimal that reads back to it (35.42848), so it is rounded back to float32 first, and prints as
 * the course's `%f` of that float32 does (35.428478). An array prints as [a, b].
 */
export function fixed6(value, dtype = 'float64') {
  if (Array.isArray(value)) return `[${value.map((v) => fixed6(v, dtype)).join(', ')}]`;
  if (value === null || value === undefined) return '—';
  if (!Number.isFinite(value)) return String(value);
  const x = dtype === 'float32' ? Math.fround(value) : value;
  if (Math.abs(x) >= 1e10) return x.toExponential(6).replace(/e([+-])(\d)$/, 'e$10$2'); // C's %e beyond that
  return x.toFixed(6);
}

/** Up to 6 significant digits, exponent form for very large or small magnitudes. */
export function compact(value, digits = 6) {
  if (Array.isArray(value)) return `[${value.map((v) => compact(v, digits)).join(', ')}]`;
  if (value === null || value === undefined) return '—';
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs >= 1e6 || abs < 1e-4) return trimExp(value.toExponential(Math.max(0, digits - 3)));
  return String(Number(value.toPrecision(digits)));
}

function trimExp(text) {
  return text.replace(/\.?0+e/, 'e').replace('e+', 'e');
}

/** Axis tick labels: one style per axis (all plain or all in exponent form), never a 30-digit integer. */
export function axisValues(_u, splits) {
  let maxAbs = 0;
  for (const v of splits) if (v !== null && v !== undefined && Number.isFinite(v)) maxAbs = Math.max(maxAbs, Math.abs(v));
  const exponent = maxAbs >= 1e5 || (maxAbs > 0 && maxAbs < 1e-3);
  return splits.map((v) => {
    if (v === null || v === undefined) return '';
    if (v === 0) return '0';
    return exponent ? trimExp(v.toExponential(3)) : String(Number(v.toPrecision(6)));
  });
}

/**
 * Round tick values covering [lo, hi]: steps of 1, 2, 2.5 or 5 times a power of ten, at most `count` + 1 of them and
 * never fewer than the room allows for three (a narrow phone chart of w from -7 to 5 gets -5, 0, 5, not a lone 0).
 */
export function niceTicks(lo, hi, count = 5) {
  const span = hi - lo;
  if (!(span > 0) || !Number.isFinite(span)) return Number.isFinite(lo) ? [lo] : [];
  const target = Math.max(3, count);
  const mag = 10 ** Math.floor(Math.log10(span / target));
  let ticks = [];
  for (const m of [1, 2, 2.5, 5, 10, 20, 25, 50, 100]) {
    const step = m * mag;
    ticks = [];
    for (let i = Math.ceil(lo / step - 1e-9); i <= Math.floor(hi / step + 1e-9); i++) {
      const t = i * step;
      ticks.push(Math.abs(t) < step * 1e-9 ? 0 : Number(t.toPrecision(12)));
    }
    if (ticks.length <= target + 1) break;
  }
  return ticks;
}

/** Step axis labels: 200k, 1.5M past ten thousand, as TensorBoard writes them. */
export function stepAxisValues(_u, splits) {
  let maxAbs = 0;
  for (const v of splits) if (v !== null && v !== undefined) maxAbs = Math.max(maxAbs, Math.abs(v));
  return splits.map((v) => {
    if (v === null || v === undefined) return '';
    if (Math.abs(v) >= 1e6) return `${Number((v / 1e6).toPrecision(4))}M`;
    if (maxAbs >= 1e4) return `${Number((v / 1e3).toPrecision(4))}k`.replace(/^0k$/, '0');
    return String(Number(v.toPrecision(6)));
  });
}

/** "12 s ago" style relative times for the history list. */
export function relativeTime(iso) {
  const then = Date.parse(iso);
  if (!Number.isFinite(then)) return '';
  const seconds = Math.round((Date.now() - then) / 1000);
  if (seconds < 45) return t('history.justNow');
  if (seconds < 3600) return t('history.minAgo', { n: Math.round(seconds / 60) });
  if (seconds < 86400) return t('history.hAgo', { n: Math.round(seconds / 3600) });
  return new Date(then).toLocaleDateString();
}
