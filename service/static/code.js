// The run as code: a panel with one tab per library (TF1, Keras, PyTorch, Optax) showing the program that
// GET /v1/runs/{id}/code?library=... writes, with a copy button. Opened from a run card's "Code" button.
import { el } from './dom.js';
import { t } from './i18n.js';
import { problemText } from './problems.js';

export const CODE_LIBRARIES = [
  ['tf1', 'TF1'],
  ['keras', 'Keras'],
  ['torch', 'PyTorch'],
  ['optax', 'Optax'],
];

export const codeUrl = (id, library) => `/v1/runs/${encodeURIComponent(id)}/code?library=${library}`;

let panel = null;

/** The program's text, or an Error carrying the problem's message (a kind without counterpart is a 422). */
async function fetchCode(id, library) {
  let response;
  try {
    response = await fetch(codeUrl(id, library), { headers: { Accept: 'text/x-python, application/problem+json' } });
  } catch (err) {
    throw new Error(t('code.noAnswer', { reason: err.message }));
  }
  if (response.ok) return response.text();
  const problem = await response.json().catch(() => ({}));
  const first = Array.isArray(problem.errors) && problem.errors[0];
  throw new Error(first && first.msg ? problemText(first.loc || [], first.msg, first.type) : problem.detail || `HTTP ${response.status}`);
}

/** Copies text to the clipboard (the Clipboard API where allowed, else a selected textarea). */
async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const area = el('textarea', { value: text, readOnly: true });
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.append(area);
  area.select();
  const ok = document.execCommand('copy');
  area.remove();
  if (!ok) throw new Error(t('code.refusedCopy'));
}

function build() {
  const title = el('h2', { id: 'code-title', text: t('code.title') });
  const close = el('button', { type: 'button', class: 'small-button', dataTestid: 'code-close', text: t('code.close') });
  const copy = el('button', { type: 'button', class: 'small-button', dataTestid: 'code-copy', text: t('code.copy') });
  const status = el('span', { class: 'muted small', role: 'status', dataTestid: 'code-status' });
  const tabs = el('div', { class: 'code-tabs', role: 'tablist', ariaLabel: t('code.library') });
  const code = el('code', { dataTestid: 'code-text' });
  const body = el('pre', { class: 'code-body', role: 'tabpanel', tabIndex: 0, id: 'code-panel-body' }, code);
  const root = el(
    'section',
    { class: 'panel code-panel', dataTestid: 'code-panel', ariaLabelledby: 'code-title', hidden: true },
    el('div', { class: 'panel-head' }, title, el('span', {}, copy, close)),
    tabs,
    status,
    body,
  );
  const state = { root, title, tabs, code, status, copy, runId: null, label: '', library: 'tf1', text: '' };
  for (const [library, name] of CODE_LIBRARIES) {
    const tab = el('button', { type: 'button', role: 'tab', class: 'code-tab', dataLibrary: library, ariaControls: 'code-panel-body', text: name });
    tab.addEventListener('click', () => show(state.runId, state.label, library));
    tabs.append(tab);
  }
  tabs.addEventListener('keydown', (event) => {
    if (event.key !== 'ArrowRight' && event.key !== 'ArrowLeft') return;
    const order = CODE_LIBRARIES.map(([library]) => library);
    const next = (order.indexOf(state.library) + (event.key === 'ArrowRight' ? 1 : order.length - 1)) % order.length;
    show(state.runId, state.label, order[next]).then(() => tabs.querySelector(`[data-library="${order[next]}"]`).focus());
  });
  close.addEventListener('click', () => { root.hidden = true; });
  copy.addEventListener('click', async () => {
    try {
      await copyText(state.text);
      status.textContent = t('code.copied');
    } catch (err) {
      status.textContent = t('code.copyFailed', { reason: err.message });
    }
  });
  const results = document.getElementById('charts');
  (results || document.body).append(root);
  return state;
}

/** Opens the panel on a run's program in `library` (the last library chosen by default). */
export async function show(runId, label, library = panel ? panel.library : 'tf1') {
  panel = panel || build();
  Object.assign(panel, { runId, label, library, text: '' });
  panel.root.hidden = false;
  panel.title.textContent = t('code.titleFor', { run: label });
  for (const tab of panel.tabs.children) tab.setAttribute('aria-selected', String(tab.dataset.library === library));
  panel.code.textContent = '';
  panel.copy.disabled = true;
  panel.status.textContent = t('code.loading');
  try {
    const text = await fetchCode(runId, library);
    if (panel.runId !== runId || panel.library !== library) return; // another tab was chosen meanwhile
    panel.text = text;
    panel.code.textContent = text;
    panel.copy.disabled = false;
    panel.status.textContent = t('code.ready');
  } catch (err) {
    if (panel.runId !== runId || panel.library !== library) return;
    panel.status.textContent = err.message;
  }
  panel.root.scrollIntoView({ block: 'nearest' });
}

/** The "Code" button of a run card. */
export function codeButton(runId, label) {
  const button = el('button', { type: 'button', class: 'small-button', dataTestid: 'show-code', ariaLabel: t('code.buttonAria', { run: label }), text: t('code.button') });
  button.addEventListener('click', () => show(runId, label));
  return button;
}
