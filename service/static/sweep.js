// The sweep view: one request (`POST /v1/sweeps`) runs a grid of runs; a 1-axis sweep draws the final loss (log)
// over verdict bands against the swept value, with the stability edge the server predicts (`summary.stability`); a
// 2-axis sweep draws a heatmap coloured by verdict with the predicted edge across it. Clicking a point or a cell
// starts that very run on the charts.

import uPlot from './vendor/uplot/uPlot.esm.js';
import { api } from './api.js';
import { AXIS, linearAxis, logAxis } from './charts.js';
import { el } from './dom.js';
import { axisValues, compact, niceTicks } from './format.js';
import { language, t, tOr } from './i18n.js';
import { problemText } from './problems.js';

/** Verdict colours of the bands and cells (with their legend); text is never drawn in them. */
export const VERDICT_COLORS = {
  converged: '#2da44e',
  slow: '#54aeff',
  oscillating: '#d4a72c',
  diverged: '#cf222e',
  stalled: '#8c959f',
  unbounded: '#8250df',
};

/** A copy of `spec` with the dotted `path` set to `value` (a bare-number schedule becomes a constant one). */
export function setPath(spec, path, value) {
  const out = JSON.parse(JSON.stringify(spec));
  if (typeof out.schedule === 'number') out.schedule = { kind: 'constant', learning_rate: out.schedule };
  const parts = path.split('.');
  let node = out;
  for (let i = 0; i < parts.length - 1; i++) {
    const key = /^\d+$/.test(parts[i]) ? Number(parts[i]) : parts[i];
    if (node[key] === undefined || node[key] === null) node[key] = /^\d+$/.test(parts[i + 1]) ? [] : {};
    else if (typeof node[key] === 'number' && /^\d+$/.test(parts[i + 1])) node[key] = [node[key]];
    node = node[key];
  }
  const last = parts[parts.length - 1];
  node[/^\d+$/.test(last) ? Number(last) : last] = value;
  return out;
}

/** The value at the dotted `path` of `spec`, or undefined. */
export function getPath(spec, path) {
  let node = typeof spec.schedule === 'number' ? { ...spec, schedule: { kind: 'constant', learning_rate: spec.schedule } } : spec;
  for (const part of path.split('.')) {
    if (node === null || node === undefined) return undefined;
    node = node[/^\d+$/.test(part) ? Number(part) : part];
  }
  return node;
}

/** An axis of the request: `num` values from `start` to `stop`, evenly spaced (or on a log scale). */
export function axisSpec(path, start, stop, num, log) {
  if (log) return { path, logspace: { start: Math.log10(start), stop: Math.log10(stop), num } };
  return { path, linspace: { start, stop, num } };
}

const flat = (grid) => (Array.isArray(grid) ? grid.flat(Infinity) : [grid]);

export class SweepView {
  /**
   * @param {HTMLElement} panel  the view's <section>
   * @param {{startRun: (spec: any) => void, changed: () => void}} hooks  starts one run on the charts; tells the
   *   page the view changed (the URL keeps it)
   */
  constructor(panel, hooks) {
    this.panel = panel;
    this.hooks = hooks;
    /** @type {any} the uPlot of a 1-axis sweep */
    this.u = null;
    /** @type {any} the sweep document (its summary arrays are nested like the grid) */
    this.doc = null;
    /** @type {any} the run spec swept */
    this.base = null;
    /** @type {any} the request drawn: {base, axes} */
    this.request = null;
    /** @type {any} the heatmap's geometry */
    this.cells = null;
    /** @type {{verdict: string, from: number, to: number}[]} */
    this.bands = [];
    /** @type {Record<string, HTMLInputElement>} */
    this.inputs = {};
    this.build();
  }

