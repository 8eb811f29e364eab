// One-click experiments: the course chapter's four runs on (w+1)² from w = 5, and a few from the catalogue.
// A preset fills the form (with its last spec) and starts its runs, overlaid on the charts; a sweep preset fills the
// form with its base and opens the sweep view. Labels and titles are in messages.js (preset.<id>).

const COURSE = { loss: { kind: 'quadratic', a: 1, b: 1, c: 0 }, w0: 5, optimizer: { kind: 'sgd' }, steps: 40, dtype: 'float32' };

export const PRESETS = [
  {
    id: 'rate-0.2',
    group: 'course',
    runs: [{ ...COURSE, schedule: 0.2, name: 'rate 0.2' }],
  },
  {
    id: 'rate-1',
    group: 'course',
    runs: [{ ...COURSE, schedule: 1, name: 'rate 1' }],
  },
  {
    id: 'rate-0.0001',
    group: 'course',
    runs: [{ ...COURSE, schedule: 0.0001, name: 'rate 0.0001' }],
  },
  {
    id: 'decay',
    group: 'course',
    runs: [
      {
        ...COURSE,
        schedule: { kind: 'tf1.exponential_decay', learning_rate: 0.1, decay_steps: 1, decay_rate: 0.99, staircase: true },
        name: 'exponential decay',
      },
    ],
  },
  {
    id: 'chapter',
    group: 'course',
    // one sweep: 1,001 constant rates on the course's loss (1 among them: the oscillating edge); the view shows the
    // four regimes and the edge at 1
    sweep: {
      base: { ...COURSE, schedule: { kind: 'constant', learning_rate: 0.2 } },
      axes: [{ path: 'schedule.learning_rate', linspace: { start: 0, stop: 1.25, num: 1001 } }],
    },
  },
  {
    id: 'momentum',
    group: 'more',
    runs: [
      { ...COURSE, schedule: 0.02, optimizer: { kind: 'torch.SGD' }, steps: 100, name: 'plain SGD, rate 0.02' },
      { ...COURSE, schedule: 0.02, optimizer: { kind: 'torch.SGD', momentum: 0.9 }, steps: 100, name: 'momentum 0.9, rate 0.02' },
    ],
  },
  {
    id: 'onecycle',
    group: 'more',
    runs: [
      {
        ...COURSE,
        schedule: { kind: 'torch.OneCycleLR', max_lr: 0.5, total_steps: 100 },
        optimizer: { kind: 'torch.SGD', momentum: 0.9 },
        steps: 100,
        name: 'OneCycleLR, max_lr 0.5',
      },
    ],
  },
  {
    id: 'restarts',
    group: 'more',
    runs: [
      {
        ...COURSE,
        loss: { kind: 'quadratic', a: 0.05, b: 1, c: 0 },
        schedule: { kind: 'keras.CosineDecayRestarts', initial_learning_rate: 1, first_decay_steps: 20 },
        steps: 140,
        name: 'cosine restarts',
      },
    ],
  },
  {
    id: 'momentum-grid',
    group: 'more',
    sweep: {
      base: { ...COURSE, schedule: { kind: 'constant', learning_rate: 0.2 }, optimizer: { kind: 'torch.SGD', momentum: 0 } },
      axes: [
        { path: 'schedule.learning_rate', linspace: { start: 0, stop: 2.2, num: 89 } },
        { path: 'optimizer.momentum', linspace: { start: 0, stop: 0.95, num: 39 } },
      ],
    },
  },
];
