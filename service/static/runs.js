// The runs on the charts: their rows (received over EventSource or read back after a reload), their status and
// summary, and their cards (which are also the charts' legend: colour swatch, verdict, final values, actions).

import { api, ApiError } from './api.js';
import { codeButton } from './code.js';
import { allocateSlot, slotStyle } from './colors.js';
import { el } from './dom.js';
import { compact, fixed6 } from './format.js';

/** @typedef {import('./api.js').RunSpec} RunSpec */
/** @typedef {import('./api.js').RunInfo} RunInfo */
/** @typedef {import('./api.js').Summary} Summary */
/** @typedef {import('./api.js').Trace} Trace */
/** @typedef {import('./api.js').StepEvent} StepEvent */
/** @typedef {import('./api.js').EndEvent} EndEvent */
/** @typedef {RunInfo['status']} Status */

/** @type {Set<Status>} */
const TERMINAL = new Set(['finished', 'diverged', 'cancelled', 'failed']);

const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/**
 * A short label for a spec without a name: "rate 0.2", "tf1.exponential_decay · torch.SGD m=0.9".
 * @param {RunSpec | null | undefined} spec
 */
export function labelFor(spec) {
  if (!spec) return 'run';
  if (spec.name) return spec.name;
  const s = spec.schedule;
  let label;
  if (typeof s === 'number') label = `rate ${s}`;
  else if (s && s.kind === 'constant') label = `rate ${s.learning_rate}`;
  else label = s ? s.kind : 'run';
  const o = spec.optimizer;
  if (o && o.kind && o.kind !== 'sgd') {
    const momentum = 'momentum' in o ? o.momentum : 0;
    label += ` · ${o.kind}${momentum ? ` momentum ${momentum}` : ''}`;
  }
  const dims = Array.isArray(spec.w0) ? spec.w0.length : 1;
  if (dims > 1) label += ` · ${dims}-D`;
  return label;
}

export class Run {
  /**
   * @param {string} id
   * @param {number} slot  its colour and dash (colors.js)
   * @param {RunSpec} spec
   * @param {string | null} [label]
   */
  constructor(id, slot, spec, label) {
    this.id = id;
    this.slot = slot;
    const style = slotStyle(slot);
    this.color = style.color;
    this.dash = style.dash;
    this.spec = spec;
    this.label = label || labelFor(spec);
    /** @type {Status} */
    this.status = 'queued';
    /** @type {Summary | null} */
    this.summary = null;
    /** @type {string | null} */
    this.error = null;
    /** @type {string | undefined} */
    this.createdAt = undefined;
    this.visible = true;
    const w0 = spec && spec.w0;
    this.dims = Array.isArray(w0) ? w0.length : 1;
    /** @type {number[]} */
    this.steps = [];
    /** @type {(number | null)[]} */
    this.loss = [];
    /** @type {(number | null)[]} */
    this.lr = [];
    /** @type {(number | null)[][]} */
    this.w = Array.from({ length: this.dims }, () => []); // one column per dimension
    this.lastStep = -1;
    /** @type {EventSource | null} */
    this.source = null; // the open EventSource
    this.retries = 0;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.retryTimer = undefined;
  }

  get points() {
    return this.steps.length;
  }

  get ended() {
    return TERMINAL.has(this.status);
  }

  /**
   * RunInfo from the POST answer, the `run` event or GET: a terminal status waits for the rows (see finish).
   * @param {RunInfo} info
   */
  setInfo(info) {
    if (info.spec) this.spec = info.spec;
    if (info.created_at) this.createdAt = info.created_at;
    if (!this.ended && info.status && !TERMINAL.has(info.status)) this.status = info.status;
    if (info.error) this.error = info.error;
  }

  /** @param {Pick<StepEvent, 'step' | 'w' | 'loss' | 'lr'>} row */
  appendRow(row) {
    if (!(row.step > this.lastStep)) return 0; // never a duplicate, whatever the stream replays
    this.steps.push(row.step);
    this.loss.push(num(row.loss));
    this.lr.push(num(row.lr));
    if (Array.isArray(row.w)) {
      if (row.w.length !== this.dims) this.reshape(row.w.length);
      for (let d = 0; d < this.dims; d++) this.w[d].push(num(row.w[d]));
    } else this.w[0].push(num(row.w));
    this.lastStep = row.step;
    if (this.status === 'queued') this.status = 'running';
    return 1;
  }

