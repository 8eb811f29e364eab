// The runs on the charts: their rows (received over EventSource or read back after a reload), their status and
// summary, and their cards (which are also the charts' legend: colour swatch, verdict, final values, actions).

import { api, ApiError } from './api.js';
import { codeButton } from './code.js';
import { Column, orNull } from './columns.js';
import { TWIN_DASH, allocateSlot, slotStyle } from './colors.js';
import { el } from './dom.js';
import { compact, fixed6 } from './format.js';
import { language, t } from './i18n.js';
import { whyLine } from './why.js';

/** @typedef {import('./api.js').RunSpec} RunSpec */
/** @typedef {import('./api.js').RunInfo} RunInfo */
/** @typedef {import('./api.js').RunDocument} RunDocument */
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
  if (!spec) return t('run.run');
  if (spec.name) return spec.name;
  const s = spec.schedule;
  let label;
  if (typeof s === 'number') label = t('run.rate', { rate: s });
  else if (s && s.kind === 'constant') label = t('run.rate', { rate: s.learning_rate });
  else label = s ? s.kind : t('run.run');
  const o = spec.optimizer;
  if (o && o.kind && o.kind !== 'sgd') {
    const momentum = 'momentum' in o ? o.momentum : 0;
    label += ` · ${o.kind}${momentum ? ` ${t('run.momentum', { momentum })}` : ''}`;
  }
  const dims = Array.isArray(spec.w0) ? spec.w0.length : 1;
  if (dims > 1) label += ` · ${dims}-D`;
  return label;
}