  build() {
    const title = el('h2', { id: 'sweep-title', text: t('sweep.title') });
    const close = el('button', { type: 'button', class: 'small-button', dataTestid: 'sweep-close', text: t('view.close') });
    close.addEventListener('click', () => this.close());
    /** @param {string} name @param {string} label @param {Record<string, any>} options */
    const field = (name, label, { list, ...props }) => {
      const input = el('input', { name, id: `sweep-${name}`, dataTestid: `sweep-${name}`, autocomplete: 'off', ...props });
      if (list) input.setAttribute('list', list);
      this.inputs[name] = input;
      return el('div', { class: 'field' }, el('label', { for: input.id, class: 'field-label', text: label }), input);
    };
    this.pathList = el('datalist', { id: 'sweep-paths' });
    const log = el('input', { type: 'checkbox', id: 'sweep-log', dataTestid: 'sweep-log' });
    this.inputs.log = log;
    const go = el('button', { type: 'submit', class: 'primary', dataTestid: 'sweep-run', text: t('sweep.run') });
    this.setup = el(
      'form',
      { class: 'sweep-setup', novalidate: true },
      field('path', t('sweep.path'), { type: 'text', list: 'sweep-paths', spellcheck: false }),
      field('start', t('sweep.from'), { type: 'number', step: 'any' }),
      field('stop', t('sweep.to'), { type: 'number', step: 'any' }),
      field('num', t('sweep.count'), { type: 'number', step: '1', min: '2', max: '10000' }),
      el('div', { class: 'field field-check' }, el('div', { class: 'check-row' }, log, el('label', { for: 'sweep-log', text: t('sweep.log') }))),
      field('path2', t('sweep.path2'), { type: 'text', list: 'sweep-paths', spellcheck: false, placeholder: t('sweep.none') }),
      field('start2', t('sweep.from'), { type: 'number', step: 'any' }),
      field('stop2', t('sweep.to'), { type: 'number', step: 'any' }),
      field('num2', t('sweep.count'), { type: 'number', step: '1', min: '2', max: '1000' }),
      el('div', { class: 'sweep-go' }, go),
      this.pathList,
    );
    this.setup.addEventListener('submit', (event) => {
      event.preventDefault();
      this.runFromSetup();
    });
    this.status = el('p', { class: 'sweep-status', role: 'status', dataTestid: 'sweep-status' });
    this.plot = el('div', { class: 'plot sweep-plot', dataTestid: 'sweep-chart' });
    this.canvas = el('canvas', { class: 'heatmap', dataTestid: 'sweep-heatmap', role: 'img', ariaLabel: t('sweep.heatmapAria'), hidden: true });
    this.legend = el('ul', { class: 'verdict-legend', dataTestid: 'sweep-legend' });
    this.edge = el('p', { class: 'sweep-edge', dataTestid: 'sweep-edge', hidden: true });
    this.readout = el('p', { class: 'readout', text: t('sweep.hint') });
    this.panel.replaceChildren(el('div', { class: 'panel-head' }, title, close), this.setup, this.status, this.edge, this.plot, this.canvas, this.legend, this.readout);
    this.canvas.addEventListener('click', (event) => this.clickCell(event));
    this.canvas.addEventListener('pointermove', (event) => this.hoverCell(event));
    new ResizeObserver(() => {
      if (this.u) this.u.setSize(this.size());
      else if (this.doc && this.doc.shape.length === 2) this.drawHeatmap();
    }).observe(this.plot);
  }

  close() {
    this.panel.hidden = true;
    this.request = null;
    if (this.u) this.u.destroy();
    this.u = null;
    this.hooks.changed();
  }

