/*
 * The motion detector's passes over its working picture (src/motion), in C:
 * the same arithmetic as the JavaScript passes, step for step and in the same
 * precision (doubles, kept as floats where the JavaScript keeps a
 * Float32Array; no contraction into fused multiply-adds: -ffp-contract=off),
 * so the answers are identical, bit for bit (test/motion/reference.test.ts
 * runs both). The JavaScript keeps the buffers and every decision made per
 * frame (the tone map, the bars, the regions' merging); these functions only
 * walk pixels. Why in C: ADR 0099.
 *
 *   motionWork(dims, cols, rows, masked, sums, diff, rowChanged, moved, grown, movedRows, labels, stack, movingFor,
 *              movingRows, residual, tone, boxes) → a handle on one working size's buffers (the JavaScript Work's
 *              own typed arrays, which it holds as long as the handle; dims: inWidth, inHeight, stride, w, h,
 *              anyMasked)
 *   motionStart(work, luma, background)                              sample, then the blur into the background
 *   motionBlur(work, background)                                     the blur of the last sample, into it
 *   motionCompare(work, luma, background, next, rate, floor) → n     sample, changes, tone bins, residuals
 *   motionRecompare(work, background, next, rate, floor) → n         changes, residuals
 *   motionThreshold(work, usual, threshold, out) → changed           out: moved count, first row, last row
 *   motionRegions(work, from, to, minPixels) → k                     k boxes x1 y1 x2 y2 (pixels) in `boxes`
 *   motionLearn(work, background, next, from, to, slow, absorb)
 *
 * n: the pixels counted into the residual's histograms. Every check of sizes
 * is made here too: a wrong call throws, it never reads past a buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <node_api.h>

/*
 * The pixel loops are written so the compiler can vectorise them (-O3 here, whatever the build's level) and built
 * twice, for AVX2 and for any x86-64, the loader choosing (target_clones); elsewhere once. Vector arithmetic is the
 * scalar arithmetic lane by lane: nothing is reassociated, so the answers stay those of the JavaScript.
 */
#pragma GCC optimize("O3")
/* target_clones needs the loader's indirect functions: glibc's (musl has none; there the loops are built once). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__GLIBC__)
#define VECTOR_LOOP __attribute__((target_clones("avx2", "default")))
#else
#define VECTOR_LOOP
#endif

#define BLUR (1.0 / 36.0)
/* The tone map's histograms: 16 bands of 512 bins, and one more bin for masked pixels, never read. */
#define TONE_BINS (16 * 512)
/*
 * Counted in four histograms, pixel by pixel in turn, then added: most pixels of a still picture fall in the bin of
 * the one before, and one histogram would make each count wait for the last (the store must land before the next
 * load of it). A count of 16 bits each, where no way can hold 2^16 pixels (a working picture under about a million
 * pixels; a larger one counts in the tone map's own histograms, one way).
 */
#define TONE_WAYS 4

typedef struct {
  int32_t in_width, in_height, stride, w, h, any_masked;
  /* 4: the columns are 4x + 1 and 4x + 3; 2: 2x and 2x + 1; 0: any (read through the table). */
  int32_t step;
  size_t n;
  /* One working row's four-sample sums (the columns of the blur come from them). */
  int32_t *row;
  /* The tone map's bin of every other pixel (TONE_BINS: masked), then counted in TONE_WAYS histograms of 16 bits. */
  uint16_t *tone_index;
  uint16_t *tone_ways;
  const int32_t *cols, *rows;
  const uint8_t *masked;
  int32_t *sums;
  double *diff;
  int32_t *row_changed;
  uint8_t *moved, *grown, *moved_rows, *moving_rows;
  int32_t *labels, *stack;
  uint16_t *moving_for;
  uint32_t *residual, *tone;
  int32_t *boxes;
  size_t box_capacity;
} Work;

static void fail(napi_env env, const char *message) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_type_error(env, "ERR_MOTION_NATIVE", message);
}

