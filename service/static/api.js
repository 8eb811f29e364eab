// The HTTP API of the service, as the dashboard uses it (same origin; see /docs and /openapi.json).

import { language } from './i18n.js';

/** A non-2xx answer: `problem` is the RFC 9457 body (or a stand-in when the body was not JSON). */
export class ApiError extends Error {
  constructor(status, problem, retryAfter = null) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
    this.errors = Array.isArray(problem.errors) ? problem.errors : [];
    this.retryAfter = retryAfter;
  }
}

/** Rows per `steps` event: far fewer events than one per row (a 10^5-step run streams in one tenth of a second). */
export const STREAM_BATCH = 2000;

const enc = encodeURIComponent;

async function request(method, url, body, headers = {}) {
  const init = { method, headers: { Accept: 'application/json', 'Accept-Language': language(), ...headers } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (err) {
    throw new ApiError(0, { title: 'Network error', detail: `The server did not answer (${err.message}).` });
  }
  if (response.status === 204) return null;
  const type = response.headers.get('Content-Type') || '';
  const data = type.includes('json') ? await response.json().catch(() => null) : null;
  if (!response.ok) {
    const problem = data && typeof data === 'object' ? data : { title: response.statusText, detail: `HTTP ${response.status}` };
    const retry = Number(response.headers.get('Retry-After'));
    throw new ApiError(response.status, problem, Number.isFinite(retry) && retry > 0 ? retry : null);
  }
  return data;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export const api = {
  catalog: () => request('GET', '/v1/catalog'),

  /** Starts a run in the background (202 with the queued RunInfo). A full pool (429) is retried a few times. */
  async createRun(spec) {
    for (let attempt = 0; ; attempt++) {
      try {
        return await request('POST', '/v1/runs?wait=false', spec);
      } catch (err) {
        if (!(err instanceof ApiError) || err.status !== 429 || attempt >= 4) throw err;
        await sleep(1000 * Math.min(err.retryAfter || 1, 5));
      }
    }
  },

  getRun: (id) => request('GET', `/v1/runs/${enc(id)}`),
  /** The run's summary only (two trace rows): its explanation in the page's language. */
  getSummary: (id) => request('GET', `/v1/runs/${enc(id)}?max_points=2`),
  landscape: (spec) => request('POST', '/v1/landscape', spec),
  lrFinder: (spec) => request('POST', '/v1/lr-finder', spec),
  /** A sweep, computed before the answer (201 with the summary arrays). */
  sweep: (spec) => request('POST', '/v1/sweeps', spec),
  cancelRun: (id) => request('DELETE', `/v1/runs/${enc(id)}`),
  listRuns: (cursor, limit = 20) =>
    request('GET', `/v1/runs?limit=${limit}${cursor ? `&cursor=${enc(cursor)}` : ''}`),

  /** Trades an API key for the HttpOnly session cookie (needed by EventSource, which cannot send headers). */
  startSession: (key) => request('POST', '/v1/session', undefined, { Authorization: `Bearer ${key}` }),

  eventsUrl(id, afterStep) {
    const after = afterStep >= 0 ? `&after=${afterStep}` : '';
    return `/v1/runs/${enc(id)}/events?batch=${STREAM_BATCH}${after}`;
  },
  jsonUrl: (id) => `/v1/runs/${enc(id)}`,
  csvUrl: (id) => `/v1/runs/${enc(id)}?format=csv`,
};