  /** Shows the setup for sweeping `path` of `base` (the form's spec), with a range around its value. */
  prepare(base, path, fields) {
    this.base = base;
    this.pathList.replaceChildren(...fields.map((p) => el('option', { value: p })));
    const value = Number(getPath(base, path));
    const rate = /rate|lr|value/.test(path);
    this.inputs.path.value = path;
    this.inputs.start.value = rate || !(Number.isFinite(value) && value !== 0) ? '0' : String(value / 2);
    this.inputs.stop.value = String(Number.isFinite(value) && value !== 0 ? Number((Math.abs(value) * (rate ? 6 : 2)).toPrecision(6)) : 1);
    this.inputs.num.value = '101';
    this.inputs.log.checked = false;
    for (const name of ['path2', 'start2', 'stop2', 'num2']) this.inputs[name].value = '';
    this.panel.hidden = false;
    this.status.textContent = t('sweep.setupHint');
    this.panel.scrollIntoView({ block: 'nearest' });
    this.inputs.path.focus({ preventScroll: true });
  }

  /** The setup shows the axes being swept (a preset's, or the ones typed). */
  showAxes(axes) {
    const names = [['path', 'start', 'stop', 'num'], ['path2', 'start2', 'stop2', 'num2']];
    names.forEach(([path, start, stop, num], k) => {
      const axis = axes[k];
      const range = axis && (axis.linspace || axis.logspace);
      const log = !!(axis && axis.logspace);
      this.inputs[path].value = axis ? axis.path : '';
      this.inputs[start].value = range ? String(log ? 10 ** range.start : range.start) : '';
      this.inputs[stop].value = range ? String(log ? 10 ** range.stop : range.stop) : '';
      this.inputs[num].value = range ? String(range.num) : '';
      if (k === 0) this.inputs.log.checked = log;
    });
  }

  runFromSetup() {
    const v = (name) => this.inputs[name].value.trim();
    const axes = [];
    const num = Number(v('num'));
    if (!v('path') || !Number.isFinite(Number(v('start'))) || !Number.isFinite(Number(v('stop'))) || !(num >= 1)) {
      this.status.textContent = t('sweep.fillIn');
      return;
    }
    const log = this.inputs.log.checked;
    if (log && !(Number(v('start')) > 0 && Number(v('stop')) > 0)) {
      this.status.textContent = t('sweep.logPositive');
      return;
    }
    axes.push(axisSpec(v('path'), Number(v('start')), Number(v('stop')), num, log));
    if (v('path2')) axes.push(axisSpec(v('path2'), Number(v('start2')), Number(v('stop2')), Number(v('num2')) || 21, false));
    this.run({ base: this.base, axes });
  }

  /** Runs the sweep and draws it; `request.base` is a run spec, `request.axes` the request's axes. */
  async run(request) {
    this.base = request.base;
    this.request = request;
    this.showAxes(request.axes);
    this.panel.hidden = false;
    this.panel.dataset.state = 'running';
    const count = request.axes.reduce((n, a) => n * (a.values ? a.values.length : (a.linspace || a.logspace).num), 1);
    this.status.textContent = t('sweep.running', { count: count.toLocaleString() });
    const { name: _name, ...base } = request.base;
    const started = performance.now();
    try {
      const doc = await api.sweep({ base, axes: request.axes });
      this.doc = doc;
      this.render(doc);
      this.panel.dataset.state = 'done';
      this.panel.dataset.ms = String(Math.round(performance.now() - started));
      // on a phone the view sits below the form: bring its picture on screen
      if (window.matchMedia('(max-width: 899px)').matches) this.status.scrollIntoView({ block: 'start' });
      this.hooks.changed();
    } catch (err) {
      this.panel.dataset.state = 'failed';
      const where = err.errors && err.errors.length ? ` (${err.errors.map((e) => (language() === 'en' ? `${e.loc.join('.')}: ${e.msg}` : problemText(e.loc, e.msg, e.type))).join('; ')})` : '';
      this.status.textContent = t('sweep.failed', { reason: err.message }) + where;
    }
  }

  size() {
    return { width: Math.max(240, Math.floor(this.plot.clientWidth)), height: Math.max(200, Math.floor(this.plot.clientHeight)) };
  }