/* A typed array's data and its length in elements, checked to be of `type` and to hold at least `least`. */
static void *typed(napi_env env, napi_value value, napi_typedarray_type type, size_t least, size_t *length) {
  bool is = false;
  if (napi_is_typedarray(env, value, &is) != napi_ok || !is) return NULL;
  napi_typedarray_type actual;
  size_t count = 0;
  void *data = NULL;
  if (napi_get_typedarray_info(env, value, &actual, &count, &data, NULL, NULL) != napi_ok || actual != type || count < least) return NULL;
  if (length != NULL) *length = count;
  return data != NULL ? data : (void *)"";
}

static void finalize_work(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  Work *g = data;
  free(g->row);
  free(g->tone_index);
  free(g->tone_ways);
  free(g);
}

static napi_value make_work(napi_env env, napi_callback_info info) {
  size_t argc = 17;
  napi_value a[17];
  if (napi_get_cb_info(env, info, &argc, a, NULL, NULL) != napi_ok || argc < 17) {
    fail(env, "motionWork: 17 arguments");
    return NULL;
  }
  const int32_t *dims = typed(env, a[0], napi_int32_array, 6, NULL);
  if (dims == NULL || dims[0] < 1 || dims[1] < 1 || dims[2] < dims[0] || dims[3] < 1 || dims[4] < 1 || dims[3] > dims[0] || dims[4] > dims[1] + 1) {
    fail(env, "motionWork: dims must be an Int32Array of inWidth, inHeight, stride, w, h, anyMasked");
    return NULL;
  }
  Work *g = calloc(1, sizeof *g);
  if (g == NULL) {
    napi_throw_error(env, "ERR_MOTION_NATIVE", "motionWork: out of memory");
    return NULL;
  }
  g->in_width = dims[0];
  g->in_height = dims[1];
  g->stride = dims[2];
  g->w = dims[3];
  g->h = dims[4];
  g->any_masked = dims[5] != 0;
  size_t w = (size_t)g->w, h = (size_t)g->h, n = w * h;
  g->n = n;
  g->cols = typed(env, a[1], napi_int32_array, 2 * w, NULL);
  g->rows = typed(env, a[2], napi_int32_array, 2 * h, NULL);
  g->masked = typed(env, a[3], napi_uint8_array, n, NULL);
  g->sums = typed(env, a[4], napi_int32_array, n, NULL);
  g->diff = typed(env, a[5], napi_float64_array, n, NULL);
  g->row_changed = typed(env, a[6], napi_int32_array, h, NULL);
  g->moved = typed(env, a[7], napi_uint8_array, n, NULL);
  g->grown = typed(env, a[8], napi_uint8_array, n, NULL);
  g->moved_rows = typed(env, a[9], napi_uint8_array, h, NULL);
  g->labels = typed(env, a[10], napi_int32_array, n, NULL);
  g->stack = typed(env, a[11], napi_int32_array, 2 * n, NULL);
  g->moving_for = typed(env, a[12], napi_uint16_array, n, NULL);
  g->moving_rows = typed(env, a[13], napi_uint8_array, h, NULL);
  g->residual = typed(env, a[14], napi_uint32_array, 512, NULL);
  g->tone = typed(env, a[15], napi_uint32_array, 16 * 512, NULL);
  size_t box_words = 0;
  g->boxes = typed(env, a[16], napi_int32_array, 4, &box_words);
  g->box_capacity = box_words / 4;
  bool ok = g->cols && g->rows && g->masked && g->sums && g->diff && g->row_changed && g->moved && g->grown && g->moved_rows && g->labels &&
            g->stack && g->moving_for && g->moving_rows && g->residual && g->tone && g->boxes;
  /* Every sample must lie in the input: the JavaScript made these tables, but a wrong one must not read astray. */
  for (size_t i = 0; ok && i < 2 * w; i++) ok = g->cols[i] >= 0 && g->cols[i] < g->in_width;
  for (size_t i = 0; ok && i < 2 * h; i++) ok = g->rows[i] >= 0 && g->rows[i] <= (g->in_height - 1) * g->stride && g->rows[i] % g->stride == 0;
  if (!ok) {
    free(g);
    fail(env, "motionWork: a buffer is missing, of the wrong kind or too short, or a sample lies outside the input");
    return NULL;
  }
  bool four = true, two = true;
  for (size_t x = 0; x < w; x++) {
    four = four && g->cols[2 * x] == (int32_t)(4 * x + 1) && g->cols[2 * x + 1] == (int32_t)(4 * x + 3);
    two = two && g->cols[2 * x] == (int32_t)(2 * x) && g->cols[2 * x + 1] == (int32_t)(2 * x + 1);
  }
  g->step = four ? 4 : two ? 2 : 0;
  g->row = malloc(w * sizeof *g->row);
  g->tone_index = malloc((n / 2 + 1) * sizeof *g->tone_index);
  /* Only where no way can count past 16 bits: a quarter of the binned pixels each, at most. */
  g->tone_ways = (n + 1) / 2 / TONE_WAYS + 1 < 65536 ? calloc(TONE_WAYS * (TONE_BINS + 1), sizeof *g->tone_ways) : NULL;
  napi_value handle;
  if (g->row == NULL || g->tone_index == NULL || napi_create_external(env, g, finalize_work, NULL, &handle) != napi_ok) {
    free(g->row);
    free(g->tone_index);
    free(g->tone_ways);
    free(g);
    napi_throw_error(env, "ERR_MOTION_NATIVE", "motionWork: out of memory");
    return NULL;
  }
  return handle;
}

