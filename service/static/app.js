// The dashboard's entry point: loads the catalogue, builds the form, and wires presets, runs, charts, history and
// the shareable URL together. Drawing is batched: at most one redraw per animation frame, further apart when a
// redraw gets expensive (long runs), so the page stays responsive while rows stream in.

import { api, ApiError } from './api.js';
import { Charts, LOG_CHARTS } from './charts.js';
import { ContourChart } from './contour.js';
import { el } from './dom.js';
import { download } from './export.js';
import { RunForm } from './form.js';
import { History } from './history.js';
import { LANGUAGES, language, setLanguage, t, translatePage } from './i18n.js';
import { CompareTable } from './compare.js';
import { FinderView } from './finder.js';
import { Landscapes } from './landscape.js';
import { Stepper } from './stepper.js';
import { SweepView } from './sweep.js';
import { PRESETS } from './presets.js';
import { Board } from './runs.js';
import { openShortLink, readHash, shareCurrent, writeHash } from './share.js';
import { chapterTable } from './why.js';

const $ = (selector) => document.querySelector(selector);

translatePage();
document.title = t('page.title');
{
  const select = $('[data-testid="language"]');
  for (const { code, label } of LANGUAGES) select.append(el('option', { value: code, text: label, lang: code }));
  select.value = language();
  select.addEventListener('change', () => {
    setLanguage(select.value);
    window.location.reload(); // the URL keeps the view: the runs come back in the other language
  });
}

let form = null;
let restoring = false;
let resolveReady;
const ready = new Promise((resolve) => (resolveReady = resolve));

// ---------------------------------------------------------------------------------------------------------------
// Frames

let framePending = false;
let lastFrame = 0;
let frameCost = 0;
let stale = false; // something changed since the charts' current round of redraws began

function requestFrame() {
  if (framePending) return;
  framePending = true;
  requestAnimationFrame(frame);
}

function scheduleFrame() {
  stale = true;
  requestFrame();
}

// A frame redraws charts for about 8 ms and leaves the rest of the round to the next frames: no task draws all six
// at once (the last frame of a 1M-row run did: 23 ms of CPU). A change during a round (a landscape arriving, new
// rows) starts another round when this one ends, so every chart is drawn after the change and none waits forever.
function frame(now) {
  const wait = Math.min(750, frameCost * 3);
  if (now - lastFrame < wait) {
    setTimeout(() => requestAnimationFrame(frame), wait - (now - lastFrame));
    return;
  }
  framePending = false;
  const start = performance.now();
  board.renderCards();
  stepper.refresh();
  if (!charts.midRound()) stale = false; // a new round draws everything as it is now
  const left = charts.update(board.visibleRuns(), 8);
  frameCost = performance.now() - start;
  lastFrame = performance.now();
  if (left || stale) requestFrame();
}

// ---------------------------------------------------------------------------------------------------------------
// Runs

const compare = new CompareTable($('[data-testid="compare"]'));
const landscapes = new Landscapes(() => scheduleFrame());
const charts = new Charts(document, new ContourChart($('[data-testid="chart-contour"]'), landscapes), landscapes);
const notice = $('.notice');
const board = new Board($('.run-cards'), {
  changed: structureChanged,
  data: scheduleFrame,
  ended: (run) => {
    historyPanel.upsert({ id: run.id, name: run.spec && run.spec.name, status: run.status, spec: run.spec, summary: run.summary, created_at: run.createdAt });
    scheduleFrame();
  },
  notice: showNotice,
  table: showTable,
});
const stepper = new Stepper($('[data-testid="stepper"]'), {
  runs: () => board.visibleRuns(),
  changed: (step) => {
    charts.setStep(step);
    scheduleFrame();
    formChanged();
  },
});
const historyPanel = new History($('[data-testid="history"]'), { open: openRun });