  /**
   * Columnar rows ({step: [...], w: [...], loss, lr}), as in GET's `trace` and `steps` events.
   * @param {Trace | null} cols
   */
  appendColumns(cols) {
    if (!cols || !Array.isArray(cols.step)) return 0;
    let added = 0;
    const n = cols.step.length;
    for (let i = 0; i < n; i++) {
      added += this.appendRow({ step: cols.step[i], w: cols.w[i], loss: cols.loss[i], lr: cols.lr[i] });
    }
    return added;
  }

  /** @param {number} dims */
  reshape(dims) {
    if (this.steps.length > 0) return;
    this.dims = dims;
    this.w = Array.from({ length: dims }, () => []);
  }

  /** @param {Partial<EndEvent>} end  the `end` event's data, or the run read back */
  finish({ status, summary, error }) {
    this.status = status || 'finished';
    this.summary = summary || null;
    this.error = error || this.error;
  }

  /** The latest w and loss (the summary's final once the run has ended). */
  latest() {
    if (this.summary && this.summary.final) return this.summary.final;
    const i = this.steps.length - 1;
    if (i < 0) return null;
    return { step: this.steps[i], w: this.dims === 1 ? this.w[0][i] : this.w.map((col) => col[i]), loss: this.loss[i] };
  }

  get divergedAt() {
    return this.summary && this.summary.diverged_at != null ? this.summary.diverged_at : null;
  }

  close() {
    if (this.source) this.source.close();
    this.source = null;
    clearTimeout(this.retryTimer);
  }
}

// ---------------------------------------------------------------------------------------------------------------

export class Board {
  /**
   * @param {HTMLElement} list  the <ul> of run cards
   * @param {{changed: () => void, data: () => void, ended: (run: Run) => void, notice: (text: string) => void}} hooks
   *   changed: structure or status changed; data: new rows; ended: a run ended; notice: a message for the page
   */
  constructor(list, hooks) {
    this.list = list;
    this.hooks = hooks;
    this.runs = [];
    this.cards = new Map();
    this.dirty = new Set();
  }

  /** @param {string} id */
  get(id) {
    return this.runs.find((run) => run.id === id);
  }

  visibleRuns() {
    return this.runs.filter((run) => run.visible);
  }

  ids() {
    return this.runs.map((run) => run.id);
  }

  /**
   * @param {RunInfo} info
   * @param {string | null} [label]
   */
  add(info, label) {
    const existing = this.get(info.id);
    if (existing) return existing;
    const slot = allocateSlot(new Set(this.runs.map((run) => run.slot)));
    const run = new Run(info.id, slot, info.spec, label || (info.spec && info.spec.name) || info.name);
    run.setInfo(info);
    this.runs.push(run);
    this.list.append(this.card(run));
    this.touch(run, true);
    return run;
  }

  /**
   * POSTs the specs together (202 each), then adds their cards at once, in order, and follows their events.
   * Returns one {run} or {error} per spec.
   * @param {RunSpec[]} specs
   * @returns {Promise<{run?: Run, error?: any}[]>}
   */
  async start(specs) {
    const settled = await Promise.allSettled(specs.map((spec) => api.createRun(spec)));
    return settled.map((result, i) => {
      if (result.status === 'rejected') return { error: result.reason };
      const run = this.add(result.value, specs[i].name);
      this.follow(run);
      return { run };
    });
  }

  /**
   * Re-open a stored run (a reload, a shared link, the history): its rows so far, then live rows if running.
   * @param {string} id
   */
  async open(id) {
    const present = this.get(id);
    if (present) {
      if (!present.visible) this.toggle(id);
      return present;
    }
    const doc = await api.getRun(id);
    if (this.get(id)) return this.get(id);
    const run = this.add(doc);
    run.appendColumns(doc.trace);
    if (TERMINAL.has(doc.status)) run.finish(doc);
    else this.follow(run);
    this.touch(run, true);
    return run;
  }