/* The handle and the typed arguments of a pass; NULL (an exception pending) when they do not check. */
static Work *work_of(napi_env env, napi_value value) {
  napi_valuetype kind;
  void *data = NULL;
  if (napi_typeof(env, value, &kind) != napi_ok || kind != napi_external || napi_get_value_external(env, value, &data) != napi_ok) return NULL;
  return data;
}

static const uint8_t *luma_of(napi_env env, const Work *g, napi_value value) {
  size_t least = (size_t)g->stride * (size_t)(g->in_height - 1) + (size_t)g->in_width;
  return typed(env, value, napi_uint8_array, least, NULL);
}

static float *plane_of(napi_env env, const Work *g, napi_value value) { return typed(env, value, napi_float32_array, g->n, NULL); }

static double number(napi_env env, napi_value value, bool *ok) {
  double v = 0;
  if (napi_get_value_double(env, value, &v) != napi_ok || v != v) *ok = false;
  return v;
}

static napi_value int_result(napi_env env, double v) {
  napi_value r;
  if (napi_create_double(env, v, &r) != napi_ok) return NULL;
  return r;
}

/* One working row's four samples a pixel (rows r0, r1 of the input), by the columns' pattern. */
VECTOR_LOOP static void sample_row(const Work *g, const uint8_t *restrict r0, const uint8_t *restrict r1, int32_t *restrict row) {
  const int32_t w = g->w;
  if (g->step == 4) {
    for (int32_t x = 0; x < w; x++) row[x] = r0[4 * x + 1] + r0[4 * x + 3] + r1[4 * x + 1] + r1[4 * x + 3];
  } else if (g->step == 2) {
    for (int32_t x = 0; x < w; x++) row[x] = r0[2 * x] + r0[2 * x + 1] + r1[2 * x] + r1[2 * x + 1];
  } else {
    const int32_t *cols = g->cols;
    for (int32_t x = 0; x < w; x++) row[x] = r0[cols[2 * x]] + r0[cols[2 * x + 1]] + r1[cols[2 * x]] + r1[cols[2 * x + 1]];
  }
}

/* The input at the working size and each row's sums of three across, the first half of the blur (work.ts' sample()). */
VECTOR_LOOP static void sample(const Work *g, const uint8_t *luma) {
  const int32_t w = g->w, h = g->h;
  int32_t *restrict row = g->row;
  for (int32_t y = 0; y < h; y++) {
    sample_row(g, luma + g->rows[2 * y], luma + g->rows[2 * y + 1], row);
    int32_t *restrict sums = g->sums + (size_t)y * w;
    if (w == 1) {
      sums[0] = 3 * row[0];
      continue;
    }
    /* A neighbour beyond the row's end is the pixel itself. */
    sums[0] = row[0] + row[0] + row[1];
    for (int32_t x = 1; x < w - 1; x++) sums[x] = row[x - 1] + row[x] + row[x + 1];
    sums[w - 1] = row[w - 2] + row[w - 1] + row[w - 1];
  }
}

