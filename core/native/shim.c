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
 * Build: gcc -O2 -fPIC -shared -fopenmp shim.c -ldnnl (core/native/build.ts does this).
 */
#include <oneapi/dnnl/dnnl.h>
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
