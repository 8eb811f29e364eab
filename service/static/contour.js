// Contours of a 2-D loss (marching squares over the grid `POST /v1/landscape` answers, for every loss kind) with each
// 2-D run's path on top, drawn on a plain canvas. Hidden unless a visible run has two dimensions. Drag a box to
// zoom in, double-click to go back. The levels are quantiles of the grid's values, or on a log scale log-spaced in
// the height above the grid's lowest value (as many lines per decade); `toSvg` rebuilds the drawing as vectors.

import { withAlpha } from './colors.js';
import { compact, niceTicks } from './format.js';
import { t } from './i18n.js';
import { roundBounds } from './landscape.js';

const GRID = 91; // points per axis of the landscape
const LEVELS = 14;
const MARGIN = { left: 58, right: 14, top: 12, bottom: 40 };

/**
 * Line segments where the grid crosses `level`: [x0, y0, x1, y1, ...] in grid coordinates (column, row).
 * Saddle cells are resolved with the cell's centre value.
 */
export function marchingSquares(values, cols, rows, level) {
  const out = [];
  const v = (i, j) => values[j * cols + i];
  const cross = (a, b) => (level - a) / (b - a);
  for (let j = 0; j < rows - 1; j++) {
    for (let i = 0; i < cols - 1; i++) {
      const a = v(i, j); // bottom-left
      const b = v(i + 1, j); // bottom-right
      const c = v(i + 1, j + 1); // top-right
      const d = v(i, j + 1); // top-left
      if (!Number.isFinite(a) || !Number.isFinite(b) || !Number.isFinite(c) || !Number.isFinite(d)) continue;
      const code = (a > level ? 1 : 0) | (b > level ? 2 : 0) | (c > level ? 4 : 0) | (d > level ? 8 : 0);
      if (code === 0 || code === 15) continue;
      const bottom = [i + cross(a, b), j];
      const right = [i + 1, j + cross(b, c)];
      const top = [i + cross(d, c), j + 1];
      const left = [i, j + cross(a, d)];
      const seg = (p, q) => out.push(p[0], p[1], q[0], q[1]);
      switch (code) {
        case 1: case 14: seg(left, bottom); break;
        case 2: case 13: seg(bottom, right); break;
        case 3: case 12: seg(left, right); break;
        case 4: case 11: seg(top, right); break;
        case 6: case 9: seg(bottom, top); break;
        case 7: case 8: seg(left, top); break;
        case 5: case 10: {
          const centre = (a + b + c + d) / 4 > level;
          if ((code === 5) === centre) (seg(left, top), seg(bottom, right));
          else (seg(left, bottom), seg(top, right));
          break;
        }
        default: break;
      }
    }
  }
  return out;
}

/**
 * The contour levels of the grid's finite values (sorted ascending): quantiles (as many lines in a steep valley as
 * on a flat plain: Rosenbrock's values span 0 to thousands, a bowl's a few units), or with `log` log-spaced in the
 * height above the lowest value, from the smallest height the grid shows (at least a millionth of the span) to the
 * span, LEVELS lines at a constant ratio.
 * @param {number[]} finite
 * @param {boolean} log
 */
export function contourLevels(finite, log) {
  if (!finite.length) return [];
  const levels = new Set();
  if (log) {
    const low = finite[0];
    const span = finite[finite.length - 1] - low;
    if (!(span > 0)) return [low];
    const above = finite.find((v) => v > low);
    const first = Math.max(above === undefined ? span : above - low, span * 1e-6);
    for (let k = 0; k < LEVELS; k++) levels.add(low + first * (span / first) ** (k / (LEVELS - 1)));
    return [...levels];
  }
  for (let k = 1; k <= LEVELS; k++) {
    levels.add(finite[Math.min(finite.length - 1, Math.floor((finite.length * k ** 2) / (LEVELS + 1) ** 2))]);
  }
  return [...levels];
}

/**
 * @typedef {{level: number, color: string, lines: number[][]}} DrawnContour
 * @typedef {{color: string, dash: number[], points: number[][], markers: boolean, label: string}} DrawnPath
 * @typedef {{width: number, height: number, plotW: number, plotH: number, contours: DrawnContour[],
 *   minimum: number[] | null, paths: DrawnPath[], rings: number[][], labels: number[][],
 *   xTicks: [number, string, number][], yTicks: [number, string, number][]}} Scene
 */

