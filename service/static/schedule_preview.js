// The schedule field's preview: as the schedule is typed, POST /v1/schedules/preview draws its rate over the run's
// steps, with its counterparts in the other libraries (same parameters) and where they differ most.
import { el } from './dom.js';
import { t } from './i18n.js';
import { problemText } from './problems.js';

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 320;
const HEIGHT = 120;
const POINTS = 300;
const PAD = 6; // the rate's top and bottom stay inside the frame (a constant rate is a line along the top)
const DELAY_MS = 250;
const OTHER_COLORS = ['#a14400', '#5b52a3', '#a8175f']; // 4.5:1 or more on white (WCAG AA)

function svg(tag, attributes = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  return node;
}

function polyline(steps, rates, low, high, color, width) {
  const last = steps[steps.length - 1] || 1;
  const span = high - low || 1;
  const points = [];
  steps.forEach((step, i) => {
    const rate = rates[i];
    if (rate === null || !Number.isFinite(rate)) return;
    const y = HEIGHT - PAD - ((rate - low) / span) * (HEIGHT - 2 * PAD);
    points.push(`${((step / last) * WIDTH).toFixed(1)},${y.toFixed(1)}`);
  });
  return svg('polyline', { points: points.join(' '), fill: 'none', stroke: color, 'stroke-width': width });
}

function describe(entry) {
  return (entry.equivalents || []).map((other, i) => {
    if (!other.schedule) return el('li', { class: 'muted', text: `${other.library}: ${other.reason}` });
    const differs = other.max_abs_diff === 0
      ? t('preview.identical')
      : t('preview.differs', { abs: Number(other.max_abs_diff).toPrecision(3), rel: (100 * (other.max_rel_diff || 0)).toPrecision(3), step: other.at_step });
    // a kind every library shares (`constant`) is named with its library: four "constant" lines would read alike
    const kind = other.schedule.kind;
    const name = kind.startsWith(`${other.library}.`) ? kind : `${other.library} ${kind}`;
    const item = el('li', { text: `${name}: ${differs}` });
    item.style.color = OTHER_COLORS[i % OTHER_COLORS.length];
    return item;
  });
}

/** Adds the preview under `fieldset`; `readSpec()` gives the form's spec (schedule, steps, dtype) as typed. */
export function attachSchedulePreview(fieldset, readSpec) {
  const plot = svg('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, width: '100%', height: HEIGHT, role: 'img', 'aria-label': t('preview.aria') });
  const range = el('p', { class: 'muted small', dataTestid: 'schedule-preview-range' });
  const list = el('ul', { class: 'small schedule-equivalents', dataTestid: 'schedule-equivalents' });
  const root = el('figure', { class: 'schedule-preview', dataTestid: 'schedule-preview' }, range, list);
  root.prepend(plot);
  fieldset.append(root);
  let timer = null;
  let asked = 0;

  async function draw() {
    const spec = readSpec();
    const steps = Math.min(Math.max(Number(spec.steps) || 1, 1), 100000);
    if (spec.schedule === undefined) return;
    const ticket = ++asked;
    let body;
    try {
      const response = await fetch('/v1/schedules/preview', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ schedules: [spec.schedule], steps, dtype: spec.dtype || 'float32', equivalents: true, max_points: POINTS }),
      });
      body = await response.json();
      if (ticket !== asked) return; // a newer edit is on its way
      if (!response.ok) {
        const first = Array.isArray(body.errors) && body.errors[0];
        range.textContent = t('preview.refused', { reason: first && first.msg ? problemText((first.loc || []).filter((p) => p !== 'body'), first.msg, first.type) : body.detail || response.status });
        plot.replaceChildren();
        list.replaceChildren();
        root.dataset.state = 'error';
        return;
      }
    } catch (err) {
      if (ticket === asked) range.textContent = t('preview.failed', { reason: err.message });
      return;
    }
    const [entry] = body.schedules;
    const series = [entry.lr, ...(entry.equivalents || []).filter((o) => o.lr).map((o) => o.lr)];
    const finite = series.flat().filter((x) => x !== null && Number.isFinite(x));
    const low = Math.min(0, ...finite);
    const high = Math.max(...finite, 0);
    // the plot's frame, and its baseline at rate 0: without them a constant rate is a lone line over blank space
    const zero = HEIGHT - PAD - ((0 - low) / (high - low || 1)) * (HEIGHT - 2 * PAD);
    plot.replaceChildren(
      svg('rect', { x: 0.5, y: 0.5, width: WIDTH - 1, height: HEIGHT - 1, fill: '#f6f8fa', stroke: '#d0d7de' }),
      svg('line', { x1: 0, x2: WIDTH, y1: zero, y2: zero, stroke: '#8c959f', 'stroke-dasharray': '3 3' }),
    );
    (entry.equivalents || []).filter((o) => o.lr).forEach((other, i) => {
      plot.append(polyline(body.step, other.lr, low, high, OTHER_COLORS[i % OTHER_COLORS.length], 1));
    });
    plot.append(polyline(body.step, entry.lr, low, high, 'currentColor', 2));
    range.textContent = t('preview.range', { kind: entry.schedule.kind, first: entry.lr[0], last: entry.lr[entry.lr.length - 1], steps, max: high });
    list.replaceChildren(...describe(entry));
    root.dataset.state = 'drawn';
  }

  const later = () => {
    clearTimeout(timer);
    timer = setTimeout(draw, DELAY_MS);
  };
  const form = fieldset.closest('form') || fieldset;
  form.addEventListener('input', later);
  form.addEventListener('change', later);
  later();
  return { draw };
}
