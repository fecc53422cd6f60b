/*
 * framesupplier's in-process decoder: libavformat + libavcodec + libswscale
 * behind N-API, for capture without a pipe (ADR 0011).
 *
 * Contract: open() and decode() run on libuv's thread pool, never on the
 * JavaScript thread. decode() produces exactly one frame per call, converted
 * by swscale straight into the caller's buffer (a pooled SharedArrayBuffer
 * slot): no intermediate copy, and nothing decoded ahead beyond what the
 * codec's own frame threads hold. interrupt() makes blocking network I/O give
 * up (an AVIOInterruptCB), so a stalled camera can be abandoned. One call at a
 * time per decoder; the JavaScript wrapper guarantees it.
 */
#include <node_api.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>

typedef struct {
  AVFormatContext *fmt;
  AVCodecContext *dec;
  struct SwsContext *sws;
  AVPacket *pkt;
  AVFrame *frame;
  int stream;
  int out_w, out_h;
  enum AVPixelFormat out_fmt;
  int eof_sent;
  atomic_int interrupt;
  double time_base;
  int busy;
  int closed;
} Decoder;

typedef struct {
  napi_async_work work;
  napi_ref callback;
  napi_ref target_ref;
  napi_ref handle_ref;
  Decoder *d;
  /* open */
  char *url;
  AVDictionary *options;
  int want_w, want_h, threads;
  /* decode */
  uint8_t *target;
  size_t target_len;
  double skip_before_ms;
  /* results */
  int err;
  char message[256];
  int eof;
  double pts_ms;
  int skipped;
} Job;

#define CHECK(call)                                                   \
  do {                                                                \
    if ((call) != napi_ok) {                                          \
      napi_throw_error(env, "ERR_NATIVE", "N-API call failed: " #call); \
      return NULL;                                                    \
    }                                                                 \
  } while (0)

static int on_interrupt(void *opaque) { return atomic_load(&((Decoder *)opaque)->interrupt); }

static void fail(Job *job, const char *what, int averr) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {0};
  if (averr != 0) av_strerror(averr, text, sizeof text);
  job->err = averr == 0 ? -1 : averr;
  snprintf(job->message, sizeof job->message, "%s%s%s", what, averr != 0 ? ": " : "", text);
}

static void decoder_free(Decoder *d) {
  if (d->sws) sws_freeContext(d->sws);
  if (d->frame) av_frame_free(&d->frame);
  if (d->pkt) av_packet_free(&d->pkt);
  if (d->dec) avcodec_free_context(&d->dec);
  if (d->fmt) avformat_close_input(&d->fmt);
  d->sws = NULL;
}

static void finalize_decoder(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  Decoder *d = data;
  if (!d->busy) {
    decoder_free(d);
    free(d);
  } else {
    d->closed = 1; /* freed by the job's completion */
  }
}

/* ---- open ---------------------------------------------------------------- */