  render(doc) {
    const summary = doc.summary;
    const counts = Object.entries(summary.counts).map(([verdict, n]) => `${t(`verdict.${verdict}`)} ${n}`).join(' · ');
    this.status.textContent = t('sweep.done', { count: flat(summary.verdict).length.toLocaleString(), counts });
    this.legend.replaceChildren(
      ...Object.keys(summary.counts).map((verdict) => {
        const chip = el('span', { class: 'legend-chip', ariaHidden: 'true' });
        chip.style.backgroundColor = VERDICT_COLORS[verdict] || '#8c959f';
        return el('li', { dataVerdict: verdict }, chip, `${t(`verdict.${verdict}`)} (${summary.counts[verdict]})`);
      }),
    );
    const stability = summary.stability;
    this.edge.hidden = !stability;
    if (stability) {
      const predicted = flat(stability.predicted_max_lr);
      this.edge.textContent = t('sweep.edge', {
        predicted: predicted.length === 1 ? compact(predicted[0]) : `${compact(Math.min(...predicted))}–${compact(Math.max(...predicted))}`,
        measured: compact(flat(stability.largest_stable_lr).find((v) => v !== null) ?? NaN),
        rule: tOr('sweep.stabilityRule', stability.rule),
      });
      this.panel.dataset.edge = String(predicted[0]);
    } else delete this.panel.dataset.edge;
    if (doc.shape.length === 1) this.drawLine(doc);
    else if (doc.shape.length === 2) this.drawHeatmap();
    else this.status.textContent += ` ${t('sweep.tooManyAxes')}`;
  }

  // ---------------------------------------------------------------------------------------------------------
  // One axis: final loss (log) over verdict bands

  drawLine(doc) {
    this.canvas.hidden = true;
    this.plot.hidden = false;
    const xs = doc.axes[0].values;
    const verdicts = doc.summary.verdict;
    const raw = doc.summary.final_loss;
    const positive = raw.filter((v) => v !== null && v > 0);
    const floor = positive.length ? Math.min(...positive) / 10 : 1e-30;
    const ceiling = positive.length ? Math.max(...positive) : 1;
    // a loss of exactly 0 (the float reached the minimum) sits on the floor; a non-finite one at the top
    const ys = raw.map((v, i) => (v === null ? (verdicts[i] === 'diverged' ? ceiling : null) : v > 0 ? v : floor));
    this.bands = [];
    for (let i = 0; i < xs.length; i++) {
      const last = this.bands[this.bands.length - 1];
      if (last && last.verdict === verdicts[i]) last.to = i;
      else this.bands.push({ verdict: verdicts[i], from: i, to: i });
    }
    this.panel.dataset.points = String(xs.length);
    this.panel.dataset.bands = this.bands.map((b) => `${b.verdict}:${xs[b.from]}:${xs[b.to]}`).join(' ');
    const edges = doc.summary.stability ? flat(doc.summary.stability.predicted_max_lr) : [];
    const logX = doc.spec && doc.spec.axes[0] && doc.spec.axes[0].logspace;
    const view = this;
    /** @type {any} uPlot's options (its types want a LogBase literal for `log`) */
    const options = {
      ...this.size(),
      legend: { show: false },
      cursor: { drag: { x: true, y: false, setScale: true }, points: { size: 6 } },
      scales: { x: logX ? { time: false, distr: 3, log: 10 } : { time: false }, y: { distr: 3, log: 10 } },
      axes: [
        logX ? { ...AXIS, label: doc.axes[0].path, labelSize: 18, size: 32, ...logAxis(true) } : { ...AXIS, label: doc.axes[0].path, labelSize: 18, size: 32, values: axisValues, ...linearAxis(true) },
        { ...AXIS, label: t('sweep.finalLoss'), labelSize: 18, size: 62, ...logAxis(false) },
      ],
      series: [{ label: doc.axes[0].path }, { label: t('sweep.finalLoss'), stroke: '#1f2328', width: 1.5, points: { show: xs.length <= 120, size: 4 } }],
      hooks: {
        drawClear: [(u) => this.drawBands(u, xs)],
        draw: [(u) => this.drawEdges(u, edges)],
        setCursor: [
          (u) => {
            const i = u.cursor.idx;
            this.readout.textContent = i === null || i === undefined ? t('sweep.hint') : t('sweep.point', { path: doc.axes[0].path, value: compact(xs[i]), loss: compact(raw[i]), verdict: t(`verdict.${verdicts[i]}`) });
          },
        ],
      },
    };
    if (this.u) this.u.destroy();
    this.u = new uPlot(options, [xs, ys], this.plot);
    this.u.over.addEventListener('click', () => {
      const i = view.u.cursor.idx;
      if (i !== null && i !== undefined && view.u.select.width < 2) view.open([i]);
    });
  }

