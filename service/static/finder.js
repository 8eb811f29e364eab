// The LR finder view: `POST /v1/lr-finder` grows the rate from start_lr to end_lr over the form's loss, start and
// optimizer; the view draws the loss and its smoothed value against the rate (log), marks the three suggested
// rates with their rules (torch-lr-finder's steepest, fastai's valley and minimum), and runs one with a click.

import uPlot from './vendor/uplot/uPlot.esm.js';
import { api } from './api.js';
import { AXIS, linearAxis, logAxis } from './charts.js';
import { el } from './dom.js';
import { axisValues, compact } from './format.js';
import { language, t, tOr } from './i18n.js';
import { finderNote, problemText } from './problems.js';

const SUGGESTION_COLORS = { steepest: '#0072B2', valley: '#009E73', minimum: '#D55E00' };

export class FinderView {
  /**
   * @param {HTMLElement} panel
   * @param {{runAt: (lr: number, name: string) => void, changed: () => void}} hooks  runAt runs the form's spec at a
   *   constant rate; changed tells the page (the URL keeps the open view)
   */
  constructor(panel, hooks) {
    this.panel = panel;
    this.hooks = hooks;
    this.u = null;
    const title = el('h2', { id: 'finder-title', text: t('finder.title') });
    const close = el('button', { type: 'button', class: 'small-button', dataTestid: 'finder-close', text: t('view.close') });
    close.addEventListener('click', () => {
      panel.hidden = true;
      if (this.u) this.u.destroy();
      this.u = null;
      hooks.changed();
    });
    this.status = el('p', { class: 'sweep-status', role: 'status', dataTestid: 'finder-status' });
    this.plot = el('div', { class: 'plot finder-plot', dataTestid: 'finder-chart' });
    this.list = el('ul', { class: 'suggestions', dataTestid: 'finder-suggestions' });
    this.readout = el('p', { class: 'readout', text: t('finder.hint') });
    panel.replaceChildren(el('div', { class: 'panel-head' }, title, close), this.status, this.plot, this.readout, this.list);
    new ResizeObserver(() => this.u && this.u.setSize(this.size())).observe(this.plot);
  }

  size() {
    return { width: Math.max(240, Math.floor(this.plot.clientWidth)), height: Math.max(200, Math.floor(this.plot.clientHeight)) };
  }

  /** Runs the range test for the form's spec (its loss, w0, optimizer and dtype; the rate comes from the test). */
  async run(spec) {
    this.panel.hidden = false;
    this.panel.dataset.state = 'running';
    this.status.textContent = t('finder.running');
    this.list.replaceChildren();
    this.panel.scrollIntoView({ block: 'nearest' });
    const request = { loss: spec.loss, w0: spec.w0, optimizer: spec.optimizer || { kind: 'sgd' }, dtype: spec.dtype || 'float32', num_iter: 200 };
    const started = performance.now();
    try {
      const result = await api.lrFinder(request);
      this.render(result);
      this.panel.dataset.state = 'done';
      this.panel.dataset.ms = String(Math.round(performance.now() - started));
      if (window.matchMedia('(max-width: 899px)').matches) this.status.scrollIntoView({ block: 'start' });
      this.hooks.changed();
    } catch (err) {
      this.panel.dataset.state = 'failed';
      const reason = err.errors && err.errors.length && language() !== 'en' ? err.errors.map((e) => problemText(e.loc, e.msg, e.type)).join(' ') : err.message;
      this.status.textContent = t('finder.failed', { reason });
    }
  }

  render(result) {
    const n = result.lr.length;
    this.status.textContent = t(result.stopped_early ? 'finder.stopped' : 'finder.done', { n, last: compact(result.lr[n - 1]) });
    const suggestions = result.suggestions.filter((s) => s.lr !== null && s.lr !== undefined);
    this.panel.dataset.suggestions = suggestions.map((s) => `${s.name}:${s.lr}`).join(' ');
    /** @type {any} uPlot's options (its types want a LogBase literal for `log`) */
    const options = {
      ...this.size(),
      legend: { show: false },
      cursor: { drag: { x: true, y: false, setScale: true }, points: { size: 6 } },
      scales: { x: { time: false, distr: 3, log: 10 } },
      axes: [
        { ...AXIS, label: t('finder.rate'), labelSize: 18, size: 32, ...logAxis(true) },
        { ...AXIS, label: t('finder.loss'), labelSize: 18, size: 62, values: axisValues, ...linearAxis(false) },
      ],
      series: [
        { label: 'lr' },
        { label: t('finder.loss'), stroke: '#8c959f', width: 1 },
        { label: t('finder.smoothed'), stroke: '#1f2328', width: 2 },
      ],
      hooks: {
        draw: [(u) => this.drawSuggestions(u, suggestions)],
        setCursor: [
          (u) => {
            const i = u.cursor.idx;
            this.readout.textContent = i === null || i === undefined ? t('finder.hint') : t('finder.point', { lr: compact(result.lr[i]), loss: compact(result.loss[i]), smoothed: compact(result.smoothed_loss[i]) });
          },
        ],
      },
    };
    if (this.u) this.u.destroy();
    this.u = new uPlot(options, [result.lr, result.loss, result.smoothed_loss], this.plot);
    this.list.replaceChildren(
      ...result.suggestions.map((s) => {
        const chip = el('span', { class: 'legend-chip', ariaHidden: 'true' });
        chip.style.backgroundColor = SUGGESTION_COLORS[s.name] || '#8c959f';
        const head = el('p', { class: 'suggestion-head' }, chip, el('strong', { text: `${s.name}` }), ` (${s.library}): `, s.lr === null ? t('finder.none') : compact(s.lr));
        const item = el('li', { dataTestid: 'finder-suggestion', dataName: s.name }, head, el('p', { class: 'suggestion-rule', text: tOr(`finder.rule.${s.name}`, s.rule) }));
        if (s.note) item.append(el('p', { class: 'suggestion-note', text: finderNote(s.note) }));
        if (s.lr !== null) {
          const button = el('button', { type: 'button', class: 'small-button', dataTestid: 'finder-run', text: t('finder.runAt', { lr: compact(s.lr) }) });
          button.addEventListener('click', () => this.hooks.runAt(s.lr, s.name));
          head.append(' ', button);
        }
        return item;
      }),
    );
  }

  drawSuggestions(u, suggestions) {
    const { ctx } = u;
    const { top, height } = u.bbox;
    const px = uPlot.pxRatio;
    ctx.save();
    suggestions.forEach((s, k) => {
      const x = u.valToPos(s.lr, 'x', true);
      ctx.strokeStyle = SUGGESTION_COLORS[s.name] || '#8c959f';
      ctx.lineWidth = 2 * px;
      ctx.setLineDash([5 * px, 3 * px]);
      ctx.beginPath();
      ctx.moveTo(x, top);
      ctx.lineTo(x, top + height);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.font = `600 ${12 * px}px system-ui, sans-serif`;
      ctx.fillStyle = '#1f2328';
      ctx.textBaseline = 'top';
      ctx.fillText(s.name, x + 4 * px, top + (4 + 15 * k) * px);
    });
    ctx.restore();
  }
}
