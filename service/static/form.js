// The run form, generated from GET /v1/catalog: one select per kind (grouped by library) and one input per
// parameter, chosen from the parameter's JSON schema. Every input's `name` is its path in the run spec.

import { el } from './dom.js';
import { CATALOG_ZH } from './catalog_zh.js';
import { language, t } from './i18n.js';
import { problemText } from './problems.js';
import { attachSchedulePreview } from './schedule_preview.js';

/** @typedef {import('./api.js').Catalog} Catalog */
/** @typedef {import('./api.js').Schemas['CatalogEntry']} CatalogEntry */
/** @typedef {import('./api.js').Schemas['Parameter']} Parameter */

const LIBRARIES = {
  all: 'Any library',
  tf1: 'TensorFlow 1 (tf.compat.v1)',
  keras: 'Keras',
  torch: 'PyTorch',
  optax: 'Optax',
};

const SECTIONS = [
  { key: 'loss', title: 'form.loss', catalog: 'losses', select: 'form.lossSelect' },
  { key: 'schedule', title: 'form.rate', catalog: 'schedules', select: 'form.rateSelect' },
  { key: 'optimizer', title: 'form.optimizer', catalog: 'optimizers', select: 'form.optimizerSelect' },
];

export const DEFAULT_SPEC = {
  loss: { kind: 'quadratic', a: 1, b: 1, c: 0 },
  w0: 5,
  schedule: { kind: 'constant', learning_rate: 0.2 },
  optimizer: { kind: 'sgd' },
  steps: 40,
  dtype: 'float32',
};

let uid = 0;
const idFor = (path) => `f-${path.replace(/[^A-Za-z0-9_-]/g, '-')}-${++uid}`;



// ---------------------------------------------------------------------------------------------------------------
// From JSON schema to a control

/**
 * The schedule parameters that are a learning rate (or a rate the schedule reaches): a negative one would climb the
 * loss, so the form refuses it before the run starts.
 */
export const RATE_PARAMS = new Set([
  'learning_rate', 'initial_learning_rate', 'lr', 'max_lr', 'base_lr', 'value', 'init_value', 'peak_value',
  'end_value', 'end_learning_rate', 'warmup_target', 'eta_min',
]);

/**
 * The step of ArrowUp/ArrowDown on a real-valued field: a tenth of the value's leading digit's place (0.2 → 0.21,
 * 1 → 1.1, 0.0001 → 0.00011), so a rate is nudged, never jumped by 1. Integers step by 1.
 */
export function nudgeStep(value) {
  if (!Number.isFinite(value) || value === 0) return 0.01;
  return 10 ** (Math.floor(Math.log10(Math.abs(value)) + 1e-9) - 1);
}

/** How a parameter is edited: number, integer, bool, enum, string, numlist (comma-separated numbers) or json. */
export function controlFor(schema) {
  let s = schema || {};
  let nullable = false;
  if (Array.isArray(s.anyOf)) {
    const parts = s.anyOf.filter((p) => p.type !== 'null');
    nullable = parts.length < s.anyOf.length;
    if (parts.length === 1) s = parts[0];
    else if (parts.every((p) => p.type === 'number' || p.type === 'integer')) {
      s = { type: parts.some((p) => p.type === 'number') ? 'number' : 'integer' };
    } else if (parts.every((p) => isNumber(p) || (p.type === 'array' && isNumber(p.items)))) {
      return { kind: 'numlist', scalarOk: true, nullable };
    } else return { kind: 'json', nullable, schema };
  }
  if (Array.isArray(s.enum)) return { kind: 'enum', options: s.enum, nullable };
  if (s.type === 'boolean') return { kind: 'bool', nullable };
  if (s.type === 'string') return { kind: 'string', nullable, example: Array.isArray(s.examples) ? s.examples[0] : null };
  if (s.type === 'integer') return { kind: 'number', integer: true, nullable };
  if (s.type === 'number') return { kind: 'number', integer: false, nullable };
  if (s.type === 'array' && isNumber(s.items)) {
    return { kind: 'numlist', integer: s.items.type === 'integer', nullable, size: s.minItems === s.maxItems ? s.minItems : null };
  }
  return { kind: 'json', nullable, schema };
}

