// The uPlot charts: loss, w and learning rate per step (cursor-synced, drag to zoom), and the loss curve loss(w)
// with each run's path of iterates drawn on it. Long runs are drawn as their envelope (min/max per bucket, kept up
// to date as rows stream in: see envelope.js); the runs keep every row.

import uPlot from './vendor/uplot/uPlot.esm.js';
import { withAlpha } from './colors.js';
import { orNull } from './columns.js';
import { axisValues, compact, niceTicks, stepAxisValues } from './format.js';
import { t } from './i18n.js';
import { Envelope, pick } from './envelope.js';
import { chartSvg } from './export.js';
import { roundBounds } from './landscape.js';

const MAX_DRAWN = 2400; // points per series handed to uPlot (stream.worker.js buckets to the same)
const MAX_W_DIMS = 4; // w per step: the first few dimensions of a D-dimensional run
const DIM_DASHES = [[], [7, 4], [2, 3], [9, 3, 2, 3]];
export const AXIS = { stroke: '#3b434d', grid: { stroke: '#e7eaee', width: 1 }, ticks: { stroke: '#cfd5dc', width: 1, size: 4 }, font: '12px system-ui, sans-serif', labelFont: '12px system-ui, sans-serif' };
const SYNC_KEY = 'descent-steps';

/**
 * Linear value axes: our own round ticks. uPlot picks increments from a fixed list that ends near 1e16, and a
 * diverging run's loss reaches 1e38: without this such an axis would have no ticks at all.
 */
export function linearAxis(horizontal) {
  return {
    splits: (u, _axis, min, max) => {
      const size = (horizontal ? u.bbox.width : u.bbox.height) / uPlot.pxRatio || (horizontal ? u.width : u.height);
      return niceTicks(min, max, Math.max(2, Math.floor(size / (horizontal ? 60 : 40))));
    },
    incrs: [1e300],
  };
}

/** Log axis ticks: whole decades only, spaced out when the range spans many (a diverging run spans 40). */
export function logAxis(horizontal = false) {
  return {
    splits: (u, _axis, min, max) => {
      const e0 = Math.ceil(Math.log10(min) - 1e-9);
      const e1 = Math.floor(Math.log10(max) + 1e-9);
      const size = (horizontal ? u.bbox.width : u.bbox.height) / uPlot.pxRatio;
      const room = Math.max(2, Math.floor(size / (horizontal ? 50 : 26)));
      const step = Math.max(1, Math.ceil((e1 - e0 + 1) / room));
      const splits = [];
      for (let e = e0; e <= e1; e += step) splits.push(Number(`1e${e}`));
      return splits.length ? splits : [min, max];
    },
    filter: (_u, splits) => splits,
    // decades as 0.001 … 1000, and as 1e-7 or 1e6 beyond
    values: (_u, splits) => splits.map((v) => (v >= 1e-3 && v <= 1e3 ? String(Number(v.toPrecision(6))) : `1e${Math.round(Math.log10(v))}`)),
    // uPlot looks for a tick increment among fixed ones, and finds none past ~1e16: give it one that always fits
    incrs: [1e300],
  };
}
const LOG_AXIS = logAxis(false);

/**
 * The y axis of a signed quantity (w) on uPlot's asinh scale: linear within ±`linthresh`, logarithmic beyond, so
 * w hopping 5 → -7 → 9.4 → … → -1e38 is readable on one axis. Ticks: 0 and ±whole decades from the threshold up
 * (with 2 and 5 times each decade when there is room), spaced out when they would crowd.
 */
export function symlogAxis(linthresh) {
  const label = (v) => {
    if (v === 0) return '0';
    const a = Math.abs(v);
    const e = Math.floor(Math.log10(a) + 1e-9);
    const text = a >= 1e-3 && a <= 1e4 ? String(Number(a.toPrecision(6))) : `${Number((a / 10 ** e).toPrecision(2))}e${e}`;
    return v < 0 ? `-${text}` : text;
  };
  return {
    splits: (u, _axis, min, max) => {
      const size = u.bbox.height / uPlot.pxRatio;
      const room = Math.max(3, Math.floor(size / 24));
      const e0 = Math.floor(Math.log10(linthresh) + 1e-9);
      const top = Math.max(Math.abs(min), Math.abs(max));
      const e1 = Math.max(e0, Math.floor(Math.log10(top) + 1e-9));
      const decades = e1 - e0 + 1;
      const sides = (min < 0 ? 1 : 0) + (max > 0 ? 1 : 0) || 1;
      const mults = decades * sides * 3 + 1 <= room ? [1, 2, 5] : [1];
      const step = Math.max(1, Math.ceil((decades * sides + 1) / room));
      const magnitudes = [];
      for (let e = e0; e <= e1; e += step) for (const m of mults) magnitudes.push(m * 10 ** e);
      const splits = [];
      for (const v of magnitudes) if (-v >= min) splits.push(-v);
      splits.reverse();
      if (min <= 0 && max >= 0) splits.push(0);
      for (const v of magnitudes) if (v <= max) splits.push(v);
      return splits.length ? splits : [min, max];
    },
    // ticks closer than 16 px to one already kept are left unlabelled: 0 first, then the largest magnitudes
    filter: (u, splits) => {
      const kept = [];
      const order = splits.map((v, i) => i).sort((i, j) => (splits[i] === 0 ? -1 : splits[j] === 0 ? 1 : Math.abs(splits[j]) - Math.abs(splits[i])));
      const out = splits.map(() => null);
      for (const i of order) {
        const y = u.valToPos(splits[i], 'y');
        if (kept.some((k) => Math.abs(k - y) < 16)) continue;
        kept.push(y);
        out[i] = splits[i];
      }
      return out;
    },
    values: (_u, splits) => splits.map((v) => (v === null || v === undefined ? '' : label(v))),
    incrs: [1e300],
  };
}

