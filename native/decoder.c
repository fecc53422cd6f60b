/*
 * framesupplier's in-process decoder: the decoding core (decoder_core.c:
 * libavformat + libavcodec + libswscale) behind N-API, for capture without a
 * pipe (ADR 0011), converting on demand (ADR 0016). This file is the glue
 * (ADR 0145): the calls from JavaScript, their arguments and answers, the
 * decoder's two threads and the thread-safe function; what a call does to
 * the source is the core's.
 *
 * Contract: every decoder has a thread of its own, started by open() and
 * joined when the decoder is released, that opens, reads, decodes and
 * converts. Nothing runs on libuv's shared pool, so dead or slow cameras never
 * delay the process's fs and dns work. Results reach JavaScript through a
 * thread-safe function. Pull, one frame per call: decode() wakes the thread,
 * which produces exactly one frame, converted by swscale straight into the
 * caller's buffer (a pooled SharedArrayBuffer slot), and sleeps again; nothing
 * is decoded ahead beyond what the codec's own frame threads hold.
 * interrupt() and close() set a flag that libav's AVIOInterruptCB reads, so a
 * pending open or read returns at once. One call at a time per decoder; the
 * JavaScript wrapper guarantees it.
 *
 * On demand (ADR 0016): next() decodes one picture and converts nothing;
 * present() (synchronous) makes it the decoder's current picture, replacing
 * the one before; convert() converts the current picture into the caller's
 * buffer on a second thread of the decoder's own (fs-convert), so a
 * conversion never waits behind a read blocked on the network, and the
 * decoder thread never waits for a conversion. The converter takes a
 * reference to the picture (no copy): present() may replace it meanwhile.
 * A picture replaced without a convert() is never converted. One next() or
 * decode() and one convert() may run at the same time.
 *
 * What is decoded (ADR 0028): every decode() or next() says what the codec
 * may discard undecoded (decoder_core.h says how the core applies it).
 *
 * Lifetime: the Decoder is shared by the JavaScript handle (an external) and
 * the thread (through the thread-safe function); it is freed when both are
 * gone. libav's contexts belong to the thread alone, which frees them before
 * it ends. Whatever releases the thread-safe function (the thread leaving, or
 * the environment's teardown at exit or when a worker thread ends) joins the
 * thread first, after setting the interrupt flag: nothing runs on after it.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <errno.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "decoder_core.h"
#include "malloc_figures.h"
#include "napi_check.h"

typedef enum { JOB_OPEN, JOB_DECODE, JOB_NEXT, JOB_CONVERT, JOB_HOLD } JobKind;

/* One call from JavaScript: what the core is asked and answers (job), what keeps its JavaScript values alive, and the glue's own. */
typedef struct {
  JobKind kind;
  napi_ref callback;
  napi_ref target_ref;
  napi_ref handle_ref;
  int lower_by;   /* open: lowerPriorityBy, nice levels the decoder thread lowers itself by */
  double picture; /* convert: the current picture's number (present() counts them) */
  double cpu_ms;  /* the thread's CPU time for the call, ms */
  /* the core's arguments and results, written by a decoder thread, read on the JavaScript thread once it handed the call over */
  DecoderJob job;
} Call;

typedef struct {
  /* The decoder thread's alone, but for the interrupt (any thread's) and what open fixed (the converter reads it). */
  DecoderCore core;

  int lower_by; /* open()'s lowerPriorityBy: nice levels the thread lowers itself by before it opens the source */

  /* The converter thread's alone. */
  Converter converter_own;
  AVFrame *conv_frame;

  /* Shared. */
  atomic_int refs; /* the JavaScript handle, the thread-safe function */
  pthread_mutex_t lock;
  pthread_cond_t wake;
  pthread_cond_t conv_wake;
  Call *call;      /* under lock: the call waiting for the decoder thread */
  Call *conv_call; /* under lock: the call waiting for the converter thread */
  int closing;   /* under lock: the threads are to end */
  AVFrame *cur;  /* under lock: the current picture (present()), what convert() reads; no buffer when none */
  double cur_number; /* under lock: present() calls so far */
  int cur_taken;     /* under lock: a convert() took the current picture */
  double dropped;    /* under lock: pictures present() replaced that no convert() took */
  pthread_t thread, conv_thread;
  int thread_started, conv_started;
  napi_threadsafe_function tsfn;

  /* The JavaScript thread's alone. */
  int busy;       /* a call is in the decoder thread's hands */
  int converting; /* a call is in the converter thread's hands */
  int closed;     /* close() was called */
  int opened;     /* open succeeded */
  double aim_ms;  /* the next next()'s near_pts_ms (aim()) */
  double decode_from_ms; /* the next next()'s decode_from_ms (decodeFrom()) */
} Decoder;

static void call_free(Call *call) {
  decoder_job_release(&call->job);
  free(call);
}

