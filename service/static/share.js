import { api } from './api.js';
import { t } from './i18n.js';

// The URL hash holds the whole view: `#spec=<JSON>&runs=id1,id2&hidden=id2&log=loss&zoom=<JSON>&step=3&view=sweep
// &sweep=<JSON axes>`. Opening such a link fills the form, re-opens the runs, hides the hidden ones, and restores
// the scales, the zoom, the step and the open view; the share button copies it. A link longer than SHORT_OVER
// characters (many runs, a sweep's axes) is shared short instead: the view, as `readHash` reads it, is saved with
// POST /v1/views and the link is `/v/<id>`, which the server sends on to `/#v=<id>`; opening that fetches the view
// and puts its whole hash in place of the id (`openShortLink`), so that the page opens it as any other link.

/** Links longer than this (characters of the whole URL) are shared as short links. */
export const SHORT_OVER = 1500;
const SHORT = /^#v=([0-9A-Za-z]{11})$/;

const ID = /^[A-Za-z0-9_-]{1,100}$/;

function parseJson(value, check) {
  try {
    const parsed = JSON.parse(value);
    return check(parsed) ? parsed : null;
  } catch {
    return null; // a damaged link: that part is ignored
  }
}

const isObject = (v) => !!v && typeof v === 'object' && !Array.isArray(v);

export function readHash(hash = window.location.hash) {
  /** @type {{spec: object | null, runs: string[], hidden: string[], log: string[], zoom: any, step: number | null, view: string | null, sweep: any[] | null}} */
  const out = { spec: null, runs: [], hidden: [], log: [], zoom: null, step: null, view: null, sweep: null };
  const text = hash.replace(/^#/, '');
  if (!text) return out;
  for (const part of text.split('&')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq);
    let value;
    try {
      value = decodeURIComponent(part.slice(eq + 1));
    } catch {
      continue;
    }
    const ids = () => value.split(',').map((id) => id.trim()).filter((id) => ID.test(id));
    if (key === 'spec') out.spec = parseJson(value, isObject);
    else if (key === 'runs') out.runs = ids();
    else if (key === 'hidden') out.hidden = ids();
    else if (key === 'log') out.log = value.split(',').filter((name) => /^[a-z]{1,10}$/.test(name));
    else if (key === 'zoom') out.zoom = parseJson(value, isObject);
    else if (key === 'step' && /^\d{1,10}$/.test(value)) out.step = Number(value);
    else if (key === 'view' && (value === 'sweep' || value === 'finder')) out.view = value;
    else if (key === 'sweep') out.sweep = parseJson(value, Array.isArray);
  }
  return out;
}

export function hashFor(state) {
  const { spec = null, runs = [], hidden = [], log = [], zoom = null, step = null, view = null, sweep = null } = state;
  const parts = [];
  if (spec) parts.push(`spec=${encodeURIComponent(JSON.stringify(spec))}`);
  if (runs.length) parts.push(`runs=${runs.map(encodeURIComponent).join(',')}`);
  if (hidden.length) parts.push(`hidden=${hidden.map(encodeURIComponent).join(',')}`);
  if (log.length) parts.push(`log=${log.join(',')}`);
  if (zoom && Object.keys(zoom).length) parts.push(`zoom=${encodeURIComponent(JSON.stringify(zoom))}`);
  if (step !== null && step !== undefined) parts.push(`step=${step}`);
  if (view) parts.push(`view=${view}`);
  if (view === 'sweep' && sweep) parts.push(`sweep=${encodeURIComponent(JSON.stringify(sweep))}`);
  return `#${parts.join('&')}`;
}

/** Replaces the hash without a history entry (and without a hashchange event). */
export function writeHash(state) {
  const hash = hashFor(state);
  if (hash !== window.location.hash) window.history.replaceState(null, '', hash);
}

/**
 * Copies a link to the current view and shows it: the URL itself, or (when it is longer than SHORT_OVER, or `short`
 * is asked for) a short link to the view saved on the server. Falls back to selecting the text when the clipboard
 * is not allowed, and to the full URL when the view cannot be saved (the full link still opens the whole view).
 * @param {HTMLAnchorElement} output
 * @param {HTMLElement} status
 * @param {{short?: boolean}} [options]
 */
export async function shareCurrent(output, status, { short = false } = {}) {
  let url = window.location.href;
  let note = '';
  if (short || url.length > SHORT_OVER) {
    status.textContent = t('share.saving');
    try {
      const saved = await api.saveView(readHash());
      url = new URL(saved.url, window.location.origin).href;
    } catch (err) {
      note = t('share.saveFailed', { reason: err.message });
    }
  }
  output.textContent = url;
  output.href = url;
  output.hidden = false;
  output.dataset.short = String(url !== window.location.href);
  try {
    if (!navigator.clipboard) throw new Error('no clipboard');
    await navigator.clipboard.writeText(url);
    status.textContent = [note, t('share.copied')].filter(Boolean).join(' ');
  } catch {
    const range = document.createRange();
    range.selectNodeContents(output);
    const selection = window.getSelection();
    selection?.removeAllRanges();
    selection?.addRange(range);
    status.textContent = [note, t('share.selected')].filter(Boolean).join(' ');
  }
}

/**
 * A short link (`#v=<id>`): fetches the saved view and puts its whole hash in the URL in place of the id (no
 * history entry), so that reading the hash then opens the whole view. Anything else is left as it is. A view the
 * server does not have (or cannot give) is reported through `notify`, and the hash is left empty.
 * @param {(text: string) => void} notify
 */
export async function openShortLink(notify) {
  const match = SHORT.exec(window.location.hash);
  if (!match) return;
  const id = match[1];
  notify(t('share.opening'));
  try {
    const view = await api.getView(id);
    window.history.replaceState(null, '', hashFor(readHash(hashFor(view.state))));
    notify('');
  } catch (err) {
    window.history.replaceState(null, '', '#');
    notify(err && err.status === 404 ? t('share.viewMissing', { id }) : t('share.viewFailed', { id, reason: err.message }));
  }
}
