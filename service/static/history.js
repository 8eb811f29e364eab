// The history panel: GET /v1/runs, newest first, page by page; a click re-opens a run on the charts.

import { api } from './api.js';
import { el } from './dom.js';
import { fixed6, relativeTime } from './format.js';
import { t } from './i18n.js';
import { labelFor } from './runs.js';

/** @typedef {import('./api.js').RunInfo} RunInfo */
/** @typedef {import('./api.js').Summary} Summary */
/**
 * A run as the list shows it: a RunInfo from GET /v1/runs, or what the page knows of a run it started.
 * @typedef {Pick<RunInfo, 'id' | 'status' | 'spec' | 'summary'> & {name?: string | null, created_at?: string}} Entry
 */

export class History {
  /**
   * @param {any} panel  the history panel (its list, buttons and status line are found in it)
   * @param {{open: (id: string) => unknown, error?: (message: string) => void}} hooks
   */
  constructor(panel, { open, error }) {
    this.list = panel.querySelector('.history-list');
    this.more = panel.querySelector('[data-testid="history-more"]');
    this.refreshButton = panel.querySelector('.history-refresh');
    this.status = panel.querySelector('.history-status');
    this.open = open;
    this.error = error;
    this.cursor = null;
    this.items = new Map();
    this.more.addEventListener('click', () => this.load(this.cursor));
    this.refreshButton.addEventListener('click', () => this.refresh());
  }

  async refresh() {
    this.cursor = null;
    this.items.clear();
    this.list.replaceChildren();
    await this.load(null);
  }

  async load(cursor) {
    this.more.disabled = true;
    this.status.textContent = t('history.loading');
    try {
      const page = await api.listRuns(cursor);
      for (const info of page.items) this.upsert(info, false);
      this.cursor = page.next_cursor;
      this.more.hidden = !this.cursor;
      this.status.textContent = this.items.size ? '' : t('history.none');
    } catch (err) {
      this.status.textContent = t('history.failed', { reason: err.message });
    } finally {
      this.more.disabled = false;
    }
  }

  /**
   * Adds or refreshes one entry (a new run goes on top).
   * @param {Entry} info
   */
  upsert(info, onTop = true) {
    const existing = this.items.get(info.id);
    const item = this.item(info);
    if (existing) existing.replaceWith(item);
    else if (onTop) this.list.prepend(item);
    else this.list.append(item);
    this.items.set(info.id, item);
    this.status.textContent = '';
  }

  /** @param {Entry} info */
  item(info) {
    const summary = /** @type {Partial<Summary>} */ (info.summary || {});
    const spec = info.spec || {};
    const label = info.name || labelFor(spec);
    const verdict = summary.verdict ? t(`verdict.${summary.verdict}`) : t(`status.${info.status}`);
    const detail = [
      spec.loss ? spec.loss.kind : '',
      t('history.steps', { steps: spec.steps ?? '?' }),
      summary.final ? `loss ${fixed6(summary.final.loss, spec.dtype || 'float32')}` : '',
      relativeTime(info.created_at),
    ].filter(Boolean).join(' · ');
    const button = el(
      'button',
      { type: 'button', class: 'history-item', dataTestid: 'history-item', dataRunId: info.id, title: t('history.open', { id: info.id }) },
      el('span', { class: 'history-top' }, el('span', { class: 'history-label', text: label }), el('span', { class: 'verdict', dataVerdict: summary.verdict || '', text: verdict })),
      el('span', { class: 'history-detail', text: detail }),
    );
    button.addEventListener('click', () => this.open(info.id));
    return el('li', {}, button);
  }
}