const isNumber = (s) => !!s && !s.$ref && !s.oneOf && (s.type === 'number' || s.type === 'integer');

/** A small valid-looking example for a JSON parameter, from its schema's $defs (the placeholder). */
function exampleFor(schema) {
  const items = schema.items || (schema.anyOf || []).map((p) => p.items).find(Boolean);
  const defs = schema.$defs || {};
  if (items) {
    const ref = items.$ref || (items.oneOf && items.oneOf[0] && items.oneOf[0].$ref);
    const def = ref && defs[ref.split('/').pop()];
    if (def && def.properties) {
      const example = {};
      for (const name of def.required || []) {
        const prop = def.properties[name] || {};
        if (prop.const !== undefined) example[name] = prop.const;
        else if (prop.type === 'integer') example[name] = 10;
        else example[name] = 0.1;
      }
      return `e.g. [${JSON.stringify(example)}]`;
    }
  }
  const objectPart = schema.type === 'object' ? schema : (schema.anyOf || []).find((p) => p.type === 'object');
  if (objectPart) return 'e.g. {"10": 0.5, "20": 0.5}';
  return 'JSON';
}

function parseNumbers(raw, ctl) {
  const text = raw.trim();
  if (text === '') return { value: undefined };
  const bracketed = /^\[.*\]$/s.test(text);
  const tokens = text.replace(/^\[|\]$/g, '').split(/[\s,;]+/).filter(Boolean);
  const values = [];
  for (const token of tokens) {
    const n = Number(token);
    if (!Number.isFinite(n)) return { error: t('form.notNumber', { token }) };
    values.push(n);
  }
  if (ctl.scalarOk && values.length === 1 && !bracketed && !/[,;]/.test(text)) return { value: values[0] };
  return { value: values };
}

function readControl(ctl, input) {
  switch (ctl.kind) {
    case 'bool':
      return { value: input.checked };
    case 'enum':
      return { value: input.value === '' ? undefined : input.value };
    case 'number': {
      if (input.validity && input.validity.badInput) return { error: t('form.enterNumber') };
      if (input.value.trim() === '') return { value: undefined };
      const n = Number(input.value);
      return Number.isFinite(n) ? { value: n } : { error: t('form.enterNumber') };
    }
    case 'numlist':
      return parseNumbers(input.value, ctl);
    case 'string':
      return { value: input.value.trim() === '' ? undefined : input.value.trim() };
    default: {
      const text = input.value.trim();
      if (text === '') return { value: undefined };
      try {
        return { value: JSON.parse(text) };
      } catch (err) {
        return { error: t('form.notJson', { reason: err.message }) };
      }
    }
  }
}

function writeControl(ctl, input, value) {
  switch (ctl.kind) {
    case 'bool':
      input.checked = !!value;
      break;
    case 'enum':
      input.value = value === null || value === undefined ? (ctl.nullable ? '' : ctl.options[0]) : String(value);
      break;
    case 'number':
      input.value = typeof value === 'number' ? String(value) : '';
      break;
    case 'numlist':
      input.value = Array.isArray(value) ? value.join(', ') : typeof value === 'number' ? String(value) : '';
      break;
    case 'string':
      input.value = typeof value === 'string' ? value : '';
      break;
    default:
      input.value = value === null || value === undefined ? '' : JSON.stringify(value);
  }
}