/**
 * The threshold of the w chart's asinh scale: the decade of the smallest non-zero |w| drawn, but never more than
 * twelve decades below the largest (a run converging onto 0 would otherwise spend the axis on float32's subnormals).
 */
export function symlogThreshold(series) {
  let small = Infinity;
  let large = 0;
  for (const s of series) {
    for (const v of s.ys) {
      if (v === null || v === undefined || v === 0) continue;
      const a = Math.abs(v);
      if (a < small) small = a;
      if (a > large) large = a;
    }
  }
  if (!(large > 0)) return 1;
  return 10 ** Math.floor(Math.log10(Math.max(small, large * 1e-12)) + 1e-9);
}

/**
 * The rows of a run's column as drawn: all of them up to MAX_DRAWN, else the column's envelope: the one the stream
 * worker bucketed (while it covers every row the run holds), else one the run keeps here (updated with the rows
 * that arrived since the last frame). Either way a frame costs O(MAX_DRAWN), not O(rows).
 */
function outline(run, key, ys) {
  const xs = run.steps;
  if (xs.length <= MAX_DRAWN) return { xs: Array.from(xs), ys: Array.from(ys, orNull) };
  const streamed = run.outlines && run.outlineRows === xs.length ? run.outlines[key] : null;
  if (streamed) return pick(streamed, xs, ys);
  if (!run.envelopes) run.envelopes = new Map();
  let envelope = run.envelopes.get(key);
  if (!envelope) run.envelopes.set(key, (envelope = new Envelope(Math.floor((MAX_DRAWN - 2) / 3))));
  envelope.update(ys);
  return envelope.points(xs, ys);
}

/**
 * uPlot wants one x array for all series: the union of the series' x values, each series `undefined` where it has
 * no row (uPlot joins over undefined, but leaves a gap at null).
 */
export function align(list) {
  if (!list.length) return [[]];
  const first = list[0].xs;
  if (list.every((s) => s.xs === first || sameArray(s.xs, first))) return [first, ...list.map((s) => s.ys)];
  const all = new Float64Array(list.reduce((n, s) => n + s.xs.length, 0));
  let k = 0;
  for (const s of list) for (const x of s.xs) all[k++] = x;
  all.sort();
  const xs = [];
  for (let i = 0; i < all.length; i++) if (i === 0 || all[i] !== all[i - 1]) xs.push(all[i]);
  const out = [xs];
  for (const s of list) {
    const ys = new Array(xs.length);
    let i = 0;
    for (let j = 0; j < xs.length && i < s.xs.length; j++) {
      if (s.xs[i] === xs[j]) ys[j] = s.ys[i++];
    }
    out.push(ys);
  }
  return out;
}

