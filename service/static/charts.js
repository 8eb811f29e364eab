// The uPlot charts: loss, w and learning rate per step (cursor-synced, drag to zoom), and the loss curve loss(w)
// with each run's path of iterates drawn on it. Long runs are thinned for drawing only (min/max per bucket, so
// oscillations keep their envelope); the runs keep every row.

import uPlot from './vendor/uplot/uPlot.esm.js';
import { withAlpha } from './colors.js';
import { axisValues, compact, niceTicks, stepAxisValues } from './format.js';
import { lossFunction, lossKey } from './lossfn.js';

const MAX_DRAWN = 2400; // points per series handed to uPlot
const MAX_W_DIMS = 4; // w per step: the first few dimensions of a D-dimensional run
const DIM_DASHES = [[], [7, 4], [2, 3], [9, 3, 2, 3]];
const AXIS = { stroke: '#3b434d', grid: { stroke: '#e7eaee', width: 1 }, ticks: { stroke: '#cfd5dc', width: 1, size: 4 }, font: '12px system-ui, sans-serif', labelFont: '12px system-ui, sans-serif' };
const SYNC_KEY = 'descent-steps';

/**
 * Linear value axes: our own round ticks. uPlot picks increments from a fixed list that ends near 1e16, and a
 * diverging run's loss reaches 1e38: without this such an axis would have no ticks at all.
 */
function linearAxis(horizontal) {
  return {
    splits: (u, _axis, min, max) => {
      const size = (horizontal ? u.bbox.width : u.bbox.height) / uPlot.pxRatio || (horizontal ? u.width : u.height);
      return niceTicks(min, max, Math.max(2, Math.floor(size / (horizontal ? 60 : 40))));
    },
    incrs: [1e300],
  };
}

/** Log axis ticks: whole decades only, spaced out when the range spans many (a diverging run spans 40). */
const LOG_AXIS = {
  splits: (u, _axis, min, max) => {
    const e0 = Math.ceil(Math.log10(min) - 1e-9);
    const e1 = Math.floor(Math.log10(max) + 1e-9);
    const room = Math.max(2, Math.floor(u.bbox.height / uPlot.pxRatio / 26));
    const step = Math.max(1, Math.ceil((e1 - e0 + 1) / room));
    const splits = [];
    for (let e = e0; e <= e1; e += step) splits.push(Number(`1e${e}`));
    return splits.length ? splits : [min, max];
  },
  filter: (_u, splits) => splits,
  // uPlot looks for a tick increment among fixed ones, and finds none past ~1e16: give it one that always fits
  incrs: [1e300],
};