VECTOR_LOOP static void blur_into(const Work *g, float *restrict out) {
  const int32_t w = g->w, h = g->h;
  const int32_t *sums = g->sums;
  for (int32_t y = 0; y < h; y++) {
    size_t o = (size_t)y * w;
    size_t up = y > 0 ? o - w : o;
    size_t down = y < h - 1 ? o + w : o;
    for (int32_t x = 0; x < w; x++) out[o + x] = (float)((double)(sums[up + x] + sums[o + x] + sums[down + x]) * BLUR);
  }
}

/* Each pixel's change, the next background at the still rate, each row's count of changes over the floor. */
VECTOR_LOOP static void changes(const Work *g, const float *restrict bg, float *restrict next, double rate, double floor) {
  const int32_t w = g->w, h = g->h;
  const int32_t *sums = g->sums;
  double *restrict diff = g->diff;
  for (int32_t y = 0; y < h; y++) {
    size_t o = (size_t)y * w;
    const int32_t *up = sums + (y > 0 ? o - w : o);
    const int32_t *mid = sums + o;
    const int32_t *down = sums + (y < h - 1 ? o + w : o);
    const float *b = bg + o;
    double *dd = diff + o;
    float *nn = next + o;
    int32_t changed = 0;
    for (int32_t x = 0; x < w; x++) {
      double old = b[x];
      double d = (double)(float)((double)(up[x] + mid[x] + down[x]) * BLUR) - old;
      dd[x] = d;
      nn[x] = (float)(old + rate * d);
      changed += (d > floor) | (-d > floor);
    }
    g->row_changed[y] = changed;
  }
}

/* The four ways added into the tone map's histograms, and emptied for the next picture. */
VECTOR_LOOP static void add_ways(uint32_t *restrict tone, uint16_t *restrict ways, size_t stride) {
  for (size_t b = 0; b < TONE_BINS; b++) tone[b] = (uint32_t)ways[b] + ways[stride + b] + ways[2 * stride + b] + ways[3 * stride + b];
  memset(ways, 0, TONE_WAYS * stride * sizeof *ways);
}

/* Every other pixel's tone map bin: band of its background, Math.round(d) + 255; TONE_BINS where masked. */
VECTOR_LOOP static void tone_index(const Work *g, const float *restrict bg) {
  const double *restrict diff = g->diff;
  const uint8_t *restrict masked = g->masked;
  uint16_t *restrict index = g->tone_index;
  const size_t half = (g->n + 1) / 2;
  for (size_t j = 0; j < half; j++) {
    int32_t band = (int32_t)((double)bg[2 * j] * (1.0 / 16.0));
    band = band > 15 ? 15 : band < 0 ? 0 : band;
    double d = diff[2 * j];
    int32_t k = (int32_t)(d + 255.5);
    k -= d < k - 255.5;
    /* In range by the callers' own bounds (a background in 0-255, a difference of two such); clamped all the same, since
       tone_bins() counts without a check: an index out of range would write past its histograms. */
    k = k > 511 ? 511 : k < 0 ? 0 : k;
    index[j] = masked[2 * j] == 1 ? TONE_BINS : (uint16_t)(band * 512 + k);
  }
}

/* Every other unmasked pixel into the tone map's histograms (the JavaScript's #toneBins). */
static void tone_bins(const Work *g, const float *bg) {
  uint32_t *restrict tone = g->tone;
  const uint16_t *index = g->tone_index;
  const size_t half = (g->n + 1) / 2;
  tone_index(g, bg);
  if (g->tone_ways == NULL) {
    memset(tone, 0, TONE_BINS * sizeof *tone);
    for (size_t j = 0; j < half; j++)
      if (index[j] < TONE_BINS) tone[index[j]]++;
    return;
  }
  uint16_t *restrict ways = g->tone_ways;
  const size_t stride = TONE_BINS + 1;
  size_t j = 0;
  for (; j + TONE_WAYS <= half; j += TONE_WAYS) {
    ways[index[j]]++;
    ways[stride + index[j + 1]]++;
    ways[2 * stride + index[j + 2]]++;
    ways[3 * stride + index[j + 3]]++;
  }
  for (; j < half; j++) ways[index[j]]++;
  add_ways(tone, ways, stride);
}