function makeInput(ctl, path, param) {
  const common = { name: path, id: idFor(path) };
  if (ctl.kind === 'bool') return el('input', { ...common, type: 'checkbox' });
  if (ctl.kind === 'enum') {
    const select = el('select', common);
    if (ctl.nullable) select.append(el('option', { value: '', text: 'none' }));
    for (const option of ctl.options) select.append(el('option', { value: String(option), text: String(option) }));
    return select;
  }
  if (ctl.kind === 'number') {
    const input = el('input', {
      ...common,
      type: 'number',
      step: ctl.integer ? '1' : 'any',
      inputMode: ctl.integer ? 'numeric' : 'decimal',
      placeholder: ctl.nullable ? 'none' : param && param.required ? 'required' : '',
    });
    if (!ctl.integer) input.addEventListener('keydown', nudge);
    return input;
  }
  if (ctl.kind === 'string') {
    const example = ctl.example ? `e.g. ${ctl.example}` : '';
    return el('input', { ...common, type: 'text', autocomplete: 'off', spellcheck: false, placeholder: ctl.nullable ? 'none' : example });
  }
  if (ctl.kind === 'numlist') {
    const hint = ctl.scalarOk ? 'a number, or one per dimension: 1, 2' : ctl.size ? `${ctl.size} numbers: 0.9, 0.999` : 'numbers, comma-separated';
    return el('input', { ...common, type: 'text', inputMode: 'text', autocomplete: 'off', spellcheck: false, placeholder: ctl.nullable ? 'none' : hint });
  }
  return el('textarea', { ...common, rows: 3, spellcheck: false, placeholder: exampleFor(ctl.schema || {}) });
}

/** ArrowUp/ArrowDown on a real-valued field: by nudgeStep, not the browser's 1 (step="any" steps by 1). */
function nudge(event) {
  if ((event.key !== 'ArrowUp' && event.key !== 'ArrowDown') || event.altKey || event.ctrlKey || event.metaKey) return;
  const input = event.target;
  const value = Number(input.value);
  if (input.value.trim() === '' || !Number.isFinite(value)) return;
  event.preventDefault();
  const step = nudgeStep(value) * (event.shiftKey ? 10 : 1);
  const next = value + (event.key === 'ArrowUp' ? step : -step);
  input.value = String(Number(next.toPrecision(12)));
  input.dispatchEvent(new Event('input', { bubbles: true }));
  input.dispatchEvent(new Event('change', { bubbles: true }));
}

/**
 * One labelled field: the input, its help text and its error slot (`data-error-for` = path), tied together with
 * aria-describedby. Returns {wrap, input}.
 */
/** @param {{path: string, label: string, required?: boolean, help?: string | null, input: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement, wide?: boolean}} field */
function makeField({ path, label, required, help, input, wide }) {
  const helpId = `${input.id}-help`;
  const errorId = `${input.id}-error`;
  input.setAttribute('aria-describedby', help ? `${helpId} ${errorId}` : errorId);
  if (required) input.setAttribute('aria-required', 'true');
  const labelEl = el('label', { for: input.id, class: 'field-label' }, label);
  if (required) labelEl.append(el('span', { class: 'required', 'aria-hidden': 'true', text: ' *' }), el('span', { class: 'visually-hidden', text: ' (required)' }));
  const error = el('p', { class: 'field-error', id: errorId, dataErrorFor: path, hidden: true });
  const helpEl = help ? el('p', { class: 'help', id: helpId, text: help }) : null;
  const helpFull = help ? el('p', { class: 'help-full', ariaHidden: 'true', text: help }) : null;
  let wrap;
  if (input.type === 'checkbox') {
    wrap = el('div', { class: 'field field-check' }, el('div', { class: 'check-row' }, input, labelEl), helpEl, error, helpFull);
  } else {
    wrap = el('div', { class: `field${wide ? ' field-wide' : ''}` }, labelEl, input, helpEl, error, helpFull);
  }
  return { wrap, input };
}

// ---------------------------------------------------------------------------------------------------------------
// A kind section (loss, schedule, optimizer)

/** The slider's scale: log10 of the rate from 1e-4 to 10, in 120 notches. */
const SLIDER = { lo: -4, hi: 1, notches: 120 };
const toRate = (notch) => Number((10 ** (SLIDER.lo + ((SLIDER.hi - SLIDER.lo) * notch) / SLIDER.notches)).toPrecision(2));
const toNotch = (rate) => Math.round(((Math.log10(rate) - SLIDER.lo) / (SLIDER.hi - SLIDER.lo)) * SLIDER.notches);

