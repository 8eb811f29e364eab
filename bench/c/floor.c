/* The C floor of bench.sweep: the benchmark workloads as plain loops, compiled with gcc -O3 at benchmark time.
 *
 * Same float32 arithmetic as the engine, op for op (the bench checks the final weights bit for bit): the course
 * loss a*(w + b)^2 + c evaluated as TensorFlow does (add, square, scale, add), its gradient (2a)*(w + b), and the
 * update w - g*lr; Adam as torch.optim.Adam's single-tensor CPU path computes it (the engine's torch.Adam).
 * Compile with -ffp-contract=off: a fused multiply-add would round differently.
 *
 * Every function times itself with clock_gettime(CLOCK_MONOTONIC) around the allocation and the loop, writes the
 * final weights to `w_final` and returns the elapsed nanoseconds. The trace goes to memory that the process already
 * owns (a pool kept between calls, as a long-lived process's allocator reuses freed memory and as the engine's
 * chunks get it), unless `cold`: then it is malloc-ed fresh in the timed region, and the kernel's first-touch page
 * faults are part of the time.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

static void *pool = NULL;
static size_t pool_bytes = 0;

/* `bytes` of trace memory: the pool (grown when too small), or fresh memory when `cold` (free it with give_back). */
static void *take(size_t bytes, int cold) {
    if (cold) return malloc(bytes);
    if (pool_bytes < bytes) {
        free(pool);
        pool = malloc(bytes);
        pool_bytes = bytes;
    }
    return pool;
}

static void give_back(void *memory, int cold) {
    if (cold) free(memory);
}

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* SGD on the course loss, one run per rate, `steps` updates (rows 0..steps), step-major like the engine.
 * trace != 0: keep every row's w, loss, grad and lr in (steps + 1) x runs arrays.
 * trace == 0: keep only the summary: final w, final loss and the smallest loss (NaN rows never win). */
double sgd_sweep(const float *rates, int64_t runs, int64_t steps, float w0, float a, float b, float c, int trace,
                 int cold, float *w_final, float *loss_final, float *loss_best) {
    const float twice_a = a * 2.0f;
    double start = now_ns();
    float *w = malloc(sizeof(float) * (size_t)runs);
    float *W = NULL, *L = NULL, *G = NULL, *R = NULL;
    const size_t n = (size_t)(steps + 1) * (size_t)runs;
    if (trace) {
        W = take(sizeof(float) * 4 * n, cold);
        L = W + n;
        G = L + n;
        R = G + n;
    }
    for (int64_t r = 0; r < runs; r++) {
        w[r] = w0;
        loss_best[r] = INFINITY;
    }
    for (int64_t t = 0; t <= steps; t++) {
        const int update = t < steps;
        if (trace) {
            float *Wt = W + t * runs, *Lt = L + t * runs, *Gt = G + t * runs, *Rt = R + t * runs;
            for (int64_t r = 0; r < runs; r++) {
                float s = w[r] + b;
                float g = s * twice_a;
                Wt[r] = w[r];
                Lt[r] = s * s * a + c;
                Gt[r] = g;
                Rt[r] = rates[r];
                if (update) w[r] = w[r] - g * rates[r];
            }
        } else {
            for (int64_t r = 0; r < runs; r++) {
                float s = w[r] + b;
                float l = s * s * a + c;
                loss_best[r] = l < loss_best[r] ? l : loss_best[r];
                loss_final[r] = l;
                if (update) w[r] = w[r] - (s * twice_a) * rates[r];
            }
        }
    }
    double elapsed = now_ns() - start;
    for (int64_t r = 0; r < runs; r++) w_final[r] = w[r];
    if (trace) {
        for (int64_t r = 0; r < runs; r++) {
            loss_final[r] = L[steps * runs + r];
            loss_best[r] = NAN; /* not computed with a trace: it is in the trace */
        }
    }
    free(w);
    if (trace) give_back(W, cold);
    return elapsed;
}

/* torch.optim.Adam (betas b1, b2, eps, no weight decay) on sum_i a_i*(w_i + b_i)^2 + c in float32, dims = 2,
 * one run per rate; every row's w, loss, grad and lr kept. The engine's rounding (service/engine/optimizers/
 * torch.py): lerp and addcmul computed in double and rounded once; step float32; bias corrections in double. */
double adam_sweep(const float *rates, int64_t runs, int64_t dims, int64_t steps, const float *w0, const float *a,
                  const float *b, float c, double beta1, double beta2, double eps_d, int cold, float *w_final) {
    const float weight1 = (float)(1.0 - beta1), decay2 = (float)beta2, weight2 = (float)(1.0 - beta2);
    const float eps = (float)eps_d;
    const size_t width = (size_t)(runs * dims);
    double start = now_ns();
    float *w = malloc(sizeof(float) * width), *m = calloc(width, sizeof(float)), *v = calloc(width, sizeof(float));
    float *g = malloc(sizeof(float) * width);
    float *twice_a = malloc(sizeof(float) * (size_t)dims);
    const size_t rows = (size_t)(steps + 1);
    float *W = take(sizeof(float) * rows * (2 * width + 2 * (size_t)runs), cold);
    float *G = W + rows * width;
    float *L = G + rows * width;
    float *R = L + rows * (size_t)runs;
    for (int64_t d = 0; d < dims; d++) twice_a[d] = a[d] * 2.0f;
    for (int64_t r = 0; r < runs; r++)
        for (int64_t d = 0; d < dims; d++) w[r * dims + d] = w0[d];
    float step = 0.0f;
    for (int64_t t = 0; t <= steps; t++) {
        float *Wt = W + (size_t)t * width, *Gt = G + (size_t)t * width;
        float *Lt = L + (size_t)t * (size_t)runs, *Rt = R + (size_t)t * (size_t)runs;
        for (int64_t r = 0; r < runs; r++) {
            float loss = 0.0f;
            for (int64_t d = 0; d < dims; d++) {
                size_t i = (size_t)(r * dims + d);
                float s = w[i] + b[d];
                loss += s * s * a[d] + c;
                g[i] = s * twice_a[d];
                Wt[i] = w[i];
                Gt[i] = g[i];
            }
            Lt[r] = loss;
            Rt[r] = rates[r];
        }
        if (t == steps) break;
        step += 1.0f;
        const double tt = (double)step;
        const double correction1 = 1.0 - pow(beta1, tt);
        const float correction2_sqrt = (float)sqrt(1.0 - pow(beta2, tt));
        for (int64_t r = 0; r < runs; r++) {
            const float neg_step_size = (float)(-((double)rates[r] / correction1));
            for (int64_t d = 0; d < dims; d++) {
                size_t i = (size_t)(r * dims + d);
                m[i] = (float)((double)weight1 * (double)(g[i] - m[i]) + (double)m[i]);
                v[i] = (float)((double)(weight2 * g[i]) * (double)g[i] + (double)(v[i] * decay2));
                float denom = sqrtf(v[i]) / correction2_sqrt + eps;
                w[i] = w[i] + (neg_step_size * m[i]) / denom;
            }
        }
    }
    double elapsed = now_ns() - start;
    for (size_t i = 0; i < width; i++) w_final[i] = w[i];
    free(w);
    free(m);
    free(v);
    free(g);
    free(twice_a);
    give_back(W, cold);
    return elapsed;
}