static void open_execute(napi_env env, void *data) {
  (void)env;
  Job *job = data;
  Decoder *d = job->d;
  d->fmt = avformat_alloc_context();
  d->fmt->interrupt_callback.callback = on_interrupt;
  d->fmt->interrupt_callback.opaque = d;
  int r = avformat_open_input(&d->fmt, job->url, NULL, &job->options);
  if (r < 0) return fail(job, "cannot open the source", r);
  if ((r = avformat_find_stream_info(d->fmt, NULL)) < 0) return fail(job, "cannot read the stream's parameters", r);
  const AVCodec *codec = NULL;
  d->stream = av_find_best_stream(d->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
  if (d->stream < 0 || codec == NULL) return fail(job, "no decodable video stream", d->stream < 0 ? d->stream : 0);
  AVStream *st = d->fmt->streams[d->stream];
  d->time_base = av_q2d(st->time_base);
  d->dec = avcodec_alloc_context3(codec);
  if ((r = avcodec_parameters_to_context(d->dec, st->codecpar)) < 0) return fail(job, "bad codec parameters", r);
  d->dec->thread_count = job->threads; /* 0: one per core */
  d->dec->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
  if ((r = avcodec_open2(d->dec, codec, NULL)) < 0) return fail(job, "cannot open the decoder", r);
  int sw = d->dec->width, sh = d->dec->height;
  if (sw <= 0 || sh <= 0) return fail(job, "the stream has no frame size", 0);
  /* The output size: as asked; one side alone keeps the aspect ratio (even, as ffmpeg's -2). */
  d->out_w = job->want_w > 0 ? job->want_w : (job->want_h > 0 ? ((int)((double)sw * job->want_h / sh + 1) & ~1) : sw);
  d->out_h = job->want_h > 0 ? job->want_h : (job->want_w > 0 ? ((int)((double)sh * job->want_w / sw + 1) & ~1) : sh);
  d->pkt = av_packet_alloc();
  d->frame = av_frame_alloc();
}

/* ---- decode -------------------------------------------------------------- */

static void decode_execute(napi_env env, void *data) {
  (void)env;
  Job *job = data;
  Decoder *d = job->d;
  for (;;) {
    int r = avcodec_receive_frame(d->dec, d->frame);
    if (r == 0) {
      int64_t ts = d->frame->best_effort_timestamp;
      job->pts_ms = ts == AV_NOPTS_VALUE ? -1 : ts * d->time_base * 1000.0;
      if (job->pts_ms >= 0 && job->pts_ms < job->skip_before_ms) {
        /* Decimation: decoded (it must be) but never converted nor handed out. */
        job->skipped++;
        av_frame_unref(d->frame);
        continue;
      }
      d->sws = sws_getCachedContext(d->sws, d->frame->width, d->frame->height, d->frame->format, d->out_w, d->out_h, d->out_fmt,
                                    SWS_BICUBIC, NULL, NULL, NULL);
      if (d->sws == NULL) {
        av_frame_unref(d->frame);
        return fail(job, "cannot convert the frame's pixel format", 0);
      }
      uint8_t *dst[4];
      int dst_linesize[4];
      int need = av_image_fill_arrays(dst, dst_linesize, job->target, d->out_fmt, d->out_w, d->out_h, 1);
      if (need < 0 || (size_t)need > job->target_len) {
        av_frame_unref(d->frame);
        return fail(job, "the target buffer is too small", need < 0 ? need : 0);
      }
      sws_scale(d->sws, (const uint8_t *const *)d->frame->data, d->frame->linesize, 0, d->frame->height, dst, dst_linesize);
      av_frame_unref(d->frame);
      return;
    }
    if (r == AVERROR_EOF) {
      job->eof = 1;
      return;
    }
    if (r != AVERROR(EAGAIN)) return fail(job, "decoding failed", r);
    r = av_read_frame(d->fmt, d->pkt);
    if (r == AVERROR_EOF || (r < 0 && d->fmt->pb != NULL && avio_feof(d->fmt->pb) && !atomic_load(&d->interrupt))) {
      if (!d->eof_sent) {
        avcodec_send_packet(d->dec, NULL); /* drain the frames the decoder still holds */
        d->eof_sent = 1;
      }
      continue;
    }
    if (r < 0) return fail(job, atomic_load(&d->interrupt) ? "interrupted" : "reading the source failed", r);
    if (d->pkt->stream_index == d->stream) {
      r = avcodec_send_packet(d->dec, d->pkt);
      /* A corrupt packet is skipped, as ffmpeg does; the decoder resynchronises on the next keyframe. */
      (void)r;
    }
    av_packet_unref(d->pkt);
  }
}

/* ---- completion, shared ---------------------------------------------------- */

static void complete(napi_env env, napi_status status, void *data) {
  Job *job = data;
  Decoder *d = job->d;
  d->busy = 0;
  napi_value cb, undefined, argv[2], handle = NULL;
  napi_get_reference_value(env, job->callback, &cb);
  napi_get_undefined(env, &undefined);
  if (job->handle_ref) napi_get_reference_value(env, job->handle_ref, &handle);
  if (status != napi_ok) fail(job, "the job was cancelled", 0);
  if (job->err != 0) {
    napi_value msg, code;
    napi_create_string_utf8(env, job->message, NAPI_AUTO_LENGTH, &msg);
    napi_create_string_utf8(env, job->err == AVERROR_EXIT ? "ERR_NATIVE_INTERRUPTED" : "ERR_NATIVE_DECODER", NAPI_AUTO_LENGTH, &code);
    napi_create_error(env, code, msg, &argv[0]);
    napi_value averr;
    napi_create_int32(env, job->err, &averr);
    napi_set_named_property(env, argv[0], "averror", averr);
    argv[1] = undefined;
  } else {
    napi_get_null(env, &argv[0]);
    napi_create_object(env, &argv[1]);
    napi_value v;
    napi_get_boolean(env, job->eof, &v);
    napi_set_named_property(env, argv[1], "eof", v);
    napi_create_double(env, job->pts_ms, &v);
    napi_set_named_property(env, argv[1], "ptsMs", v);
    napi_create_int32(env, d->out_w, &v);
    napi_set_named_property(env, argv[1], "width", v);
    napi_create_int32(env, d->out_h, &v);
    napi_set_named_property(env, argv[1], "height", v);
    napi_create_int32(env, job->skipped, &v);
    napi_set_named_property(env, argv[1], "skipped", v);
    if (handle != NULL && job->url != NULL) {
      napi_set_named_property(env, argv[1], "handle", handle);
      napi_create_int32(env, d->dec ? d->dec->width : 0, &v);
      napi_set_named_property(env, argv[1], "sourceWidth", v);
      napi_create_int32(env, d->dec ? d->dec->height : 0, &v);
      napi_set_named_property(env, argv[1], "sourceHeight", v);
      AVRational rate = d->fmt ? av_guess_frame_rate(d->fmt, d->fmt->streams[d->stream], NULL) : (AVRational){0, 1};
      napi_create_double(env, rate.den > 0 ? av_q2d(rate) : 0, &v);
      napi_set_named_property(env, argv[1], "fps", v);
      napi_create_string_utf8(env, d->dec ? d->dec->codec->name : "", NAPI_AUTO_LENGTH, &v);
      napi_set_named_property(env, argv[1], "codec", v);
    }
  }
  napi_value result;
  napi_call_function(env, undefined, cb, 2, argv, &result);
  napi_delete_reference(env, job->callback);
  if (job->target_ref) napi_delete_reference(env, job->target_ref);
  if (job->handle_ref) napi_delete_reference(env, job->handle_ref);
  napi_delete_async_work(env, job->work);
  if (d->closed) {
    decoder_free(d);
    free(d);
  }
  free(job->url);
  av_dict_free(&job->options);
  free(job);
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
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  return s;
}

/* open(url, { width, height, format, threads, avOptions: { key: value } }, callback) */
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  Job *job = calloc(1, sizeof *job);
  job->url = get_string(env, argv[0]);
  if (job->url == NULL) {
    free(job);
    napi_throw_type_error(env, "ERR_INVALID_ARGUMENT", "url must be a string");
    return NULL;
  }
  job->want_w = get_int(env, argv[1], "width");
  job->want_h = get_int(env, argv[1], "height");
  job->threads = get_int(env, argv[1], "threads");
  napi_value fmt_value, av_options;
  CHECK(napi_get_named_property(env, argv[1], "format", &fmt_value));
  char *fmt_name = get_string(env, fmt_value);
  enum AVPixelFormat out_fmt = fmt_name ? pixel_format(fmt_name) : AV_PIX_FMT_NONE;
  free(fmt_name);
  if (out_fmt == AV_PIX_FMT_NONE) {
    free(job->url);
    free(job);
    napi_throw_type_error(env, "ERR_INVALID_ARGUMENT", "format must be rgb24, bgr24, gray, nv12 or yuv420p");
    return NULL;
  }
  bool has_av = false;
  napi_has_named_property(env, argv[1], "avOptions", &has_av);
  if (has_av) {
    CHECK(napi_get_named_property(env, argv[1], "avOptions", &av_options));
    napi_value keys;
    uint32_t n = 0;
    CHECK(napi_get_property_names(env, av_options, &keys));
    CHECK(napi_get_array_length(env, keys, &n));
    for (uint32_t i = 0; i < n; i++) {
      napi_value k, v;
      napi_get_element(env, keys, i, &k);
      napi_get_property(env, av_options, k, &v);
      char *ks = get_string(env, k), *vs = get_string(env, v);
      if (ks && vs) av_dict_set(&job->options, ks, vs, 0);
      free(ks);
      free(vs);
    }
  }
  Decoder *d = calloc(1, sizeof *d);
  d->out_fmt = out_fmt;
  d->busy = 1;
  job->d = d;
  napi_value handle, name;
  CHECK(napi_create_external(env, d, finalize_decoder, NULL, &handle));
  CHECK(napi_create_reference(env, handle, 1, &job->handle_ref));
  CHECK(napi_create_reference(env, argv[2], 1, &job->callback));
  CHECK(napi_create_string_utf8(env, "framesupplier.open", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_create_async_work(env, NULL, name, open_execute, complete, job, &job->work));
  CHECK(napi_queue_async_work(env, job->work));
  return NULL;
}

static Decoder *get_decoder(napi_env env, napi_value v) {
  void *d = NULL;
  if (napi_get_value_external(env, v, &d) != napi_ok || d == NULL) {
    napi_throw_type_error(env, "ERR_INVALID_ARGUMENT", "not a decoder handle");
    return NULL;
  }
  return d;
}

/* decode(handle, target: Uint8Array, skipBeforePtsMs, callback) */
static napi_value js_decode(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  Decoder *d = get_decoder(env, argv[0]);
  if (d == NULL) return NULL;
  if (d->busy || d->dec == NULL) {
    napi_throw_error(env, "ERR_NATIVE_BUSY", d->busy ? "a decode is already running on this decoder" : "the decoder did not open");
    return NULL;
  }
  napi_typedarray_type type;
  size_t length;
  void *ptr;
  napi_value ab;
  size_t offset;
  if (napi_get_typedarray_info(env, argv[1], &type, &length, &ptr, &ab, &offset) != napi_ok || type != napi_uint8_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARGUMENT", "target must be a Uint8Array");
    return NULL;
  }
  Job *job = calloc(1, sizeof *job);
  job->d = d;
  job->target = ptr;
  job->target_len = length;
  napi_get_value_double(env, argv[2], &job->skip_before_ms);
  d->busy = 1;
  napi_value name;
  CHECK(napi_create_reference(env, argv[1], 1, &job->target_ref));
  CHECK(napi_create_reference(env, argv[0], 1, &job->handle_ref));
  CHECK(napi_create_reference(env, argv[3], 1, &job->callback));
  CHECK(napi_create_string_utf8(env, "framesupplier.decode", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_create_async_work(env, NULL, name, decode_execute, complete, job, &job->work));
  CHECK(napi_queue_async_work(env, job->work));
  return NULL;
}

/* interrupt(handle): blocking I/O in a running or later call gives up. */
static napi_value js_interrupt(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  Decoder *d = get_decoder(env, argv[0]);
  if (d != NULL) atomic_store(&d->interrupt, 1);
  return NULL;
}

/* close(handle): frees now, or when the running call completes. */
static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  Decoder *d = get_decoder(env, argv[0]);
  if (d == NULL) return NULL;
  atomic_store(&d->interrupt, 1);
  if (!d->busy) decoder_free(d); /* the struct itself goes with the handle's finalizer */
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  av_log_set_level(AV_LOG_QUIET);
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"decode", NULL, js_decode, NULL, NULL, NULL, napi_default, NULL},
      {"interrupt", NULL, js_interrupt, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