function sameArray(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function plotSize(plot) {
  const width = Math.max(200, Math.floor(plot.clientWidth));
  const height = Math.max(160, Math.floor(plot.clientHeight));
  return { width, height };
}

/** Shared plumbing: a figure with a plot area, a read-out line and an empty-state message. */
class ChartBase {
  constructor(figure) {
    this.figure = figure;
    this.plot = figure.querySelector('.plot');
    this.readout = figure.querySelector('.readout');
    this.empty = figure.querySelector('.empty-chart');
    this.u = null;
    this.key = '';
    this.resizer = new ResizeObserver(() => {
      if (this.u) {
        const size = plotSize(this.plot);
        if (size.width !== this.u.width || size.height !== this.u.height) this.u.setSize(size);
      }
    });
    this.resizer.observe(this.plot);
  }

  destroy() {
    if (this.u) this.u.destroy();
    this.u = null;
    this.key = '';
  }

  setEmpty(message) {
    this.destroy();
    this.empty.textContent = message;
    this.empty.hidden = !message;
    this.plot.hidden = !!message;
    if (message) this.readout.textContent = '';
  }

  /**
   * The chart as an SVG document (export.js), or null while it has nothing drawn.
   * @param {string} title
   */
  toSvg(title) {
    if (!this.u || this.plot.hidden) return null;
    return chartSvg(this.u, { title, marks: this.svgMarks(this.u) });
  }

  /**
   * The chart's own marks drawn in its hooks, for the SVG (CSS pixels of the chart).
   * @returns {import('./export.js').Mark[]}
   */
  svgMarks(_u) {
    return [];
  }

  /** (Re)creates the uPlot when the series changed, else only swaps the data. */
  render(key, makeOptions, data) {
    this.empty.hidden = true;
    this.plot.hidden = false;
    if (this.u && key === this.key) {
      this.u.setData(data);
      return;
    }
    this.destroy();
    this.key = key;
    this.u = new uPlot({ ...plotSize(this.plot), ...makeOptions() }, data, this.plot);
  }
}

// ---------------------------------------------------------------------------------------------------------------

/** loss, w or lr against the step. */
class StepChart extends ChartBase {
  constructor(figure, { column, yLabel, hint }) {
    super(figure);
    this.column = column;
    this.yLabel = yLabel;
    this.hint = hint;
    this.log = false;
    this.markers = [];
    this.series = [];
    this.dataMaxX = 0;
    this.plannedX = 0; // the most steps a streaming run on the chart plans (the x axis spans them)
    this.floor = null; // a value the y axis always shows (the loss's or w's known minimum)
    this.step = null;
  }

  seriesFor(runs) {
    const list = [];
    for (const run of runs) {
      if (this.column === 'w') {
        const dims = Math.min(run.dims, MAX_W_DIMS);
        for (let d = 0; d < dims; d++) {
          const label = run.dims > 1 ? `${run.label} w[${d}]` : run.label;
          list.push({ run, label, color: run.color, dash: run.dims > 1 ? DIM_DASHES[d] : run.dash, ys: run.w[d], dim: d });
        }
      } else if (this.column === 'state') {
        let d = 0;
        for (const [name, ys] of run.state) {
          const label = `${run.label} ${name}${run.dims > 1 ? '[0]' : ''}`;
          list.push({ run, label, color: run.color, dash: DIM_DASHES[d++ % DIM_DASHES.length], ys, dim: name });
        }
      } else {
        list.push({ run, label: run.label, color: run.color, dash: run.dash, ys: run[this.column] });
      }
    }
    return list.map((s) => {
      const drawn = outline(s.run, `${this.column}${s.dim ?? ''}`, s.ys);
      // on a log scale, values <= 0 cannot be drawn: gaps (w's asinh scale draws every sign)
      if (this.log && this.column !== 'w') drawn.ys = drawn.ys.map((v) => (v !== null && v > 0 ? v : null));
      return { ...s, full: s.ys, ...drawn };
    });
  }

  update(allRuns) {
    // the optimizer-state chart shows only when a run recorded its state (`record.state`)
    const runs = this.column === 'state' ? allRuns.filter((run) => run.state.size > 0) : allRuns;
    if (this.column === 'state') this.figure.hidden = runs.length === 0;
    this.figure.dataset.series = String(runs.length);
    if (!runs.length) return this.setEmpty(t('chart.noRuns'));
    const series = this.seriesFor(runs);
    const data = align(series);
    if (data[0].length === 0) return this.setEmpty(t('chart.waiting'));
    this.series = series;
    this.dataMaxX = data[0][data[0].length - 1];
    this.markers = runs.filter((run) => run.divergedAt !== null).map((run) => ({ x: run.divergedAt, color: run.color, run }));
    // the lr axis starts at 0 (a constant rate 0.0001 is a line at 0.0001, not uPlot's band around it)
    this.plannedX = Math.max(0, ...runs.filter((run) => !run.ended && run.spec && run.spec.steps > 0).map((run) => run.spec.steps));
    this.floor = this.log ? null : this.column === 'lr' ? [0] : knownFloor(runs, this.column);
    this.linthresh = this.log && this.column === 'w' ? symlogThreshold(series) : null;
    this.figure.dataset.linthresh = this.linthresh === null ? '' : String(this.linthresh);
    // the why, on the lr chart: the band of constant rates that converge on the (first) run's loss, and the rate
    // that lands on the minimum in one step, as the engine's analysis of the loss gives them
    this.band = null;
    if (this.column === 'lr') {
      const facts = runs.map((run) => run.summary && run.summary.analysis).find((a) => a && a.max_stable_lr);
      if (facts) {
        this.band = { limit: facts.max_stable_lr, one: facts.one_step_lr };
        if (!this.log) this.floor = [0, facts.max_stable_lr];
      }
      this.figure.dataset.stable = this.band ? String(this.band.limit) : '';
      this.figure.dataset.oneStep = this.band && this.band.one ? String(this.band.one) : '';
    }
    const note = this.figure.querySelector('.chart-note');
    if (note) {
      const hidden = this.column === 'w' ? runs.filter((r) => r.dims > MAX_W_DIMS) : [];
      const nonPositive = this.log && this.column !== 'w' && runs.some((r) => r.minLoss <= 0);
      note.textContent = [
        hidden.length ? t('chart.someDims', { last: MAX_W_DIMS - 1, runs: hidden.map((r) => `${r.label} (${r.dims}-D)`).join(', ') }) : '',
        nonPositive ? t('chart.logGaps') : '',
      ].join(' ').trim();
      note.hidden = !note.textContent;
    }
    const key = JSON.stringify([this.log, this.linthresh, this.floor, this.band, this.plannedX, series.map((s) => [s.label, s.color, s.dash])]);
    this.render(key, () => this.options(series), data);
    this.figure.dataset.drawnRows = String(data[0].length); // rows on the chart (bench.dashboard waits for the first)
  }

  options(series) {
    const chart = this;
    return {
      legend: { show: false },
      cursor: { sync: { key: SYNC_KEY }, drag: { x: true, y: false, setScale: true }, points: { size: 7 } },
      scales: {
        x: {
          time: false,
          range: (_u, min, max) => {
            if (min === null || max === null) return [0, 1];
            let hi = max;
            if (max >= chart.dataMaxX) for (const m of chart.markers) hi = Math.max(hi, m.x);
            // while runs stream, the axis already spans their planned steps: the line grows into a fixed frame
            if (max >= chart.dataMaxX) hi = Math.max(hi, chart.plannedX);
            chart.figure.dataset.xMax = String(hi);
            return hi > min ? [min, hi] : [min - 1, min + 1];
          },
        },
        y: this.linthresh !== null ? { distr: 4, log: 10, asinh: this.linthresh } : this.log ? { distr: 3, log: 10 } : { range: (_u, min, max) => chart.yRange(min, max) },
      },
      axes: [
        { ...AXIS, label: t('chart.stepAxis'), labelSize: 18, size: 32, values: stepAxisValues },
        {
          ...AXIS,
          label: this.yLabel,
          labelSize: 18,
          size: 58,
          ...(this.linthresh !== null ? symlogAxis(this.linthresh) : this.log ? LOG_AXIS : linearAxis(false)),
          values: (u, splits) => {
            const labels = this.linthresh !== null ? symlogAxis(this.linthresh).values(u, splits) : axisValues(u, splits);
            chart.figure.dataset.yTicks = labels.filter((label) => label).join(' ');
            return labels;
          },
        },
      ],
      series: [
        { label: 'step' },
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          dash: s.dash,
          width: 2,
          spanGaps: false,
          points: { size: 5, width: 1.5, fill: '#ffffff' },
        })),
      ],
      hooks: {
        draw: [(u) => this.drawMarkers(u)],
        setCursor: [(u) => this.showReadout(u)],
        ready: [(u) => this.showReadout(u)],
      },
    };
  }

  /**
   * The y range: the data's, widened to the known minimum (a crawl from 36 to 35.4 is drawn against the loss's
   * floor 0, not blown up into a cliff), padded by 5%.
   */
  yRange(min, max) {
    if (min === null || max === null) return [0, 1];
    let lo = min;
    let hi = max;
    for (const v of this.floor || []) ((lo = Math.min(lo, v)), (hi = Math.max(hi, v)));
    const pad = (hi - lo) * 0.05 || Math.max(Math.abs(hi) * 0.1, 1);
    const range = [lo - pad, hi + pad];
    this.figure.dataset.yRange = range.join(' ');
    return range;
  }

  drawMarkers(u) {
    this.drawBand(u);
    this.drawStep(u);
    const boxes = [];
    if (!this.markers.length) {
      delete this.figure.dataset.markerLabels;
      return;
    }
    const { ctx } = u;
    const { left, top, width, height } = u.bbox;
    const px = uPlot.pxRatio;
    ctx.save();
    this.markers.forEach((m, i) => {
      const x = Math.round(u.valToPos(m.x, 'x', true));
      if (x < left - 1 || x > left + width + 1) return;
      ctx.strokeStyle = m.color;
      ctx.lineWidth = 1.5 * px;
      ctx.setLineDash([5 * px, 4 * px]);
      ctx.beginPath();
      ctx.moveTo(x, top);
      ctx.lineTo(x, top + height);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.font = `${12 * px}px system-ui, sans-serif`;
      ctx.textAlign = 'right';
      ctx.textBaseline = 'top';
      const text = t('chart.divergedAt', { step: m.x });
      const w = ctx.measureText(text).width;
      // The label sits at the top, or at the bottom when the run's own line passes there (a constant rate's lr
      // line runs along the top of its chart).
      const lineY = this.lineY(u, m.run, m.x);
      let y = top + (4 + 16 * i) * px;
      if (lineY !== null && lineY > y - 8 * px && lineY < y + 22 * px) y = top + height - (20 + 16 * i) * px;
      ctx.fillStyle = 'rgba(255,255,255,0.88)';
      ctx.fillRect(x - w - 20 * px, y - 2 * px, w + 18 * px, 16 * px);
      ctx.fillStyle = m.color;
      ctx.fillRect(x - w - 17 * px, y + 2 * px, 8 * px, 8 * px);
      ctx.fillStyle = '#1f2328';
      ctx.fillText(text, x - 5 * px, y);
      boxes.push({ top: (y - 2 * px) / px, bottom: (y + 14 * px) / px, lineY: lineY === null ? null : lineY / px });
    });
    ctx.restore();
    this.figure.dataset.markerLabels = JSON.stringify(boxes);
  }

  svgMarks(u) {
    const left = u.bbox.left / uPlot.pxRatio;
    const top = u.bbox.top / uPlot.pxRatio;
    /** @type {import('./export.js').Mark[]} */
    const marks = [];
    for (const m of this.markers) {
      const x = left + u.valToPos(m.x, 'x');
      marks.push({ kind: 'vline', x, color: m.color, dash: [5, 4] });
      marks.push({ kind: 'text', x: x - 5, y: top + 16, text: t('chart.divergedAt', { step: m.x }), anchor: 'end' });
    }
    if (this.step !== null) {
      for (const s of this.series) {
        const i = s.run.indexOfStep(this.step);
        const v = i < 0 ? null : orNull(s.full[i]);
        if (v === null || v === undefined || (this.log && this.column !== 'w' && !(v > 0))) continue;
        marks.push({ kind: 'circle', x: left + u.valToPos(this.step, 'x'), y: top + u.valToPos(v, 'y'), r: 5.5, fill: s.color, stroke: '#1f2328', width: 2 });
      }
    }
    return marks;
  }

  /** Where (canvas pixels) the run's line is at the last finite row before step `x`, or null. */
  lineY(u, run, x) {
    const s = this.series.findIndex((series) => series.run === run);
    if (s < 0) return null;
    const ys = u.data[s + 1];
    const xs = u.data[0];
    for (let i = xs.length - 1; i >= 0; i--) {
      if (xs[i] <= x && ys[i] !== null && ys[i] !== undefined) return u.valToPos(ys[i], 'y', true);
    }
    return null;
  }

  /** The stable band (0 < lr < limit) shaded, its edge dashed, and the one-step rate dotted, each labelled. */
  drawBand(u) {
    if (!this.band) return;
    const { ctx } = u;
    const { left, top, width, height } = u.bbox;
    const px = uPlot.pxRatio;
    const y0 = Math.min(top + height, Math.max(top, u.valToPos(this.log ? u.scales.y.min : 0, 'y', true)));
    const y1 = Math.min(top + height, Math.max(top, u.valToPos(this.band.limit, 'y', true)));
    ctx.save();
    ctx.fillStyle = 'rgba(45, 164, 78, 0.10)';
    ctx.fillRect(left, y1, width, y0 - y1);
    const line = (value, dash, text) => {
      const y = u.valToPos(value, 'y', true);
      if (y < top - 1 || y > top + height + 1) return;
      ctx.strokeStyle = '#1a7f37';
      ctx.lineWidth = 1.25 * px;
      ctx.setLineDash(dash.map((d) => d * px));
      ctx.beginPath();
      ctx.moveTo(left, y);
      ctx.lineTo(left + width, y);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.font = `${11.5 * px}px system-ui, sans-serif`;
      ctx.textAlign = 'left';
      ctx.textBaseline = 'bottom';
      const w = ctx.measureText(text).width;
      ctx.fillStyle = 'rgba(255,255,255,0.85)';
      ctx.fillRect(left + 4 * px, y - 15 * px, w + 6 * px, 14 * px);
      ctx.fillStyle = '#1a5c2b';
      ctx.fillText(text, left + 7 * px, y - 2 * px);
    };
    line(this.band.limit, [6, 4], t('why.band', { limit: compact(this.band.limit) }));
    if (this.band.one) line(this.band.one, [2, 3], t('why.oneStep', { one: compact(this.band.one) }));
    ctx.restore();
  }

  /** The highlighted step (step through): a vertical line and each run's point at that step. */
  drawStep(u) {
    this.figure.dataset.drawnStep = this.step === null ? '' : String(this.step);
    if (this.step === null) return;
    const { ctx } = u;
    const { top, height } = u.bbox;
    const px = uPlot.pxRatio;
    const x = u.valToPos(this.step, 'x', true);
    ctx.save();
    ctx.strokeStyle = '#1f2328';
    ctx.lineWidth = 1 * px;
    ctx.beginPath();
    ctx.moveTo(x, top);
    ctx.lineTo(x, top + height);
    ctx.stroke();
    for (const s of this.series) {
      const i = s.run.indexOfStep(this.step);
      if (i < 0) continue;
      const v = orNull(s.full[i]);
      if (v === null || v === undefined || (this.log && this.column !== 'w' && !(v > 0))) continue;
      const y = u.valToPos(v, 'y', true);
      ctx.fillStyle = s.color;
      ctx.strokeStyle = '#1f2328';
      ctx.lineWidth = 2 * px;
      ctx.beginPath();
      ctx.arc(x, y, 5.5 * px, 0, 2 * Math.PI);
      ctx.fill();
      ctx.stroke();
    }
    ctx.restore();
  }

  showReadout(u) {
    const idx = u.cursor.idx;
    if (idx === null || idx === undefined) {
      this.readout.textContent = this.hint;
      return;
    }
    const parts = [`step ${u.data[0][idx]}`];
    for (let i = 1; i < u.data.length; i++) {
      const v = u.data[i][idx];
      if (v !== undefined) parts.push(`${this.series[i - 1].label}: ${compact(v)}`);
    }
    this.readout.textContent = parts.join(' · ');
  }
}