/* Makes a pending or later libav call give up, and the thread end once its call is answered. */
static void request_end(Decoder *d) {
  decoder_core_interrupt(&d->core);
  pthread_mutex_lock(&d->lock);
  d->closing = 1;
  pthread_cond_signal(&d->wake);
  pthread_cond_signal(&d->conv_wake);
  pthread_mutex_unlock(&d->lock);
}

static void decoder_free(Decoder *d) {
  av_frame_free(&d->cur);
  av_frame_free(&d->conv_frame);
  pthread_mutex_destroy(&d->lock);
  pthread_cond_destroy(&d->wake);
  pthread_cond_destroy(&d->conv_wake);
  decoder_core_destroy(&d->core);
  free(d);
}

static void decoder_unref(Decoder *d) {
  if (atomic_fetch_sub(&d->refs, 1) != 1) return;
  decoder_free(d);
}

/* ---- on the decoder and converter threads -------------------------------- */

static double thread_cpu_ms(void) {
  struct timespec t;
  return clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t) == 0 ? t.tv_sec * 1e3 + t.tv_nsec / 1e6 : 0;
}

/* convert(), on the converter thread: the current picture, by reference, into the target. */
static void convert_execute(Decoder *d, Call *call) {
  DecoderJob *job = &call->job;
  pthread_mutex_lock(&d->lock);
  int r = d->cur->buf[0] == NULL ? AVERROR(EAGAIN) : av_frame_ref(d->conv_frame, d->cur);
  if (r == 0) d->cur_taken = 1;
  call->picture = d->cur_number;
  pthread_mutex_unlock(&d->lock);
  if (r == AVERROR(EAGAIN)) return decoder_job_fail(job, "no picture to convert: call next() and present() first", 0);
  if (r < 0) return decoder_job_fail(job, "cannot hold the picture", r);
  job->pts_ms = decoder_core_pts_ms(&d->core, d->conv_frame);
  decoder_core_convert(&d->core, &d->converter_own, d->conv_frame, job);
}

/*
 * The calling thread `by` nice levels below the priority it has (at most 19), as Linux keeps a nice value per
 * thread; the threads it starts afterwards inherit it. Where the kernel refuses, it runs as it was.
 */
static void lower_own_priority(int by) {
  if (by <= 0) return;
  pid_t tid = (pid_t)syscall(SYS_gettid);
  errno = 0;
  int nice_now = getpriority(PRIO_PROCESS, (id_t)tid);
  if (nice_now == -1 && errno != 0) return;
  setpriority(PRIO_PROCESS, (id_t)tid, nice_now + by > 19 ? 19 : nice_now + by);
}

/* Takes one call at a time, answers it, and sleeps until the next; ends on close (or after a failed open). */
static void *thread_main(void *arg) {
  Decoder *d = arg;
  pthread_setname_np(pthread_self(), "fs-decoder");
  /* Before the open: the codec threads avcodec_open2() starts take this thread's priority (ADR 0075). */
  lower_own_priority(d->lower_by);
  for (;;) {
    pthread_mutex_lock(&d->lock);
    while (d->call == NULL && !d->closing) pthread_cond_wait(&d->wake, &d->lock);
    Call *call = d->call;
    d->call = NULL;
    pthread_mutex_unlock(&d->lock);
    if (call == NULL) break;
    DecoderJob *job = &call->job;
    double cpu = thread_cpu_ms();
    if (decoder_core_interrupted(&d->core)) decoder_job_fail(job, "interrupted", AVERROR_EXIT);
    else if (call->kind == JOB_OPEN) decoder_core_open(&d->core, job);
    else if (call->kind == JOB_NEXT) decoder_core_next(&d->core, job);
    else if (call->kind == JOB_HOLD) decoder_core_hold(&d->core, job);
    else decoder_core_decode(&d->core, job);
    call->cpu_ms = thread_cpu_ms() - cpu;
    job->held_bytes = (double)d->core.held_bytes;
    job->out_w = d->core.out_w;
    job->out_h = d->core.out_h;
    int open_failed = call->kind == JOB_OPEN && job->err != 0;
    /* Only at the environment's teardown can this fail; its references go with the environment. */
    if (napi_call_threadsafe_function(d->tsfn, call, napi_tsfn_nonblocking) != napi_ok) call_free(call);
    if (open_failed) break; /* nothing more can be asked of it */
  }
  decoder_core_close(&d->core);
  napi_release_threadsafe_function(d->tsfn, napi_tsfn_release);
  return NULL;
}