  drawBands(u, xs) {
    const { ctx } = u;
    const { top, height } = u.bbox;
    ctx.save();
    for (const band of this.bands) {
      // each band reaches halfway to its neighbours' points
      const a = band.from > 0 ? (xs[band.from - 1] + xs[band.from]) / 2 : xs[band.from];
      const b = band.to < xs.length - 1 ? (xs[band.to] + xs[band.to + 1]) / 2 : xs[band.to];
      const x0 = u.valToPos(a, 'x', true);
      const x1 = u.valToPos(b, 'x', true);
      ctx.fillStyle = `${VERDICT_COLORS[band.verdict] || '#8c959f'}33`;
      ctx.fillRect(x0, top, Math.max(1, x1 - x0), height);
    }
    ctx.restore();
  }

  drawEdges(u, edges) {
    const { ctx } = u;
    const { left, top, width, height } = u.bbox;
    const px = uPlot.pxRatio;
    ctx.save();
    for (const edge of edges.slice(0, 1)) {
      const x = u.valToPos(edge, 'x', true);
      if (x < left || x > left + width) continue;
      ctx.strokeStyle = '#1f2328';
      ctx.lineWidth = 1.5 * px;
      ctx.setLineDash([6 * px, 4 * px]);
      ctx.beginPath();
      ctx.moveTo(x, top);
      ctx.lineTo(x, top + height);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.font = `600 ${12 * px}px system-ui, sans-serif`;
      const text = t('sweep.edgeLabel', { lr: compact(edge) });
      const w = ctx.measureText(text).width;
      const right = x + w + 10 * px < left + width;
      ctx.fillStyle = 'rgba(255,255,255,0.9)';
      ctx.fillRect(right ? x + 3 * px : x - w - 9 * px, top + 4 * px, w + 6 * px, 16 * px);
      ctx.fillStyle = '#1f2328';
      ctx.textAlign = right ? 'left' : 'right';
      ctx.textBaseline = 'top';
      ctx.fillText(text, right ? x + 6 * px : x - 6 * px, top + 6 * px);
    }
    ctx.restore();
  }

  // ---------------------------------------------------------------------------------------------------------
  // Two axes: a heatmap of verdicts

