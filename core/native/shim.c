/*
 * late-sam's native kernels: a small C shim over oneDNN's C API, called from Deno through FFI.
 *
 * Every tensor lives in tfjs-wasm's linear memory. Each entry point takes the base address of
 * that memory (`heap`) and one array of 64-bit integers (`p`) holding the shapes, the thread
 * count and the tensors' byte offsets from `heap`; it works in place, with no copies of
 * activations. Layouts are tfjs': activations NHWC, filters HWIO ([KH, KW, Ci, Co]),
 * matrices row-major.
 *
 * Convolution primitives are built once per (direction, shape, thread count) and cached: the
 * first call per shape costs milliseconds. oneDNN picks its fastest kernels only with its own
 * weight layout, so filters are reordered into it (forward, input gradient) or out of it
 * (filter gradient) on every call; the reorders are cached with the primitive.
 *
 * Return values: 0 on success, otherwise a oneDNN status (> 0) or -1 (out of memory);
 * ls_last_error() names the failing call.
 *
 * Build: gcc -O3 -ffp-contract=off -fPIC -shared -fopenmp shim.c -ldnnl -lm (build.ts does it).
 */
#include <oneapi/dnnl/dnnl.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CONV_FORWARD = 0, CONV_INPUT_GRAD = 1, CONV_FILTER_GRAD = 2 };

/* Conv parameters p[]: the key (shape and threads) first, then the three byte offsets. */
enum {
  P_OP, P_THREADS, P_N, P_H, P_W, P_CI, P_KH, P_KW, P_CO, P_OH, P_OW,
  P_SH, P_SW, P_DH, P_DW, P_PT, P_PL, P_PB, P_PR,
  P_KEY_LEN,
  P_X = P_KEY_LEN, /* input x (forward, filter grad) or dx (input grad) */
  P_F,             /* filter w (forward, input grad) or dw (filter grad) */
  P_Y,             /* output y (forward) or dy (both gradients) */
  P_LEN
};

static dnnl_engine_t engine;
static dnnl_stream_t stream;
static char last_error[256];

/* One cached convolution: the primitive, user-layout memories, the filter reorder. */
typedef struct conv_entry {
  int64_t key[P_KEY_LEN];
  dnnl_primitive_t prim;
  dnnl_memory_t x, f, y;    /* user layouts; data handles set per call */
  dnnl_memory_t f_prim;     /* filter in the primitive's layout (NULL: same as user) */
  dnnl_primitive_t reorder; /* user -> primitive (forward, input grad) or back (filter grad) */
  struct conv_entry *next;
} conv_entry;

static conv_entry *cache;

static int fail(dnnl_status_t s, const char *what) {
  snprintf(last_error, sizeof last_error, "%s failed (oneDNN status %d)", what, (int)s);
  return (int)s;
}

#define CHECK(call)                                   \
  do {                                                \
    dnnl_status_t s_ = (call);                        \
    if (s_ != dnnl_success) return fail(s_, #call);   \
  } while (0)

/** The error message of the last failing call (empty when none failed). */
const char *ls_last_error(void) { return last_error; }

/** oneDNN's version as major * 10000 + minor * 100 + patch. */
int64_t ls_dnnl_version(void) {
  const dnnl_version_t *v = dnnl_version();
  return (int64_t)v->major * 10000 + v->minor * 100 + v->patch;
}

/** The instruction set oneDNN dispatches to on this CPU (a dnnl_cpu_isa_t value). */
int64_t ls_cpu_isa(void) { return (int64_t)dnnl_get_effective_cpu_isa(); }

static int ensure_engine(void) {
  if (engine != NULL) return 0;
  CHECK(dnnl_engine_create(&engine, dnnl_cpu, 0));
  CHECK(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags));
  return 0;
}

static int make_memory(dnnl_memory_t *m, const dnnl_memory_desc_t *md, void *handle) {
  CHECK(dnnl_memory_create(m, md, engine, handle));
  return 0;
}