class KindSection {
  /**
   * @param {typeof SECTIONS[number]} def
   * @param {CatalogEntry[]} entries  the catalogue's kinds for this section
   * @param {(() => void) | undefined} onSlide  called as the rate slider moves (constant schedules)
   */
  constructor(def, entries, onSlide) {
    this.onSlide = onSlide;
    this.key = def.key;
    this.group = def.catalog;
    this.entries = new Map(entries.map((entry) => [entry.kind, entry]));
    this.params = []; // [{param, ctl, input}]
    this.memory = new Map(); // kind → the values it had when the user switched away (switching back restores them)
    this.select = el('select', { name: `${def.key}.kind`, id: idFor(`${def.key}.kind`) });
    const groups = new Map();
    for (const entry of entries) {
      if (!groups.has(entry.library)) groups.set(entry.library, []);
      groups.get(entry.library).push(entry);
    }
    for (const [library, list] of groups) {
      const parent = groups.size > 1 ? el('optgroup', { label: LIBRARIES[library] || library }) : this.select;
      for (const entry of list) parent.append(el('option', { value: entry.kind, text: entry.kind }));
      if (parent !== this.select) this.select.append(parent);
    }
    const field = makeField({ path: `${def.key}.kind`, label: t(def.select), required: true, help: ' ', input: this.select, wide: true });
    this.description = field.wrap.querySelector('.help');
    this.paramsEl = el('div', { class: 'params' });
    this.sectionError = el('p', { class: 'field-error', dataErrorFor: def.key, hidden: true });
    this.el = el('fieldset', { class: 'section', dataSection: def.key }, el('legend', { text: t(def.title) }), field.wrap, this.sectionError, this.paramsEl);
    this.kind = null;
    this.select.addEventListener('change', () => {
      const carried = this.currentValues();
      this.setKind(this.select.value, { ...carried, ...(this.memory.get(this.select.value) || {}) });
    });
    this.setKind(this.select.value, {});
  }

  /** Values typed so far, by parameter name (kept when switching to a kind with the same parameter). */
  currentValues() {
    const values = {};
    for (const { param, ctl, input } of this.params) {
      const { value, error } = readControl(ctl, input);
      if (!error && value !== undefined && JSON.stringify(value) !== JSON.stringify(param.default)) values[param.name] = value;
    }
    return values;
  }

  /** Every value typed so far (defaults included), by parameter name: what switching back to this kind restores. */
  allValues() {
    const values = {};
    for (const { param, ctl, input } of this.params) {
      const { value, error } = readControl(ctl, input);
      if (!error && value !== undefined) values[param.name] = value;
    }
    return values;
  }

  setKind(kind, values) {
    const entry = this.entries.get(kind);
    if (!entry) return false;
    if (this.kind && this.kind !== kind) this.memory.set(this.kind, this.allValues());
    this.kind = kind;
    this.select.value = kind;
    this.description.textContent = catalogText(this.group, kind, null, entry.description);
    this.paramsEl.replaceChildren();
    this.params = [];
    for (const param of entry.parameters) {
      const path = `${this.key}.${param.name}`;
      const ctl = controlFor(param.schema);
      const input = makeInput(ctl, path, param);
      if (this.key === 'schedule' && RATE_PARAMS.has(param.name) && ctl.kind === 'number') input.min = '0';
      const value = Object.prototype.hasOwnProperty.call(values, param.name) ? values[param.name] : param.default;
      writeControl(ctl, input, value);
      const wide = ctl.kind === 'json' || ctl.kind === 'bool';
      const help = catalogText(this.group, kind, param.name, param.description || '');
      const { wrap } = makeField({ path, label: param.name, required: param.required, help, input, wide });
      this.paramsEl.append(wrap);
      this.params.push({ param, ctl, input });
      if (this.key === 'schedule' && kind === 'constant' && param.name === 'learning_rate' && this.onSlide) {
        // a log-scale slider under the rate: moving it re-runs (the page debounces)
        const slider = el('input', { type: 'range', min: '0', max: String(SLIDER.notches), step: '1', dataTestid: 'rate-slider', ariaLabel: t('form.slider'), class: 'rate-slider' });
        const place = () => (slider.value = String(Number(input.value) > 0 ? toNotch(Number(input.value)) : 0));
        place();
        input.addEventListener('input', place);
        const onSlide = this.onSlide;
        slider.addEventListener('input', () => {
          input.value = String(toRate(Number(slider.value)));
          onSlide();
        });
        wrap.append(slider);
      }
    }
    if (!entry.parameters.length) this.paramsEl.append(el('p', { class: 'muted small', text: t('form.noParams') }));
    return true;
  }

