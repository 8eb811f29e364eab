// An API problem's error item ({loc, msg}) in the page's language. The API writes its messages in English, one of
// a few kinds each (service/specs/messages.py: "Give a number at least 0.", "This field is required.", …); in
// Chinese the page says the field and the kind of error in its own sentence, with the server's words after it.
// In English the server's message is shown as it is.

import { language, t } from './i18n.js';

/** The kinds of error, recognised from the server's English: [pattern, message key, variables from the match]. */
const KINDS = [
  [/^Give a number at least (\S+?)\.?$/, 'problem.atLeast', (m) => ({ bound: m[1] })],
  [/^Give a number greater than (\S+?)\.?$/, 'problem.greater', (m) => ({ bound: m[1] })],
  [/^Give a number at most (\S+?)\.?$/, 'problem.atMost', (m) => ({ bound: m[1] })],
  [/^Give a number less than (\S+?)\.?$/, 'problem.less', (m) => ({ bound: m[1] })],
  [/^Give a number within ±3\.4e38/, 'problem.float32', () => ({})],
  [/^Give a whole number/, 'problem.integer', () => ({})],
  [/^This field is required/, 'problem.required', () => ({})],
  [/^Unknown field /, 'problem.unknownField', () => ({})],
  [/^Unknown kind '([^']*)'/, 'problem.unknownKind', (m) => ({ kind: m[1] })],
  [/^Give an object with a 'kind'/, 'problem.needKind', () => ({})],
  [/^Give a number \(a constant rate\)/, 'problem.scheduleShape', () => ({})],
  [/^A child scheduler takes no lr/, 'problem.childLr', () => ({})],
  [/valid number|number expected|should be a valid (float|number)/i, 'problem.number', () => ({})],
  [/JSON/, 'problem.json', () => ({})],
  [/should be (a valid list|an array)/i, 'problem.list', () => ({})],
  [/^Input should be /, 'problem.choice', () => ({})],
  [/at most \d+ (characters|items)|too long/i, 'problem.tooLong', () => ({})],
  [/limit|at most [\d,]+ (steps|rows|runs|points)/i, 'problem.limit', () => ({})],
];

/**
 * The message of one error item as the page shows it.
 * @param {(string | number)[]} loc  the field's path (without `body`)
 * @param {string} msg  the server's English
 */
export function problemText(loc, msg) {
  if (language() === 'en') return msg;
  const field = loc.length ? loc.join('.') : t('problem.field', { field: '' }).trim();
  let sentence = t('problem.other', { field });
  for (const [pattern, key, vars] of KINDS) {
    const match = msg.match(/** @type {RegExp} */ (pattern));
    if (match) {
      sentence = t(/** @type {string} */ (key), { field, .../** @type {(m: RegExpMatchArray) => object} */ (vars)(match) });
      break;
    }
  }
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