/* Builds the primitive of one convolution direction and its filter reorder. */
static int build_conv(conv_entry *e) {
  const int64_t *k = e->key;
  dnnl_dims_t xd = {k[P_N], k[P_CI], k[P_H], k[P_W]};
  dnnl_dims_t fd = {k[P_CO], k[P_CI], k[P_KH], k[P_KW]};
  dnnl_dims_t yd = {k[P_N], k[P_CO], k[P_OH], k[P_OW]};
  dnnl_dims_t strides = {k[P_SH], k[P_SW]};
  dnnl_dims_t dilates = {k[P_DH] - 1, k[P_DW] - 1}; /* oneDNN counts the gaps */
  dnnl_dims_t pad_l = {k[P_PT], k[P_PL]}, pad_r = {k[P_PB], k[P_PR]};
  dnnl_memory_desc_t x_md, f_user, f_any, y_md;
  CHECK(dnnl_memory_desc_init_by_tag(&x_md, 4, xd, dnnl_f32, dnnl_nhwc));
  CHECK(dnnl_memory_desc_init_by_tag(&y_md, 4, yd, dnnl_f32, dnnl_nhwc));
  CHECK(dnnl_memory_desc_init_by_tag(&f_user, 4, fd, dnnl_f32, dnnl_hwio));
  CHECK(dnnl_memory_desc_init_by_tag(&f_any, 4, fd, dnnl_f32, dnnl_format_tag_any));

  /* Every direction needs the forward descriptor (the backward ones as a hint). */
  dnnl_convolution_desc_t fwd_d, d;
  CHECK(dnnl_dilated_convolution_forward_desc_init(&fwd_d, dnnl_forward_training,
      dnnl_convolution_direct, &x_md, &f_any, NULL, &y_md, strides, dilates, pad_l, pad_r));
  dnnl_primitive_desc_t fwd_pd, pd;
  CHECK(dnnl_primitive_desc_create(&fwd_pd, &fwd_d, NULL, engine, NULL));
  if (k[P_OP] == CONV_FORWARD) {
    pd = fwd_pd;
  } else {
    if (k[P_OP] == CONV_INPUT_GRAD) {
      CHECK(dnnl_dilated_convolution_backward_data_desc_init(&d, dnnl_convolution_direct,
          &x_md, &f_any, &y_md, strides, dilates, pad_l, pad_r));
    } else {
      CHECK(dnnl_dilated_convolution_backward_weights_desc_init(&d, dnnl_convolution_direct,
          &x_md, &f_any, NULL, &y_md, strides, dilates, pad_l, pad_r));
    }
    CHECK(dnnl_primitive_desc_create(&pd, &d, NULL, engine, fwd_pd));
    dnnl_primitive_desc_destroy(fwd_pd);
  }
  const dnnl_query_t f_query =
      k[P_OP] == CONV_FILTER_GRAD ? dnnl_query_diff_weights_md : dnnl_query_weights_md;
  const dnnl_memory_desc_t *f_prim = dnnl_primitive_desc_query_md(pd, f_query, 0);

  CHECK(dnnl_primitive_create(&e->prim, pd));
  int rc = make_memory(&e->x, &x_md, DNNL_MEMORY_NONE);
  if (!rc) rc = make_memory(&e->f, &f_user, DNNL_MEMORY_NONE);
  if (!rc) rc = make_memory(&e->y, &y_md, DNNL_MEMORY_NONE);
  if (!rc && !dnnl_memory_desc_equal(f_prim, &f_user)) {
    rc = make_memory(&e->f_prim, f_prim, DNNL_MEMORY_ALLOCATE);
    dnnl_primitive_desc_t rpd;
    const int to_user = k[P_OP] == CONV_FILTER_GRAD;
    if (!rc) {
      dnnl_status_t s = dnnl_reorder_primitive_desc_create(&rpd, to_user ? f_prim : &f_user,
          engine, to_user ? &f_user : f_prim, engine, NULL);
      if (s != dnnl_success) rc = fail(s, "filter reorder");
    }
    if (!rc) {
      dnnl_status_t s = dnnl_primitive_create(&e->reorder, rpd);
      dnnl_primitive_desc_destroy(rpd);
      if (s != dnnl_success) rc = fail(s, "filter reorder primitive");
    }
  }
  dnnl_primitive_desc_destroy(pd);
  return rc;
}