/* Every third unmasked pixel's change (its size, 0–255) into two histograms taken in turn; how many. */
static uint32_t residuals(const Work *g) {
  uint32_t *residual = g->residual;
  const double *diff = g->diff;
  const size_t n = g->n;
  memset(residual, 0, 512 * sizeof *residual);
  uint32_t counted = 0;
  int32_t lane = 0;
  for (size_t i = 0; i < n; i += 3) {
    if (g->masked[i] == 1) continue;
    double d = diff[i];
    double a = d < 0 ? -d : d;
    residual[lane + (a >= 255 ? 255 : (int32_t)a)]++;
    lane = 256 - lane;
    counted++;
  }
  return counted;
}

static napi_value start(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value a[3];
  Work *g = NULL;
  const uint8_t *luma = NULL;
  float *bg = NULL;
  if (napi_get_cb_info(env, info, &argc, a, NULL, NULL) != napi_ok || argc < 3 || (g = work_of(env, a[0])) == NULL || (luma = luma_of(env, g, a[1])) == NULL ||
      (bg = plane_of(env, g, a[2])) == NULL) {
    fail(env, "motionStart(work, luma, background): a luma plane of the work's size and its background");
    return NULL;
  }
  sample(g, luma);
  blur_into(g, bg);
  return NULL;
}

static napi_value blur(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value a[2];
  Work *g = NULL;
  float *bg = NULL;
  if (napi_get_cb_info(env, info, &argc, a, NULL, NULL) != napi_ok || argc < 2 || (g = work_of(env, a[0])) == NULL || (bg = plane_of(env, g, a[1])) == NULL) {
    fail(env, "motionBlur(work, background)");
    return NULL;
  }
  blur_into(g, bg);
  return NULL;
}

/* compare: luma given (sample first, then the tone bins after the changes); recompare: none (the same sums). */
static napi_value compare_with(napi_env env, napi_callback_info info, bool with_luma) {
  size_t argc = 6;
  napi_value a[6];
  const size_t want = with_luma ? 6 : 5;
  Work *g = NULL;
  const uint8_t *luma = NULL;
  float *bg = NULL, *next = NULL;
  bool ok = napi_get_cb_info(env, info, &argc, a, NULL, NULL) == napi_ok && argc >= want && (g = work_of(env, a[0])) != NULL;
  size_t k = 1;
  if (ok && with_luma) ok = (luma = luma_of(env, g, a[k++])) != NULL;
  if (ok) ok = (bg = plane_of(env, g, a[k])) != NULL && (next = plane_of(env, g, a[k + 1])) != NULL && bg != next;
  double rate = ok ? number(env, a[k + 2], &ok) : 0;
  double floor = ok ? number(env, a[k + 3], &ok) : 0;
  if (!ok) {
    fail(env, with_luma ? "motionCompare(work, luma, background, next, rate, floor)" : "motionRecompare(work, background, next, rate, floor)");
    return NULL;
  }
  if (with_luma) sample(g, luma);
  changes(g, bg, next, rate, floor);
  if (with_luma) tone_bins(g, bg);
  return int_result(env, (double)residuals(g));
}

static napi_value compare(napi_env env, napi_callback_info info) { return compare_with(env, info, true); }
static napi_value recompare(napi_env env, napi_callback_info info) { return compare_with(env, info, false); }

/*
 * The unmasked pixels that changed by more than the usual bar (returned), and those over the motion bar marked as
 * moved, on the rows with a change over the floor only (the others' moved bytes cleared once); out gets the moved
 * count and the first and last rows they lie on (h and −1 when none).
 */