const SVG_NS = 'http://www.w3.org/2000/svg';
const n = (v) => String(Math.round(v * 1000) / 1000);
const escape = (text) =>
  String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] || c);

export class ContourChart {
  constructor(figure, landscapes) {
    this.figure = figure;
    this.landscapes = landscapes;
    this.canvas = figure.querySelector('canvas');
    this.readout = figure.querySelector('.readout');
    this.note = figure.querySelector('.chart-note');
    this.runs = [];
    this.view = null;
    this.zoom = null; // {x0, x1, y0, y1} chosen by a drag, or null
    /** @type {(() => void) | null} called when the zoom changes (the URL keeps it) */
    this.onZoom = null;
    this.step = null;
    this.drag = null;
    this.logScale = false;
    /** @type {Scene | null} what the last draw drew, in CSS pixels, for `toSvg` */
    this.scene = null;
    new ResizeObserver(() => this.draw()).observe(this.canvas);
    this.canvas.addEventListener('pointermove', (event) => this.hover(event));
    this.canvas.addEventListener('pointerleave', () => this.hover(null));
    this.canvas.addEventListener('pointerdown', (event) => this.startDrag(event));
    this.canvas.addEventListener('pointerup', (event) => this.endDrag(event));
    this.canvas.addEventListener('dblclick', () => this.setZoom(null));
    const reset = figure.querySelector('[data-testid="contour-zoom-reset"]');
    if (reset) reset.addEventListener('click', () => this.setZoom(null));
    this.resetButton = reset;
  }

  get log() {
    return this.logScale;
  }

  set log(on) {
    this.logScale = !!on;
    this.figure.dataset.log = String(this.logScale);
    this.draw();
  }

  setZoom(box) {
    this.zoom = box;
    if (this.resetButton) this.resetButton.hidden = !box;
    this.draw();
    if (this.onZoom) this.onZoom();
  }

  toValue(clientX, clientY) {
    const v = this.view;
    const rect = this.canvas.getBoundingClientRect();
    const x = Math.min(Math.max(clientX - rect.left - MARGIN.left, 0), v.plotW);
    const y = Math.min(Math.max(clientY - rect.top - MARGIN.top, 0), v.plotH);
    return [v.x0 + (x / v.plotW) * (v.x1 - v.x0), v.y1 - (y / v.plotH) * (v.y1 - v.y0)];
  }

  startDrag(event) {
    if (!this.view || event.button !== 0 || event.pointerType === 'touch') return;
    this.drag = { x: event.clientX, y: event.clientY };
  }

  endDrag(event) {
    const drag = this.drag;
    this.drag = null;
    if (!drag || !this.view || Math.abs(event.clientX - drag.x) < 6 || Math.abs(event.clientY - drag.y) < 6) return;
    const [ax, ay] = this.toValue(drag.x, drag.y);
    const [bx, by] = this.toValue(event.clientX, event.clientY);
    this.setZoom({ x0: Math.min(ax, bx), x1: Math.max(ax, bx), y0: Math.min(ay, by), y1: Math.max(ay, by) });
  }

  update(allRuns) {
    const runs = allRuns.filter((run) => run.dims === 2 && run.points > 0);
    this.figure.dataset.series = String(runs.length);
    this.figure.hidden = !allRuns.some((run) => run.dims === 2);
    this.runs = runs;
    if (this.resetButton) this.resetButton.hidden = !this.zoom;
    if (!this.figure.hidden) this.draw();
  }

  draw() {
    if (this.figure.hidden || !this.runs.length) return;
    const canvas = this.canvas;
    const cssW = Math.max(200, canvas.clientWidth);
    const cssH = Math.max(160, canvas.clientHeight);
    const px = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(cssW * px) || canvas.height !== Math.round(cssH * px)) {
      canvas.width = Math.round(cssW * px);
      canvas.height = Math.round(cssH * px);
    }
    const ctx = canvas.getContext('2d');
    ctx.setTransform(px, 0, 0, px, 0, 0);
    ctx.clearRect(0, 0, cssW, cssH);