static int find_conv(const int64_t *p, conv_entry **out) {
  for (conv_entry *e = cache; e != NULL; e = e->next) {
    if (memcmp(e->key, p, sizeof e->key) == 0) {
      *out = e;
      return 0;
    }
  }
  conv_entry *e = calloc(1, sizeof *e);
  if (e == NULL) return fail(-1, "calloc");
  memcpy(e->key, p, sizeof e->key);
  int rc = build_conv(e);
  if (rc) {
    free(e); /* the primitive's parts leak on this rare path; the caller falls back */
    return rc;
  }
  e->next = cache;
  cache = e;
  *out = e;
  return 0;
}

static int execute(dnnl_primitive_t prim, int n, const dnnl_exec_arg_t *args) {
  CHECK(dnnl_primitive_execute(prim, stream, n, args));
  CHECK(dnnl_stream_wait(stream));
  return 0;
}

/**
 * A 2-D convolution or one of its gradients (p[P_OP]), on tensors at heap + offset:
 * forward y = conv(x, w); input grad dx = conv_input_grad(dy, w); filter grad
 * dw = conv_filter_grad(x, dy).
 */
int ls_conv2d(uint8_t *heap, const int64_t *p) {
  int rc = ensure_engine();
  if (rc) return rc;
  omp_set_num_threads((int)p[P_THREADS]);
  conv_entry *e;
  rc = find_conv(p, &e);
  if (rc) return rc;
  CHECK(dnnl_memory_set_data_handle(e->x, heap + p[P_X]));
  CHECK(dnnl_memory_set_data_handle(e->f, heap + p[P_F]));
  CHECK(dnnl_memory_set_data_handle(e->y, heap + p[P_Y]));
  dnnl_memory_t f = e->f_prim != NULL ? e->f_prim : e->f;
  const int op = (int)p[P_OP];
  if (op != CONV_FILTER_GRAD && e->reorder != NULL) {
    dnnl_exec_arg_t r[] = {{DNNL_ARG_FROM, e->f}, {DNNL_ARG_TO, e->f_prim}};
    if ((rc = execute(e->reorder, 2, r))) return rc;
  }
  if (op == CONV_FORWARD) {
    dnnl_exec_arg_t a[] = {{DNNL_ARG_SRC, e->x}, {DNNL_ARG_WEIGHTS, f}, {DNNL_ARG_DST, e->y}};
    rc = execute(e->prim, 3, a);
  } else if (op == CONV_INPUT_GRAD) {
    dnnl_exec_arg_t a[] = {
        {DNNL_ARG_DIFF_SRC, e->x}, {DNNL_ARG_WEIGHTS, f}, {DNNL_ARG_DIFF_DST, e->y}};
    rc = execute(e->prim, 3, a);
  } else {
    dnnl_exec_arg_t a[] = {
        {DNNL_ARG_SRC, e->x}, {DNNL_ARG_DIFF_WEIGHTS, f}, {DNNL_ARG_DIFF_DST, e->y}};
    rc = execute(e->prim, 3, a);
    if (!rc && e->reorder != NULL) {
      dnnl_exec_arg_t r[] = {{DNNL_ARG_FROM, e->f_prim}, {DNNL_ARG_TO, e->f}};
      rc = execute(e->reorder, 2, r);
    }
  }
  return rc;
}

/* Matmul parameters q[]. */
enum {
  Q_THREADS, Q_TRANS_A, Q_TRANS_B, Q_M, Q_N, Q_K, Q_BATCH_A, Q_BATCH_B, Q_A, Q_B, Q_C, Q_LEN
};

/**
 * Batched row-major C[i] = op(A[i]) · op(B[i]) with op a transpose when asked; a batch of 1
 * on either side is broadcast.
 */
int ls_matmul(uint8_t *heap, const int64_t *q) {
  omp_set_num_threads((int)q[Q_THREADS]);
  const int64_t m = q[Q_M], n = q[Q_N], k = q[Q_K];
  const int64_t ba = q[Q_BATCH_A], bb = q[Q_BATCH_B], batch = ba > bb ? ba : bb;
  const char ta = q[Q_TRANS_A] ? 'T' : 'N', tb = q[Q_TRANS_B] ? 'T' : 'N';
  const float *a = (const float *)(heap + q[Q_A]);
  const float *b = (const float *)(heap + q[Q_B]);
  float *c = (float *)(heap + q[Q_C]);
  for (int64_t i = 0; i < batch; i++) {
    const float *ai = a + (ba == 1 ? 0 : i) * m * k;
    const float *bi = b + (bb == 1 ? 0 : i) * k * n;
    CHECK(dnnl_sgemm(ta, tb, m, n, k, 1.0f, ai, q[Q_TRANS_A] ? m : k, bi,
        q[Q_TRANS_B] ? k : n, 0.0f, c + i * m * n, n));
  }
  return 0;
}