  drawHeatmap() {
    const doc = this.doc;
    if (this.u) this.u.destroy();
    this.u = null;
    this.plot.hidden = true;
    this.canvas.hidden = false;
    const [xa, ya] = doc.axes;
    const verdicts = doc.summary.verdict;
    this.panel.dataset.points = String(xa.values.length * ya.values.length);
    this.panel.dataset.cells = String(xa.values.length * ya.values.length);
    const canvas = this.canvas;
    const cssW = Math.max(240, canvas.clientWidth);
    const cssH = Math.max(200, canvas.clientHeight);
    const px = window.devicePixelRatio || 1;
    canvas.width = Math.round(cssW * px);
    canvas.height = Math.round(cssH * px);
    const ctx = canvas.getContext('2d');
    ctx.setTransform(px, 0, 0, px, 0, 0);
    ctx.clearRect(0, 0, cssW, cssH);
    const m = { left: 58, right: 12, top: 10, bottom: 40 };
    const w = cssW - m.left - m.right;
    const h = cssH - m.top - m.bottom;
    const nx = xa.values.length;
    const ny = ya.values.length;
    this.cells = { m, w, h, nx, ny };
    for (let i = 0; i < nx; i++) {
      for (let j = 0; j < ny; j++) {
        ctx.fillStyle = VERDICT_COLORS[verdicts[i][j]] || '#8c959f';
        ctx.fillRect(m.left + (i * w) / nx, m.top + h - ((j + 1) * h) / ny, Math.ceil(w / nx) + 0.5, Math.ceil(h / ny) + 0.5);
      }
    }
    const xOf = (v) => m.left + ((v - xa.values[0]) / (xa.values[nx - 1] - xa.values[0] || 1)) * (w - w / nx) + w / nx / 2;
    const yOf = (v) => m.top + h - (((v - ya.values[0]) / (ya.values[ny - 1] - ya.values[0] || 1)) * (h - h / ny) + h / ny / 2);
    const stability = doc.summary.stability;
    if (stability && stability.axis === xa.path && Array.isArray(stability.predicted_max_lr)) {
      // the predicted edge: the largest stable rate for each value of the other axis
      ctx.strokeStyle = '#ffffff';
      ctx.lineWidth = 4;
      const line = () => {
        ctx.beginPath();
        stability.predicted_max_lr.forEach((lr, j) => (j ? ctx.lineTo(xOf(lr), yOf(ya.values[j])) : ctx.moveTo(xOf(lr), yOf(ya.values[j]))));
        ctx.stroke();
      };
      line();
      ctx.strokeStyle = '#1f2328';
      ctx.lineWidth = 2;
      ctx.setLineDash([6, 4]);
      line();
      ctx.setLineDash([]);
    }
    ctx.fillStyle = '#3b434d';
    ctx.font = '12px system-ui, sans-serif';
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    for (const tick of niceTicks(xa.values[0], xa.values[nx - 1], Math.max(2, Math.floor(w / 70)))) ctx.fillText(compact(tick, 4), xOf(tick), m.top + h + 5);
    ctx.fillText(xa.path, m.left + w / 2, m.top + h + 22);
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (const tick of niceTicks(ya.values[0], ya.values[ny - 1], Math.max(2, Math.floor(h / 40)))) ctx.fillText(compact(tick, 4), m.left - 6, yOf(tick));
    ctx.save();
    ctx.translate(12, m.top + h / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = 'center';
    ctx.fillText(ya.path, 0, 0);
    ctx.restore();
  }

  cellAt(event) {
    if (!this.cells) return null;
    const { m, w, h, nx, ny } = this.cells;
    const rect = this.canvas.getBoundingClientRect();
    const x = event.clientX - rect.left - m.left;
    const y = event.clientY - rect.top - m.top;
    if (x < 0 || y < 0 || x >= w || y >= h) return null;
    return [Math.floor((x / w) * nx), ny - 1 - Math.floor((y / h) * ny)];
  }

  hoverCell(event) {
    const cell = this.cellAt(event);
    if (!cell) return;
    const [i, j] = cell;
    const [xa, ya] = this.doc.axes;
    const s = this.doc.summary;
    this.readout.textContent = `${xa.path} ${compact(xa.values[i])} · ${ya.path} ${compact(ya.values[j])} · ${t(`verdict.${s.verdict[i][j]}`)} · ${t('sweep.finalLoss')} ${compact(s.final_loss[i][j])}`;
  }

  clickCell(event) {
    const cell = this.cellAt(event);
    if (cell) this.open(cell);
  }

  /** Starts the run at grid point `index` (one index per axis) on the charts. */
  open(index) {
    let spec = this.base;
    this.doc.axes.forEach((axis, k) => (spec = setPath(spec, axis.path, axis.values[index[k]])));
    const label = this.doc.axes.map((axis, k) => `${axis.path.split('.').pop()} ${compact(axis.values[index[k]])}`).join(', ');
    spec.name = label;
    this.hooks.startRun(spec);
  }
}