    const main = this.runs[0];
    const lossSpec = main.spec && main.spec.loss;
    const minimum = this.runs.map(knownMinimum).find(Boolean) || null;
    const others = this.runs.filter((run) => JSON.stringify(run.spec.loss) !== JSON.stringify(lossSpec));

    // Extent: every iterate and the minimum, padded; equal scales on both axes when the shapes allow it.
    let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
    const include = (x, y) => {
      if (x === null || y === null || !Number.isFinite(x) || !Number.isFinite(y)) return;
      x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
    };
    for (const run of this.runs) {
      const stride = Math.max(1, Math.floor(run.points / 4000));
      for (let i = 0; i < run.points; i += stride) include(run.w[0][i], run.w[1][i]);
      include(run.w[0][run.points - 1], run.w[1][run.points - 1]);
    }
    if (minimum) include(minimum.w[0], minimum.w[1]);
    if (!Number.isFinite(x0)) return;
    const plotW = cssW - MARGIN.left - MARGIN.right;
    const plotH = cssH - MARGIN.top - MARGIN.bottom;
    let view;
    if (this.zoom) view = { ...this.zoom };
    else {
      let spanX = x1 - x0 || Math.max(1, Math.abs(x0) * 0.5);
      let spanY = y1 - y0 || Math.max(1, Math.abs(y0) * 0.5);
      const aspect = plotW / plotH;
      if (spanX / spanY < aspect && (spanY * aspect) / spanX < 8) spanX = spanY * aspect;
      else if (spanX / spanY >= aspect && spanX / aspect / spanY < 8) spanY = spanX / aspect;
      const cx = (x0 + x1) / 2;
      const cy = (y0 + y1) / 2;
      const [vx0, vx1] = roundBounds(cx - spanX * 0.6, cx + spanX * 0.6);
      const [vy0, vy1] = roundBounds(cy - spanY * 0.6, cy + spanY * 0.6);
      view = { x0: vx0, x1: vx1, y0: vy0, y1: vy1 };
    }
    const bounds = [[view.x0, view.x1], [view.y0, view.y1]];
    const land = this.landscapes.get(lossSpec, bounds, GRID);
    const failure = land ? null : this.landscapes.failure(lossSpec, bounds, GRID);
    this.view = { ...view, plotW, plotH, land };
    this.figure.dataset.view = JSON.stringify(bounds);
    const notes = [];
    if (failure) notes.push(t('contour.failed', { reason: failure }));
    if (others.length) notes.push(t('contour.otherLoss', { main: main.label, runs: others.map((r) => r.label).join(', ') }));
    this.note.textContent = notes.join(' ');
    this.note.hidden = !this.note.textContent;
    const toX = (x) => MARGIN.left + ((x - view.x0) / (view.x1 - view.x0)) * plotW;
    const toY = (y) => MARGIN.top + plotH - ((y - view.y0) / (view.y1 - view.y0)) * plotH;
    /** @type {Scene} */
    const scene = { width: cssW, height: cssH, plotW, plotH, contours: [], minimum: null, paths: [], rings: [], labels: [], xTicks: [], yTicks: [] };
    this.scene = scene;

    // Plot frame
    ctx.fillStyle = '#fbfcfd';
    ctx.fillRect(MARGIN.left, MARGIN.top, plotW, plotH);
    ctx.save();
    ctx.beginPath();
    ctx.rect(MARGIN.left, MARGIN.top, plotW, plotH);
    ctx.clip();

