// Run colours: twelve distinct hues (the Okabe–Ito colour-blind-safe palette, then Paul Tol's wine, indigo and
// olive, a brown and a grey), so twelve runs never share a colour. Text is never drawn in these colours (labels on
// the charts are dark); they mark lines, markers and chips. From the thirteenth run on, the colours repeat with a
// dash pattern, so overlaid runs stay distinguishable.

export const PALETTE = [
  '#0072B2', // blue
  '#D55E00', // vermillion
  '#009E73', // bluish green
  '#CC79A7', // reddish purple
  '#000000', // black
  '#E69F00', // orange (2.3:1 on white: used from the sixth run on)
  '#56B4E9', // sky blue (2.3:1 on white)
  '#882255', // wine
  '#332288', // indigo
  '#999933', // olive
  '#8C564B', // brown
  '#7F7F7F', // grey
];

const DASHES = [[], [6, 3], [2, 3], [8, 3, 2, 3]];

/** The dash of a run identical to one already on the charts: its line shows through the other's. */
export const TWIN_DASH = [5, 5];

/** The first free slot: removed runs give their colour back. */
export function allocateSlot(used) {
  let slot = 0;
  while (used.has(slot)) slot++;
  return slot;
}

export function slotStyle(slot) {
  return {
    color: PALETTE[slot % PALETTE.length],
    dash: DASHES[Math.floor(slot / PALETTE.length) % DASHES.length],
  };
}

/** The colour with an alpha, for fills and faint strokes. */
export function withAlpha(hex, alpha) {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}
