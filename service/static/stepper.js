// Step through: play, pause, one step back or forward, and a scrubber over the steps of the runs on the charts.
// The chosen step is highlighted on every chart (the iterate on the curve or contours, the point on the step
// charts) and read out per run, so a student watches w hop 5 → −7 → 5.

import { orNull } from './columns.js';
import { el } from './dom.js';
import { fixed6 } from './format.js';
import { t } from './i18n.js';

const FRAME_MS = 350; // one step per frame for short runs; long runs take bigger strides (a run plays in ~15 s)

export class Stepper {
  /**
   * @param {HTMLElement} root
   * @param {{runs: () => import('./runs.js').Run[], changed: (step: number | null) => void}} hooks  the visible runs;
   *   highlight this step (null: none)
   */
  constructor(root, hooks) {
    this.root = root;
    this.hooks = hooks;
    this.step = null;
    this.timer = 0;
    const button = (testid, text, label) => el('button', { type: 'button', class: 'small-button', dataTestid: testid, text, ariaLabel: label });
    this.back = button('step-back', '◀', t('step.back'));
    this.play = button('step-play', '▶', t('step.play'));
    this.forward = button('step-forward', '▶|', t('step.forward'));
    this.off = button('step-off', t('step.off'), t('step.offAria'));
    this.scrubber = el('input', { type: 'range', min: '0', max: '0', step: '1', value: '0', dataTestid: 'step-scrubber', ariaLabel: t('step.scrubber') });
    this.label = el('span', { class: 'step-label', dataTestid: 'step-label' });
    this.readout = el('p', { class: 'step-readout', dataTestid: 'step-readout', ariaLive: 'polite' });
    root.replaceChildren(
      el('div', { class: 'step-controls' }, el('strong', { class: 'step-title', text: t('step.title') }), this.back, this.play, this.forward, this.scrubber, this.label, this.off),
      this.readout,
    );
    this.back.addEventListener('click', () => this.go((this.step ?? 1) - 1));
    this.forward.addEventListener('click', () => this.go((this.step ?? -1) + 1));
    this.play.addEventListener('click', () => (this.timer ? this.pause() : this.start()));
    this.off.addEventListener('click', () => this.clear());
    this.scrubber.addEventListener('input', () => this.go(Number(this.scrubber.value)));
  }

  get last() {
    let last = 0;
    for (const run of this.hooks.runs()) last = Math.max(last, run.lastStep);
    return last;
  }

  /** Called each frame: the stepper shows while runs are on the charts; its range follows their steps. */
  refresh() {
    const runs = this.hooks.runs();
    this.root.hidden = !runs.some((run) => run.points > 0);
    this.scrubber.max = String(this.last);
    if (this.step !== null) this.show();
  }

  go(step) {
    const clamped = Math.max(0, Math.min(this.last, Math.round(step)));
    this.step = clamped;
    this.scrubber.value = String(clamped);
    this.show();
    this.hooks.changed(clamped);
  }

  start() {
    if (this.step === null || this.step >= this.last) this.go(0);
    const stride = Math.max(1, Math.ceil(this.last / (15000 / FRAME_MS)));
    this.play.textContent = '❚❚';
    this.play.setAttribute('aria-label', t('step.pause'));
    this.root.dataset.playing = 'true';
    this.timer = setInterval(() => {
      if ((this.step ?? 0) >= this.last) return this.pause();
      this.go((this.step ?? 0) + stride);
    }, FRAME_MS);
  }

  pause() {
    clearInterval(this.timer);
    this.timer = 0;
    this.play.textContent = '▶';
    this.play.setAttribute('aria-label', t('step.play'));
    this.root.dataset.playing = 'false';
  }

  clear() {
    this.pause();
    this.step = null;
    this.root.dataset.step = '';
    this.label.textContent = '';
    this.readout.textContent = '';
    this.hooks.changed(null);
  }

  /** "step 2 · rate 1: w 5.000000, loss 36.000000" for each run that has that row. */
  show() {
    this.root.dataset.step = String(this.step);
    this.label.textContent = t('step.of', { step: this.step, last: this.last });
    const parts = [];
    for (const run of this.hooks.runs()) {
      const i = run.indexOfStep(this.step);
      if (i < 0) continue;
      const dtype = (run.spec && run.spec.dtype) || 'float32';
      const w = run.dims === 1 ? orNull(run.w[0][i]) : run.w.map((col) => orNull(col[i]));
      parts.push(t('step.row', { run: run.label, w: fixed6(w, dtype), loss: fixed6(orNull(run.loss[i]), dtype), lr: orNull(run.lr[i]) }));
    }
    this.readout.textContent = parts.join(' · ');
  }
}
