import { t } from './i18n.js';

// The URL hash holds the experiment: `#spec=<url-encoded JSON>&runs=id1,id2`. Opening such a link fills the form
// and re-opens the runs; the share button copies it.

export function readHash(hash = window.location.hash) {
  const out = { spec: null, runs: [] };
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
    if (key === 'spec') {
      try {
        const spec = JSON.parse(value);
        if (spec && typeof spec === 'object' && !Array.isArray(spec)) out.spec = spec;
      } catch {
        /* a damaged link: ignore the spec */
      }
    } else if (key === 'runs') {
      out.runs = value.split(',').map((id) => id.trim()).filter((id) => /^[A-Za-z0-9_-]{1,100}$/.test(id));
    }
  }
  return out;
}

export function hashFor(spec, runIds) {
  let hash = `#spec=${encodeURIComponent(JSON.stringify(spec))}`;
  if (runIds.length) hash += `&runs=${runIds.map(encodeURIComponent).join(',')}`;
  return hash;
}

/** Replaces the hash without a history entry (and without a hashchange event). */
export function writeHash(spec, runIds) {
  const hash = hashFor(spec, runIds);
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
    selection.removeAllRanges();
    selection.addRange(range);
    status.textContent = t('share.selected');
  }
}
