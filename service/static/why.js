// The why, on the page: for a quadratic a·(w + b)² + c under plain gradient descent at a constant rate, each step
// multiplies (w + b) by 1 − 2·a·lr; the run converges while that factor lies strictly between −1 and 1. And the
// chapter's own printout of a run ("After i steps: w is …, loss is …"), digit for digit and copyable.

import { orNull } from './columns.js';
import { fixed6 } from './format.js';
import { t } from './i18n.js';

const PLAIN = new Set(['sgd', 'tf1.GradientDescentOptimizer']);

/** The constant rate of a spec, or null when the schedule changes the rate. */
export function constantRate(spec) {
  const s = spec && spec.schedule;
  if (typeof s === 'number') return s;
  if (s && s.kind === 'constant') return s.learning_rate;
  if (s && s.kind === 'optax.constant_schedule') return s.value;
  return null;
}

/** The card's line for a 1-D quadratic under plain descent at a constant rate: the factor per step, or ''. */
export function whyLine(run) {
  const spec = run.spec;
  if (!spec || run.dims !== 1 || !spec.loss || spec.loss.kind !== 'quadratic') return '';
  const optimizer = (spec.optimizer && spec.optimizer.kind) || 'sgd';
  const momentum = spec.optimizer && spec.optimizer.momentum;
  if (!PLAIN.has(optimizer) && !(optimizer === 'torch.SGD' && !momentum)) return '';
  const lr = constantRate(spec);
  const scalar = (v, d) => (Array.isArray(v) ? v[0] : v ?? d);
  const a = scalar(spec.loss.a, 1);
  const b = scalar(spec.loss.b, 0);
  if (lr === null || !(a > 0)) return '';
  const factor = 1 - 2 * a * lr;
  const shift = b === 0 ? 'w' : b > 0 ? `w + ${b}` : `w − ${-b}`;
  const regime = Math.abs(factor) < 1 ? (factor < 0 ? 'why.alternates' : 'why.shrinks') : Math.abs(factor) === 1 ? 'why.edge' : 'why.grows';
  return `${t('why.factor', { shift, a, lr, factor: Number(factor.toPrecision(6)) })} ${t(regime, { limit: Number((1 / a).toPrecision(6)), one: Number((1 / (2 * a)).toPrecision(6)) })}`;
}

/**
 * The chapter's printout of the run: its loop prints after update i (from 0), i.e. the trace's row i + 1. A
 * constant rate prints as the chapter's first listing, a schedule as its exponential-decay listing.
 */
export function chapterTable(run, limit = 2000) {
  const dtype = (run.spec && run.spec.dtype) || 'float32';
  const constant = constantRate(run.spec) !== null;
  const lines = [];
  for (let row = 1; row < run.points && lines.length < limit; row++) {
    const i = run.steps[row] - 1;
    const w = run.dims === 1 ? orNull(run.w[0][row]) : run.w.map((col) => orNull(col[row]));
    const [ws, loss] = [fixed6(w, dtype), fixed6(orNull(run.loss[row]), dtype)];
    if (constant) lines.push(`After ${i} steps:w is ${ws} , loss is ${loss}.`);
    else lines.push(`After ${i} steps: global_step is ${fixed6(run.steps[row], dtype)} ,w is ${ws},learning rate is ${fixed6(orNull(run.lr[row]), dtype)},loss is ${loss}`);
  }
  return lines;
}