/** At most `max` points of (xs, ys), keeping each bucket's first null, minimum and maximum, in order. */
export function thin(xs, ys, max = MAX_DRAWN) {
  const n = xs.length;
  if (n <= max) return { xs, ys };
  const buckets = Math.max(1, Math.floor((max - 2) / 3));
  const size = (n - 2) / buckets;
  const outX = [xs[0]];
  const outY = [ys[0]];
  for (let b = 0; b < buckets; b++) {
    const start = 1 + Math.floor(b * size);
    const end = Math.min(n - 1, 1 + Math.floor((b + 1) * size));
    let lo = -1;
    let hi = -1;
    let gap = -1;
    for (let i = start; i < end; i++) {
      const y = ys[i];
      if (y === null) {
        if (gap < 0) gap = i;
        continue;
      }
      if (lo < 0 || y < ys[lo]) lo = i;
      if (hi < 0 || y > ys[hi]) hi = i;
    }
    const picks = [lo, hi, gap].filter((i) => i >= 0).sort((p, q) => p - q);
    let previous = -1;
    for (const i of picks) {
      if (i === previous) continue;
      outX.push(xs[i]);
      outY.push(ys[i]);
      previous = i;
    }
  }
  outX.push(xs[n - 1]);
  outY.push(ys[n - 1]);
  return { xs: outX, ys: outY };
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
  }

  seriesFor(runs) {
    const list = [];
    for (const run of runs) {
      if (this.column === 'w') {
        const dims = Math.min(run.dims, MAX_W_DIMS);
        for (let d = 0; d < dims; d++) {
          const label = run.dims > 1 ? `${run.label} w[${d}]` : run.label;
          list.push({ run, label, color: run.color, dash: run.dims > 1 ? DIM_DASHES[d] : run.dash, ys: run.w[d] });
        }
      } else {
        let ys = run[this.column];
        if (this.log) ys = ys.map((v) => (v !== null && v > 0 ? v : null));
        list.push({ run, label: run.label, color: run.color, dash: run.dash, ys });
      }
    }
    return list.map((s) => ({ ...s, ...thin(s.run.steps, s.ys) }));
  }

  update(runs) {
    this.figure.dataset.series = String(runs.length);
    if (!runs.length) return this.setEmpty('No runs on the charts yet: pick a preset or press Run.');
    const series = this.seriesFor(runs);
    const data = align(series);
    if (data[0].length === 0) return this.setEmpty('Waiting for the first rows…');
    this.series = series;
    this.dataMaxX = data[0][data[0].length - 1];
    this.markers = runs.filter((run) => run.divergedAt !== null).map((run) => ({ x: run.divergedAt, color: run.color }));
    const note = this.figure.querySelector('.chart-note');
    if (note) {
      const hidden = this.column === 'w' ? runs.filter((r) => r.dims > MAX_W_DIMS) : [];
      const nonPositive = this.log && runs.some((r) => r.loss.some((v) => v !== null && v <= 0));
      note.textContent = [
        hidden.length ? `Showing w[0] to w[${MAX_W_DIMS - 1}] of ${hidden.map((r) => `${r.label} (${r.dims}-D)`).join(', ')}.` : '',
        nonPositive ? 'Losses ≤ 0 cannot be drawn on a log scale: they are left out (gaps).' : '',
      ].join(' ').trim();
      note.hidden = !note.textContent;
    }
    const key = JSON.stringify([this.log, series.map((s) => [s.label, s.color, s.dash])]);
    this.render(key, () => this.options(series), data);
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
            return hi > min ? [min, hi] : [min - 1, min + 1];
          },
        },
        y: this.log ? { distr: 3, log: 10 } : {},
      },
      axes: [
        { ...AXIS, label: 'step', labelSize: 18, size: 32, values: stepAxisValues },
        { ...AXIS, label: this.yLabel, labelSize: 18, size: 58, values: axisValues, ...(this.log ? LOG_AXIS : linearAxis(false)) },
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

  drawMarkers(u) {
    if (!this.markers.length) return;
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
      const text = `diverged @ ${m.x}`;
      const y = top + (4 + 16 * i) * px;
      const w = ctx.measureText(text).width;
      ctx.fillStyle = 'rgba(255,255,255,0.88)';
      ctx.fillRect(x - w - 20 * px, y - 2 * px, w + 18 * px, 16 * px);
      ctx.fillStyle = m.color;
      ctx.fillRect(x - w - 17 * px, y + 2 * px, 8 * px, 8 * px);
      ctx.fillStyle = '#1f2328';
      ctx.fillText(text, x - 5 * px, y);
    });
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

/** loss(w) over a range of w (for 1-D losses), with each run's iterates w0, w1, … joined in step order. */
class CurveChart extends ChartBase {
  constructor(figure) {
    super(figure);
    this.paths = [];
    this.yExtent = [0, 1];
    this.curves = [];
  }