  read(errors) {
    const out = { kind: this.select.value };
    for (const { param, ctl, input } of this.params) {
      const { value, error } = readControl(ctl, input);
      if (error) errors.push({ path: `${this.key}.${param.name}`, msg: error });
      else if (value === undefined) continue;
      else if (this.key === 'schedule' && RATE_PARAMS.has(param.name) && typeof value === 'number' && value < 0) {
        errors.push({ path: `${this.key}.${param.name}`, msg: t('form.negativeRate') });
      }
      else if (this.key !== 'loss' && !param.required && JSON.stringify(value) === JSON.stringify(param.default)) continue;
      else out[param.name] = value;
    }
    return out;
  }

  write(object) {
    const { kind, ...values } = object;
    return this.setKind(kind, values);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The whole form

export class RunForm {
  /**
   * @param {any} form  the <form>, emptied and rebuilt
   * @param {Catalog} catalog  GET /v1/catalog
   * @param {{onSubmit: Function, onChange: Function, onSlide?: () => void}} hooks
   */
  constructor(form, catalog, { onSubmit, onChange, onSlide }) {
    this.form = form;
    this.sections = {};
    this.simple = []; // [{path, ctl, input, get/set}]
    form.noValidate = true;
    form.replaceChildren();

    const sections = SECTIONS.map((def) => (this.sections[def.key] = new KindSection(def, catalog[def.catalog] || [], onSlide)));
    const w0 = this.simpleField({ path: 'w0', label: t('form.w0'), required: true, ctl: { kind: 'numlist', scalarOk: true }, help: t('form.w0Help') });
    const steps = this.simpleField({ path: 'steps', label: 'steps', required: true, ctl: { kind: 'number', integer: true }, help: t('form.stepsHelp') });
    const dtype = this.simpleField({ path: 'dtype', label: 'dtype', ctl: { kind: 'enum', options: ['float32', 'float64'] }, help: t('form.dtypeHelp') });
    const name = this.simpleField({ path: 'name', label: 'name', ctl: { kind: 'text' }, help: t('form.nameHelp'), wide: true });
    const every = this.simpleField({ path: 'record.every', label: 'record.every', ctl: { kind: 'number', integer: true, nullable: true }, help: t('form.everyHelp') });
    const gradTol = this.simpleField({ path: 'stop.grad_tol', label: 'stop.grad_tol', ctl: { kind: 'number', nullable: true }, help: t('form.gradTolHelp') });
    const state = this.simpleField({ path: 'record.state', label: 'record.state', ctl: { kind: 'bool' }, help: t('form.stateHelp'), wide: true });
    const lossTol = this.simpleField({ path: 'stop.loss_tol', label: 'stop.loss_tol', ctl: { kind: 'number', nullable: true }, help: t('form.lossTolHelp') });

    const start = el('fieldset', { class: 'section' }, el('legend', { text: t('form.start') }), el('div', { class: 'params' }, w0, steps, dtype));
    this.advanced = el('details', { class: 'advanced' }, el('summary', { text: t('form.more') }), el('div', { class: 'params' }, name, every, state, gradTol, lossTol));
    this.formError = el('p', { class: 'form-error', dataTestid: 'form-error', role: 'alert', hidden: true });
    this.submitButton = el('button', { type: 'submit', class: 'primary', dataTestid: 'run-submit', text: t('form.run') });
    // Where a refused run is reported: beside the Run button (which stays on screen: the row is sticky), with
    // links to the fields to fix; the first of them also gets the focus.
    this.submitError = el('p', { class: 'submit-error', dataTestid: 'submit-error', role: 'alert', hidden: true });
    this.sweepButton = el('button', { type: 'button', class: 'small-button', dataTestid: 'sweep-field', text: t('form.sweepField') });
    this.finderButton = el('button', { type: 'button', class: 'small-button', dataTestid: 'lr-finder', text: t('form.lrFinder') });
    const hint = el('p', { class: 'muted small submit-hint', text: t('form.hint') });
    this.submitRow = el('div', { class: 'submit-row', dataTestid: 'submit-row' }, this.submitButton, this.sweepButton, this.finderButton, hint, this.submitError);
    form.append(sections[0].el, start, sections[1].el, sections[2].el, this.advanced, this.formError, this.submitRow);

    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const { spec, errors } = this.read();
      this.clearErrors();
      if (errors.length) this.focusFirst(this.showErrors(errors.map((e) => ({ loc: e.path.split('.'), msg: e.msg }))));
      else onSubmit(spec);
    });
    this.lastNumeric = 'schedule.learning_rate';
    form.addEventListener('focusin', (event) => {
      const name = event.target.getAttribute && event.target.getAttribute('name');
      if (name && this.numericPaths().includes(name)) this.lastNumeric = name;
      const field = event.target.closest && event.target.closest('.field');
      const help = field && field.querySelector(':scope > .help');
      if (!help) return;
      field.querySelector(':scope > .help-full').textContent = help.textContent;
      field.classList.toggle('is-clamped', help.scrollHeight > help.clientHeight + 1);
    });
    const changed = () => onChange && onChange();
    form.addEventListener('input', changed);
    form.addEventListener('change', changed);
    this.write(DEFAULT_SPEC);
    attachSchedulePreview(sections[1].el, () => this.read().spec);
  }

