// An API problem's error item ({loc, msg, type}) in the page's language. The API writes its messages in English and
// gives each error a stable `type` (Pydantic's validation error types, and the service's own codes: the README's
// API section and the OpenAPI schema ErrorItem list them); in Chinese the page picks its sentence by that type and
// shows the server's words after it. In English the server's message is shown as it is.

import { language, t } from './i18n.js';

/** The message key of each error type (several types share one sentence). */
const SENTENCES = {
  missing: 'problem.required',
  greater_than_equal: 'problem.atLeast',
  greater_than: 'problem.greater',
  less_than_equal: 'problem.atMost',
  less_than: 'problem.less',
  float32_range: 'problem.float32',
  int_type: 'problem.integer',
  int_from_float: 'problem.integer',
  int_parsing: 'problem.integer',
  float_type: 'problem.number',
  float_parsing: 'problem.number',
  number_or_list: 'problem.number',
  extra_forbidden: 'problem.unknownField',
  child_lr: 'problem.childLr',
  union_tag_invalid: 'problem.unknownKind',
  union_tag_not_found: 'problem.needKind',
  model_attributes_type: 'problem.needKind',
  dict_type: 'problem.needKind',
  kind_refused: 'problem.kindRefused',
  json_invalid: 'problem.json',
  list_type: 'problem.list',
  literal_error: 'problem.choice',
  enum: 'problem.choice',
  string_too_long: 'problem.tooLong',
  too_long: 'problem.tooLong',
  too_short: 'problem.tooShort',
  string_pattern_mismatch: 'problem.pattern',
  limit_exceeded: 'problem.limit',
  invalid_parameter: 'problem.invalidParameter',
  invalid_expression: 'problem.expression',
  dimension_mismatch: 'problem.dimensions',
  beyond_schedule: 'problem.beyondSchedule',
  incompatible: 'problem.incompatible',
  not_sweepable: 'problem.notSweepable',
  no_counterpart: 'problem.noCounterpart',
  invalid_cursor: 'problem.cursor',
  invalid_view: 'problem.view',
  id_taken: 'problem.idTaken',
};

/**
 * The variables a sentence takes from the server's message: a bound's number, an unknown kind's name.
 * @param {string} type
 * @param {string} msg
 */
function variables(type, msg) {
  if (/^(greater|less)_than/.test(type)) {
    const bound = msg.match(/(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)\.?$/i);
    return { bound: bound ? bound[1] : '' };
  }
  if (type === 'union_tag_invalid') {
    const kind = msg.match(/'([^']*)'/);
    return { kind: kind ? kind[1] : '' };
  }
  return {};
}

/**
 * The message of one error item as the page shows it.
 * @param {(string | number)[]} loc  the field's path (without `body`)
 * @param {string} msg  the server's English
 * @param {string} [type]  the error's type (`missing`, `greater_than`, `limit_exceeded`, ...)
 */
export function problemText(loc, msg, type = '') {
  if (language() === 'en') return msg;
  const field = loc.length ? loc.join('.') : t('problem.field', { field: '' }).trim();
  // a schedule that is neither a number nor an object with a kind is located at `schedule` itself
  const key = type === 'union_tag_not_found' && loc[loc.length - 1] !== 'kind' ? 'problem.scheduleShape' : SENTENCES[/** @type {keyof typeof SENTENCES} */ (type)];
  const sentence = t(key || 'problem.other', { field, ...variables(type, msg) });
  return t('problem.withServer', { sentence, server: msg });
}

/**
 * The LR finder's note on a suggestion ("The curve has 12 points and this rule needs at least 20 (…); …"), in the
 * page's language.
 * @param {string} note
 */
export function finderNote(note) {
  if (language() === 'en') return note;
  const m = note.match(/^The curve has (\d+) points and this rule needs at least (\d+) \((.*)\);/);
  return m ? t('finder.tooShort', { points: m[1], needed: m[2], how: m[3] }) : note;
}
