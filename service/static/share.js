import { t } from './i18n.js';

// The URL hash holds the whole view: `#spec=<JSON>&runs=id1,id2&hidden=id2&log=loss&zoom=<JSON>&step=3&view=sweep
// &sweep=<JSON axes>`. Opening such a link fills the form, re-opens the runs, hides the hidden ones, and restores
// the scales, the zoom, the step and the open view; the share button copies it.

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
  const { spec, runs = [], hidden = [], log = [], zoom = null, step = null, view = null, sweep = null } = state;
  let hash = `#spec=${encodeURIComponent(JSON.stringify(spec))}`;
  if (runs.length) hash += `&runs=${runs.map(encodeURIComponent).join(',')}`;
  if (hidden.length) hash += `&hidden=${hidden.map(encodeURIComponent).join(',')}`;
  if (log.length) hash += `&log=${log.join(',')}`;
  if (zoom && Object.keys(zoom).length) hash += `&zoom=${encodeURIComponent(JSON.stringify(zoom))}`;
  if (step !== null && step !== undefined) hash += `&step=${step}`;
  if (view) hash += `&view=${view}`;
  if (view === 'sweep' && sweep) hash += `&sweep=${encodeURIComponent(JSON.stringify(sweep))}`;
  return hash;
}

/** Replaces the hash without a history entry (and without a hashchange event). */
export function writeHash(state) {
  const hash = hashFor(state);
  if (hash !== window.location.hash) window.history.replaceState(null, '', hash);
}

/** Copies the current URL and shows it; falls back to selecting the text when the clipboard is not allowed. */
export async function shareCurrent(output, status) {
  const url = window.location.href;
  output.textContent = url;
  output.href = url;
  output.hidden = false;
  try {
    if (!navigator.clipboard) throw new Error('no clipboard');
    await navigator.clipboard.writeText(url);
    status.textContent = t('share.copied');
  } catch {
    const range = document.createRange();
    range.selectNodeContents(output);
    const selection = window.getSelection();
    selection?.removeAllRanges();
    selection?.addRange(range);
    status.textContent = t('share.selected');
  }
}