  /** The real-valued fields a sweep can vary (whole-number ones change the loop itself), by spec path. */
  numericPaths() {
    const paths = [];
    for (const section of Object.values(this.sections)) {
      for (const { param, ctl } of section.params) if (ctl.kind === 'number' && !ctl.integer) paths.push(`${section.key}.${param.name}`);
    }
    paths.push('w0');
    return paths;
  }

  /** @param {{path: string, label: string, required?: boolean, ctl: object, help: string, wide?: boolean}} field */
  simpleField({ path, label, required, ctl, help, wide }) {
    let input;
    if (ctl.kind === 'text') input = el('input', { type: 'text', name: path, id: idFor(path), autocomplete: 'off', maxLength: 200 });
    else input = makeInput(ctl, path, { required });
    const { wrap } = makeField({ path, label, required, help, input, wide });
    this.simple.push({ path, ctl, input });
    return wrap;
  }

  /** The spec the form describes, and the fields that could not be read (local parse errors). */
  read() {
    const errors = [];
    const spec = {
      loss: this.sections.loss.read(errors),
      w0: undefined,
      schedule: this.sections.schedule.read(errors),
      optimizer: this.sections.optimizer.read(errors),
    };
    for (const { path, ctl, input } of this.simple) {
      let value;
      if (ctl.kind === 'text') value = input.value.trim() === '' ? undefined : input.value.trim();
      else {
        const result = readControl(ctl, input);
        if (result.error) {
          errors.push({ path, msg: result.error });
          continue;
        }
        value = result.value;
      }
      if (value === undefined) continue;
      const [head, tail] = path.split('.');
      if (tail) spec[head] = { ...(spec[head] || {}), [tail]: value };
      else spec[head] = value;
    }
    if (spec.w0 === undefined) delete spec.w0;
    if (spec.optimizer.kind === 'sgd' && Object.keys(spec.optimizer).length === 1) spec.optimizer = { kind: 'sgd' };
    return { spec, errors };
  }

  /** Fills the form from a spec (as the API or a share link has it); false when a kind is unknown here. */
  write(spec) {
    let ok = true;
    const schedule = typeof spec.schedule === 'number' ? { kind: 'constant', learning_rate: spec.schedule } : spec.schedule;
    if (spec.loss) ok = this.sections.loss.write(spec.loss) && ok;
    if (schedule) ok = this.sections.schedule.write(schedule) && ok;
    ok = this.sections.optimizer.write(spec.optimizer || { kind: 'sgd' }) && ok;
    for (const { path, ctl, input } of this.simple) {
      const [head, tail] = path.split('.');
      const value = tail ? spec[head] && spec[head][tail] : spec[head];
      if (ctl.kind === 'text') input.value = value || '';
      else writeControl(ctl, input, value === undefined ? (path === 'dtype' ? 'float32' : null) : value);
    }
    const advancedSet = spec.name || (spec.record && spec.record.every > 1) || (spec.stop && (spec.stop.grad_tol != null || spec.stop.loss_tol != null));
    if (advancedSet) this.advanced.open = true;
    this.clearErrors();
    return ok;
  }