static napi_value threshold(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value a[4];
  Work *g = NULL;
  int32_t *out = NULL;
  bool ok = napi_get_cb_info(env, info, &argc, a, NULL, NULL) == napi_ok && argc >= 4 && (g = work_of(env, a[0])) != NULL;
  double usual = ok ? number(env, a[1], &ok) : 0;
  double bar = ok ? number(env, a[2], &ok) : 0;
  if (ok) ok = (out = typed(env, a[3], napi_int32_array, 3, NULL)) != NULL;
  if (!ok) {
    fail(env, "motionThreshold(work, usual, threshold, out)");
    return NULL;
  }
  const int32_t w = g->w, h = g->h;
  const double *diff = g->diff;
  uint32_t changed = 0;
  int32_t count = 0, from = h, to = -1;
  for (int32_t y = 0; y < h; y++) {
    size_t o = (size_t)y * w;
    if (g->row_changed[y] == 0) {
      if (g->moved_rows[y] == 1) {
        memset(g->moved + o, 0, (size_t)w);
        g->moved_rows[y] = 0;
      }
      continue;
    }
    int32_t row = 0;
    for (size_t i = o; i < o + w; i++) {
      double d = diff[i];
      double s = d < 0 ? -d : d;
      uint8_t m = 0;
      if (s > usual && g->masked[i] == 0) {
        changed++;
        m = s > bar;
      }
      g->moved[i] = m;
      row += m;
    }
    g->moved_rows[y] = 1;
    if (row > 0) {
      count += row;
      if (from == h) from = y;
      to = y;
    }
  }
  out[0] = count;
  out[1] = from;
  out[2] = to;
  return int_result(env, (double)changed);
}

/*
 * Rows from..to grown by one (a neighbour beyond the edge is the pixel itself), labelled in 4-connected regions
 * in the order a row-by-row scan meets them; each region with at least minPixels moved pixels written to `boxes`
 * as its first and last column and row. Returns how many (the JavaScript merges them, regions.ts).
 */
static napi_value regions(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value a[4];
  Work *g = NULL;
  int32_t from = 0, to = -1;
  bool ok = napi_get_cb_info(env, info, &argc, a, NULL, NULL) == napi_ok && argc >= 4 && (g = work_of(env, a[0])) != NULL &&
            napi_get_value_int32(env, a[1], &from) == napi_ok && napi_get_value_int32(env, a[2], &to) == napi_ok;
  double min_pixels = ok ? number(env, a[3], &ok) : 0;
  if (!ok || from < 0 || to >= g->h || from > to + 1) {
    fail(env, "motionRegions(work, from, to, minPixels): rows within the picture");
    return NULL;
  }
  const int32_t w = g->w, h = g->h;
  const uint8_t *moved = g->moved;
  uint8_t *grown = g->grown;
  for (int32_t y = from; y <= to; y++) {
    size_t o = (size_t)y * w;
    size_t up = y > 0 ? o - w : o;
    size_t down = y < h - 1 ? o + w : o;
    for (int32_t x = 0; x < w; x++) {
      uint8_t left = moved[o + (x > 0 ? x - 1 : x)];
      uint8_t right = moved[o + (x < w - 1 ? x + 1 : x)];
      grown[o + x] = moved[o + x] | left | right | moved[up + x] | moved[down + x];
    }
  }
  int32_t *labels = g->labels;
  int32_t *stack = g->stack;
  const size_t first = (size_t)from * w, end = (size_t)(to + 1) * w;
  if (end > first) memset(labels + first, 0, (end - first) * sizeof *labels);
  size_t kept = 0;
  int32_t label = 0;
  for (size_t start = first; start < end; start++) {
    if (grown[start] == 0 || labels[start] != 0) continue;
    label++;
    size_t top = 0;
    stack[top++] = (int32_t)start;
    stack[top++] = (int32_t)(start / (size_t)w);
    labels[start] = label;
    int32_t x1 = w, y1 = h, x2 = -1, y2 = -1;
    uint32_t pixels = 0;
    while (top > 0) {
      int32_t y = stack[--top];
      int32_t i = stack[--top];
      int32_t x = i - y * w;
      pixels += moved[i];
      if (x < x1) x1 = x;
      if (x > x2) x2 = x;
      if (y < y1) y1 = y;
      if (y > y2) y2 = y;
      if (x > 0 && grown[i - 1] == 1 && labels[i - 1] == 0) {
        labels[i - 1] = label;
        stack[top++] = i - 1;
        stack[top++] = y;
      }
      if (x < w - 1 && grown[i + 1] == 1 && labels[i + 1] == 0) {
        labels[i + 1] = label;
        stack[top++] = i + 1;
        stack[top++] = y;
      }
      if (y > from && grown[i - w] == 1 && labels[i - w] == 0) {
        labels[i - w] = label;
        stack[top++] = i - w;
        stack[top++] = y - 1;
      }
      if (y < to && grown[i + w] == 1 && labels[i + w] == 0) {
        labels[i + w] = label;
        stack[top++] = i + w;
        stack[top++] = y + 1;
      }
    }
    if ((double)pixels >= min_pixels) {
      if (kept == g->box_capacity) {
        napi_throw_range_error(env, "ERR_MOTION_NATIVE", "motionRegions: more regions than the boxes buffer holds");
        return NULL;
      }
      int32_t *box = g->boxes + 4 * kept++;
      box[0] = x1;
      box[1] = y1;
      box[2] = x2;
      box[3] = y2;
    }
  }
  return int_result(env, (double)kept);
}

