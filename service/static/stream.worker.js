// The live runs' streams, off the page's main thread (a module worker, same origin): one EventSource per followed
// run, whose events are parsed here, and whose rows are handed to the page as typed columns (transferred, not
// copied), with the outline of each long column (envelope.js) already bucketed. The page then only appends the
// numbers and redraws at most once per animation frame: no main-thread task grows with the size of a batch.
//
// Page → worker: {type: 'follow', id, gen, url, seed?} (seed: the rows the page holds, so the outline covers them
//                too; gen: which of the page's follows of the run this is) · {type: 'close', id}
//                {type: 'load', seq, url, language}: GET a run document (a reload, a shared link), parsed here
//                → {type: 'loaded', seq, status, doc (without its trace), rows} or {type: 'loaded', seq, status, problem}
// Worker → page, each with id and gen: {type: 'run', info} · {type: 'rows', rows, outlines, total} · {type: 'end', end}
//                {type: 'problem', problem} (an `error` event with a body) · {type: 'closed'} (the answer was not a stream)

import { Column } from './columns.js';
import { Envelope } from './envelope.js';

/** Rows per series the charts draw (charts.js): past this the outline, not the rows, is drawn. */
export const MAX_DRAWN = 2400;
/** Dimensions of w the charts draw. */
const MAX_W_DIMS = 4;

const scope = /** @type {any} */ (self);

const value = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : NaN);

/** One followed run: its stream, the rows so far (for the outline) and the last step (no row twice). */
class Stream {
  constructor(id, gen, url, seed) {
    this.id = id;
    this.gen = gen;
    this.lastStep = -1;
    /** @type {Map<string, Column>} */
    this.columns = new Map();
    /** @type {Map<string, Envelope>} */
    this.envelopes = new Map();
    if (seed) this.seed(seed);
    this.source = new EventSource(url);
    this.listen();
  }

  column(key) {
    let column = this.columns.get(key);
    if (!column) this.columns.set(key, (column = new Column()));
    return column;
  }

  /** @param {{step: ArrayLike<number>, loss: ArrayLike<number>, lr: ArrayLike<number>, w: ArrayLike<number>[]}} seed */
  seed(seed) {
    const n = seed.step.length;
    for (let i = 0; i < n; i++) {
      this.column('loss').push(seed.loss[i]);
      this.column('lr').push(seed.lr[i]);
      for (let d = 0; d < Math.min(seed.w.length, MAX_W_DIMS); d++) this.column(`w${d}`).push(seed.w[d][i]);
    }
    if (n) this.lastStep = seed.step[n - 1];
  }

  post(message, transfer = []) {
    scope.postMessage({ ...message, id: this.id, gen: this.gen }, transfer);
  }

  listen() {
    const source = this.source;
    const parse = (event) => {
      try {
        return JSON.parse(event.data);
      } catch {
        return null;
      }
    };
    source.addEventListener('run', (event) => {
      const info = parse(event);
      if (info) this.post({ type: 'run', info });
    });
    source.addEventListener('step', (event) => {
      const row = parse(event);
      if (!row) return;
      const cols = { step: [row.step], loss: [row.loss], lr: [row.lr], w: [row.w] };
      if (row.state && typeof row.state === 'object') {
        cols.state = Object.fromEntries(Object.entries(row.state).map(([name, v]) => [name, [v]]));
      }
      this.rows(cols);
    });
    source.addEventListener('steps', (event) => {
      const cols = parse(event);
      if (cols && Array.isArray(cols.step)) this.rows(cols);
    });
    source.addEventListener('end', (event) => {
      source.close();
      this.post({ type: 'end', end: parse(event) || {} });
      if (streams.get(this.id) === this) streams.delete(this.id);
    });
    source.addEventListener('error', (event) => {
      if (event instanceof MessageEvent && typeof event.data === 'string') {
        this.post({ type: 'problem', problem: parse(event) || {} });
        return;
      }
      // A dropped connection: EventSource reconnects by itself (with Last-Event-ID) unless the answer was not a
      // stream (404, 429...): the page then reads the run back and decides.
      if (source.readyState === EventSource.CLOSED) {
        this.post({ type: 'closed' });
        if (streams.get(this.id) === this) streams.delete(this.id);
      }
    });
  }