  clearErrors() {
    for (const node of this.form.querySelectorAll('[data-error-for]')) {
      node.textContent = '';
      node.hidden = true;
    }
    for (const node of this.form.querySelectorAll('[aria-invalid]')) node.removeAttribute('aria-invalid');
    this.formError.textContent = '';
    this.formError.hidden = true;
    this.submitError.replaceChildren();
    this.submitError.hidden = true;
  }

  /**
   * Puts each {loc, msg} next to its field (the longest loc prefix that has one), the rest in form-error. The
   * server's messages (`fromServer`) are said in the page's language (problems.js); the form's own already are.
   */
  showErrors(errors, detail, fromServer = false) {
    const general = [];
    const invalid = [];
    let first = null;
    for (const { loc, msg, type } of errors) {
      const parts = (Array.isArray(loc) ? loc : [loc]).map(String);
      if (parts[0] === 'body') parts.shift();
      const said = fromServer ? problemText(parts, msg, type) : msg;
      let slot = null;
      for (let n = parts.length; n > 0 && !slot; n--) {
        slot = this.form.querySelector(`[data-error-for="${cssEscape(parts.slice(0, n).join('.'))}"]`);
      }
      if (!slot) {
        general.push(parts.length && said === msg ? `${parts.join('.')}: ${msg}` : said);
        continue;
      }
      slot.textContent = slot.textContent ? `${slot.textContent} ${said}` : said;
      slot.hidden = false;
      const path = slot.getAttribute('data-error-for');
      const input = this.form.querySelector(`[name="${cssEscape(path)}"]`);
      if (input) {
        input.setAttribute('aria-invalid', 'true');
        if (!invalid.includes(input)) invalid.push(input);
        if (!first) first = input;
      }
      const details = slot.closest('details');
      if (details) details.open = true;
    }
    if (!general.length && !errors.length && detail) general.push(detail);
    if (general.length) {
      this.formError.textContent = general.join(' ');
      this.formError.hidden = false;
    }
    this.summarise(invalid, general);
    return first;
  }

  /** The summary beside the Run button: what was refused, each field a link that focuses it. */
  summarise(invalid, general) {
    this.submitError.replaceChildren();
    if (!invalid.length && !general.length) return;
    this.submitError.append(t('form.refused'), ' ');
    invalid.forEach((input, i) => {
      const link = el('a', { href: `#${input.id}`, text: input.name });
      link.addEventListener('click', (event) => {
        event.preventDefault();
        this.focusFirst(input);
      });
      this.submitError.append(i ? ', ' : '', link);
    });
    if (general.length) this.submitError.append(invalid.length ? '; ' : '', general.join(' '));
    this.submitError.hidden = false;
  }

  /** Focuses a field and scrolls it to the middle of the screen (above the sticky Run row). */
  focusFirst(input) {
    if (!input) return;
    const details = input.closest('details');
    if (details) details.open = true;
    input.focus({ preventScroll: true });
    input.scrollIntoView({ block: 'center' });
  }

  showProblem(err) {
    this.clearErrors();
    const first = this.showErrors(err.errors || [], err.message, true);
    this.focusFirst(first);
  }

  showGeneral(message) {
    this.formError.textContent = message;
    this.formError.hidden = !message;
    this.summarise([], message ? [message] : []);
  }
}

/**
 * A kind's or parameter's help text in the page's language: the API's English, or its Chinese from catalog_zh.js.
 * @param {string} group  losses, schedules or optimizers
 * @param {string} kind
 * @param {string | null} param
 * @param {string} english  the catalogue's text
 */
export function catalogText(group, kind, param, english) {
  if (language() !== 'zh-CN') return english;
  return CATALOG_ZH[`${group}.${kind}${param ? `.${param}` : ''}`] ?? english;
}

function cssEscape(text) {
  return window.CSS && CSS.escape ? CSS.escape(text) : text.replace(/["\\]/g, '\\$&');
}