    let drawn = 0;
    if (land) {
      const cols = land.x.length;
      const rows = land.y.length;
      const values = new Float64Array(cols * rows);
      const finite = [];
      for (let j = 0; j < rows; j++) {
        for (let i = 0; i < cols; i++) {
          const value = land.loss[j][i];
          values[j * cols + i] = value === null ? NaN : value;
          if (value !== null && Number.isFinite(value)) finite.push(value);
        }
      }
      finite.sort((a, b) => a - b);
      const gx = (i) => toX(land.x[0] + ((land.x[cols - 1] - land.x[0]) * i) / (cols - 1));
      const gy = (j) => toY(land.y[0] + ((land.y[rows - 1] - land.y[0]) * j) / (rows - 1));
      const levels = contourLevels(finite, this.logScale);
      this.figure.dataset.levelValues = JSON.stringify(levels);
      let k = 0;
      for (const level of levels) {
        const segments = marchingSquares(values, cols, rows, level);
        if (segments.length) drawn++;
        const color = k++ % 2 ? '#9aa6b2' : '#c3ccd5';
        ctx.strokeStyle = color;
        ctx.lineWidth = 1;
        ctx.beginPath();
        const pixels = [];
        for (let s = 0; s < segments.length; s += 4) {
          const line = [gx(segments[s]), gy(segments[s + 1]), gx(segments[s + 2]), gy(segments[s + 3])];
          ctx.moveTo(line[0], line[1]);
          ctx.lineTo(line[2], line[3]);
          pixels.push(line);
        }
        ctx.stroke();
        if (pixels.length) scene.contours.push({ level, color, lines: pixels });
      }
    }
    this.figure.dataset.levels = String(drawn);
    if (minimum) {
      const mx = toX(minimum.w[0]);
      const my = toY(minimum.w[1]);
      scene.minimum = [mx, my];
      ctx.strokeStyle = '#3b434d';
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      ctx.moveTo(mx - 5, my - 5); ctx.lineTo(mx + 5, my + 5);
      ctx.moveTo(mx - 5, my + 5); ctx.lineTo(mx + 5, my - 5);
      ctx.stroke();
    }

    const labelled = [];
    for (const run of this.runs) {
      const n = run.points;
      const stride = Math.max(1, Math.floor(n / 3000));
      const pts = [];
      const [w0, w1] = run.w;
      for (let i = 0; i < n; i += stride) if (w0[i] === w0[i] && w1[i] === w1[i]) pts.push([toX(w0[i]), toY(w1[i])]);
      if (n > 1 && (n - 1) % stride && w0[n - 1] === w0[n - 1] && w1[n - 1] === w1[n - 1]) pts.push([toX(w0[n - 1]), toY(w1[n - 1])]);
      if (!pts.length) continue;
      const [fx, fy] = pts[0];
      const drawnPath = { color: run.color, dash: run.dash || [], points: pts, markers: pts.length <= 250, label: run.label };
      scene.paths.push(drawnPath);
      ctx.lineWidth = 1.5;
      ctx.strokeStyle = withAlpha(run.color, 0.6);
      ctx.beginPath();
      ctx.arc(fx, fy, 8, 0, 2 * Math.PI);
      ctx.stroke();
      ctx.strokeStyle = withAlpha(run.color, 0.9);
      ctx.lineWidth = 1.75;
      ctx.setLineDash(run.dash);
      ctx.beginPath();
      pts.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
      ctx.stroke();
      ctx.setLineDash([]);
      if (pts.length <= 250) {
        ctx.fillStyle = '#ffffff';
        ctx.strokeStyle = run.color;
        ctx.lineWidth = 1.5;
        for (const [x, y] of pts) {
          ctx.beginPath();
          ctx.arc(x, y, 3, 0, 2 * Math.PI);
          ctx.fill();
          ctx.stroke();
        }
      }
      const [lx, ly] = pts[pts.length - 1];
      ctx.fillStyle = run.color;
      ctx.beginPath();
      ctx.arc(lx, ly, 4.5, 0, 2 * Math.PI);
      ctx.fill();
      if (this.step !== null) {
        const i = run.indexOfStep(this.step);
        if (i >= 0 && run.w[0][i] === run.w[0][i] && run.w[1][i] === run.w[1][i]) {
          ctx.strokeStyle = '#1f2328';
          ctx.lineWidth = 2.5;
          ctx.beginPath();
          ctx.arc(toX(run.w[0][i]), toY(run.w[1][i]), 7, 0, 2 * Math.PI);
          ctx.stroke();
          scene.rings.push([toX(run.w[0][i]), toY(run.w[1][i])]);
        }
      }
      if (labelled.some(([x, y]) => Math.abs(x - fx) < 12 && Math.abs(y - fy) < 12)) continue;
      labelled.push([fx, fy]);
      scene.labels.push([fx + 10, fy - 6]);
      ctx.font = '600 12px system-ui, sans-serif';
      ctx.fillStyle = '#1f2328';
      ctx.textBaseline = 'bottom';
      ctx.fillText('w₀', fx + 10, fy - 6);
    }
    ctx.restore();

