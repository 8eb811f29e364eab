// The HTTP API of the service, as the dashboard uses it (same origin; see /docs and /openapi.json).

import { language } from './i18n.js';

// The API's types, generated from openapi/openapi.json (`make types`); `make check` checks the modules against them.
/** @typedef {import('./types/api').components['schemas']} Schemas */
/** @typedef {Schemas['Catalog']} Catalog */
/** @typedef {Schemas['RunSpec']} RunSpec */
/** @typedef {Schemas['RunInfo']} RunInfo */
/** @typedef {Schemas['Run']} RunDocument */
/** @typedef {Schemas['RunPage']} RunPage */
/** @typedef {Schemas['Summary']} Summary */
/** @typedef {Schemas['Trace']} Trace */
/** @typedef {Schemas['Problem']} Problem */
/** @typedef {Schemas['ErrorItem']} ErrorItem */
/** @typedef {Schemas['StepEvent']} StepEvent */
/** @typedef {Schemas['EndEvent']} EndEvent */

/** A non-2xx answer: `problem` is the RFC 9457 body (or a stand-in when the body was not JSON). */
export class ApiError extends Error {
  /**
   * @param {number} status  the HTTP status (0: no answer)
   * @param {Partial<Problem>} problem
   * @param {number | null} retryAfter  seconds, from `Retry-After`
   */
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

/**
 * @param {string} method
 * @param {string} url
 * @param {unknown} [body]  sent as JSON
 * @param {Record<string, string>} [headers]
 * @returns {Promise<any>} the JSON answer (null for 204)
 */
async function request(method, url, body, headers = {}) {
  /** @type {RequestInit & {headers: Record<string, string>}} */
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
  /** @returns {Promise<Catalog>} */
  catalog: () => request('GET', '/v1/catalog'),

  /**
   * Starts a run in the background (202 with the queued RunInfo). A full pool (429) is retried a few times.
   * @param {RunSpec} spec
   * @returns {Promise<RunInfo>}
   */
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

  /** @type {(id: string) => Promise<RunDocument>} */
  getRun: (id) => request('GET', `/v1/runs/${enc(id)}`),
  /** @type {(id: string) => Promise<RunDocument>} the summary only (two trace rows): its explanation in the page's language */
  getSummary: (id) => request('GET', `/v1/runs/${enc(id)}?max_points=2`),
  /** @type {(spec: Schemas['LandscapeSpec']) => Promise<Schemas['Landscape']>} */
  landscape: (spec) => request('POST', '/v1/landscape', spec),
  /** @type {(spec: Schemas['LRFinderSpec']) => Promise<Schemas['LRFinderResult']>} */
  lrFinder: (spec) => request('POST', '/v1/lr-finder', spec),
  /** @type {(spec: Schemas['SweepSpec']) => Promise<Schemas['Sweep']>} a sweep, computed before the answer (201) */
  sweep: (spec) => request('POST', '/v1/sweeps', spec),
  /** @type {(id: string) => Promise<RunInfo | null>} the cancelled run (202), or null once deleted (204) */
  cancelRun: (id) => request('DELETE', `/v1/runs/${enc(id)}`),
  /** @type {(cursor: string | null, limit?: number) => Promise<RunPage>} */
  listRuns: (cursor, limit = 20) =>
    request('GET', `/v1/runs?limit=${limit}${cursor ? `&cursor=${enc(cursor)}` : ''}`),

  /** @type {(state: Record<string, unknown>) => Promise<Schemas['SavedView']>} a view saved under a short id (201, or 200 when saved before) */
  saveView: (state) => request('POST', '/v1/views', { state }),
  /** @type {(id: string) => Promise<Schemas['View']>} */
  getView: (id) => request('GET', `/v1/views/${enc(id)}`),

  /**
   * Trades an API key for the HttpOnly session cookie (needed by EventSource, which cannot send headers).
   * @type {(key: string) => Promise<unknown>}
   */
  startSession: (key) => request('POST', '/v1/session', undefined, { Authorization: `Bearer ${key}` }),

  /**
   * @param {string} id
   * @param {number} afterStep  the last step already received (-1: none)
   */
  eventsUrl(id, afterStep) {
    const after = afterStep >= 0 ? `&after=${afterStep}` : '';
    return `/v1/runs/${enc(id)}/events?batch=${STREAM_BATCH}${after}`;
  },
  /** @type {(id: string) => string} */
  jsonUrl: (id) => `/v1/runs/${enc(id)}`,
  /** @type {(id: string) => string} */
  csvUrl: (id) => `/v1/runs/${enc(id)}?format=csv`,
};