/*
 * Elementwise kernels in plain C. Loops run over the channel (innermost, NHWC) axis with one
 * accumulator per channel, so no sum is reordered: the bits are the same whichever vector
 * width a clone below uses (the build turns off fused multiply-add contraction for that).
 */
#define CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

#define F32(off) ((float *)(heap + (off)))

/* BatchNorm forward parameters b[]. */
enum { B_M, B_C, B_X, B_GAMMA, B_BETA, B_Y, B_MEAN, B_VAR, B_R, B_LEN };

/**
 * Train-mode BatchNorm over the last axis of an [M, C] tensor: the batch mean, the biased
 * batch variance (double accumulators), r = 1/sqrt(var + eps) and y = (x - mean)·γr + β.
 */
CLONES int ls_bn_forward(uint8_t *heap, const int64_t *b, double eps) {
  const int64_t m = b[B_M], c = b[B_C];
  const float *x = F32(b[B_X]), *gamma = F32(b[B_GAMMA]), *beta = F32(b[B_BETA]);
  float *y = F32(b[B_Y]), *mean = F32(b[B_MEAN]), *var = F32(b[B_VAR]), *r = F32(b[B_R]);
  double *acc = calloc((size_t)c, sizeof(double));
  float *scale = malloc((size_t)c * sizeof(float));
  if (acc == NULL || scale == NULL) {
    free(acc);
    free(scale);
    return fail(-1, "malloc");
  }
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < c; j++) acc[j] += x[i * c + j];
  for (int64_t j = 0; j < c; j++) {
    mean[j] = (float)(acc[j] / (double)m);
    acc[j] = 0;
  }
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < c; j++) {
      const double d = x[i * c + j] - mean[j];
      acc[j] += d * d;
    }
  for (int64_t j = 0; j < c; j++) {
    var[j] = (float)(acc[j] / (double)m);
    r[j] = (float)(1.0 / sqrt((double)var[j] + eps));
    scale[j] = gamma[j] * r[j];
  }
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < c; j++) y[i * c + j] = (x[i * c + j] - mean[j]) * scale[j] + beta[j];
  free(acc);
  free(scale);
  return 0;
}

/* BatchNorm backward parameters g[]. */
enum { G_M, G_C, G_DY, G_X, G_MEAN, G_R, G_GAMMA, G_DX, G_DGAMMA, G_DBETA, G_LEN };

/**
 * The gradient of train-mode BatchNorm from dy, x and the forward's mean and r (xc = x - mean,
 * scale = γr): dβ = Σ dy, dγ = r·Σ dy·xc, dx = scale·dy - xc·(scale·r·dγ/M) - scale·dβ/M.
 */
CLONES int ls_bn_backward(uint8_t *heap, const int64_t *g) {
  const int64_t m = g[G_M], c = g[G_C];
  const float *dy = F32(g[G_DY]), *x = F32(g[G_X]), *mean = F32(g[G_MEAN]);
  const float *r = F32(g[G_R]), *gamma = F32(g[G_GAMMA]);
  float *dx = F32(g[G_DX]), *dgamma = F32(g[G_DGAMMA]), *dbeta = F32(g[G_DBETA]);
  double *sdy = calloc((size_t)c, sizeof(double)), *sdyx = calloc((size_t)c, sizeof(double));
  float *scale = malloc((size_t)c * sizeof(float)), *k = malloc((size_t)c * sizeof(float));
  float *shift = malloc((size_t)c * sizeof(float));
  int rc = 0;
  if (sdy == NULL || sdyx == NULL || scale == NULL || k == NULL || shift == NULL) {
    rc = fail(-1, "malloc");
    goto done;
  }
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < c; j++) {
      const float d = dy[i * c + j];
      sdy[j] += d;
      sdyx[j] += (double)d * (x[i * c + j] - mean[j]);
    }
  for (int64_t j = 0; j < c; j++) {
    dbeta[j] = (float)sdy[j];
    dgamma[j] = (float)(sdyx[j] * r[j]);
    scale[j] = gamma[j] * r[j];
    k[j] = scale[j] * r[j] * dgamma[j] / (float)m;
    shift[j] = scale[j] * dbeta[j] / (float)m;
  }
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < c; j++) {
      const int64_t at = i * c + j;
      dx[at] = dy[at] * scale[j] - (x[at] - mean[j]) * k[j] - shift[j];
    }