    // Axes
    ctx.strokeStyle = '#cfd5dc';
    ctx.lineWidth = 1;
    ctx.strokeRect(MARGIN.left + 0.5, MARGIN.top + 0.5, plotW - 1, plotH - 1);
    ctx.fillStyle = '#3b434d';
    ctx.font = '12px system-ui, sans-serif';
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    for (const tick of niceTicks(view.x0, view.x1, Math.max(2, Math.floor(plotW / 80)))) {
      const x = toX(tick);
      ctx.fillRect(Math.round(x), MARGIN.top + plotH, 1, 4);
      ctx.fillText(compact(tick, 4), x, MARGIN.top + plotH + 6);
      scene.xTicks.push([x, compact(tick, 4), tick]);
    }
    ctx.fillText('w[0]', MARGIN.left + plotW / 2, MARGIN.top + plotH + 22);
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (const tick of niceTicks(view.y0, view.y1, Math.max(2, Math.floor(plotH / 50)))) {
      const y = toY(tick);
      ctx.fillRect(MARGIN.left - 4, Math.round(y), 4, 1);
      ctx.fillText(compact(tick, 4), MARGIN.left - 7, y);
      scene.yTicks.push([y, compact(tick, 4), tick]);
    }
    ctx.save();
    ctx.translate(14, MARGIN.top + plotH / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = 'center';
    ctx.fillText('w[1]', 0, 0);
    ctx.restore();
  }

  /**
   * The chart as an SVG document (text), rebuilt from what the last draw drew: the plot area, the contour lines
   * (each a path, with its loss level), the minimum, each run's path of w with its iterates, w₀'s ring and the
   * current step, the axes with their ticks and labels. Null when nothing is drawn.
   * @param {string} title
   */
  toSvg(title) {
    const s = this.scene;
    if (!s || this.figure.hidden) return null;
    const box = { left: MARGIN.left, top: MARGIN.top, width: s.plotW, height: s.plotH };
    const out = [];
    out.push(`<svg xmlns="${SVG_NS}" width="${n(s.width)}" height="${n(s.height)}" viewBox="0 0 ${n(s.width)} ${n(s.height)}" font-family="system-ui, sans-serif">`);
    out.push(`<title>${escape(title)}</title>`);
    out.push(`<rect width="${n(s.width)}" height="${n(s.height)}" fill="#ffffff"/>`);
    out.push(`<rect x="${box.left}" y="${box.top}" width="${n(box.width)}" height="${n(box.height)}" fill="#fbfcfd"/>`);
    out.push(`<defs><clipPath id="contour-area"><rect x="${box.left}" y="${box.top}" width="${n(box.width)}" height="${n(box.height)}"/></clipPath></defs>`);
    out.push('<g clip-path="url(#contour-area)">');
    for (const contour of s.contours) {
      const d = contour.lines.map(([x0, y0, x1, y1]) => `M${n(x0)} ${n(y0)}L${n(x1)} ${n(y1)}`).join('');
      out.push(`<path data-level="${contour.level}" d="${d}" fill="none" stroke="${contour.color}" stroke-width="1"/>`);
    }
    if (s.minimum) {
      const [mx, my] = s.minimum;
      out.push(`<path data-mark="minimum" d="M${n(mx - 5)} ${n(my - 5)}L${n(mx + 5)} ${n(my + 5)}M${n(mx - 5)} ${n(my + 5)}L${n(mx + 5)} ${n(my - 5)}" stroke="#3b434d" stroke-width="1.5"/>`);
    }
    for (const path of s.paths) {
      const [fx, fy] = path.points[0];
      const color = escape(path.color);
      out.push(`<circle data-mark="w0" cx="${n(fx)}" cy="${n(fy)}" r="8" fill="none" stroke="${color}" stroke-opacity="0.6" stroke-width="1.5"/>`);
      const dash = path.dash.length ? ` stroke-dasharray="${path.dash.join(' ')}"` : '';
      const d = path.points.map(([x, y], i) => `${i ? 'L' : 'M'}${n(x)} ${n(y)}`).join('');
      out.push(`<path data-run="${escape(path.label || '')}" d="${d}" fill="none" stroke="${color}" stroke-opacity="0.9" stroke-width="1.75"${dash} stroke-linejoin="round"/>`);
      if (path.markers) {
        for (const [x, y] of path.points) out.push(`<circle cx="${n(x)}" cy="${n(y)}" r="3" fill="#ffffff" stroke="${color}" stroke-width="1.5"/>`);
      }
      const [lx, ly] = path.points[path.points.length - 1];
      out.push(`<circle cx="${n(lx)}" cy="${n(ly)}" r="4.5" fill="${color}"/>`);
    }
    for (const [x, y] of s.rings) out.push(`<circle data-mark="step" cx="${n(x)}" cy="${n(y)}" r="7" fill="none" stroke="#1f2328" stroke-width="2.5"/>`);
    for (const [x, y] of s.labels) out.push(`<text x="${n(x)}" y="${n(y)}" font-size="12" font-weight="600" fill="#1f2328">w₀</text>`);
    out.push('</g>');
    out.push(`<rect x="${box.left + 0.5}" y="${box.top + 0.5}" width="${n(box.width - 1)}" height="${n(box.height - 1)}" fill="none" stroke="#cfd5dc"/>`);
    const bottom = box.top + box.height;
    const group = ['<g data-axis="x">'];
    for (const [x, label, value] of s.xTicks) {
      group.push(`<line x1="${n(x)}" y1="${n(bottom)}" x2="${n(x)}" y2="${n(bottom + 4)}" stroke="#3b434d"/>`);
      group.push(`<text x="${n(x)}" y="${n(bottom + 18)}" font-size="12" fill="#3b434d" text-anchor="middle" data-value="${value}">${escape(label)}</text>`);
    }
    group.push(`<text x="${n(box.left + box.width / 2)}" y="${n(bottom + 34)}" font-size="12" fill="#3b434d" text-anchor="middle">w[0]</text>`, '</g>', '<g data-axis="y">');
    for (const [y, label, value] of s.yTicks) {
      group.push(`<line x1="${box.left - 4}" y1="${n(y)}" x2="${box.left}" y2="${n(y)}" stroke="#3b434d"/>`);
      group.push(`<text x="${box.left - 7}" y="${n(y + 4)}" font-size="12" fill="#3b434d" text-anchor="end" data-value="${value}">${escape(label)}</text>`);
    }
    group.push(`<text transform="translate(14 ${n(box.top + box.height / 2)}) rotate(-90)" font-size="12" fill="#3b434d" text-anchor="middle">w[1]</text>`, '</g>');
    out.push(group.join(''));
    out.push('</svg>');
    return out.join('\n');
  }

