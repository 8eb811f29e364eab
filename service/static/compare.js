// The run comparison table: one row per run on the charts (its spec in columns, verdict, final loss, converged
// at), sortable by any column, ascending or descending.

import { el } from './dom.js';
import { compact } from './format.js';
import { t } from './i18n.js';
import { constantRate } from './why.js';

const COLUMNS = [
  { key: 'label', title: 'compare.run', value: (run) => run.label },
  { key: 'loss', title: 'compare.loss', value: (run) => (run.spec && run.spec.loss ? run.spec.loss.kind : '') },
  {
    key: 'schedule',
    title: 'compare.schedule',
    value: (run) => {
      const rate = constantRate(run.spec);
      return rate !== null ? `constant ${rate}` : run.spec && run.spec.schedule ? run.spec.schedule.kind : '';
    },
  },
  { key: 'optimizer', title: 'compare.optimizer', value: (run) => (run.spec && run.spec.optimizer ? run.spec.optimizer.kind : 'sgd') },
  { key: 'steps', title: 'compare.steps', value: (run) => (run.spec ? run.spec.steps : null), numeric: true },
  { key: 'dtype', title: 'compare.dtype', value: (run) => (run.spec ? run.spec.dtype : '') },
  { key: 'verdict', title: 'compare.verdict', value: (run) => (run.summary ? t(`verdict.${run.summary.verdict}`) : t(`status.${run.status}`)) },
  { key: 'final', title: 'compare.final', value: (run) => (run.summary && run.summary.final ? run.summary.final.loss : null), numeric: true },
  { key: 'converged', title: 'compare.converged', value: (run) => (run.summary ? run.summary.converged_at : null), numeric: true },
];

export class CompareTable {
  constructor(root) {
    this.root = root;
    this.sort = { key: 'label', descending: false };
  }

  render(runs) {
    this.root.hidden = runs.length < 2;
    if (this.root.hidden) return;
    const column = COLUMNS.find((c) => c.key === this.sort.key) || COLUMNS[0];
    const sign = this.sort.descending ? -1 : 1;
    const rows = [...runs].sort((a, b) => {
      const [x, y] = [column.value(a), column.value(b)];
      if (x === y) return 0;
      if (x === null || x === undefined) return 1; // missing values last, either way
      if (y === null || y === undefined) return -1;
      return (column.numeric ? x - y : String(x).localeCompare(String(y), undefined, { numeric: true })) * sign;
    });
    const head = el(
      'tr',
      {},
      ...COLUMNS.map((c) => {
        const sorted = c.key === this.sort.key;
        const button = el('button', { type: 'button', class: 'sort', dataSort: c.key, text: `${t(c.title)}${sorted ? (this.sort.descending ? ' ▼' : ' ▲') : ''}` });
        button.addEventListener('click', () => {
          this.sort = { key: c.key, descending: sorted ? !this.sort.descending : false };
          this.render(runs);
        });
        return el('th', { scope: 'col', ariaSort: sorted ? (this.sort.descending ? 'descending' : 'ascending') : 'none' }, button);
      }),
    );
    const body = rows.map((run) =>
      el(
        'tr',
        { dataRunId: run.id },
        ...COLUMNS.map((c) => {
          const v = c.value(run);
          return el('td', { class: c.numeric ? 'num' : '', text: v === null || v === undefined ? '—' : c.numeric ? compact(v) : String(v) });
        }),
      ),
    );
    this.root.replaceChildren(el('table', { class: 'compare', dataTestid: 'compare-table' }, el('caption', { text: t('compare.caption') }), el('thead', {}, head), el('tbody', {}, ...body)));
  }
}