/* The converter: takes one convert() at a time, answers it, and sleeps until the next; ends on close. */
static void *convert_main(void *arg) {
  Decoder *d = arg;
  pthread_setname_np(pthread_self(), "fs-convert");
  for (;;) {
    pthread_mutex_lock(&d->lock);
    while (d->conv_call == NULL && !d->closing) pthread_cond_wait(&d->conv_wake, &d->lock);
    Call *call = d->conv_call;
    d->conv_call = NULL;
    pthread_mutex_unlock(&d->lock);
    if (call == NULL) break;
    call->job.out_w = d->core.out_w; /* decoder_core_convert() says the size it gave */
    call->job.out_h = d->core.out_h;
    double cpu = thread_cpu_ms();
    convert_execute(d, call);
    call->cpu_ms = thread_cpu_ms() - cpu;
    if (napi_call_threadsafe_function(d->tsfn, call, napi_tsfn_nonblocking) != napi_ok) call_free(call);
  }
  decoder_converter_free(&d->converter_own);
  napi_release_threadsafe_function(d->tsfn, napi_tsfn_release);
  return NULL;
}

/* ---- on the JavaScript thread ---------------------------------------------- */

/* The thread-safe function's end: the thread has left (or is made to, at teardown); join it. */
static void tsfn_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  Decoder *d = data;
  if (d->thread_started || d->conv_started) request_end(d);
  if (d->thread_started) pthread_join(d->thread, NULL);
  if (d->conv_started) pthread_join(d->conv_thread, NULL);
  /*
   * Both threads are gone and no call can come (closed, or the handle collected): the current picture goes
   * now. Kept until the handle was collected, it held a decoded frame (1.4 MB at 720p) per closed decoder for
   * as long as V8 let the small handle be, and a looping file closes one a pass.
   */
  pthread_mutex_lock(&d->lock);
  av_frame_unref(d->cur);
  av_frame_unref(d->conv_frame);
  pthread_mutex_unlock(&d->lock);
  decoder_unref(d);
}

/* The handle was collected: the decoder can be asked nothing more. */
static void handle_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  Decoder *d = data;
  request_end(d);
  decoder_unref(d);
}

/* A call answered by the thread: back to its JavaScript callback (env is NULL at teardown: only free). */
static void on_complete(napi_env env, napi_value unused, void *context, void *data) {
  (void)unused;
  Decoder *d = context;
  Call *call = data;
  if (env == NULL) {
    call_free(call);
    return;
  }
  const DecoderJob *job = &call->job;
  if (call->kind == JOB_CONVERT) d->converting = 0;
  else d->busy = 0;
  if (call->kind == JOB_OPEN && job->err == 0) d->opened = 1;
  /* Idle decoders do not keep the process alive (the reference is one flag, not a count: both lanes idle). */
  if (!d->busy && !d->converting) napi_unref_threadsafe_function(env, d->tsfn);
  napi_value cb, undefined, argv[2];
  napi_get_reference_value(env, call->callback, &cb);
  napi_get_undefined(env, &undefined);
  if (job->err != 0) {
    napi_value msg, code, averr;
    napi_create_string_utf8(env, job->message, NAPI_AUTO_LENGTH, &msg);
    napi_create_string_utf8(env, job->err == AVERROR_EXIT ? "ERR_NATIVE_INTERRUPTED" : "ERR_NATIVE_DECODER", NAPI_AUTO_LENGTH, &code);
    napi_create_error(env, code, msg, &argv[0]);
    napi_create_int32(env, job->err, &averr);
    napi_set_named_property(env, argv[0], "averror", averr);
    argv[1] = undefined;
  } else {
    napi_value v;
    napi_get_null(env, &argv[0]);
    napi_create_object(env, &argv[1]);
    napi_get_boolean(env, job->eof, &v);
    napi_set_named_property(env, argv[1], "eof", v);
    napi_create_double(env, job->pts_ms, &v);
    napi_set_named_property(env, argv[1], "ptsMs", v);
    napi_create_int32(env, job->out_w, &v);
    napi_set_named_property(env, argv[1], "width", v);
    napi_create_int32(env, job->out_h, &v);
    napi_set_named_property(env, argv[1], "height", v);
    napi_create_int32(env, job->skipped, &v);
    napi_set_named_property(env, argv[1], "skipped", v);
    napi_create_double(env, job->key_pts_ms, &v);
    napi_set_named_property(env, argv[1], "keyPtsMs", v);
    napi_create_int32(env, job->packets, &v);
    napi_set_named_property(env, argv[1], "packets", v);
    napi_create_double(env, job->decode_ms, &v);
    napi_set_named_property(env, argv[1], "decodeMs", v);
    napi_get_boolean(env, job->held, &v);
    napi_set_named_property(env, argv[1], "held", v);
    napi_create_int32(env, job->burst, &v);
    napi_set_named_property(env, argv[1], "burst", v);
    napi_create_double(env, job->held_bytes, &v);
    napi_set_named_property(env, argv[1], "heldBytes", v);
    napi_create_double(env, call->cpu_ms, &v);
    napi_set_named_property(env, argv[1], "cpuMs", v);
    napi_create_string_utf8(env, job->conversion == 2 ? "table" : job->conversion == 1 ? "swscale" : "none", NAPI_AUTO_LENGTH, &v);
    napi_set_named_property(env, argv[1], "conversion", v);
    if (call->kind == JOB_HOLD && job->held) {
      napi_value ab;
      void *data = NULL;
      size_t n = (size_t)job->held_list_n * 4;
      if (napi_create_arraybuffer(env, n * sizeof(double), &data, &ab) == napi_ok) {
        if (n > 0) memcpy(data, job->held_list, n * sizeof(double));
        napi_create_typedarray(env, napi_float64_array, n, ab, 0, &v);
        napi_set_named_property(env, argv[1], "heldList", v);
      }
    }
    if (call->kind == JOB_CONVERT) {
      napi_create_double(env, call->picture, &v);
      napi_set_named_property(env, argv[1], "picture", v);
    }
    if (call->kind == JOB_OPEN) {
      napi_create_int32(env, job->source_w, &v);
      napi_set_named_property(env, argv[1], "sourceWidth", v);
      napi_create_int32(env, job->source_h, &v);
      napi_set_named_property(env, argv[1], "sourceHeight", v);
      napi_create_double(env, job->fps, &v);
      napi_set_named_property(env, argv[1], "fps", v);
      napi_create_string_utf8(env, job->codec ? job->codec : "", NAPI_AUTO_LENGTH, &v);
      napi_set_named_property(env, argv[1], "codec", v);
    }
  }
  napi_ref callback = call->callback;
  if (call->target_ref) napi_delete_reference(env, call->target_ref);
  if (call->handle_ref) napi_delete_reference(env, call->handle_ref);
  call_free(call);
  napi_value result;
  napi_call_function(env, undefined, cb, 2, argv, &result);
  napi_delete_reference(env, callback);
}