done:
  free(sdy);
  free(sdyx);
  free(scale);
  free(k);
  free(shift);
  return rc;
}

/**
 * ReLU's gradient dx = dy·[y > 0] from the ReLU's output y, on raw bits (n values): bitwise
 * the wasm kernel's (`core/wasm/relu_backprop.ts`), zeroed entries keep dy's sign.
 */
CLONES int ls_relu_backprop(uint8_t *heap, int64_t n, int64_t dy_off, int64_t y_off,
    int64_t dx_off) {
  const int32_t *dy = (const int32_t *)(heap + dy_off), *y = (const int32_t *)(heap + y_off);
  int32_t *dx = (int32_t *)(heap + dx_off);
  for (int64_t i = 0; i < n; i++) {
    const int32_t v = y[i];
    const int32_t zeroed = (int32_t)(((uint32_t)(v | (int32_t)((uint32_t)v - 1u))) >> 31);
    dx[i] = dy[i] & ((zeroed - 1) | INT32_MIN);
  }
  return 0;
}

/* A float's bits as an integer that orders like the float (for non-NaN values). */
static inline int32_t order_key(int32_t u) { return u ^ ((u >> 31) & 0x7fffffff); }

/**
 * The gradient of a 2×2, stride-2, unpadded max pool over NHWC x [n, h, w, c]: each window's
 * dy goes to its last maximal entry in row-major order, as the wasm kernel does
 * (`core/wasm/max_pool_grad.ts`); every other entry of dx is zero.
 */
CLONES int ls_max_pool2_grad(uint8_t *heap, const int64_t *s) {
  const int64_t n = s[0], h = s[1], w = s[2], c = s[3];
  const int32_t *x = (const int32_t *)(heap + s[4]), *dy = (const int32_t *)(heap + s[5]);
  int32_t *dx = (int32_t *)(heap + s[6]);
  const int64_t oh = h / 2, ow = w / 2, row = w * c;
  /* Rows and columns no window covers (odd sizes) get no gradient; the loop writes the rest. */
  if (h % 2 != 0 || w % 2 != 0) memset(dx, 0, (size_t)(n * h * w * c) * sizeof(int32_t));
  for (int64_t b = 0; b < n; b++)
    for (int64_t i = 0; i < oh; i++)
      for (int64_t j = 0; j < ow; j++) {
        /* The window's four corners, each a run of c channels; no branches, so it vectorizes. */
        const int64_t p = (b * h + 2 * i) * row + 2 * j * c;
        const int32_t *x0 = x + p, *x1 = x + p + c, *x2 = x + p + row, *x3 = x + p + row + c;
        int32_t *d0 = dx + p, *d1 = dx + p + c, *d2 = dx + p + row, *d3 = dx + p + row + c;
        const int32_t *g = dy + ((b * oh + i) * ow + j) * c;
        for (int64_t k = 0; k < c; k++) {
          const int32_t k0 = order_key(x0[k]), k1 = order_key(x1[k]);
          const int32_t k2 = order_key(x2[k]), k3 = order_key(x3[k]);
          int32_t best = k0, at = 0;
          at = k1 >= best ? 1 : at;
          best = k1 >= best ? k1 : best;
          at = k2 >= best ? 2 : at;
          best = k2 >= best ? k2 : best;
          at = k3 >= best ? 3 : at;
          d0[k] = at == 0 ? g[k] : 0;
          d1[k] = at == 1 ? g[k] : 0;
          d2[k] = at == 2 ? g[k] : 0;
          d3[k] = at == 3 ? g[k] : 0;
        }
      }
  return 0;
}