// ---------------------------------------------------------------------------------------------------------------

/** loss(w) over a range of w (for 1-D losses, from the server), with each run's iterates w0, w1, … joined in step order. Drag to zoom. */
class CurveChart extends ChartBase {
  constructor(figure, landscapes) {
    super(figure);
    this.landscapes = landscapes;
    this.paths = [];
    this.yExtent = [0, 1];
    this.curves = [];
    /** @type {(() => void) | null} called when a drag or a button changes the zoom (the URL keeps it) */
    this.onZoom = null;
    this.zoom = null; // [lo, hi] of w chosen by a drag, or null: the whole path
    this.log = false; // loss(w) on a log axis (losses <= 0 are left out)
    this.step = null; // the highlighted step (step through), or null
    this.zoomPath = figure.querySelector('[data-testid="curve-zoom-path"]');
    this.resetButton = figure.querySelector('[data-testid="curve-zoom-reset"]');
    if (this.zoomPath) this.zoomPath.addEventListener('click', () => this.setZoom(this.pathRange()));
    if (this.resetButton) this.resetButton.addEventListener('click', () => this.setZoom(null));
    this.runs = [];
  }

  setZoom(range) {
    this.zoom = range && range[1] > range[0] ? range : null;
    this.update(this.allRuns || []);
    if (this.onZoom) this.onZoom();
  }