/* Hands a call to the thread; the thread-safe function keeps the process alive until it is answered. */
static void submit(napi_env env, Decoder *d, Call *call) {
  int convert = call->kind == JOB_CONVERT;
  if (convert) d->converting = 1;
  else d->busy = 1;
  napi_ref_threadsafe_function(env, d->tsfn);
  pthread_mutex_lock(&d->lock);
  if (convert) {
    d->conv_call = call;
    pthread_cond_signal(&d->conv_wake);
  } else {
    d->call = call;
    pthread_cond_signal(&d->wake);
  }
  pthread_mutex_unlock(&d->lock);
}

static enum AVPixelFormat pixel_format(const char *name) {
  if (strcmp(name, "rgb24") == 0) return AV_PIX_FMT_RGB24;
  if (strcmp(name, "bgr24") == 0) return AV_PIX_FMT_BGR24;
  if (strcmp(name, "gray") == 0) return AV_PIX_FMT_GRAY8;
  if (strcmp(name, "nv12") == 0) return AV_PIX_FMT_NV12;
  if (strcmp(name, "yuv420p") == 0) return AV_PIX_FMT_YUV420P;
  return AV_PIX_FMT_NONE;
}

static int32_t get_int(napi_env env, napi_value obj, const char *key) {
  napi_value v;
  int32_t out = 0;
  bool has = false;
  if (napi_has_named_property(env, obj, key, &has) != napi_ok || !has) return 0;
  napi_get_named_property(env, obj, key, &v);
  napi_get_value_int32(env, v, &out);
  return out;
}

static char *get_string(napi_env env, napi_value v) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return NULL;
  char *s = malloc(len + 1);
  if (s != NULL) napi_get_value_string_utf8(env, v, s, len + 1, &len);
  return s;
}