  update(allRuns) {
    const runs = allRuns.filter((run) => run.dims === 1);
    this.figure.dataset.series = String(runs.length);
    const note = this.figure.querySelector('.chart-note');
    const multi = allRuns.filter((run) => run.dims > 1);
    note.textContent = multi.length ? `loss(w) is drawn for one-dimensional runs; ${multi.map((r) => r.label).join(', ')} ${multi.length > 1 ? 'are' : 'is'} ${multi.some((r) => r.dims === 2) ? 'on the contour chart' : 'not shown here'}.` : '';
    note.hidden = !note.textContent;
    if (!runs.length) return this.setEmpty(allRuns.length ? 'No one-dimensional run to draw.' : 'No runs on the charts yet: pick a preset or press Run.');
    if (runs.every((run) => run.points === 0)) return this.setEmpty('Waiting for the first rows…');

    // The range of w: every iterate, and the minimum, as the course's pictures show them.
    let lo = Infinity;
    let hi = -Infinity;
    const functions = new Map();
    this.paths = [];
    for (const run of runs) {
      const key = lossKey(run.spec && run.spec.loss);
      if (!functions.has(key)) functions.set(key, { fn: lossFunction(run.spec && run.spec.loss, 1), color: run.color, runs: [] });
      const entry = functions.get(key);
      entry.runs.push(run);
      const { xs: ws, ys: ls } = thinPath(run.w[0], run.loss);
      for (const w of ws) if (w !== null) ((lo = Math.min(lo, w)), (hi = Math.max(hi, w)));
      const minimum = entry.fn && entry.fn.minimum ? entry.fn.minimum[0] : analysisMinimum(run);
      if (minimum !== null && Number.isFinite(minimum)) ((lo = Math.min(lo, minimum)), (hi = Math.max(hi, minimum)));
      this.paths.push({ run, ws, ls, all: run.points });
    }
    if (!Number.isFinite(lo)) return this.setEmpty('Waiting for the first rows…');
    let span = hi - lo;
    if (!(span > 0)) span = Math.max(1, Math.abs(lo) * 0.5);
    const x0 = lo - span * 0.12;
    const x1 = hi + span * 0.12;
    const n = 400;
    const grid = Array.from({ length: n + 1 }, (_, i) => x0 + ((x1 - x0) * i) / n);

    this.curves = [...functions.values()].filter((entry) => entry.fn);
    const curveData = this.curves.map((entry) => grid.map((w) => finiteOrNull(entry.fn.f([w]))));
    let ylo = Infinity;
    let yhi = -Infinity;
    for (const ys of curveData) for (const y of ys) if (y !== null) ((ylo = Math.min(ylo, y)), (yhi = Math.max(yhi, y)));
    for (const p of this.paths) for (const l of p.ls) if (l !== null) ((ylo = Math.min(ylo, l)), (yhi = Math.max(yhi, l)));
    if (!Number.isFinite(ylo)) ((ylo = 0), (yhi = 1));
    const pad = (yhi - ylo) * 0.06 || Math.max(1, Math.abs(yhi) * 0.1);
    this.yExtent = [ylo - pad, yhi + pad];

    const single = this.curves.length === 1;
    const key = JSON.stringify(this.curves.map((c) => [c.color, single]));
    this.render(key, () => this.options(single), [grid, ...curveData]);
  }

  options(single) {
    const chart = this;
    return {
      legend: { show: false },
      cursor: { drag: { x: false, y: false }, points: { show: false } },
      scales: { x: { time: false }, y: { range: () => chart.yExtent } },
      axes: [
        { ...AXIS, label: 'w', labelSize: 18, size: 32, values: axisValues, ...linearAxis(true) },
        { ...AXIS, label: 'loss(w)', labelSize: 18, size: 58, values: axisValues, ...linearAxis(false) },
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
      },
    };
  }