/** The run's rows as the chapter prints them, with the step offset explained, and a copy button. */
function showTable(run, button) {
  const panel = $('[data-testid="run-table"]');
  if (!panel.hidden && panel.dataset.runId === run.id) {
    panel.hidden = true;
    button.setAttribute('aria-expanded', 'false');
    return;
  }
  for (const other of document.querySelectorAll('[data-testid="show-table"]')) other.setAttribute('aria-expanded', 'false');
  const limit = 2000;
  const lines = chapterTable(run, limit);
  const text = lines.join('\n');
  const status = el('span', { class: 'muted small', role: 'status' });
  const copy = el('button', { type: 'button', class: 'small-button', dataTestid: 'table-copy', text: t('table.copy') });
  const close = el('button', { type: 'button', class: 'small-button', text: t('table.close') });
  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(text);
      status.textContent = t('table.copied');
    } catch {
      const range = document.createRange();
      range.selectNodeContents(pre);
      window.getSelection()?.removeAllRanges();
      window.getSelection()?.addRange(range);
      status.textContent = t('share.selected');
    }
  });
  close.addEventListener('click', () => {
    panel.hidden = true;
    button.setAttribute('aria-expanded', 'false');
  });
  const pre = el('pre', { dataTestid: 'table-text', tabIndex: 0, text });
  const cut = run.points - 1 > limit ? el('p', { class: 'muted', text: t('table.cut', { n: limit, total: run.points - 1 }) }) : null;
  panel.replaceChildren(
    el('div', { class: 'panel-head' }, el('h2', { text: t('table.title', { run: run.label }) }), el('span', { class: 'table-actions' }, status, copy, close)),
    el('p', { class: 'muted', dataTestid: 'table-offset', text: t('table.offset') }),
    pre,
    ...(cut ? [cut] : []),
  );
  panel.dataset.runId = run.id;
  panel.hidden = false;
  button.setAttribute('aria-expanded', 'true');
  panel.scrollIntoView({ block: 'nearest' });
}

function showNotice(text) {
  notice.textContent = text;
  notice.hidden = !text;
}

// The legend (the run cards) turns compact past four runs, so the charts stay on the first screen; the button
// switches it, and the choice then sticks.
let legendChoice = null;
function applyLegend() {
  const compact = legendChoice ?? board.runs.length > 4;
  $('.run-cards').classList.toggle('is-compact', compact);
  const toggle = $('[data-testid="legend-toggle"]');
  toggle.hidden = board.runs.length < 2;
  toggle.setAttribute('aria-pressed', String(compact));
}
$('[data-testid="legend-toggle"]').addEventListener('click', () => {
  legendChoice = !$('.run-cards').classList.contains('is-compact');
  applyLegend();
});

function structureChanged() {
  applyLegend();
  compare.render(board.runs);
  $('.empty-runs').hidden = board.runs.length > 0;
  $('[data-testid="clear-runs"]').disabled = board.runs.length === 0;
  saveHash();
  scheduleFrame();
}

/** The whole view, for the URL: the form, the runs (and which are hidden), the scales, zooms, step and open view. */
function viewState() {
  const zoom = {};
  if (charts.curve.zoom) zoom.curve = charts.curve.zoom;
  if (charts.contour.zoom) zoom.contour = charts.contour.zoom;
  const sweepOpen = !$('[data-testid="sweep-view"]').hidden && sweepView.request;
  const finderOpen = !$('[data-testid="finder-view"]').hidden;
  return {
    spec: form.read().spec,
    runs: board.ids(),
    hidden: board.runs.filter((run) => !run.visible).map((run) => run.id),
    log: charts.logged(),
    zoom,
    step: stepper.step,
    view: sweepOpen ? 'sweep' : finderOpen ? 'finder' : null,
    sweep: sweepOpen ? sweepView.request.axes : null,
  };
}

function saveHash() {
  if (!form || restoring) return;
  writeHash(viewState());
}