/** "Running… 12,000 of 200,001 rows (6%), about 3 s left". */
function progressText(run) {
  const total = run.plannedRows;
  if (!total) return t('run.rowsSoFar', { rows: run.points.toLocaleString() });
  const now = performance.now();
  if (!run.firstRowAt && run.points) run.firstRowAt = { time: now, rows: run.points };
  let eta = '';
  if (run.firstRowAt && run.points > run.firstRowAt.rows && now - run.firstRowAt.time > 500) {
    const rate = (run.points - run.firstRowAt.rows) / (now - run.firstRowAt.time);
    eta = t('run.eta', { seconds: Math.max(1, Math.round((total - run.points) / rate / 1000)) });
  }
  return t('run.progress', { rows: run.points.toLocaleString(), total: total.toLocaleString(), pct: Math.floor((100 * run.points) / total) }) + eta;
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
    // the rows, one typed column each (NaN for a missing value), read through `steps`, `loss`, `lr` and `w`
    this.columns = { steps: new Column(), loss: new Column(), lr: new Column() };
    /** @type {Column[]} */
    this.wColumns = Array.from({ length: this.dims }, () => new Column()); // one column per dimension
    /** @type {Float64Array[]} */
    this.wViews = [];
    this.lastStep = -1;
    /** @type {Map<string, (number | null)[]>} optimizer state per slot (`record.state`), first dimension */
    this.state = new Map();
    this.minLoss = Infinity; // the lowest loss so far (kept as rows arrive: no scan of a long run per frame)
    /** @type {{close: () => void} | null} */
    this.source = null; // the open stream (in the stream worker)
    this.gen = 0; // which follow of this run the stream worker's messages belong to
    /** @type {Record<string, Int32Array> | null} the outline of each long column, as the stream worker bucketed it */
    this.outlines = null;
    this.outlineRows = 0; // the rows those outlines cover (used only while they cover every row)
    this.retries = 0;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.retryTimer = undefined;
    /** @type {string | null} */
    this.twinOf = null; // an identical run already on the charts (same spec): its label
  }

  /** The spec as a comparable key (its name left out): identical keys give identical numbers. */
  get specKey() {
    if (!this.spec) return null;
    const { name: _name, ...rest } = this.spec;
    const schedule = typeof rest.schedule === 'number' ? { kind: 'constant', learning_rate: rest.schedule } : rest.schedule;
    return JSON.stringify({ ...rest, schedule, w0: Array.isArray(rest.w0) && rest.w0.length === 1 ? rest.w0[0] : rest.w0 });
  }

  /** Rows the run will have when it runs all its steps (the first row is step 0). */
  get plannedRows() {
    const steps = this.spec && this.spec.steps;
    if (!(steps > 0)) return null;
    const every = (this.spec.record && this.spec.record.every) || 1;
    return Math.floor(steps / every) + 1 + (steps % every ? 1 : 0);
  }

  get points() {
    return this.columns.steps.length;
  }

  /** The steps of the rows held (a view on the column: valid until the next rows arrive). */
  get steps() {
    return this.columns.steps.view();
  }

  /** The loss of each row held, NaN where it is missing (a view, like `steps`). */
  get loss() {
    return this.columns.loss.view();
  }

  /** The learning rate of each row held, NaN where it is missing (a view, like `steps`). */
  get lr() {
    return this.columns.lr.view();
  }

  /** w of each row held, one view per dimension, NaN where it is missing. */
  get w() {
    const views = this.wViews;
    if (views.length !== this.dims || (this.dims && views[0] !== this.wColumns[0].view())) {
      this.wViews = this.wColumns.map((column) => column.view());
    }
    return this.wViews;
  }

  /**
   * Room for `rows` rows in every column, and for all the rows the run plans when it plans more: one allocation per
   * column for a whole stream.
   * @param {number} rows
   */
  reserve(rows) {
    const wanted = Math.max(rows, this.plannedRows || 0);
    for (const column of [this.columns.steps, this.columns.loss, this.columns.lr, ...this.wColumns]) {
      if (column.data.length < rows) column.reserve(wanted);
    }
  }

  /**
   * One row into the columns (already after the last step held).
   * @param {number} step
   * @param {number | null} loss
   * @param {number | null} lr
   */
  pushRow(step, loss, lr) {
    this.columns.steps.push(step);
    this.columns.loss.push(loss);
    if (loss !== null && loss < this.minLoss) this.minLoss = loss;
    this.columns.lr.push(lr);
    this.lastStep = step;
  }

  /** The row index of `step` (rows are in step order), or -1 when the run has no such row. */
  indexOfStep(step) {
    let lo = 0;
    let hi = this.steps.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = this.steps[mid];
      if (s === step) return mid;
      if (s < step) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
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

  /** @param {Pick<StepEvent, 'step' | 'w' | 'loss' | 'lr' | 'state'>} row */
  appendRow(row) {
    if (!(row.step > this.lastStep)) return 0; // never a duplicate, whatever the stream replays
    if (Array.isArray(row.w)) {
      if (row.w.length !== this.dims) this.reshape(row.w.length);
      for (let d = 0; d < this.dims; d++) this.wColumns[d].push(num(row.w[d]));
    } else this.wColumns[0].push(num(row.w));
    this.pushRow(row.step, num(row.loss), num(row.lr));
    if (row.state && typeof row.state === 'object') {
      for (const [name, value] of Object.entries(row.state)) {
        if (!this.state.has(name)) this.state.set(name, Array(this.points - 1).fill(null));
        this.state.get(name)?.push(num(Array.isArray(value) ? value[0] : value));
      }
    }
    if (this.status === 'queued') this.status = 'running';
    return 1;
  }

  /**
   * Columnar rows ({step: [...], w: [...], loss, lr}), as in GET's `trace` and `steps` events.
   * @param {Trace | null} cols
   */
  appendColumns(cols) {
    if (!cols || !Array.isArray(cols.step)) return 0;
    const n = cols.step.length;
    let first = 0; // rows at or before the last step held are replays: skipped
    while (first < n && !(cols.step[first] > this.lastStep)) first++;
    if (first === n) return 0;
    const scalarRows = !Array.isArray(cols.w[first]);
    const width = scalarRows ? 1 : /** @type {number[]} */ (cols.w[first]).length;
    if (cols.state || (scalarRows ? this.dims !== 1 : width !== this.dims) || this.points === 0) {
      // the general path, row by row (optimizer state, a first row that sets the dimensions)
      let added = 0;
      for (let i = first; i < n; i++) {
        const state = cols.state ? Object.fromEntries(Object.entries(cols.state).map(([name, values]) => [name, values[i]])) : null;
        added += this.appendRow({ step: cols.step[i], w: cols.w[i], loss: cols.loss[i], lr: cols.lr[i], state });
      }
      return added;
    }
    // the usual path, column by column: no object per row (a 1M-step run streams 500 such batches)
    let added = 0;
    this.reserve(this.points + n - first);
    for (let i = first; i < n; i++) {
      if (!(cols.step[i] > this.lastStep)) continue;
      added++;
      if (scalarRows) this.wColumns[0].push(num(cols.w[i]));
      else for (let d = 0; d < this.dims; d++) this.wColumns[d].push(num(/** @type {number[]} */ (cols.w[i])[d]));
      this.pushRow(cols.step[i], num(cols.loss[i]), num(cols.lr[i]));
    }
    if (this.status === 'queued') this.status = 'running';
    return added;
  }

  /**
   * Typed columns from the stream worker (NaN where the API wrote null), already after the last step held; with
   * the outlines of the long columns over all the rows (`total` of them).
   * @param {{step: Float64Array, loss: Float64Array, lr: Float64Array, w: Float64Array[], state: Record<string, any[]> | null}} rows
   * @param {Record<string, Int32Array>} outlines
   * @param {number} total
   */
  appendTyped(rows, outlines, total) {
    const n = rows.step.length;
    const value = (v) => (v === v ? v : null); // NaN: null
    let added = 0;
    if (rows.state || (this.points === 0 && rows.w.length !== this.dims)) {
      // the general path, row by row (optimizer state, a first row that sets the dimensions)
      const wide = rows.w.length > 1;
      for (let i = 0; i < n; i++) {
        const state = rows.state ? Object.fromEntries(Object.entries(rows.state).map(([name, values]) => [name, values[i]])) : null;
        const w = wide ? rows.w.map((col) => value(col[i])) : value(rows.w[0][i]);
        added += this.appendRow({ step: rows.step[i], w, loss: value(rows.loss[i]), lr: value(rows.lr[i]), state });
      }
    } else {
      this.reserve(this.points + n);
      for (let i = 0; i < n; i++) {
        if (!(rows.step[i] > this.lastStep)) continue;
        added++;
        for (let d = 0; d < this.dims; d++) this.wColumns[d].push(rows.w[d] ? rows.w[d][i] : NaN);
        this.pushRow(rows.step[i], value(rows.loss[i]), rows.lr[i]);
      }
      if (added && this.status === 'queued') this.status = 'running';
    }
    this.outlines = outlines;
    this.outlineRows = total;
    return added;
  }

  /** @param {number} dims */
  reshape(dims) {
    if (this.points > 0) return;
    this.dims = dims;
    this.wColumns = Array.from({ length: dims }, () => new Column());
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
    const i = this.points - 1;
    if (i < 0) return null;
    const w = this.w.map((col) => orNull(col[i]));
    return { step: this.steps[i], w: this.dims === 1 ? w[0] : w, loss: orNull(this.loss[i]) };
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

/**
 * Appends a read-back trace in slices of 65,536 rows, one task each: a million rows pushed at once would hold the
 * main thread for about 100 ms. The outlines (over every row) come with the last slice.
 * @param {Run} run
 * @param {any} rows  typed columns from the stream worker
 * @param {Record<string, Int32Array>} outlines
 * @param {number} total
 */
async function appendInSlices(run, rows, outlines, total) {
  const n = rows.step.length;
  const slice = 65536;
  if (rows.state || n <= slice) return run.appendTyped(rows, outlines, total);
  run.reserve(run.points + n);
  for (let start = 0; start < n; start += slice) {
    const end = Math.min(n, start + slice);
    const part = {
      step: rows.step.subarray(start, end),
      loss: rows.loss.subarray(start, end),
      lr: rows.lr.subarray(start, end),
      w: rows.w.map((/** @type {Float64Array} */ column) => column.subarray(start, end)),
      state: null,
    };
    run.appendTyped(part, end === n ? outlines : {}, end === n ? total : -1);
    if (end < n) await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

/** @type {Worker | null} */
let worker = null;

/** The one stream worker of the page (a module worker from this origin), started on first use. */
function streamWorker(board) {
  if (!worker) {
    worker = new Worker(new URL('./stream.worker.js', import.meta.url), { type: 'module', name: 'descent-streams' });
    worker.addEventListener('message', (event) => board.streamed(event.data));
  }
  return worker;
}

export class Board {
  /**
   * @param {HTMLElement} list  the <ul> of run cards
   * @param {{changed: () => void, data: () => void, ended: (run: Run) => void, notice: (text: string) => void, table?: (run: Run, button: HTMLElement) => void}} hooks
   *   changed: structure or status changed; data: new rows; ended: a run ended; notice: a message for the page
   */
  constructor(list, hooks) {
    this.list = list;
    this.hooks = hooks;
    this.runs = [];
    this.cards = new Map();
    this.dirty = new Set();
    streamWorker(this); // started with the page: the first run's rows do not wait for the worker's modules
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
    const twin = this.runs.find((other) => other.specKey !== null && other.specKey === run.specKey);
    if (twin) {
      // The same spec gives the same numbers: the lines would lie exactly on top of each other. The newer run is
      // numbered and dashed (its colour shows through the dashes), and its card says why.
      const twins = this.runs.filter((other) => other.specKey === run.specKey).length;
      run.twinOf = twin.label;
      run.label = `${run.label} (${twins + 1})`;
      if (!run.dash.length) run.dash = TWIN_DASH;
    }
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
   * @param {ReturnType<Board['load']> | null | undefined} [loading] its `load(id)` already under way
   */
  async open(id, loading = null) {
    const present = this.get(id);
    if (present) {
      if (!present.visible) this.toggle(id);
      return present;
    }
    const { doc, rows, outlines, total } = await (loading || this.load(id));
    if (this.get(id)) return this.get(id);
    const run = this.add(doc);
    if (rows) await appendInSlices(run, rows, outlines, total);
    if (TERMINAL.has(doc.status)) run.finish(doc);
    else this.follow(run);
    this.touch(run, true);
    return run;
  }

  /**
   * Follows the run's events from the last row we hold (the stream resumes after it, so nothing is missed or
   * repeated), in the stream worker: it parses them and hands over typed rows (see stream.worker.js).
   */
  follow(run) {
    run.close();
    const gen = ++run.gen;
    const n = run.points;
    // the rows held, so that the worker's outlines cover them (a copy: the page keeps its own)
    const seed = n ? { step: run.steps.slice(), loss: run.loss.slice(), lr: run.lr.slice(), w: run.w.map((col) => col.slice()) } : null;
    const transfer = seed ? [seed.step.buffer, seed.loss.buffer, seed.lr.buffer, ...seed.w.map((c) => c.buffer)] : [];
    const worker = streamWorker(this);
    worker.postMessage({ type: 'follow', id: run.id, gen, url: api.eventsUrl(run.id, run.lastStep), seed }, transfer);
    run.source = { close: () => worker.postMessage({ type: 'close', id: run.id }) };
  }

  /**
   * The run document, read and parsed by the stream worker (its trace as typed columns); an ApiError if refused.
   * @param {string} id
   * @returns {Promise<{doc: RunDocument, rows: any, outlines: Record<string, Int32Array>, total: number}>}
   */
  load(id) {
    const seq = (this.loads = (this.loads || 0) + 1);
    if (!this.pending) this.pending = new Map();
    const pending = this.pending;
    return new Promise((resolve, reject) => {
      pending.set(seq, (/** @type {any} */ answer) => {
        if (answer.problem) reject(new ApiError(answer.status, answer.problem));
        else resolve({ doc: answer.doc, rows: answer.rows, outlines: answer.outlines || {}, total: answer.total ?? -1 });
      });
      streamWorker(this).postMessage({ type: 'load', seq, url: api.jsonUrl(id), language: language() });
    });
  }

  /**
   * A message from the stream worker about one of the runs (ignored when the run is gone or followed anew).
   * @param {any} message
   */
  streamed(message) {
    if (message.type === 'loaded') {
      const pending = this.pending;
      const answer = pending && pending.get(message.seq);
      if (pending && answer) {
        pending.delete(message.seq);
        answer(message);
      }
      return;
    }
    const run = this.get(message.id);
    if (!run || message.gen !== run.gen || !run.source) return;
    if (message.type === 'run') {
      run.setInfo(message.info);
      this.touch(run, true);
    } else if (message.type === 'rows') {
      if (run.appendTyped(message.rows, message.outlines, message.total)) this.touch(run);
    } else if (message.type === 'end') {
      run.source = null;
      run.finish(message.end);
      this.touch(run, true);
      this.hooks.ended(run);
      this.translate(run);
    } else if (message.type === 'problem') {
      const problem = message.problem || {};
      run.error = problem.detail || problem.title || t('run.failed');
      this.touch(run, true);
    } else if (message.type === 'closed') {
      // not a stream (404, 429...): read the run back and decide
      run.source = null;
      this.recover(run);
    }
  }

  /**
   * EventSource cannot send Accept-Language: in a language other than English the summary (its explanation) is
   * read again in that language.
   */
  async translate(run) {
    if (language() === 'en' || !run.summary) return;
    try {
      const doc = await api.getSummary(run.id);
      if (doc.summary && this.get(run.id)) {
        run.summary = doc.summary;
        this.touch(run, true);
      }
    } catch {
      /* the English explanation stays */
    }
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
        run.finish({ status: 'failed', summary: run.summary, error: t('run.gone') });
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
    const swatch = el('span', { class: `swatch${run.dash.length ? ' swatch-dashed' : ''}`, dataTestid: 'run-swatch', dataDash: run.dash.join(' '), ariaHidden: 'true' });
    swatch.style.backgroundColor = run.color;
    const label = el('span', { class: 'run-label', dataTestid: 'run-label', text: run.label, title: run.id });
    const status = el('span', { class: 'status-badge' });
    const verdict = el('span', { class: 'verdict', dataTestid: 'verdict' });
    const explanation = el('p', { class: 'explanation', dataTestid: 'explanation' });
    const why = el('p', { class: 'why', dataTestid: 'why' });
    const finalW = el('dd', { dataTestid: 'final-w' });
    const finalLoss = el('dd', { dataTestid: 'final-loss' });
    const finalStep = el('dd', { class: 'final-step' });
    const finals = el(
      'dl',
      { class: 'finals' },
      el('div', {}, el('dt', { text: 'w' }), finalW),
      el('div', {}, el('dt', { text: t('run.loss') }), finalLoss),
      el('div', {}, el('dt', { text: t('run.step') }), finalStep),
    );
    const diverged = el('p', { class: 'diverged-line' });
    const twin = el('p', { class: 'twin-line', dataTestid: 'twin-note', text: run.twinOf ? t('run.twin', { other: run.twinOf }) : '', hidden: !run.twinOf });
    const error = el('p', { class: 'run-error', role: 'status', hidden: true });
    const toggle = el('button', { type: 'button', class: 'small-button', dataTestid: 'toggle-run', ariaPressed: 'true', ariaLabel: t('run.showAria', { run: run.label }), text: t('run.show') });
    const remove = el('button', { type: 'button', class: 'small-button', dataTestid: 'remove-run', ariaLabel: t('run.removeAria', { run: run.label }), text: t('run.remove') });
    const cancel = el('button', { type: 'button', class: 'small-button', dataTestid: 'cancel-run', ariaLabel: t('run.stopAria', { run: run.label }), text: t('run.stop'), hidden: true });
    const table = el('button', { type: 'button', class: 'small-button', dataTestid: 'show-table', text: t('run.table'), ariaExpanded: 'false' });
    const csv = el('a', { class: 'small-link', dataTestid: 'download-csv', href: api.csvUrl(run.id), download: `descent-${run.id}.csv`, text: 'CSV', ariaLabel: t('run.csvAria', { run: run.label }) });
    const json = el('a', { class: 'small-link', dataTestid: 'download-json', href: api.jsonUrl(run.id), download: `descent-${run.id}.json`, text: 'JSON', ariaLabel: t('run.jsonAria', { run: run.label }) });
    table.addEventListener('click', () => this.hooks.table && this.hooks.table(run, table));
    toggle.addEventListener('click', () => this.toggle(run.id));
    remove.addEventListener('click', () => this.remove(run.id));
    cancel.addEventListener('click', async () => {
      cancel.disabled = true;
      try {
        await api.cancelRun(run.id);
      } catch (err) {
        this.hooks.notice(t('run.stopFailed', { run: run.label, reason: err.message }));
        cancel.disabled = false;
      }
    });

    const root = el(
      'li',
      { class: 'run-card', dataTestid: 'run-card', dataRunId: run.id, dataStatus: run.status, dataPoints: '0' },
      el('div', { class: 'card-head' }, swatch, label, status),
      el('div', { class: 'card-line' }, verdict, finals),
      diverged,
      twin,
      explanation,
      why,
      error,
      el('div', { class: 'card-actions' }, toggle, remove, cancel, table, codeButton(run.id, run.label), el('span', { class: 'downloads' }, csv, json)),
    );
    root.style.setProperty('--run-color', run.color);
    const card = { root, status, verdict, explanation, why, finalW, finalLoss, finalStep, diverged, error, toggle, cancel };
    this.cards.set(run.id, card);
    this.update(run, card);
    return root;
  }

  /**
   * Brings the dirty cards up to date (called once per frame); a streaming run's card (its progress) at most four
   * times a second: each update lays out the page again.
   */
  renderCards() {
    const now = performance.now();
    for (const id of this.dirty) {
      const run = this.get(id);
      const card = this.cards.get(id);
      if (!run || !card) {
        this.dirty.delete(id);
        continue;
      }
      if (now - (card.updatedAt || 0) < 250) continue;
      this.update(run, card);
      this.dirty.delete(id);
    }
    if (this.dirty.size && !this.cardTimer) {
      this.cardTimer = setTimeout(() => {
        this.cardTimer = 0;
        this.hooks.data();
      }, 260);
    }
  }

  update(run, card) {
    card.updatedAt = performance.now();
    const { root } = card;
    root.dataset.status = run.status;
    root.dataset.points = String(run.points);
    root.classList.toggle('is-hidden', !run.visible);
    // The badge says how the run ended as a job (finished: all its steps ran), in a neutral colour: the verdict
    // beside it says, in colour, whether the numbers converged or diverged.
    card.status.textContent = t(`status.${run.status}`);
    card.status.dataset.status = run.status;
    const verdict = run.summary && run.summary.verdict ? run.summary.verdict : '';
    card.verdict.textContent = verdict ? t(`verdict.${verdict}`) : '';
    card.verdict.dataset.verdict = verdict;
    card.verdict.hidden = !verdict;
    card.explanation.textContent = run.summary && run.summary.explanation ? run.summary.explanation : run.ended ? '' : run.status === 'queued' ? t('run.queued') : progressText(run);
    card.why.textContent = whyLine(run);
    const latest = run.latest();
    const dtype = (run.spec && run.spec.dtype) || 'float32';
    card.finalW.textContent = latest ? fixed6(latest.w, dtype) : '—';
    card.finalLoss.textContent = latest ? fixed6(latest.loss, dtype) : '—';
    card.finalW.title = latest ? compact(latest.w, 9) : '';
    card.finalLoss.title = latest ? compact(latest.loss, 9) : '';
    card.finalStep.textContent = latest ? String(latest.step) : '—';
    const at = run.divergedAt;
    if (at !== null && !card.diverged.firstChild) {
      card.diverged.append(t('run.divergedAt'), ' ', el('strong', { dataTestid: 'diverged-at', text: String(at) }));
    } else if (at !== null) card.diverged.querySelector('strong').textContent = String(at);
    card.diverged.hidden = at === null;
    card.error.textContent = run.error || '';
    card.error.hidden = !run.error;
    card.toggle.setAttribute('aria-pressed', String(run.visible));
    card.cancel.hidden = run.ended;
  }
}