  drawPaths(u) {
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
        if (ws[i] === null || ls[i] === null) continue;
        pts.push([u.valToPos(ws[i], 'x', true), u.valToPos(ls[i], 'y', true)]);
      }
      if (!pts.length) continue;
      ctx.strokeStyle = withAlpha(run.color, 0.85);
      ctx.lineWidth = 1.5 * px;
      ctx.setLineDash(run.dash.map((d) => d * px));
      ctx.beginPath();
      pts.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
      ctx.stroke();
      ctx.setLineDash([]);
      const markers = pts.length <= 250;
      if (markers) {
        ctx.fillStyle = '#ffffff';
        ctx.strokeStyle = run.color;
        for (const [x, y] of pts) {
          ctx.beginPath();
          ctx.arc(x, y, 3.5 * px, 0, 2 * Math.PI);
          ctx.fill();
          ctx.stroke();
        }
      }
      // w0 and the latest iterate stand out
      const [fx, fy] = pts[0];
      const [lx, ly] = pts[pts.length - 1];
      ctx.fillStyle = run.color;
      ctx.beginPath();
      ctx.arc(lx, ly, 5 * px, 0, 2 * Math.PI);
      ctx.fill();
      ctx.strokeStyle = run.color;
      ctx.lineWidth = 2 * px;
      ctx.beginPath();
      ctx.arc(fx, fy, 6 * px, 0, 2 * Math.PI);
      ctx.stroke();
      if (labelled.some(([x, y]) => Math.abs(x - fx) < 12 * px && Math.abs(y - fy) < 12 * px)) continue;
      labelled.push([fx, fy]);
      ctx.font = `600 ${12 * px}px system-ui, sans-serif`;
      ctx.textBaseline = 'bottom';
      ctx.textAlign = fx > left + width - 40 * px ? 'right' : 'left';
      ctx.fillStyle = '#1f2328';
      ctx.fillText('w₀', fx + (ctx.textAlign === 'right' ? -8 : 8) * px, fy - 4 * px);
    }
    ctx.restore();
  }

  showReadout(u) {
    const idx = u.cursor.idx;
    if (idx === null || idx === undefined) {
      this.readout.textContent = this.curves.length ? 'loss(w) drawn from the spec; circles: the iterates w₀, w₁, … in order.' : 'This loss kind cannot be evaluated in the browser: only the iterates are drawn.';
      return;
    }
    const w = u.data[0][idx];
    const values = u.data.slice(1).map((ys) => ys[idx]).filter((v) => v !== null && v !== undefined);
    this.readout.textContent = `w ${compact(w, 5)}${values.length ? ` · loss(w) ${values.map((v) => compact(v, 5)).join(' / ')}` : ''}`;
  }
}

/** The path keeps every iterate up to MAX_DRAWN (then every k-th, and always the last). */
function thinPath(ws, ls) {
  const n = ws.length;
  if (n <= MAX_DRAWN) return { xs: ws, ys: ls };
  const step = Math.ceil(n / MAX_DRAWN);
  const xs = [];
  const ys = [];
  for (let i = 0; i < n; i += step) (xs.push(ws[i]), ys.push(ls[i]));
  xs.push(ws[n - 1]);
  ys.push(ls[n - 1]);
  return { xs, ys };
}

function analysisMinimum(run) {
  const m = run.summary && run.summary.analysis && run.summary.analysis.minimum;
  return m && Array.isArray(m.w) && typeof m.w[0] === 'number' ? m.w[0] : null;
}

const finiteOrNull = (v) => (Number.isFinite(v) ? v : null);

// ---------------------------------------------------------------------------------------------------------------

export class Charts {
  constructor(root, contour) {
    const hint = 'Hover for values · drag to zoom · double-click to reset';
    this.loss = new StepChart(root.querySelector('[data-testid="chart-loss"]'), { column: 'loss', yLabel: 'loss', hint });
    this.w = new StepChart(root.querySelector('[data-testid="chart-w"]'), { column: 'w', yLabel: 'w', hint });
    this.lr = new StepChart(root.querySelector('[data-testid="chart-lr"]'), { column: 'lr', yLabel: 'learning rate', hint });
    this.curve = new CurveChart(root.querySelector('[data-testid="chart-curve"]'));
    this.contour = contour;
  }

  setLog(on) {
    this.loss.log = on;
  }

  update(runs) {
    this.loss.update(runs);
    this.w.update(runs);
    this.lr.update(runs);
    this.curve.update(runs);
    this.contour.update(runs);
  }
}
