// The loss functions evaluated in the browser, to draw the curve loss(w) and contours exactly (in float64).
// Same definitions as the service: quadratic a·(w + b)² + c per dimension and summed, polynomial c0 + c1·w + ….

const at = (param, i) => (Array.isArray(param) ? param[i] : param);

/**
 * A loss of `dims` dimensions as {f(w: number[]) → number, minimum: number[] | null}, or null for a kind the
 * browser cannot evaluate (the charts then draw the iterates' path alone).
 */
export function lossFunction(loss, dims) {
  if (!loss || typeof loss !== 'object') return null;
  if (loss.kind === 'quadratic') {
    const a = loss.a ?? 1;
    const b = loss.b ?? 0;
    const c = loss.c ?? 0;
    const f = (w) => {
      let sum = 0;
      for (let i = 0; i < dims; i++) {
        const d = w[i] + at(b, i);
        sum += at(a, i) * d * d + at(c, i);
      }
      return sum;
    };
    let bounded = true;
    const minimum = [];
    for (let i = 0; i < dims; i++) {
      if (!(at(a, i) > 0)) bounded = false;
      minimum.push(-at(b, i));
    }
    return { f, minimum: bounded ? minimum : null };
  }
  if (loss.kind === 'polynomial' && dims === 1 && Array.isArray(loss.coefficients)) {
    const coef = loss.coefficients;
    const f = (w) => {
      let sum = 0;
      for (let i = coef.length - 1; i >= 0; i--) sum = sum * w[0] + coef[i];
      return sum;
    };
    return { f, minimum: null };
  }
  return null;
}

/** A stable key: runs with the same loss share one drawn curve. */
export function lossKey(loss) {
  return JSON.stringify(loss);
}