  /** The span of the visible runs' iterates (what "zoom to the path" shows), padded a little. */
  pathRange() {
    let lo = Infinity;
    let hi = -Infinity;
    for (const p of this.paths) for (const w of p.ws) if (w !== null) ((lo = Math.min(lo, w)), (hi = Math.max(hi, w)));
    if (!Number.isFinite(lo)) return null;
    const span = hi - lo || Math.max(Math.abs(lo) * 1e-3, 1e-6);
    return [lo - span * 0.15, hi + span * 0.15];
  }

  update(allRuns) {
    this.allRuns = allRuns;
    const runs = allRuns.filter((run) => run.dims === 1);
    this.figure.dataset.series = String(runs.length);
    // Only 2-D (or more) runs: this chart steps aside for the contour chart, so there is one picture and one note.
    this.figure.hidden = allRuns.length > 0 && runs.length === 0;
    const note = this.figure.querySelector('.chart-note');
    const multi = allRuns.filter((run) => run.dims > 2);
    const notes = multi.length ? [t('curve.notShown', { runs: multi.map((r) => r.label).join(', ') })] : [];
    if (!runs.length) {
      this.setNote(note, notes);
      return this.setEmpty(allRuns.length ? '' : t('chart.noRuns'));
    }
    if (runs.every((run) => run.points === 0)) {
      this.setNote(note, notes);
      return this.setEmpty(t('chart.waiting'));
    }

    // The range of w: every iterate, and the minimum, as the course's pictures show them (or the zoom).
    let lo = Infinity;
    let hi = -Infinity;
    const losses = new Map();
    this.paths = [];
    for (const run of runs) {
      const loss = run.spec && run.spec.loss;
      const key = JSON.stringify(loss);
      if (!losses.has(key)) losses.set(key, { loss, runs: [], minimum: null });
      const entry = losses.get(key);
      entry.runs.push(run);
      const { xs: ws, ys: ls } = thinPath(run.w[0], run.loss);
      for (const w of ws) if (w !== null) ((lo = Math.min(lo, w)), (hi = Math.max(hi, w)));
      const minimum = analysisMinimum(run);
      if (minimum !== null) {
        entry.minimum = minimum;
        lo = Math.min(lo, minimum.w);
        hi = Math.max(hi, minimum.w);
      }
      this.paths.push({ run, ws, ls, all: run.points });
    }
    if (!Number.isFinite(lo)) return this.setEmpty(t('chart.waiting'));
    let span = hi - lo;
    if (!(span > 0)) span = Math.max(1, Math.abs(lo) * 0.5);
    const live = runs.some((run) => !run.ended);
    let [x0, x1] = this.zoom || roundBounds(lo - span * 0.12, hi + span * 0.12, live ? 2 : 3);
    if (this.zoom) [x0, x1] = this.zoom;

    // The curve of each loss on [x0, x1], computed by the server.
    const resolution = 401;
    this.curves = [];
    const failures = [];
    let grid = null;
    for (const entry of losses.values()) {
      const data = this.landscapes.get(entry.loss, [[x0, x1]], resolution);
      if (data) {
        grid = grid || data.x;
        this.curves.push({ ...entry, ys: data.loss, color: entry.runs[0].color });
      } else {
        const failure = this.landscapes.failure(entry.loss, [[x0, x1]], resolution);
        if (failure) failures.push(failure);
      }
    }
    // While a new range's curve is on its way, the last one stays drawn (the chart is not rebuilt without it, and
    // rebuilt again when it arrives, at every step of a live run's growing path).
    const lossKeys = [...losses.keys()].join('|');
    const pending = this.curves.length < losses.size && !failures.length;
    if (pending && this.previous && this.previous.keys === lossKeys) {
      grid = this.previous.grid;
      this.curves = this.previous.curves;
    } else if (!pending && grid) this.previous = { keys: lossKeys, grid, curves: this.curves };
    this.figure.dataset.curves = String(this.curves.length);
    this.figure.dataset.xRange = `${x0} ${x1}`;
    if (failures.length) notes.push(t('curve.noCurve', { reason: failures[0] }));
    // A path too short to see at this scale (the crawl): say so, and offer to zoom to it.
    const path = this.pathRange();
    const tiny = path && !this.zoom && (path[1] - path[0]) / (x1 - x0) < 0.03;
    if (tiny) notes.push(t('curve.tinyPath', { span: compact((path[1] - path[0]) / 1.3, 3) })); // without the padding
    if (this.zoomPath) this.zoomPath.hidden = !tiny;
    if (this.resetButton) this.resetButton.hidden = !this.zoom;
    this.setNote(note, notes);
    if (!grid) grid = Array.from({ length: resolution }, (_, i) => x0 + ((x1 - x0) * i) / (resolution - 1));

    // on a log axis a loss <= 0 (the minimum of (w+1)^2 itself) cannot be drawn: a gap
    const drawable = (y) => y !== null && y !== undefined && (!this.log || y > 0);
    const curveData = this.curves.map((c) => (this.log ? c.ys.map((y) => (drawable(y) ? y : null)) : c.ys));
    let ylo = Infinity;
    let yhi = -Infinity;
    for (const ys of curveData) for (const y of ys) if (drawable(y)) ((ylo = Math.min(ylo, y)), (yhi = Math.max(yhi, y)));
    for (const p of this.paths) {
      for (let i = 0; i < p.ws.length; i++) {
        const l = p.ls[i];
        if (drawable(l) && p.ws[i] !== null && p.ws[i] >= x0 && p.ws[i] <= x1) ((ylo = Math.min(ylo, l)), (yhi = Math.max(yhi, l)));
      }
    }
    if (this.log) {
      if (!Number.isFinite(ylo)) ((ylo = 0.1), (yhi = 10));
      const ratio = yhi > ylo ? (yhi / ylo) ** 0.06 : 2;
      this.yExtent = [ylo / ratio, yhi * ratio];
    } else {
      if (!Number.isFinite(ylo)) ((ylo = 0), (yhi = 1));
      const pad = (yhi - ylo) * 0.06 || Math.max(1e-9, Math.abs(yhi) * 0.1) || 1;
      this.yExtent = [ylo - pad, yhi + pad];
    }
    this.xExtent = [x0, x1];
    this.figure.dataset.yRange = this.yExtent.join(' ');

    const single = this.curves.length === 1;
    // the range is read by the scales on each redraw: a moving path changes the data, not the chart
    const key = JSON.stringify([this.curves.map((c) => [c.color, single]), this.log]);
    this.render(key, () => this.options(single), [grid, ...curveData]);
  }