/* Reads open()'s options into the call; false (with a JavaScript exception pending) if they are wrong. */
static bool read_open_options(napi_env env, napi_value options, Call *call, enum AVPixelFormat *out_fmt) {
  DecoderJob *job = &call->job;
  job->want_w = get_int(env, options, "width");
  job->want_h = get_int(env, options, "height");
  job->threads = get_int(env, options, "threads");
  call->lower_by = get_int(env, options, "lowerPriorityBy");
  if (call->lower_by < 0 || call->lower_by > 39) {
    napi_throw_range_error(env, "ERR_INVALID_ARGUMENT", "lowerPriorityBy must be 0 to 39 nice levels");
    return false;
  }
  bool has = false;
  napi_value v;
  if (napi_has_named_property(env, options, "crop", &has) == napi_ok && has && napi_get_named_property(env, options, "crop", &v) == napi_ok) {
    napi_valuetype t;
    napi_typeof(env, v, &t);
    if (t == napi_object) {
      job->crop_x = get_int(env, v, "x");
      job->crop_y = get_int(env, v, "y");
      job->crop_w = get_int(env, v, "width");
      job->crop_h = get_int(env, v, "height");
    }
    if (t != napi_undefined && (t != napi_object || job->crop_x < 0 || job->crop_y < 0 || job->crop_w <= 0 || job->crop_h <= 0)) {
      napi_throw_type_error(env, "ERR_INVALID_ARGUMENT", "crop must be { x, y, width, height } with width and height above 0");
      return false;
    }
  }
  if (napi_has_named_property(env, options, "hflip", &has) == napi_ok && has && napi_get_named_property(env, options, "hflip", &v) == napi_ok) {
    bool flip = false;
    napi_get_value_bool(env, v, &flip);
    job->hflip = flip;
  }
  if (napi_has_named_property(env, options, "keyframesOnly", &has) == napi_ok && has && napi_get_named_property(env, options, "keyframesOnly", &v) == napi_ok) {
    bool only = false;
    napi_get_value_bool(env, v, &only);
    job->keyframes_only = only;
  }
  job->held_limit = get_int(env, options, "heldBytes");
  napi_value fmt_value;
  char *fmt_name = napi_get_named_property(env, options, "format", &fmt_value) == napi_ok ? get_string(env, fmt_value) : NULL;
  *out_fmt = fmt_name ? pixel_format(fmt_name) : AV_PIX_FMT_NONE;
  free(fmt_name);
  if (*out_fmt == AV_PIX_FMT_NONE) {
    napi_throw_type_error(env, "ERR_INVALID_ARGUMENT", "format must be rgb24, bgr24, gray, nv12 or yuv420p");
    return false;
  }
  bool has_av = false;
  napi_value av_options, keys;
  uint32_t n = 0;
  if (napi_has_named_property(env, options, "avOptions", &has_av) != napi_ok || !has_av) return true;
  if (napi_get_named_property(env, options, "avOptions", &av_options) != napi_ok || napi_get_property_names(env, av_options, &keys) != napi_ok ||
      napi_get_array_length(env, keys, &n) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARGUMENT", "avOptions must be an object of strings");
    return false;
  }
  for (uint32_t i = 0; i < n; i++) {
    napi_value k, v;
    napi_get_element(env, keys, i, &k);
    napi_get_property(env, av_options, k, &v);
    char *ks = get_string(env, k), *vs = get_string(env, v);
    if (ks && vs) av_dict_set(&job->options, ks, vs, 0);
    free(ks);
    free(vs);
  }
  return true;
}

/*
 * open(url, { width, height, format, crop: { x, y, width, height }, hflip, keyframesOnly, threads, lowerPriorityBy, avOptions: { key: value } }, callback)
 * → handle.
 * The handle is returned at once, so interrupt() and close() reach an open still in progress.
 */
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  Call *call = calloc(1, sizeof *call);
  if (call == NULL) {
    napi_throw_error(env, "ERR_NATIVE", "out of memory");
    return NULL;
  }
  call->kind = JOB_OPEN;
  call->job.url = get_string(env, argv[0]);
  enum AVPixelFormat out_fmt = AV_PIX_FMT_NONE;
  if (call->job.url == NULL) {
    call_free(call);
    napi_throw_type_error(env, "ERR_INVALID_ARGUMENT", "url must be a string");
    return NULL;
  }
  if (!read_open_options(env, argv[1], call, &out_fmt)) {
    call_free(call);
    return NULL;
  }
  Decoder *d = calloc(1, sizeof *d);
  if (d == NULL) {
    call_free(call);
    napi_throw_error(env, "ERR_NATIVE", "out of memory");
    return NULL;
  }
  decoder_core_init(&d->core, out_fmt);
  d->lower_by = call->lower_by;
  decoder_converter_init(&d->converter_own);
  d->aim_ms = -1;
  d->decode_from_ms = -1;
  pthread_mutex_init(&d->lock, NULL);
  pthread_cond_init(&d->wake, NULL);
  pthread_cond_init(&d->conv_wake, NULL);
  atomic_init(&d->refs, 2);
  d->cur = av_frame_alloc();
  d->conv_frame = av_frame_alloc();
  napi_value handle, name;
  /* Two threads hold the thread-safe function: the decoder thread and the converter. */
  if (d->cur == NULL || d->conv_frame == NULL || napi_create_string_utf8(env, "framesupplier.decoder", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_threadsafe_function(env, NULL, NULL, name, 0, 2, d, tsfn_finalize, d, on_complete, &d->tsfn) != napi_ok) {
    decoder_free(d);
    call_free(call);
    napi_throw_error(env, "ERR_NATIVE", "cannot create the decoder's thread-safe function");
    return NULL;
  }
  if (napi_create_external(env, d, handle_finalize, NULL, &handle) != napi_ok) {
    /* No handle: the thread-safe function's finalizer alone releases the decoder. */
    atomic_store(&d->refs, 1);
    napi_release_threadsafe_function(d->tsfn, napi_tsfn_release);
    napi_release_threadsafe_function(d->tsfn, napi_tsfn_release);
    call_free(call);
    napi_throw_error(env, "ERR_NATIVE", "cannot create the decoder's handle");
    return NULL;
  }
  /*
   * The threads start with every signal blocked (signals are the JavaScript thread's to handle) but the ones a fault
   * raises on the faulting thread itself: blocked there, the kernel kills the whole process without a word, and the
   * converter's writes into a lent store slot need the SIGBUS guard (sigbus_guard.c) to catch a store truncated under
   * them, as the JavaScript thread's writes do.
   */
  sigset_t all, previous;
  sigfillset(&all);
  sigdelset(&all, SIGBUS);
  sigdelset(&all, SIGSEGV);
  sigdelset(&all, SIGFPE);
  sigdelset(&all, SIGILL);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  int conv_started = pthread_create(&d->conv_thread, NULL, convert_main, d);
  int started = conv_started == 0 ? pthread_create(&d->thread, NULL, thread_main, d) : -1;
  pthread_sigmask(SIG_SETMASK, &previous, NULL);
  d->conv_started = conv_started == 0;
  if (started != 0) {
    /* The handle's finalizer ends a converter that did start; the thread-safe function is released for each thread that did not. */
    if (conv_started != 0) napi_release_threadsafe_function(d->tsfn, napi_tsfn_release);
    napi_release_threadsafe_function(d->tsfn, napi_tsfn_release);
    if (conv_started == 0) request_end(d);
    call_free(call);
    napi_throw_error(env, "ERR_NATIVE", "cannot start the decoder's threads");
    return NULL;
  }
  d->thread_started = 1;
  CHECK(napi_create_reference(env, handle, 1, &call->handle_ref));
  CHECK(napi_create_reference(env, argv[2], 1, &call->callback));
  submit(env, d, call);
  return handle;
}