/** Starts the runs (one POST each, together); a problem goes next to the form's fields. Returns the runs. */
async function startRuns(specs) {
  const results = await board.start(specs);
  const runs = [];
  for (const [i, { run, error }] of results.entries()) {
    if (run) {
      run.createdAt = new Date().toISOString();
      historyPanel.upsert({ id: run.id, name: specs[i].name, status: run.status, spec: run.spec, summary: null, created_at: run.createdAt });
      runs.push(run);
    } else if (error instanceof ApiError && error.errors.length) form.showProblem(error);
    else form.showGeneral(error.message);
  }
  return runs;
}

async function openRun(id) {
  try {
    await board.open(id);
    showNotice('');
    revealCharts();
  } catch (err) {
    showNotice(err instanceof ApiError && err.status === 404 ? t('runs.gone', { id }) : t('runs.openFailed', { id, reason: err.message }));
  }
}

/** On a narrow screen the charts are below the form: bring them into view when a run starts. */
function revealCharts() {
  if (window.matchMedia('(max-width: 899px)').matches) {
    const results = $('#charts');
    const box = $('.run-cards').getBoundingClientRect();
    if (box.top > window.innerHeight || box.bottom < 0) results.scrollIntoView({ block: 'start' });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Presets, buttons

// ---------------------------------------------------------------------------------------------------------------
// Sweeps and the LR finder

const sweepView = new SweepView($('[data-testid="sweep-view"]'), {
  changed: () => saveHash(),
  startRun: async (spec) => {
    form.write(spec);
    const started = await startRuns([spec]);
    saveHash();
    if (started.length) revealCharts();
  },
});
const finderView = new FinderView($('[data-testid="finder-view"]'), {
  changed: () => saveHash(),
  runAt: async (lr, name) => {
    const { spec } = form.read();
    const run = { ...spec, schedule: { kind: 'constant', learning_rate: lr }, name: t('finder.runName', { name, lr: Number(lr.toPrecision(4)) }) };
    form.write(run);
    const started = await startRuns([run]);
    saveHash();
    if (started.length) revealCharts();
  },
});

function sweepField() {
  const { spec, errors } = form.read();
  if (errors.length) return form.focusFirst(form.showErrors(errors.map((e) => ({ loc: e.path.split('.'), msg: e.msg }))));
  form.clearErrors();
  sweepView.prepare(spec, form.lastNumeric, form.numericPaths());
}

function lrFinder() {
  const { spec, errors } = form.read();
  if (errors.length) return form.focusFirst(form.showErrors(errors.map((e) => ({ loc: e.path.split('.'), msg: e.msg }))));
  form.clearErrors();
  finderView.run(spec);
}

for (const preset of PRESETS) {
  const button = el('button', { type: 'button', class: `preset${preset.sweep ? ' preset-sweep' : ''}`, dataTestid: `preset-${preset.id}`, title: t(`preset.${preset.id}.title`), text: t(`preset.${preset.id}`) });
  button.addEventListener('click', async () => {
    await ready;
    if (preset.sweep) {
      form.write(preset.sweep.base);
      form.clearErrors();
      sweepView.prepare(preset.sweep.base, preset.sweep.axes[0].path, form.numericPaths());
      await sweepView.run(preset.sweep);
      return;
    }
    const { name: _name, ...spec } = preset.runs[preset.runs.length - 1];
    form.write(spec);
    form.clearErrors();
    // a one-run preset's run is named as its button, in the page's language
    const runs = preset.runs.length === 1 ? [{ ...preset.runs[0], name: t(`preset.${preset.id}`) }] : preset.runs;
    const started = await startRuns(runs);
    saveHash();
    if (started.length) revealCharts();
  });
  $(`.preset-buttons[data-group="${preset.group}"]`).append(button);
}

$('[data-testid="clear-runs"]').addEventListener('click', () => {
  board.clear();
  showNotice('');
});
$('[data-testid="share-link"]').addEventListener('click', () => {
  saveHash();
  shareCurrent($('[data-testid="share-url"]'), $('.share-status'));
});
$('[data-testid="share-short"]').addEventListener('click', () => {
  saveHash();
  shareCurrent($('[data-testid="share-url"]'), $('.share-status'), { short: true });
});
// A log-scale box on every chart with a scale to switch (the loss chart's is in the page; the others are added
// here); w's is an asinh ("symmetric log") scale, since w is signed.
for (const name of LOG_CHARTS) {
  if (name === 'loss') continue;
  const box = el('input', { type: 'checkbox', dataTestid: `${name}-log` });
  const label = el('label', { class: 'check', title: name === 'w' ? t('chart.symlogTitle') : '' }, box, ` ${t(name === 'w' ? 'chart.symlog' : 'chart.log')}`);
  const head = document.querySelector(`[data-testid="chart-${name}"] .chart-head`);
  head?.insertBefore(label, head.children[1] || null);
}
for (const name of LOG_CHARTS) {
  $(`[data-testid="${name}-log"]`).addEventListener('change', (/** @type {any} */ event) => {
    charts.setLog(name, event.target.checked);
    scheduleFrame();
    saveHash();
  });
}

// Export: PNG from each chart's canvas (uPlot draws its axes and labels on it too), and for the uPlot charts an SVG
// rebuilt from the chart's data and scales (export.js).
for (const figure of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('figure.chart'))) {
  const name = (figure.dataset.testid || '').replace('chart-', '');
  const png = el('button', { type: 'button', class: 'small-button', dataTestid: `png-${name}`, text: t('chart.png'), ariaLabel: t('chart.pngAria') });
  png.addEventListener('click', () => {
    const canvas = figure.querySelector('canvas');
    if (canvas) download(`descent-${name}.png`, canvas.toDataURL('image/png'), 'image/png');
  });
  const place = figure.querySelector('.chart-actions') || figure.querySelector('.chart-head');
  place?.append(png);
  const chart = /** @type {Record<string, any>} */ (charts)[name];
  if (!chart || typeof chart.toSvg !== 'function') continue;
  const svg = el('button', { type: 'button', class: 'small-button', dataTestid: `svg-${name}`, text: t('chart.svg'), ariaLabel: t('chart.svgAria') });
  svg.addEventListener('click', () => {
    const text = chart.toSvg(figure.querySelector('.chart-title')?.textContent || name);
    if (text) download(`descent-${name}.svg`, text, 'image/svg+xml');
  });
  place?.append(svg);
}

// The rate slider: it re-runs as it moves (debounced), replacing its previous run on the charts.
let slideTimer = 0;
let slideRun = null;
function slid() {
  clearTimeout(slideTimer);
  slideTimer = setTimeout(async () => {
    const { spec, errors } = form.read();
    if (errors.length) return;
    if (slideRun) board.remove(slideRun);
    const [run] = await startRuns([spec]);
    slideRun = run ? run.id : null;
    saveHash();
  }, 300);
}

let hashTimer = 0;
function formChanged() {
  clearTimeout(hashTimer);
  hashTimer = setTimeout(saveHash, 250);
}

let submitting = false;

/** Run: the button is marked busy, never disabled (disabling it would drop the focus to the page's top). */
async function submit(spec) {
  if (submitting) return;
  submitting = true;
  const button = $('[data-testid="run-submit"]');
  button.setAttribute('aria-busy', 'true');
  try {
    const [run] = await startRuns([spec]);
    if (run) {
      form.clearErrors();
      revealCharts();
    }
  } finally {
    submitting = false;
    button.removeAttribute('aria-busy');
  }
}

const isBox = (z) => !!z && ['x0', 'x1', 'y0', 'y1'].every((k) => Number.isFinite(z[k])) && z.x1 > z.x0 && z.y1 > z.y0;
const isRange = (z) => Array.isArray(z) && z.length === 2 && z.every(Number.isFinite) && z[1] > z[0];

/**
 * Applies the hash: fills the form, keeps the listed runs and opens the missing ones in order, then hides the
 * hidden ones and restores the scales, zooms, step and open view. On a phone, a link with runs opens on them. A
 * short link is first replaced by the whole hash of the view it names (share.js).
 */
async function applyHash() {
  await openShortLink(showNotice); // a short link (#v=<id>) becomes the saved view's whole hash first
  const { spec, runs, hidden, log, zoom, step, view, sweep } = readHash();
  restoring = true;
  try {
    if (spec && !form.write(spec)) form.showGeneral(t('form.unknownKind'));
    for (const run of [...board.runs]) if (runs.length && !runs.includes(run.id)) board.remove(run.id);
    /** @type {string[]} */
    const missing = [];
    // every run is asked for at once (the stream worker reads and parses them side by side), then added in order
    const loads = new Map(runs.filter((id) => !board.get(id)).map((id) => [id, board.load(id)]));
    for (const loading of loads.values()) loading.catch(() => {}); // each refusal is reported below, in order
    for (const id of runs) {
      try {
        await board.open(id, loads.get(id));
      } catch (err) {
        missing.push(id);
        if (!(err instanceof ApiError && err.status === 404)) showNotice(t('runs.openFailed', { id, reason: err.message }));
      }
    }
    if (missing.length) showNotice(t(missing.length === 1 ? 'runs.missingOne' : 'runs.missingMany', { count: missing.length, ids: missing.join(', ') }));
    for (const id of hidden) if (board.get(id) && board.get(id).visible) board.toggle(id);
    for (const name of LOG_CHARTS) {
      $(`[data-testid="${name}-log"]`).checked = log.includes(name);
      charts.setLog(name, log.includes(name));
    }
    charts.curve.zoom = zoom && isRange(zoom.curve) ? zoom.curve : null;
    charts.contour.zoom = zoom && isBox(zoom.contour) ? zoom.contour : null;
    if (step !== null && board.runs.length) stepper.go(step);
    if (view === 'sweep' && sweep && spec) sweepView.run({ base: form.read().spec, axes: sweep });
    else if (view === 'finder' && spec) finderView.run(form.read().spec);
    scheduleFrame();
    if (runs.length && window.matchMedia('(max-width: 899px)').matches) $('#charts').scrollIntoView({ block: 'start' });
  } finally {
    restoring = false;
    saveHash();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Start

async function loadCatalog() {
  try {
    return await api.catalog();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      askForKey();
      return null;
    }
    $('[data-testid="run-form"]').replaceChildren(el('p', { class: 'form-error', dataTestid: 'form-error', role: 'alert', text: t('form.catalogueFailed', { reason: err.message }) }));
    return null;
  }
}

/** Only when the server asks for an API key (401): a small sign-in form (POST /v1/session sets a cookie). */
function askForKey() {
  const panel = $('#auth');
  const input = el('input', { id: 'api-key', type: 'password', autocomplete: 'current-password' });
  const message = el('p', { class: 'auth-error form-error', role: 'alert', hidden: true });
  const user = el('input', { type: 'text', autocomplete: 'username', value: 'api-key', hidden: true, ariaHidden: 'true', tabIndex: -1 });
  const authForm = el('form', { class: 'auth-form' }, user, el('label', { for: 'api-key', text: t('auth.key') }), input, el('button', { type: 'submit', class: 'primary', text: t('auth.signIn') }), message);
  panel.replaceChildren(el('h2', { id: 'auth-title', text: t('auth.title') }), authForm);
  panel.hidden = false;
  $('[data-testid="run-form"]').replaceChildren(el('p', { class: 'muted', text: t('auth.hint') }));
  authForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      await api.startSession(input.value.trim());
      window.location.reload();
    } catch (err) {
      message.textContent = err.message;
      message.hidden = false;
    }
  });
  input.focus();
}

async function main() {
  structureChanged();
  const catalog = await loadCatalog();
  if (!catalog) return;
  form = new RunForm($('[data-testid="run-form"]'), catalog, { onSubmit: submit, onChange: formChanged, onSlide: slid });
  charts.curve.onZoom = saveHash;
  charts.contour.onZoom = saveHash;
  form.sweepButton.addEventListener('click', sweepField);
  form.finderButton.addEventListener('click', lrFinder);
  resolveReady();
  window.addEventListener('hashchange', applyHash);
  historyPanel.refresh();
  await applyHash();
}

main();