  setNote(note, notes) {
    note.textContent = notes.join(' ');
    note.hidden = !note.textContent;
  }

  options(single) {
    const chart = this;
    return {
      legend: { show: false },
      cursor: {
        drag: { x: true, y: false, setScale: false },
        points: { show: false },
        bind: { dblclick: () => () => (chart.setZoom(null), null) },
      },
      scales: { x: { time: false, range: () => chart.xExtent }, y: this.log ? { distr: 3, log: 10, range: () => chart.yExtent } : { range: () => chart.yExtent } },
      axes: [
        { ...AXIS, label: 'w', labelSize: 18, size: 32, values: axisValues, ...linearAxis(true) },
        { ...AXIS, label: 'loss(w)', labelSize: 18, size: 58, ...(this.log ? LOG_AXIS : { values: axisValues, ...linearAxis(false) }) },
      ],
      series: [
        { label: 'w' },
        ...this.curves.map((c) => ({
          label: 'loss(w)',
          stroke: single ? '#6b7480' : withAlpha(c.color, 0.55),
          width: single ? 2 : 1.5,
          dash: single ? [] : [4, 3],
          points: { show: false },
        })),
      ],
      hooks: {
        draw: [(u) => this.drawPaths(u)],
        setCursor: [(u) => this.showReadout(u)],
        ready: [(u) => this.showReadout(u)],
        setSelect: [
          (u) => {
            if (u.select.width < 4) return;
            const a = u.posToVal(u.select.left, 'x');
            const b = u.posToVal(u.select.left + u.select.width, 'x');
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            this.setZoom([Math.min(a, b), Math.max(a, b)]);
          },
        ],
      },
    };
  }