static Decoder *get_decoder(napi_env env, napi_value v) {
  void *d = NULL;
  if (napi_get_value_external(env, v, &d) != napi_ok || d == NULL) {
    napi_throw_type_error(env, "ERR_INVALID_ARGUMENT", "not a decoder handle");
    return NULL;
  }
  return d;
}

/* The decoder of a (handle) call; NULL with a JavaScript exception pending if it is not one. */
static Decoder *decoder_of_call(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  return get_decoder(env, argv[0]);
}

/* Whether a call of this kind may start now; if not, a JavaScript exception is pending. */
static bool may_call(napi_env env, Decoder *d, JobKind kind) {
  int busy = kind == JOB_CONVERT ? d->converting : d->busy;
  if (!busy && !d->closed && d->opened) return true;
  napi_throw_error(env, "ERR_NATIVE_BUSY",
                   busy ? "a call is already running on this decoder" : d->closed ? "the decoder is closed" : "the decoder did not open");
  return false;
}

/* A call with nothing asked yet (no time to skip to, aim at or decode from); NULL, an exception pending, without memory. */
static Call *call_new(napi_env env, JobKind kind) {
  Call *call = calloc(1, sizeof *call);
  if (call == NULL) {
    napi_throw_error(env, "ERR_NATIVE", "out of memory");
    return NULL;
  }
  call->kind = kind;
  decoder_job_init(&call->job);
  return call;
}

/* Keeps the call's target (or NULL), handle and callback alive until it is answered; false (the call freed, an exception pending) if it cannot. */
static bool call_hold_values(napi_env env, Call *call, napi_value target, napi_value handle, napi_value callback) {
  if ((target != NULL && napi_create_reference(env, target, 1, &call->target_ref) != napi_ok) ||
      napi_create_reference(env, handle, 1, &call->handle_ref) != napi_ok || napi_create_reference(env, callback, 1, &call->callback) != napi_ok) {
    if (call->target_ref) napi_delete_reference(env, call->target_ref);
    if (call->handle_ref) napi_delete_reference(env, call->handle_ref);
    call_free(call);
    napi_throw_error(env, "ERR_NATIVE", "cannot hold the call's arguments");
    return false;
  }
  return true;
}

/*
 * Submits a decode(), next() or convert(): argv is (handle, [target,] [skipBeforePtsMs, discard,] callback)
 * as the kind takes them. The call holds its target, handle and callback until it is answered.
 */
static napi_value submit_call(napi_env env, napi_callback_info info, JobKind kind) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  Decoder *d = get_decoder(env, argv[0]);
  if (d == NULL || !may_call(env, d, kind)) return NULL;
  int has_target = kind != JOB_NEXT, has_skip = kind != JOB_CONVERT;
  /* decode (handle, target, skip, discard, cb), next (handle, skip, discard, cb), convert (handle, target, width, height, cb) */
  napi_value target = argv[1], skip = argv[has_target ? 2 : 1], discard = argv[has_target ? 3 : 2], callback = argv[kind == JOB_NEXT ? 3 : 4];
  void *ptr = NULL;
  size_t length = 0;
  if (has_target) {
    napi_typedarray_type type;
    napi_value ab;
    size_t offset;
    if (napi_get_typedarray_info(env, target, &type, &length, &ptr, &ab, &offset) != napi_ok || type != napi_uint8_array) {
      napi_throw_type_error(env, "ERR_INVALID_ARGUMENT", "target must be a Uint8Array");
      return NULL;
    }
  }
  Call *call = call_new(env, kind);
  if (call == NULL) return NULL;
  DecoderJob *job = &call->job;
  job->target = ptr;
  job->target_len = length;
  if (kind == JOB_NEXT) {
    job->near_pts_ms = d->aim_ms;
    d->aim_ms = -1;
    job->decode_from_ms = d->decode_from_ms;
    d->decode_from_ms = -1;
  }
  if (kind == JOB_CONVERT) {
    /* The size asked (0, 0: the output size as opened); even and within the frame limit, as the caller checked. */
    int32_t w = 0, h = 0;
    napi_get_value_int32(env, argv[2], &w);
    napi_get_value_int32(env, argv[3], &h);
    if (w > 0 && h > 0 && w <= 16384 && h <= 16384) {
      job->want_w = w;
      job->want_h = h;
    }
  }
  if (has_skip) {
    napi_get_value_double(env, skip, &job->skip_before_ms);
    int32_t mode = 0;
    napi_get_value_int32(env, discard, &mode);
    job->discard = mode < 0 ? 0 : mode > 3 ? 3 : mode;
    if (kind == JOB_DECODE && job->discard == 3) job->discard = 2; /* decode() always answers with a picture */
  }
  if (call_hold_values(env, call, has_target ? target : NULL, argv[0], callback)) submit(env, d, call);
  return NULL;
}

