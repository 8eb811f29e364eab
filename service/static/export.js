// A chart as a file: PNG (the canvas uPlot drew, axes and labels included) and SVG, a real vector drawing rebuilt
// from the chart's data and scales (uPlot draws on a canvas, so there is nothing to copy): the plot area, the grid,
// the axes with their ticks and labels, each series as a path through its points at the plotted positions, and the
// chart's own marks (the path of w on the curve, the diverged-at lines) as the chart lists them.

/**
 * @typedef {{kind: 'path', points: [number, number][], color: string, width?: number, dash?: number[], opacity?: number}
 *   | {kind: 'circle', x: number, y: number, r: number, fill?: string, stroke?: string, width?: number}
 *   | {kind: 'vline', x: number, color: string, dash?: number[]}
 *   | {kind: 'text', x: number, y: number, text: string, color?: string, anchor?: string}} Mark
 */

import uPlot from './vendor/uplot/uPlot.esm.js';

const SVG_NS = 'http://www.w3.org/2000/svg';
const FONT = 'system-ui, sans-serif';

/** Decimal places enough for a pixel position (a tenth of a hundredth of a pixel): small files, exact enough. */
const n = (v) => String(Math.round(v * 1000) / 1000);

const escape = (text) =>
  String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] || c);

/** The polyline segments of one series: broken at null (a gap), joined over undefined (no row at that x). */
export function seriesSegments(u, s) {
  const xs = u.data[0];
  const ys = u.data[s];
  const left = u.bbox.left / devicePixelRatioOf(u);
  const top = u.bbox.top / devicePixelRatioOf(u);
  /** @type {[number, number][][]} */
  const segments = [];
  /** @type {[number, number][]} */
  let current = [];
  for (let i = 0; i < xs.length; i++) {
    const y = ys[i];
    if (y === undefined) continue;
    if (y === null || !Number.isFinite(y)) {
      if (current.length) segments.push(current);
      current = [];
      continue;
    }
    current.push([left + u.valToPos(xs[i], 'x'), top + u.valToPos(y, 'y')]);
  }
  if (current.length) segments.push(current);
  return segments;
}

/** uPlot's pixel ratio (its bbox is in canvas pixels; valToPos without `canvasPixels` in CSS pixels). */
function devicePixelRatioOf(_u) {
  return uPlot.pxRatio || 1;
}

const pathData = (points) => points.map(([x, y], i) => `${i ? 'L' : 'M'}${n(x)} ${n(y)}`).join('');

function markSvg(mark, box) {
  if (mark.kind === 'path') {
    if (!mark.points.length) return '';
    const dash = mark.dash && mark.dash.length ? ` stroke-dasharray="${mark.dash.join(' ')}"` : '';
    const opacity = mark.opacity !== undefined ? ` stroke-opacity="${mark.opacity}"` : '';
    return `<path d="${pathData(mark.points)}" fill="none" stroke="${escape(mark.color)}" stroke-width="${mark.width || 1.5}"${dash}${opacity} stroke-linejoin="round"/>`;
  }
  if (mark.kind === 'circle') {
    return `<circle cx="${n(mark.x)}" cy="${n(mark.y)}" r="${mark.r}" fill="${escape(mark.fill || 'none')}" stroke="${escape(mark.stroke || 'none')}" stroke-width="${mark.width || 1.5}"/>`;
  }
  if (mark.kind === 'vline') {
    const dash = mark.dash && mark.dash.length ? ` stroke-dasharray="${mark.dash.join(' ')}"` : '';
    return `<line x1="${n(mark.x)}" y1="${n(box.top)}" x2="${n(mark.x)}" y2="${n(box.top + box.height)}" stroke="${escape(mark.color)}" stroke-width="1.5"${dash}/>`;
  }
  return `<text x="${n(mark.x)}" y="${n(mark.y)}" fill="${escape(mark.color || '#1f2328')}" font-size="12" font-family="${FONT}" text-anchor="${mark.anchor || 'start'}">${escape(mark.text)}</text>`;
}

/**
 * The chart as an SVG document (text): the same size, axes, ticks, labels and series as the canvas shows.
 * @param {any} u  the uPlot
 * @param {{title: string, marks?: Mark[]}} options  marks in CSS pixels of the chart (`u.valToPos` plus the plot's offset)
 */