  hover(event) {
    const v = this.view;
    if (!event || !v) {
      this.readout.textContent = t('contour.hint');
      return;
    }
    const rect = this.canvas.getBoundingClientRect();
    const x = event.clientX - rect.left - MARGIN.left;
    const y = event.clientY - rect.top - MARGIN.top;
    if (x < 0 || y < 0 || x > v.plotW || y > v.plotH) return this.hover(null);
    const w0 = v.x0 + (x / v.plotW) * (v.x1 - v.x0);
    const w1 = v.y1 - (y / v.plotH) * (v.y1 - v.y0);
    let value = '';
    if (v.land) {
      // the nearest grid point's loss, as the server computed it
      const i = Math.round(((w0 - v.land.x[0]) / (v.land.x[v.land.x.length - 1] - v.land.x[0])) * (v.land.x.length - 1));
      const j = Math.round(((w1 - v.land.y[0]) / (v.land.y[v.land.y.length - 1] - v.land.y[0])) * (v.land.y.length - 1));
      const loss = v.land.loss[j] && v.land.loss[j][i];
      if (typeof loss === 'number') value = ` · loss ≈ ${compact(loss, 5)}`;
    }
    this.readout.textContent = `w = (${compact(w0, 4)}, ${compact(w1, 4)})${value}`;
  }
}

/** The minimum the engine's analysis knows for the run's loss (2-D), or null. */
function knownMinimum(run) {
  const m = run.summary && run.summary.analysis && run.summary.analysis.minimum;
  return m && Array.isArray(m.w) && m.w.length === 2 ? m : null;
}
