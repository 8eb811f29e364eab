// One-click experiments: the course chapter's four runs on (w+1)² from w = 5, and a few from the catalogue.
// A preset fills the form (with its last spec) and starts its runs, overlaid on the charts.

const COURSE = { loss: { kind: 'quadratic', a: 1, b: 1, c: 0 }, w0: 5, optimizer: { kind: 'sgd' }, steps: 40, dtype: 'float32' };

export const PRESETS = [
  {
    id: 'rate-0.2',
    group: 'course',
    label: 'rate 0.2',
    title: 'The course: (w+1)², w₀ = 5, constant rate 0.2, 40 steps: w converges to −1.',
    runs: [{ ...COURSE, schedule: 0.2, name: 'rate 0.2' }],
  },
  {
    id: 'rate-1',
    group: 'course',
    label: 'rate 1',
    title: 'The course: rate 1 is too large: w bounces between 5 and −7 for ever.',
    runs: [{ ...COURSE, schedule: 1, name: 'rate 1' }],
  },
  {
    id: 'rate-0.0001',
    group: 'course',
    label: 'rate 0.0001',
    title: 'The course: rate 0.0001 is too small: w crawls from 5 and the loss barely falls.',
    runs: [{ ...COURSE, schedule: 0.0001, name: 'rate 0.0001' }],
  },
  {
    id: 'decay',
    group: 'course',
    label: 'exponential decay',
    title: 'The course: tf1.exponential_decay(0.1, decay_steps 1, decay_rate 0.99, staircase): fast at first, then careful.',
    runs: [
      {
        ...COURSE,
        schedule: { kind: 'tf1.exponential_decay', learning_rate: 0.1, decay_steps: 1, decay_rate: 0.99, staircase: true },
        name: 'exponential decay',
      },
    ],
  },
  {
    id: 'momentum',
    group: 'more',
    label: 'momentum vs plain SGD',
    title: 'torch.SGD with momentum 0.9 against plain SGD, both at rate 0.02 for 100 steps: momentum gets there first, overshooting.',
    runs: [
      { ...COURSE, schedule: 0.02, optimizer: { kind: 'torch.SGD' }, steps: 100, name: 'plain SGD, rate 0.02' },
      { ...COURSE, schedule: 0.02, optimizer: { kind: 'torch.SGD', momentum: 0.9 }, steps: 100, name: 'momentum 0.9, rate 0.02' },
    ],
  },
  {
    id: 'onecycle',
    group: 'more',
    label: 'OneCycleLR',
    title: 'torch.OneCycleLR(max_lr 0.5, total_steps 100) with torch.SGD momentum 0.9: warm up, then anneal far below the start.',
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
    label: 'cosine restarts',
    title: 'keras.CosineDecayRestarts(1, first_decay_steps 20, t_mul 2) on a shallow bowl 0.05·(w+1)²: each restart speeds the descent up again.',
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
];