/* decode(handle, target: Uint8Array, skipBeforePtsMs, discard, callback): the next picture, converted into target. */
static napi_value js_decode(napi_env env, napi_callback_info info) { return submit_call(env, info, JOB_DECODE); }

/* next(handle, skipBeforePtsMs, discard, callback): the next picture, decoded and not converted; present() makes it current. */
static napi_value js_next(napi_env env, napi_callback_info info) { return submit_call(env, info, JOB_NEXT); }

/* convert(handle, target: Uint8Array, width, height, callback): the current picture into target, at width × height (0, 0: as opened), on the converter thread. */
static napi_value js_convert(napi_env env, napi_callback_info info) { return submit_call(env, info, JOB_CONVERT); }

/*
 * present(handle) → number: the picture the last next() decoded becomes the
 * current one (the one before is let go, converted or not); returns its
 * number (1, 2, ...). Synchronous: a pointer swap under the lock.
 */
static napi_value js_present(napi_env env, napi_callback_info info) {
  Decoder *d = decoder_of_call(env, info);
  if (d == NULL || !may_call(env, d, JOB_NEXT)) return NULL;
  if (d->core.frame == NULL || d->core.frame->buf[0] == NULL) {
    napi_throw_error(env, "ERR_NATIVE_BUSY", "no decoded picture to present: next() first");
    return NULL;
  }
  pthread_mutex_lock(&d->lock);
  if (d->cur->buf[0] != NULL && !d->cur_taken) d->dropped++;
  av_frame_unref(d->cur);
  av_frame_move_ref(d->cur, d->core.frame);
  d->cur_taken = 0;
  double number = ++d->cur_number;
  pthread_mutex_unlock(&d->lock);
  napi_value result;
  CHECK(napi_create_double(env, number, &result));
  return result;
}

/* The decoder and the time in ms of a (handle, ptsMs) call: -1 when the time is negative or not a number. */
static Decoder *decoder_and_time(napi_env env, napi_callback_info info, double *ms) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  Decoder *d = get_decoder(env, argv[0]);
  if (d == NULL) return NULL;
  double at = -1;
  napi_get_value_double(env, argv[1], &at);
  *ms = at >= 0 ? at : -1;
  return d;
}

/* decodeFrom(handle, ptsMs): the next next(), skipping (non-reference frames, or all but keyframes), decodes those presented from ptsMs on. */
static napi_value js_decode_from(napi_env env, napi_callback_info info) {
  double ms;
  Decoder *d = decoder_and_time(env, info, &ms);
  if (d != NULL) d->decode_from_ms = ms;
  return NULL;
}

/* aim(handle, ptsMs): the next next() that catches up after holding keeps the picture nearest ptsMs, not the newest. */
static napi_value js_aim(napi_env env, napi_callback_info info) {
  double ms;
  Decoder *d = decoder_and_time(env, info, &ms);
  if (d != NULL) d->aim_ms = ms;
  return NULL;
}

/* dropped(handle) → number: pictures present() replaced that no convert() had taken. */
static napi_value js_dropped(napi_env env, napi_callback_info info) {
  Decoder *d = decoder_of_call(env, info);
  if (d == NULL) return NULL;
  pthread_mutex_lock(&d->lock);
  double dropped = d->dropped;
  pthread_mutex_unlock(&d->lock);
  napi_value result;
  CHECK(napi_create_double(env, dropped, &result));
  return result;
}

/* interrupt(handle): blocking I/O in a running or later call gives up. */
static napi_value js_interrupt(napi_env env, napi_callback_info info) {
  Decoder *d = decoder_of_call(env, info);
  if (d == NULL) return NULL;
  decoder_core_interrupt(&d->core);
  return NULL;
}

