// The page's two languages, English and Chinese (zh-CN, the course's language): `t(key, vars)` gives the text of
// `key` in the chosen language with `{name}` replaced from `vars`. The choice is the stored one (the switch in the
// top bar), else the browser's language. Elements with `data-i18n` (text), `data-i18n-title` and
// `data-i18n-aria-label` in the HTML are translated once at start.

import { MESSAGES } from './messages.js';

export const LANGUAGES = [
  { code: 'en', label: 'English' },
  { code: 'zh-CN', label: '中文' },
];
const STORE_KEY = 'descent-language';

/** The stored choice, else the first of the browser's languages we have (zh-* → zh-CN), else English. */
function pick() {
  let stored = null;
  try {
    stored = window.localStorage.getItem(STORE_KEY);
  } catch {
    /* storage blocked: follow the browser */
  }
  if (stored && MESSAGES[stored]) return stored;
  for (const code of navigator.languages || [navigator.language]) {
    if (/^zh\b/i.test(code)) return 'zh-CN';
    if (/^en\b/i.test(code)) return 'en';
  }
  return 'en';
}

let current = pick();

export function language() {
  return current;
}

/** Switches and remembers the language; the page reloads (its URL keeps the view). */
export function setLanguage(code) {
  if (!MESSAGES[code]) return;
  try {
    window.localStorage.setItem(STORE_KEY, code);
  } catch {
    /* not remembered: this page still switches */
  }
  current = code;
}

export function t(key, vars = {}) {
  const text = MESSAGES[current][key] ?? MESSAGES.en[key];
  if (text === undefined) return key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (vars[name] === undefined ? `{${name}}` : String(vars[name])));
}

/** The text of `key` in the chosen language if the tables have it there, else `fallback` (the server's words). */
export function tOr(key, fallback) {
  const text = MESSAGES[current][key];
  return text === undefined ? fallback : text;
}

/** Translates the static page: `data-i18n`, `data-i18n-title`, `data-i18n-aria-label`, and `<html lang>`. */
export function translatePage(root = document) {
  document.documentElement.lang = current;
  const all = (selector) => /** @type {NodeListOf<HTMLElement>} */ (root.querySelectorAll(selector));
  for (const node of all('[data-i18n]')) node.textContent = t(node.dataset.i18n || '');
  for (const node of all('[data-i18n-title]')) node.title = t(node.dataset.i18nTitle || '');
  for (const node of all('[data-i18n-aria-label]')) node.setAttribute('aria-label', t(node.dataset.i18nAriaLabel || ''));
}