/*
 * The moving pixels (grown, rows from..to) learn at the slow rate until they have moved `absorb` frames in a row;
 * every other row's counts of frames cleared once (moving_rows says which may not be 0). The caller swaps the two
 * backgrounds after.
 */
static napi_value learn(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value a[7];
  Work *g = NULL;
  float *bg = NULL, *next = NULL;
  int32_t from = 0, to = -1, absorb = 0;
  bool ok = napi_get_cb_info(env, info, &argc, a, NULL, NULL) == napi_ok && argc >= 7 && (g = work_of(env, a[0])) != NULL &&
            (bg = plane_of(env, g, a[1])) != NULL && (next = plane_of(env, g, a[2])) != NULL && bg != next &&
            napi_get_value_int32(env, a[3], &from) == napi_ok && napi_get_value_int32(env, a[4], &to) == napi_ok &&
            napi_get_value_int32(env, a[6], &absorb) == napi_ok;
  double slow = ok ? number(env, a[5], &ok) : 0;
  if (!ok || from < 0 || to >= g->h) {
    fail(env, "motionLearn(work, background, next, from, to, slow, absorb)");
    return NULL;
  }
  const int32_t w = g->w, h = g->h;
  const double *diff = g->diff;
  uint16_t *moving_for = g->moving_for;
  for (int32_t y = 0; y < h; y++) {
    size_t o = (size_t)y * w;
    if (y >= from && y <= to) {
      for (size_t i = o; i < o + w; i++) {
        if (g->grown[i] == 1) {
          uint16_t frames = moving_for[i];
          if (frames < 65535) moving_for[i] = frames + 1;
          if (frames < absorb) next[i] = (float)((double)bg[i] + slow * diff[i]);
        } else {
          moving_for[i] = 0;
        }
      }
      g->moving_rows[y] = 1;
    } else if (g->moving_rows[y] == 1) {
      memset(moving_for + o, 0, (size_t)w * sizeof *moving_for);
      g->moving_rows[y] = 0;
    }
  }
  return NULL;
}

void motion_exports(napi_env env, napi_value exports);

void motion_exports(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"motionWork", NULL, make_work, NULL, NULL, NULL, napi_default, NULL},
      {"motionStart", NULL, start, NULL, NULL, NULL, napi_default, NULL},
      {"motionBlur", NULL, blur, NULL, NULL, NULL, napi_default, NULL},
      {"motionCompare", NULL, compare, NULL, NULL, NULL, napi_default, NULL},
      {"motionRecompare", NULL, recompare, NULL, NULL, NULL, napi_default, NULL},
      {"motionThreshold", NULL, threshold, NULL, NULL, NULL, napi_default, NULL},
      {"motionRegions", NULL, regions, NULL, NULL, NULL, napi_default, NULL},
      {"motionLearn", NULL, learn, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties);
}