/*
 * holdMany(handle, maxPackets, untilMs, paceAtMs, pacePtsMs, callback): packets held, none decoded, up to
 * maxPackets (1–4096), ending at the first read at or after untilMs (monotonic ms; -1: none) or at yieldHold();
 * paceAtMs >= 0: each packet waited for until its time (paceAtMs + its pts - pacePtsMs). The answer's heldList
 * is a Float64Array of (ptsMs, at, keyframe, had) quadruples, `at` (when the packet came: its due time when
 * paced) and `had` (when the thread had it) on monotonicMs()'s clock.
 */
static napi_value js_hold_many(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  Decoder *d = get_decoder(env, argv[0]);
  if (d == NULL || !may_call(env, d, JOB_NEXT)) return NULL;
  int32_t max = 0;
  double until = -1, pace_at = -1, pace_pts = 0;
  napi_get_value_int32(env, argv[1], &max);
  napi_get_value_double(env, argv[2], &until);
  napi_get_value_double(env, argv[3], &pace_at);
  napi_get_value_double(env, argv[4], &pace_pts);
  napi_valuetype cb_type = napi_undefined;
  napi_typeof(env, argv[5], &cb_type);
  if (max < 1 || max > 4096 || cb_type != napi_function) {
    napi_throw_type_error(env, "ERR_INVALID_ARGUMENT", "holdMany(handle, maxPackets 1-4096, untilMs, paceAtMs, pacePtsMs, callback)");
    return NULL;
  }
  Call *call = call_new(env, JOB_HOLD);
  if (call == NULL) return NULL;
  DecoderJob *job = &call->job;
  job->held_list = malloc((size_t)max * 4 * sizeof(double));
  if (job->held_list == NULL) {
    call_free(call);
    napi_throw_error(env, "ERR_NATIVE", "out of memory");
    return NULL;
  }
  job->hold_max = max;
  job->hold_until_ms = until >= 0 ? until : -1;
  job->pace_at_ms = pace_at >= 0 ? pace_at : -1;
  job->pace_pts_ms = pace_pts;
  job->discard = 3;
  /* A yield asked before this call was seen by JavaScript's choice to make it (the same turn): it ends no later call. */
  decoder_core_forget_yield(&d->core);
  if (call_hold_values(env, call, NULL, argv[0], argv[5])) submit(env, d, call);
  return NULL;
}

/* yieldHold(handle): a running holdMany() answers after the packet it is on (or the next one does at once). */
static napi_value js_yield_hold(napi_env env, napi_callback_info info) {
  Decoder *d = decoder_of_call(env, info);
  if (d != NULL) decoder_core_yield_hold(&d->core);
  return NULL;
}

/* monotonicMs() → the clock holdMany()'s times are on (CLOCK_MONOTONIC, ms). */
static napi_value js_monotonic_ms(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  CHECK(napi_create_double(env, decoder_monotonic_ms(), &result));
  return result;
}

/* close(handle): never blocks. A running call is interrupted and still answered; then the thread ends. */
static napi_value js_close(napi_env env, napi_callback_info info) {
  Decoder *d = decoder_of_call(env, info);
  if (d == NULL || d->closed) return NULL;
  d->closed = 1;
  request_end(d);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  /* libav's messages are errors the decoder returns, said by the caller with their code; only what libav says just before
     it aborts the process (an assertion, a panic) goes to stderr, so a death inside it has its last words. */
  av_log_set_level(AV_LOG_FATAL);
  limit_arenas();
  napi_value lowers_priority; /* open() takes lowerPriorityBy: the decoder's threads lower themselves */
  CHECK(napi_get_boolean(env, true, &lowers_priority));
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"decode", NULL, js_decode, NULL, NULL, NULL, napi_default, NULL},
      {"next", NULL, js_next, NULL, NULL, NULL, napi_default, NULL},
      {"present", NULL, js_present, NULL, NULL, NULL, napi_default, NULL},
      {"convert", NULL, js_convert, NULL, NULL, NULL, napi_default, NULL},
      {"aim", NULL, js_aim, NULL, NULL, NULL, napi_default, NULL},
      {"decodeFrom", NULL, js_decode_from, NULL, NULL, NULL, napi_default, NULL},
      {"dropped", NULL, js_dropped, NULL, NULL, NULL, napi_default, NULL},
      {"interrupt", NULL, js_interrupt, NULL, NULL, NULL, napi_default, NULL},
      {"holdMany", NULL, js_hold_many, NULL, NULL, NULL, napi_default, NULL},
      {"yieldHold", NULL, js_yield_hold, NULL, NULL, NULL, napi_default, NULL},
      {"monotonicMs", NULL, js_monotonic_ms, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
      {"mallocArenas", NULL, js_malloc_arenas, NULL, NULL, NULL, napi_default, NULL},
      {"mallocStats", NULL, js_malloc_stats, NULL, NULL, NULL, napi_default, NULL},
      {"lowersPriority", NULL, NULL, NULL, NULL, lowers_priority, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