  drawPaths(u) {
    this.figure.dataset.drawnStep = '';
    const { ctx } = u;
    const { left, top, width, height } = u.bbox;
    const px = uPlot.pxRatio;
    ctx.save();
    ctx.beginPath();
    ctx.rect(left, top, width, height);
    ctx.clip();
    const labelled = [];
    for (const p of this.paths) {
      const { run, ws, ls } = p;
      const pts = [];
      for (let i = 0; i < ws.length; i++) {
        if (ws[i] === null || ls[i] === null || (this.log && !(ls[i] > 0))) continue;
        pts.push([u.valToPos(ws[i], 'x', true), u.valToPos(ls[i], 'y', true)]);
      }
      if (!pts.length) continue;
      const [fx, fy] = pts[0];
      // the w0 ring first, thin: the iterates drawn after it stay visible inside it
      ctx.strokeStyle = withAlpha(run.color, 0.6);
      ctx.lineWidth = 1.5 * px;
      ctx.beginPath();
      ctx.arc(fx, fy, 8 * px, 0, 2 * Math.PI);
      ctx.stroke();
      ctx.strokeStyle = withAlpha(run.color, 0.85);
      ctx.lineWidth = 1.5 * px;
      ctx.setLineDash(run.dash.map((d) => d * px));
      ctx.beginPath();
      pts.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
      ctx.stroke();
      ctx.setLineDash([]);
      if (pts.length <= 250) {
        ctx.fillStyle = '#ffffff';
        ctx.strokeStyle = run.color;
        for (const [x, y] of pts) {
          ctx.beginPath();
          ctx.arc(x, y, 3 * px, 0, 2 * Math.PI);
          ctx.fill();
          ctx.stroke();
        }
      }
      const [lx, ly] = pts[pts.length - 1];
      ctx.fillStyle = run.color;
      ctx.beginPath();
      ctx.arc(lx, ly, 4.5 * px, 0, 2 * Math.PI);
      ctx.fill();
      this.drawCurrent(u, run);
      if (labelled.some(([x, y]) => Math.abs(x - fx) < 12 * px && Math.abs(y - fy) < 12 * px)) continue;
      labelled.push([fx, fy]);
      ctx.font = `600 ${12 * px}px system-ui, sans-serif`;
      ctx.textBaseline = 'bottom';
      ctx.textAlign = fx > left + width - 40 * px ? 'right' : 'left';
      ctx.fillStyle = '#1f2328';
      ctx.fillText('w₀', fx + (ctx.textAlign === 'right' ? -10 : 10) * px, fy - 6 * px);
    }
    for (const c of this.curves) {
      if (!c.minimum || (this.log && !(c.minimum.loss > 0))) continue;
      const mx = u.valToPos(c.minimum.w, 'x', true);
      const my = u.valToPos(c.minimum.loss, 'y', true);
      ctx.strokeStyle = '#3b434d';
      ctx.lineWidth = 1.5 * px;
      ctx.beginPath();
      ctx.moveTo(mx - 5 * px, my - 5 * px); ctx.lineTo(mx + 5 * px, my + 5 * px);
      ctx.moveTo(mx - 5 * px, my + 5 * px); ctx.lineTo(mx + 5 * px, my - 5 * px);
      ctx.stroke();
    }
    ctx.restore();
  }

  svgMarks(u) {
    const left = u.bbox.left / uPlot.pxRatio;
    const top = u.bbox.top / uPlot.pxRatio;
    const at = (w, l) => /** @type {[number, number]} */ ([left + u.valToPos(w, 'x'), top + u.valToPos(l, 'y')]);
    /** @type {import('./export.js').Mark[]} */
    const marks = [];
    for (const { run, ws, ls } of this.paths) {
      /** @type {[number, number][]} */
      const pts = [];
      for (let i = 0; i < ws.length; i++) {
        if (ws[i] === null || ls[i] === null || (this.log && !(ls[i] > 0))) continue;
        pts.push(at(ws[i], ls[i]));
      }
      if (!pts.length) continue;
      marks.push({ kind: 'circle', x: pts[0][0], y: pts[0][1], r: 8, stroke: withAlpha(run.color, 0.6) });
      marks.push({ kind: 'path', points: pts, color: run.color, opacity: 0.85, dash: run.dash });
      if (pts.length <= 250) for (const [x, y] of pts) marks.push({ kind: 'circle', x, y, r: 3, fill: '#ffffff', stroke: run.color });
      const [lx, ly] = pts[pts.length - 1];
      marks.push({ kind: 'circle', x: lx, y: ly, r: 4.5, fill: run.color });
      marks.push({ kind: 'text', x: pts[0][0] + 10, y: pts[0][1] - 6, text: 'w₀' });
    }
    for (const c of this.curves) {
      if (!c.minimum || (this.log && !(c.minimum.loss > 0))) continue;
      const [mx, my] = at(c.minimum.w, c.minimum.loss);
      marks.push({ kind: 'path', points: [[mx - 5, my - 5], [mx + 5, my + 5]], color: '#3b434d' });
      marks.push({ kind: 'path', points: [[mx - 5, my + 5], [mx + 5, my - 5]], color: '#3b434d' });
    }
    return marks;
  }