  /** EventSource from the last row we hold: the stream resumes after it, so nothing is missed or repeated. */
  follow(run) {
    run.close();
    const source = new EventSource(api.eventsUrl(run.id, run.lastStep));
    run.source = source;
    const parse = (event) => {
      try {
        return JSON.parse(event.data);
      } catch {
        return null;
      }
    };
    source.addEventListener('run', (event) => {
      const info = parse(event);
      if (info) run.setInfo(info);
      this.touch(run, true);
    });
    source.addEventListener('step', (event) => {
      const row = parse(event);
      if (row && run.appendRow(row)) this.touch(run);
    });
    source.addEventListener('steps', (event) => {
      if (run.appendColumns(parse(event))) this.touch(run);
    });
    source.addEventListener('end', (event) => {
      const end = parse(event) || {};
      run.close();
      run.finish(end);
      this.touch(run, true);
      this.hooks.ended(run);
    });
    source.addEventListener('error', (event) => {
      if (event instanceof MessageEvent && typeof event.data === 'string') {
        const problem = parse(event) || {};
        run.error = problem.detail || problem.title || 'The run failed.';
        this.touch(run, true);
        return;
      }
      // A dropped connection: EventSource reconnects by itself (with Last-Event-ID) unless the answer was not a
      // stream (404, 429...): then read the run back and decide.
      if (source.readyState === EventSource.CLOSED && run.source === source) {
        run.source = null;
        this.recover(run);
      }
    });
  }