  /**
   * A batch of columnar rows ({step, w, loss, lr, state?}): the new ones (after the last step held) as typed
   * columns, and the outlines of the long columns, posted to the page.
   */
  rows(cols) {
    const n = cols.step.length;
    let first = 0;
    while (first < n && !(cols.step[first] > this.lastStep)) first++;
    if (first === n) return;
    const count = n - first;
    const wide = Array.isArray(cols.w[first]);
    const dims = wide ? cols.w[first].length : 1;
    const step = new Float64Array(count);
    const loss = new Float64Array(count);
    const lr = new Float64Array(count);
    const w = Array.from({ length: dims }, () => new Float64Array(count));
    for (let k = 0; k < count; k++) {
      const i = first + k;
      step[k] = cols.step[i];
      loss[k] = value(cols.loss[i]);
      lr[k] = value(cols.lr[i]);
      if (wide) for (let d = 0; d < dims; d++) w[d][k] = value(cols.w[i][d]);
      else w[0][k] = value(cols.w[i]);
    }
    this.lastStep = step[count - 1];
    // the optimizer state (`record.state`, rare and short): as the API wrote it, the page takes it row by row
    let state = null;
    if (cols.state) state = Object.fromEntries(Object.entries(cols.state).map(([name, values]) => [name, values.slice(first)]));

    const columns = { loss, lr };
    for (let d = 0; d < Math.min(dims, MAX_W_DIMS); d++) columns[`w${d}`] = w[d];
    /** @type {Record<string, Int32Array>} */
    const outlines = {};
    let total = 0;
    for (const [key, values] of Object.entries(columns)) {
      const column = this.column(key);
      for (let k = 0; k < count; k++) column.push(values[k]);
      total = column.length;
      if (total <= MAX_DRAWN) continue;
      let envelope = this.envelopes.get(key);
      if (!envelope) this.envelopes.set(key, (envelope = new Envelope(Math.floor((MAX_DRAWN - 2) / 3))));
      envelope.update(column.view());
      outlines[key] = Int32Array.from(envelope.indices());
    }
    const transfer = [step.buffer, loss.buffer, lr.buffer, ...w.map((c) => c.buffer), ...Object.values(outlines).map((o) => o.buffer)];
    this.post({ type: 'rows', rows: { step, loss, lr, w, state }, outlines, total }, transfer);
  }

  close() {
    this.source.close();
  }
}

/**
 * A trace ({step, w, loss, lr, state?} columns, as GET writes it) as typed columns (NaN for null), with their buffers.
 * @param {any} trace
 */
function typedColumns(trace) {
  const n = trace.step.length;
  const wide = n > 0 && Array.isArray(trace.w[0]);
  const dims = wide ? trace.w[0].length : 1;
  const step = Float64Array.from(trace.step);
  const loss = new Float64Array(n);
  const lr = new Float64Array(n);
  const w = Array.from({ length: dims }, () => new Float64Array(n));
  for (let i = 0; i < n; i++) {
    loss[i] = value(trace.loss[i]);
    lr[i] = value(trace.lr[i]);
    if (wide) for (let d = 0; d < dims; d++) w[d][i] = value(trace.w[i][d]);
    else w[0][i] = value(trace.w[i]);
  }
  const rows = { step, loss, lr, w, state: trace.state || null };
  return { rows, transfer: [step.buffer, loss.buffer, lr.buffer, ...w.map((c) => c.buffer)] };
}

/** GET a run document and hand it over with its trace as typed columns (a 1M-row trace is ~50 MB of JSON). */
async function load({ seq, url, language }) {
  let response;
  try {
    response = await fetch(url, { headers: { Accept: 'application/json', 'Accept-Language': language } });
  } catch (err) {
    scope.postMessage({ type: 'loaded', seq, status: 0, problem: { title: 'Network error', detail: String(err && err.message) } });
    return;
  }
  const body = await response.json().catch(() => null);
  if (!response.ok || !body || typeof body !== 'object') {
    const problem = body && typeof body === 'object' ? body : { title: response.statusText, detail: `HTTP ${response.status}` };
    scope.postMessage({ type: 'loaded', seq, status: response.status, problem });
    return;
  }
  const { trace, ...doc } = body;
  if (!trace || !Array.isArray(trace.step)) {
    scope.postMessage({ type: 'loaded', seq, status: response.status, doc, rows: null });
    return;
  }
  const { rows, transfer } = typedColumns(trace);
  // the long columns' outlines too, so the page draws the run without bucketing its rows itself
  /** @type {Record<string, Int32Array>} */
  const outlines = {};
  const n = rows.step.length;
  if (n > MAX_DRAWN) {
    const columns = { loss: rows.loss, lr: rows.lr };
    rows.w.slice(0, MAX_W_DIMS).forEach((column, d) => (columns[`w${d}`] = column));
    for (const [key, column] of Object.entries(columns)) {
      const envelope = new Envelope(Math.floor((MAX_DRAWN - 2) / 3));
      envelope.update(column);
      outlines[key] = Int32Array.from(envelope.indices());
      transfer.push(outlines[key].buffer);
    }
  }
  scope.postMessage({ type: 'loaded', seq, status: response.status, doc, rows, outlines, total: n }, transfer);
}

/** @type {Map<string, Stream>} */
const streams = new Map();

scope.addEventListener('message', (/** @type {MessageEvent} */ event) => {
  const message = event.data || {};
  if (message.type === 'follow') {
    streams.get(message.id)?.close();
    streams.set(message.id, new Stream(message.id, message.gen, message.url, message.seed));
  } else if (message.type === 'load') {
    load(message);
  } else if (message.type === 'close') {
    streams.get(message.id)?.close();
    streams.delete(message.id);
  }
});