  /** The highlighted step's iterate (step through): a large ring with a cross-hair. */
  drawCurrent(u, run) {
    if (this.step === null) return;
    const i = run.indexOfStep(this.step);
    if (i < 0) return;
    const w = orNull(run.w[0][i]);
    const l = orNull(run.loss[i]);
    if (w === null || l === null || (this.log && !(l > 0))) return;
    const px = uPlot.pxRatio;
    const { ctx } = u;
    const x = u.valToPos(w, 'x', true);
    const y = u.valToPos(l, 'y', true);
    this.figure.dataset.drawnStep = String(this.step);
    ctx.strokeStyle = '#1f2328';
    ctx.lineWidth = 2.5 * px;
    ctx.beginPath();
    ctx.arc(x, y, 7 * px, 0, 2 * Math.PI);
    ctx.stroke();
    ctx.fillStyle = run.color;
    ctx.beginPath();
    ctx.arc(x, y, 5 * px, 0, 2 * Math.PI);
    ctx.fill();
  }

  showReadout(u) {
    const idx = u.cursor.idx;
    if (idx === null || idx === undefined) {
      this.readout.textContent = this.curves.length ? t('curve.hint') : t('curve.hintNoCurve');
      return;
    }
    const w = u.data[0][idx];
    const values = u.data.slice(1).map((ys) => ys[idx]).filter((v) => v !== null && v !== undefined);
    this.readout.textContent = `w ${compact(w, 5)}${values.length ? ` · loss(w) ${values.map((v) => compact(v, 5)).join(' / ')}` : ''}`;
  }
}

/**
 * Values the y axis always shows: the minimum of each run's loss as the engine's analysis knows it (its loss, or
 * each of its first w's); 0 for losses that never went below it when no minimum is known yet.
 */
function knownFloor(runs, column) {
  const values = [];
  for (const run of runs) {
    const m = run.summary && run.summary.analysis && run.summary.analysis.minimum;
    if (!m) continue;
    if (column === 'loss' && typeof m.loss === 'number') values.push(m.loss);
    if (column === 'w' && Array.isArray(m.w)) values.push(...m.w.slice(0, MAX_W_DIMS));
  }
  if (!values.length && column === 'loss' && runs.every((run) => run.minLoss >= 0)) values.push(0);
  return values.filter((v) => typeof v === 'number' && Number.isFinite(v));
}

/** The path keeps every iterate up to MAX_DRAWN (then every k-th, and always the last). */
function thinPath(ws, ls) {
  const n = ws.length;
  if (n <= MAX_DRAWN) return { xs: Array.from(ws, orNull), ys: Array.from(ls, orNull) };
  const step = Math.ceil(n / MAX_DRAWN);
  const xs = [];
  const ys = [];
  for (let i = 0; i < n; i += step) (xs.push(orNull(ws[i])), ys.push(orNull(ls[i])));
  xs.push(orNull(ws[n - 1]));
  ys.push(orNull(ls[n - 1]));
  return { xs, ys };
}

/** The minimum the engine knows for the run's loss ({w, loss} in 1-D), or null. */
function analysisMinimum(run) {
  const m = run.summary && run.summary.analysis && run.summary.analysis.minimum;
  return m && Array.isArray(m.w) && typeof m.w[0] === 'number' && typeof m.loss === 'number' ? { w: m.w[0], loss: m.loss } : null;
}


// ---------------------------------------------------------------------------------------------------------------

/** The charts with a log-scale box, as the URL names them (`log=loss,w,curve`). */
export const LOG_CHARTS = ['loss', 'w', 'lr', 'state', 'curve', 'contour'];

export class Charts {
  constructor(root, contour, landscapes) {
    const hint = t('chart.hint');
    this.loss = new StepChart(root.querySelector('[data-testid="chart-loss"]'), { column: 'loss', yLabel: t('chart.lossAxis'), hint });
    this.w = new StepChart(root.querySelector('[data-testid="chart-w"]'), { column: 'w', yLabel: 'w', hint });
    this.lr = new StepChart(root.querySelector('[data-testid="chart-lr"]'), { column: 'lr', yLabel: t('chart.lrAxis'), hint });
    this.curve = new CurveChart(root.querySelector('[data-testid="chart-curve"]'), landscapes);
    this.state = new StepChart(root.querySelector('[data-testid="chart-state"]'), { column: 'state', yLabel: t('chart.stateAxis'), hint });
    this.contour = contour;
  }

  /** The charts that have a log scale, by name (w's is an asinh scale: w is signed). */
  scaled() {
    return { loss: this.loss, w: this.w, lr: this.lr, state: this.state, curve: this.curve, contour: this.contour };
  }

  /** Log scale on the chart `name` (one of LOG_CHARTS). */
  setLog(name, on) {
    const chart = this.scaled()[name];
    if (chart) chart.log = on;
  }

  /** The charts on a log scale, by name. */
  logged() {
    return LOG_CHARTS.filter((name) => this.scaled()[name].log);
  }

  /** The step highlighted on every chart (step through), or null. */
  setStep(step) {
    for (const chart of [this.loss, this.w, this.lr, this.curve, this.contour, this.state]) {
      chart.step = step;
      chart.figure.dataset.step = step === null ? '' : String(step);
    }
  }

  /** Whether a round of redraws is under way (charts are left from the last `update`). */
  midRound() {
    return !!this.left && this.left.length > 0;
  }

  /**
   * Redraws the charts, in turn, until `budget` ms have gone (at least one): a frame redraws some of them and the
   * next frame the rest, so no frame's task holds the main thread for all six. Returns true when charts are left
   * for the next frame.
   */
  update(runs, budget = Infinity) {
    const all = [this.loss, this.w, this.lr, this.curve, this.state, this.contour];
    const start = performance.now();
    if (!this.left || this.left.length === 0) this.left = all.slice();
    while (this.left.length) {
      const chart = /** @type {any} */ (this.left.shift());
      chart.update(runs);
      if (performance.now() - start >= budget) break;
    }
    return this.left.length > 0;
  }
}