  async recover(run) {
    try {
      const doc = await api.getRun(run.id);
      if (!this.get(run.id)) return;
      if (run.appendColumns(doc.trace)) this.touch(run);
      if (TERMINAL.has(doc.status)) {
        run.finish(doc);
        this.touch(run, true);
        this.hooks.ended(run);
        return;
      }
      run.retries += 1;
      run.retryTimer = setTimeout(() => this.get(run.id) && this.follow(run), Math.min(500 * 2 ** run.retries, 8000));
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        run.finish({ status: 'failed', summary: run.summary, error: 'This run no longer exists on the server.' });
        this.touch(run, true);
      } else {
        run.retries += 1;
        run.retryTimer = setTimeout(() => this.get(run.id) && this.recover(run), Math.min(500 * 2 ** run.retries, 8000));
      }
    }
  }

  remove(id) {
    const run = this.get(id);
    if (!run) return;
    run.close();
    this.runs = this.runs.filter((r) => r !== run);
    const card = this.cards.get(id);
    if (card) card.root.remove();
    this.cards.delete(id);
    this.hooks.changed();
  }

  toggle(id) {
    const run = this.get(id);
    if (!run) return;
    run.visible = !run.visible;
    this.touch(run, true);
  }

  clear() {
    for (const run of this.runs) run.close();
    this.runs = [];
    this.cards.clear();
    this.list.replaceChildren();
    this.hooks.changed();
  }

  /** Marks a run's card for the next frame; `structural` also tells the page (hash, charts' series). */
  touch(run, structural = false) {
    if (structural) {
      // status, visibility, summary: the card follows at once (tests and screen readers see it without a frame)
      const card = this.cards.get(run.id);
      if (card) this.update(run, card);
      this.hooks.changed();
    } else {
      this.dirty.add(run.id);
      this.hooks.data();
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Cards

  card(run) {
    // the legend chip: the run's colour (dashed-line runs, beyond seven, get a striped chip)
    const swatch = el('span', { class: `swatch${run.dash.length ? ' swatch-dashed' : ''}`, dataTestid: 'run-swatch', ariaHidden: 'true' });
    swatch.style.backgroundColor = run.color;
    const label = el('span', { class: 'run-label', dataTestid: 'run-label', text: run.label, title: run.id });
    const status = el('span', { class: 'status-badge' });
    const verdict = el('span', { class: 'verdict', dataTestid: 'verdict' });
    const explanation = el('p', { class: 'explanation', dataTestid: 'explanation' });
    const finalW = el('dd', { dataTestid: 'final-w' });
    const finalLoss = el('dd', { dataTestid: 'final-loss' });
    const finalStep = el('dd', { class: 'final-step' });
    const finals = el(
      'dl',
      { class: 'finals' },
      el('div', {}, el('dt', { text: 'w' }), finalW),
      el('div', {}, el('dt', { text: 'loss' }), finalLoss),
      el('div', {}, el('dt', { text: 'step' }), finalStep),
    );
    const diverged = el('p', { class: 'diverged-line' });
    const error = el('p', { class: 'run-error', role: 'status', hidden: true });
    const toggle = el('button', { type: 'button', class: 'small-button', dataTestid: 'toggle-run', ariaPressed: 'true', ariaLabel: `Show ${run.label} on the charts`, text: 'Show' });
    const remove = el('button', { type: 'button', class: 'small-button', dataTestid: 'remove-run', ariaLabel: `Remove ${run.label} from the charts`, text: 'Remove' });
    const cancel = el('button', { type: 'button', class: 'small-button', dataTestid: 'cancel-run', ariaLabel: `Stop ${run.label}`, text: 'Stop', hidden: true });
    const csv = el('a', { class: 'small-link', dataTestid: 'download-csv', href: api.csvUrl(run.id), download: `descent-${run.id}.csv`, text: 'CSV', ariaLabel: `Download the trace of ${run.label} as CSV` });
    const json = el('a', { class: 'small-link', dataTestid: 'download-json', href: api.jsonUrl(run.id), download: `descent-${run.id}.json`, text: 'JSON', ariaLabel: `Download ${run.label} as JSON` });
    toggle.addEventListener('click', () => this.toggle(run.id));
    remove.addEventListener('click', () => this.remove(run.id));
    cancel.addEventListener('click', async () => {
      cancel.disabled = true;
      try {
        await api.cancelRun(run.id);
      } catch (err) {
        this.hooks.notice(`Could not stop ${run.label}: ${err.message}`);
        cancel.disabled = false;
      }
    });

    const root = el(
      'li',
      { class: 'run-card', dataTestid: 'run-card', dataRunId: run.id, dataStatus: run.status, dataPoints: '0' },
      el('div', { class: 'card-head' }, swatch, label, status),
      el('div', { class: 'card-line' }, verdict, finals),
      diverged,
      explanation,
      error,
      el('div', { class: 'card-actions' }, toggle, remove, cancel, codeButton(run.id, run.label), el('span', { class: 'downloads' }, csv, json)),
    );
    root.style.setProperty('--run-color', run.color);
    const card = { root, status, verdict, explanation, finalW, finalLoss, finalStep, diverged, error, toggle, cancel };
    this.cards.set(run.id, card);
    this.update(run, card);
    return root;
  }

  /** Brings the dirty cards up to date (called once per frame). */
  renderCards() {
    for (const id of this.dirty) {
      const run = this.get(id);
      const card = this.cards.get(id);
      if (run && card) this.update(run, card);
    }
    this.dirty.clear();
  }

  update(run, card) {
    const { root } = card;
    root.dataset.status = run.status;
    root.dataset.points = String(run.points);
    root.classList.toggle('is-hidden', !run.visible);
    card.status.textContent = run.status;
    card.status.dataset.status = run.status;
    const verdict = run.summary && run.summary.verdict ? run.summary.verdict : '';
    card.verdict.textContent = verdict;
    card.verdict.dataset.verdict = verdict;
    card.verdict.hidden = !verdict;
    card.explanation.textContent = run.summary && run.summary.explanation ? run.summary.explanation : run.ended ? '' : run.status === 'queued' ? 'Waiting for a free worker…' : `Running… ${run.points} rows so far.`;
    const latest = run.latest();
    const dtype = (run.spec && run.spec.dtype) || 'float32';
    card.finalW.textContent = latest ? fixed6(latest.w, dtype) : '—';
    card.finalLoss.textContent = latest ? fixed6(latest.loss, dtype) : '—';
    card.finalW.title = latest ? compact(latest.w, 9) : '';
    card.finalLoss.title = latest ? compact(latest.loss, 9) : '';
    card.finalStep.textContent = latest ? String(latest.step) : '—';
    const at = run.divergedAt;
    if (at !== null && !card.diverged.firstChild) {
      card.diverged.append('Diverged at step ', el('strong', { dataTestid: 'diverged-at', text: String(at) }));
    } else if (at !== null) card.diverged.querySelector('strong').textContent = String(at);
    card.diverged.hidden = at === null;
    card.error.textContent = run.error || '';
    card.error.hidden = !run.error;
    card.toggle.setAttribute('aria-pressed', String(run.visible));
    card.cancel.hidden = run.ended;
  }
}