export function chartSvg(u, { title, marks = [] }) {
  const ratio = devicePixelRatioOf(u);
  const box = { left: u.bbox.left / ratio, top: u.bbox.top / ratio, width: u.bbox.width / ratio, height: u.bbox.height / ratio };
  const out = [];
  out.push(`<svg xmlns="${SVG_NS}" width="${u.width}" height="${u.height}" viewBox="0 0 ${u.width} ${u.height}" font-family="${FONT}">`);
  out.push(`<title>${escape(title)}</title>`);
  out.push(`<rect width="${u.width}" height="${u.height}" fill="#ffffff"/>`);

  // Axes: grid lines and ticks at uPlot's own splits, its own labels, and the axis title.
  u.axes.forEach((axis, i) => {
    if (!axis.show || !axis._splits) return;
    const horizontal = axis.side === 0 || axis.side === 2;
    const scale = axis.scale;
    const values = axis._values || [];
    const group = [`<g data-axis="${horizontal ? 'x' : 'y'}" data-index="${i}">`];
    axis._splits.forEach((value, k) => {
      if (value === null || value === undefined) return;
      const pos = u.valToPos(value, scale);
      if (!Number.isFinite(pos)) return;
      const label = values[k] === null || values[k] === undefined ? '' : String(values[k]);
      if (horizontal) {
        const x = box.left + pos;
        if (x < box.left - 0.5 || x > box.left + box.width + 0.5) return;
        group.push(`<line x1="${n(x)}" y1="${n(box.top)}" x2="${n(x)}" y2="${n(box.top + box.height)}" stroke="#e7eaee"/>`);
        group.push(`<line x1="${n(x)}" y1="${n(box.top + box.height)}" x2="${n(x)}" y2="${n(box.top + box.height + 4)}" stroke="#cfd5dc"/>`);
        if (label) group.push(`<text x="${n(x)}" y="${n(box.top + box.height + 16)}" font-size="12" fill="#3b434d" text-anchor="middle" data-value="${value}">${escape(label)}</text>`);
      } else {
        const y = box.top + pos;
        if (y < box.top - 0.5 || y > box.top + box.height + 0.5) return;
        group.push(`<line x1="${n(box.left)}" y1="${n(y)}" x2="${n(box.left + box.width)}" y2="${n(y)}" stroke="#e7eaee"/>`);
        group.push(`<line x1="${n(box.left - 4)}" y1="${n(y)}" x2="${n(box.left)}" y2="${n(y)}" stroke="#cfd5dc"/>`);
        if (label) group.push(`<text x="${n(box.left - 7)}" y="${n(y + 4)}" font-size="12" fill="#3b434d" text-anchor="end" data-value="${value}">${escape(label)}</text>`);
      }
    });
    if (axis.label) {
      const text = escape(axis.label);
      if (horizontal) group.push(`<text x="${n(box.left + box.width / 2)}" y="${n(u.height - 4)}" font-size="12" font-weight="600" fill="#3b434d" text-anchor="middle">${text}</text>`);
      else group.push(`<text transform="translate(13 ${n(box.top + box.height / 2)}) rotate(-90)" font-size="12" font-weight="600" fill="#3b434d" text-anchor="middle">${text}</text>`);
    }
    group.push('</g>');
    out.push(group.join(''));
  });
  out.push(`<rect x="${n(box.left)}" y="${n(box.top)}" width="${n(box.width)}" height="${n(box.height)}" fill="none" stroke="#cfd5dc"/>`);

  // The series and the chart's marks, clipped to the plot area as on the canvas.
  out.push(`<defs><clipPath id="plot-area"><rect x="${n(box.left)}" y="${n(box.top)}" width="${n(box.width)}" height="${n(box.height)}"/></clipPath></defs>`);
  out.push('<g clip-path="url(#plot-area)">');
  for (let s = 1; s < u.series.length; s++) {
    const series = u.series[s];
    if (series.show === false) continue;
    const stroke = typeof series.stroke === 'function' ? series.stroke(u, s) : series.stroke;
    const dash = Array.isArray(series.dash) && series.dash.length ? ` stroke-dasharray="${series.dash.join(' ')}"` : '';
    const d = seriesSegments(u, s).map(pathData).join('');
    if (!d) continue;
    out.push(`<path data-series="${s}" data-label="${escape(series.label || '')}" d="${d}" fill="none" stroke="${escape(stroke || '#000')}" stroke-width="${series.width || 1.5}"${dash} stroke-linejoin="round"/>`);
  }
  for (const mark of marks) out.push(markSvg(mark, box));
  out.push('</g>');
  out.push('</svg>');
  return out.join('\n');
}

/** Offers `data` as a download named `name`. */
export function download(name, data, type) {
  const url = data.startsWith('data:') ? data : URL.createObjectURL(new Blob([data], { type }));
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  if (!data.startsWith('data:')) setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
