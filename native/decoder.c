/*
 * framesupplier's in-process decoder: libavformat + libavcodec + libswscale
 * behind N-API, for capture without a pipe (ADR 0011), converting on demand
 * (ADR 0016).
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
 * may discard undecoded — nothing, non-reference frames, or all but
 * keyframes — and the decoder applies it before the next packet: more at
 * once, less only at a keyframe (frames after it may refer to frames
 * discarded before it). Each call reports the last keyframe it decoded, so
 * the caller can measure the stream's keyframe interval in every mode.
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
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
#include <time.h>
#include <unistd.h>
#include <errno.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <dlfcn.h>
#include <errno.h>

/* Packets whose read times are kept (a codec holds a few: its reorder depth and its frame threads). */
#define ARRIVALS 64

typedef enum { JOB_OPEN, JOB_DECODE, JOB_NEXT, JOB_CONVERT, JOB_HOLD } JobKind;

/* One call from JavaScript: its arguments, its results, and what keeps its JavaScript values alive. */
typedef struct {
  JobKind kind;
  napi_ref callback;
  napi_ref target_ref;
  napi_ref handle_ref;
  /* open */
  char *url;
  AVDictionary *options;
  int want_w, want_h, threads, lower_by;
  int crop_x, crop_y, crop_w, crop_h; /* crop_w 0: none */
  int hflip;
  int keyframes_only;
  int held_limit; /* bytes of packets held since the keyframe before the last, 0: none */
  /* decode, convert */
  uint8_t *target;
  size_t target_len;
  double skip_before_ms;
  int discard; /* decode, next: 0 decode every frame, 1 skip non-reference frames, 2 keyframes only, 3 hold (decode nothing) */
  double near_pts_ms; /* next, from holding: the picture nearest this time (-1: the newest) */
  double decode_from_ms; /* next, skipping (non-reference frames, or all but keyframes): those presented from this time on are decoded (-1: none) */
  /* results, written by the decoder thread, read on the JavaScript thread once it handed the job over */
  int err;
  char message[256];
  int eof;
  double pts_ms;
  int skipped;
  int conversion; /* how the picture was converted: 0 not at all, 1 swscale, 2 the gray table */
  double key_pts_ms; /* the last keyframe decoded during the call (handed out or passed over), -1 if none */
  int packets;       /* the video stream's packets read during the call (decoded or discarded) */
  double decode_ms;  /* from reading the picture's own packet to the picture out: decoding's latency, the codec's reordering and frame threads included */
  double picture; /* convert: the current picture's number (present() counts them) */
  int held;          /* next, holding: a packet was read and held, no picture comes with this answer */
  int burst;         /* next: held packets decoded to catch up before this picture */
  double held_bytes; /* the packets held now, bytes */
  double cpu_ms;     /* the thread's CPU time for the call, ms */
  int out_w, out_h, source_w, source_h;
  double fps;
  const char *codec; /* a codec's static name */
  /*
   * holdMany: packets held in one call (ADR 0091). It ends after hold_max packets, at the first packet read at or
   * after hold_until_ms (monotonic; -1 none), or when yieldHold() was called. With pace_at_ms >= 0 (a file played
   * in real time), a packet of presentation time p is due at pace_at_ms + (p - pace_pts_ms), and the call waits for
   * it before the next: the packets come at their times, as a camera's do.
   */
  int hold_max;
  double hold_until_ms, pace_at_ms, pace_pts_ms;
  /*
   * hold_max quadruples: the packet's presentation time (ms, -1 unknown), when it came (monotonic ms: its due time
   * when paced), 1 if a keyframe, and when the thread had it (read, and its time waited for: the source's liveness).
   */
  double *held_list;
  int held_list_n;
} Job;

/*
 * Gray output at the picture's own size, from 8-bit YUV, through a table.
 * swscale takes the YUV-to-gray path through its whole scaler (gray is full
 * range to swscale, limited-range luma must be stretched), where the result
 * is a function of each luma byte alone: at the same size its filters are one
 * tap, and 8-bit input is not dithered. So the 256 answers are asked of
 * swscale once (a ramp of every luma value), and each picture's luma plane is
 * mapped through them: the same bytes, for about a tenth of the time (a
 * 640 x 360 picture 0.3 ms through swscale here). The first picture mapped is
 * also converted by swscale and compared; if they ever differ, the table is
 * not used again for that source format (bad: swscale for good).
 */
typedef struct {
  enum AVPixelFormat src_fmt; /* AV_PIX_FMT_NONE: no table yet */
  int flags;                  /* the swscale flags it was made with */
  int checked;                /* a picture was mapped and compared with swscale's */
  int bad;                    /* the comparison failed: swscale for this format */
  uint8_t map[256];
} GrayTable;

/* One converting thread's own: its cached swscale context and gray table. */
typedef struct {
  struct SwsContext *sws;
  GrayTable gray;
} Converter;

static void converter_free(Converter *c);

typedef struct {
  /* The decoder thread's alone. */
  AVFormatContext *fmt;
  AVCodecContext *dec;
  Converter decoder_own;
  AVPacket *pkt;
  AVFrame *frame;
  int stream;
  int out_w, out_h;
  enum AVPixelFormat out_fmt;
  int crop_x, crop_y, crop_w, crop_h; /* crop_w 0: none */
  int hflip;
  int eof_sent;
  double last_packet_at; /* monotonic ms: when the video stream's last packet was read (pictures can come from an earlier call's packets) */
  /*
   * When each of the last ARRIVALS packets fed to the codec was read, by its pts: a picture comes out of the codec
   * packets after its own was read (B-frame reordering, frame threads), and its decoding latency counts from its own.
   */
  int64_t arrival_pts[ARRIVALS];
  double arrival_at[ARRIVALS];
  int arrival_next;
  double time_base;
  int discard; /* what the codec discards now (Job.discard's values) */
  int refs_lost; /* a frame after the last keyframe fed was discarded with keyframes only: later frames may refer to it */
  /*
   * The video packets since the keyframe before the last (held[0] is it; held[key_at] is the last keyframe),
   * so a picture a little older than the last keyframe (a detection's, asked for just after a keyframe came)
   * can still be decoded; bounded by held_limit bytes, the older group let go first. The codec has been fed
   * held[fed_from .. fed), held[fed_from] a keyframe, since it last started (fed_valid 0: it must be flushed
   * and fed from a keyframe). Over the bound the packets are let go until the next keyframe (held_lost).
   */
  AVPacket **held;
  int held_n, held_cap, fed, fed_from, fed_valid, held_lost, key_at;
  size_t held_bytes, held_limit;

  int lower_by; /* open()'s lowerPriorityBy: nice levels the thread lowers itself by before it opens the source */

  /* The converter thread's alone. */
  Converter converter_own;
  AVFrame *conv_frame;

  /* Shared. */
  atomic_int interrupt;
  atomic_int hold_yield; /* yieldHold(): the running or next holdMany() answers after the packet it is on */
  atomic_int refs; /* the JavaScript handle, the thread-safe function */
  pthread_mutex_t lock;
  pthread_cond_t wake;
  pthread_cond_t conv_wake;
  pthread_cond_t hold_wake; /* CLOCK_MONOTONIC: a paced holdMany() waits on it for a packet's time; interrupt() ends the wait */
  Job *job;      /* under lock: the call waiting for the decoder thread */
  Job *conv_job; /* under lock: the call waiting for the converter thread */
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

#define CHECK(call)                                                     \
  do {                                                                  \
    if ((call) != napi_ok) {                                            \
      napi_throw_error(env, "ERR_NATIVE", "N-API call failed: " #call); \
      return NULL;                                                      \
    }                                                                   \
  } while (0)

static int on_interrupt(void *opaque) { return atomic_load(&((Decoder *)opaque)->interrupt); }

static void fail(Job *job, const char *what, int averr) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {0};
  if (averr != 0) av_strerror(averr, text, sizeof text);
  job->err = averr == 0 ? -1 : averr;
  snprintf(job->message, sizeof job->message, "%s%s%s", what, averr != 0 ? ": " : "", text);
}

static void job_free(Job *job) {
  free(job->held_list);
  free(job->url);
  av_dict_free(&job->options);
  free(job);
}

/* Makes a pending or later libav call give up, and the thread end once its call is answered. */
static void request_end(Decoder *d) {
  atomic_store(&d->interrupt, 1);
  pthread_mutex_lock(&d->lock);
  d->closing = 1;
  pthread_cond_signal(&d->wake);
  pthread_cond_signal(&d->conv_wake);
  pthread_cond_broadcast(&d->hold_wake);
  pthread_mutex_unlock(&d->lock);
}

static void decoder_free(Decoder *d) {
  av_frame_free(&d->cur);
  av_frame_free(&d->conv_frame);
  pthread_mutex_destroy(&d->lock);
  pthread_cond_destroy(&d->wake);
  pthread_cond_destroy(&d->conv_wake);
  pthread_cond_destroy(&d->hold_wake);
  free(d);
}

static void decoder_unref(Decoder *d) {
  if (atomic_fetch_sub(&d->refs, 1) != 1) return;
  decoder_free(d);
}

/* ---- on the decoder thread ------------------------------------------------ */

static void held_clear(Decoder *d) {
  for (int i = 0; i < d->held_n; i++) av_packet_free(&d->held[i]);
  d->held_n = 0;
  d->held_bytes = 0;
  d->fed = 0;
  d->fed_from = 0;
  d->key_at = 0;
}

/* Lets go the held packets before the last keyframe (the older group); what the codec was fed moves with them. */
static void held_drop_older(Decoder *d) {
  int n = d->key_at;
  if (n <= 0) return;
  for (int i = 0; i < n; i++) {
    d->held_bytes -= (size_t)d->held[i]->size;
    av_packet_free(&d->held[i]);
  }
  memmove(d->held, d->held + n, (size_t)(d->held_n - n) * sizeof *d->held);
  d->held_n -= n;
  d->key_at = 0;
  if (d->fed_from >= n) {
    d->fed_from -= n;
    d->fed -= n;
  } else {
    /* the codec was part way through the group let go: it starts again from a keyframe */
    d->fed_valid = 0;
    d->fed_from = 0;
    d->fed = 0;
  }
}

static void av_free_all(Decoder *d) {
  held_clear(d);
  free(d->held);
  d->held = NULL;
  converter_free(&d->decoder_own);
  if (d->frame) av_frame_free(&d->frame);
  if (d->pkt) av_packet_free(&d->pkt);
  if (d->dec) avcodec_free_context(&d->dec);
  if (d->fmt) avformat_close_input(&d->fmt);
}

static void open_execute(Decoder *d, Job *job) {
  d->fmt = avformat_alloc_context();
  if (d->fmt == NULL) return fail(job, "out of memory", AVERROR(ENOMEM));
  d->fmt->interrupt_callback.callback = on_interrupt;
  d->fmt->interrupt_callback.opaque = d;
  int r = avformat_open_input(&d->fmt, job->url, NULL, &job->options);
  if (r < 0) return fail(job, atomic_load(&d->interrupt) ? "interrupted" : "cannot open the source", r);
  if ((r = avformat_find_stream_info(d->fmt, NULL)) < 0) return fail(job, "cannot read the stream's parameters", r);
  const AVCodec *codec = NULL;
  d->stream = av_find_best_stream(d->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
  if (d->stream < 0 || codec == NULL) return fail(job, "no decodable video stream", d->stream < 0 ? d->stream : 0);
  AVStream *st = d->fmt->streams[d->stream];
  d->time_base = av_q2d(st->time_base);
  d->dec = avcodec_alloc_context3(codec);
  if (d->dec == NULL) return fail(job, "out of memory", AVERROR(ENOMEM));
  if ((r = avcodec_parameters_to_context(d->dec, st->codecpar)) < 0) return fail(job, "bad codec parameters", r);
  d->dec->thread_count = job->threads; /* 0: one per core */
  d->held_limit = job->held_limit > 0 ? (size_t)job->held_limit : 0;
  d->fed_valid = 1;
  /* Frame threads hold each picture back by one packet per thread besides the first (ADR 0086): only when asked for
     by a thread count; by default slice threads, which add no delay (and work where a stream has several slices). */
  d->dec->thread_type = job->threads > 1 ? FF_THREAD_FRAME | FF_THREAD_SLICE : FF_THREAD_SLICE;
  /* Keyframes only: the codec discards every other frame before decoding it (ffmpeg's -skip_frame nokey). */
  if (job->keyframes_only) {
    d->dec->skip_frame = AVDISCARD_NONKEY;
    d->discard = 2;
  }
  if ((r = avcodec_open2(d->dec, codec, NULL)) < 0) return fail(job, "cannot open the decoder", r);
  int sw = d->dec->width, sh = d->dec->height;
  if (sw <= 0 || sh <= 0) return fail(job, "the stream has no frame size", 0);
  job->source_w = sw;
  job->source_h = sh;
  d->crop_x = job->crop_x;
  d->crop_y = job->crop_y;
  d->crop_w = job->crop_w;
  d->crop_h = job->crop_h;
  d->hflip = job->hflip;
  if (d->crop_w > 0) {
    if (d->crop_w > sw || d->crop_h > sh) {
      snprintf(job->message, sizeof job->message, "the crop %dx%d is larger than the source's %dx%d frame", d->crop_w, d->crop_h, sw, sh);
      job->err = -1;
      return;
    }
    sw = d->crop_w; /* the output size follows the crop */
    sh = d->crop_h;
  }
  /* The output size: as asked; one side alone keeps the aspect ratio (even, as ffmpeg's -2). */
  d->out_w = job->want_w > 0 ? job->want_w : (job->want_h > 0 ? ((int)((double)sw * job->want_h / sh + 1) & ~1) : sw);
  d->out_h = job->want_h > 0 ? job->want_h : (job->want_w > 0 ? ((int)((double)sh * job->want_w / sw + 1) & ~1) : sh);
  d->pkt = av_packet_alloc();
  d->frame = av_frame_alloc();
  if (d->pkt == NULL || d->frame == NULL) return fail(job, "out of memory", AVERROR(ENOMEM));
  AVRational rate = av_guess_frame_rate(d->fmt, st, NULL);
  job->fps = rate.den > 0 ? av_q2d(rate) : 0;
  job->codec = codec->name;
}

/*
 * Cuts the crop out of a decoded frame: pointer offsets into its planes, no
 * copy. As ffmpeg's crop filter does, a crop reaching past the frame's edge is
 * moved inside it (onto the chroma grid), so both decoders give the same pixels.
 */
static int apply_crop(Decoder *d, AVFrame *f) {
  if (d->crop_w == 0) return 0;
  if (d->crop_w > f->width || d->crop_h > f->height) return AVERROR(EINVAL);
  int x = d->crop_x, y = d->crop_y;
  if (x + d->crop_w > f->width || y + d->crop_h > f->height) {
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(f->format);
    if (x + d->crop_w > f->width) x = (f->width - d->crop_w) & ~((1 << desc->log2_chroma_w) - 1);
    if (y + d->crop_h > f->height) y = (f->height - d->crop_h) & ~((1 << desc->log2_chroma_h) - 1);
  }
  f->crop_left = x;
  f->crop_top = y;
  f->crop_right = f->width - x - d->crop_w;
  f->crop_bottom = f->height - y - d->crop_h;
  return av_frame_apply_cropping(f, AV_FRAME_CROP_UNALIGNED);
}

/*
 * Mirrors a converted image in place, plane by plane, pixel by pixel (3 bytes
 * in rgb24, a U/V pair in nv12's second plane): the bytes ffmpeg's hflip
 * gives for the same format. swscale cannot flip horizontally, and one pass
 * over the frame, still in cache after conversion, needs no second buffer.
 */
static void mirror(uint8_t *const data[4], const int linesize[4], enum AVPixelFormat fmt, int w, int h) {
  const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(fmt);
  for (int p = 0; p < 4 && data[p] != NULL; p++) {
    int step = 0;
    for (int c = 0; c < desc->nb_components; c++)
      if (desc->comp[c].plane == p && desc->comp[c].step > step) step = desc->comp[c].step;
    int chroma = (p == 1 || p == 2) && !(desc->flags & AV_PIX_FMT_FLAG_RGB);
    int pw = chroma ? AV_CEIL_RSHIFT(w, desc->log2_chroma_w) : w;
    int ph = chroma ? AV_CEIL_RSHIFT(h, desc->log2_chroma_h) : h;
    for (int y = 0; y < ph; y++) {
      uint8_t *row = data[p] + (ptrdiff_t)y * linesize[p];
      for (uint8_t *a = row, *b = row + (ptrdiff_t)(pw - 1) * step; a < b; a += step, b -= step) {
        for (int k = 0; k < step; k++) {
          uint8_t t = a[k];
          a[k] = b[k];
          b[k] = t;
        }
      }
    }
  }
}

/* Whether luma is plane 0, one byte a pixel, and the gray table may stand for swscale (see GrayTable). */
static int gray_table_fits(enum AVPixelFormat fmt) {
  switch (fmt) {
  case AV_PIX_FMT_YUV420P:
  case AV_PIX_FMT_YUVJ420P:
  case AV_PIX_FMT_YUV422P:
  case AV_PIX_FMT_YUVJ422P:
  case AV_PIX_FMT_YUV444P:
  case AV_PIX_FMT_YUVJ444P:
  case AV_PIX_FMT_YUV440P:
  case AV_PIX_FMT_YUVJ440P:
  case AV_PIX_FMT_YUV411P:
  case AV_PIX_FMT_YUV410P:
  case AV_PIX_FMT_NV12:
  case AV_PIX_FMT_NV21:
    return 1;
  default:
    return 0;
  }
}

/* Asks swscale for the gray of every luma value: a 256 x 16 ramp (chroma at its middle), its first row read. */
static int gray_table_make(GrayTable *t, enum AVPixelFormat fmt, int flags) {
  enum { W = 256, H = 16 };
  int ok = 0;
  AVFrame *ramp = av_frame_alloc();
  uint8_t *out = av_malloc(W * H);
  struct SwsContext *sws = sws_getContext(W, H, fmt, W, H, AV_PIX_FMT_GRAY8, flags, NULL, NULL, NULL);
  if (ramp != NULL && out != NULL && sws != NULL) {
    ramp->format = fmt;
    ramp->width = W;
    ramp->height = H;
    if (av_frame_get_buffer(ramp, 0) == 0) {
      for (int p = 1; p < 4 && ramp->data[p] != NULL; p++) memset(ramp->data[p], 128, (size_t)ramp->linesize[p] * H);
      for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) ramp->data[0][(ptrdiff_t)y * ramp->linesize[0] + x] = (uint8_t)x;
      uint8_t *dst[4] = {out, NULL, NULL, NULL};
      int dst_linesize[4] = {W, 0, 0, 0};
      if (sws_scale(sws, (const uint8_t *const *)ramp->data, ramp->linesize, 0, H, dst, dst_linesize) == H) {
        memcpy(t->map, out, W);
        ok = 1;
      }
    }
  }
  sws_freeContext(sws);
  av_free(out);
  av_frame_free(&ramp);
  t->src_fmt = fmt;
  t->flags = flags;
  t->checked = 0;
  t->bad = !ok;
  return ok;
}

/* Maps the picture's luma plane through the table into a w x h gray image. */
static void gray_table_map(const GrayTable *t, const AVFrame *f, uint8_t *dst, int dst_linesize, int w, int h) {
  for (int y = 0; y < h; y++) {
    const uint8_t *src = f->data[0] + (ptrdiff_t)y * f->linesize[0];
    uint8_t *row = dst + (ptrdiff_t)y * dst_linesize;
    for (int x = 0; x < w; x++) row[x] = t->map[src[x]];
  }
}

static void converter_free(Converter *c) {
  if (c->sws) sws_freeContext(c->sws);
  c->sws = NULL;
  c->gray.src_fmt = AV_PIX_FMT_NONE;
}

/*
 * Converts one decoded picture into the job's target: crop (plane pointers),
 * swscale (or, gray at the picture's size, its table), then the mirror in
 * place. Consumes the picture (unrefs it) on every path. c is the calling
 * thread's converter.
 */
static void convert_picture(Decoder *d, Converter *c, AVFrame *f, Job *job) {
  struct SwsContext **sws = &c->sws;
  int r;
  if ((r = apply_crop(d, f)) < 0) {
    av_frame_unref(f);
    return fail(job, "the crop is larger than the frame", r);
  }
  /*
   * A size asked by the call (the readers' own, smaller than the output as opened) is reached with bilinear
   * filtering: the readers are models that resize with a linear filter themselves, where bicubic's sharper
   * edges change no detection (test/models/reader-size.test.ts) and cost a third more to rgb24 (docs/benchmarks.md,
   * SCALE). The size as opened keeps bicubic,
   * what ffmpeg's scale filter gives, so both decoders give the same pixels for a configured size.
   */
  int asked = job->want_w > 0 && job->want_h > 0;
  int ow = asked ? job->want_w : d->out_w, oh = asked ? job->want_h : d->out_h;
  job->out_w = ow;
  job->out_h = oh;
  int flags = asked ? SWS_BILINEAR : SWS_BICUBIC;
  *sws = sws_getCachedContext(*sws, f->width, f->height, f->format, ow, oh, d->out_fmt, flags, NULL, NULL, NULL);
  if (*sws == NULL) {
    av_frame_unref(f);
    return fail(job, "cannot convert the frame's pixel format", 0);
  }
  uint8_t *dst[4];
  int dst_linesize[4];
  int need = av_image_fill_arrays(dst, dst_linesize, job->target, d->out_fmt, ow, oh, 1);
  if (need < 0 || (size_t)need > job->target_len) {
    av_frame_unref(f);
    return fail(job, "the target buffer is too small", need < 0 ? need : 0);
  }
  GrayTable *t = &c->gray;
  int by_table = d->out_fmt == AV_PIX_FMT_GRAY8 && ow == f->width && oh == f->height && gray_table_fits(f->format);
  if (by_table && (t->src_fmt != f->format || t->flags != flags)) by_table = gray_table_make(t, f->format, flags);
  if (by_table && !t->bad) {
    gray_table_map(t, f, dst[0], dst_linesize[0], ow, oh);
    job->conversion = 2;
    if (!t->checked) {
      /* Once per table: swscale's own answer for this picture must be the same bytes. */
      uint8_t *check = av_malloc((size_t)need);
      uint8_t *cdst[4] = {check, NULL, NULL, NULL};
      int cline[4] = {dst_linesize[0], 0, 0, 0};
      if (check != NULL) {
        sws_scale(*sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, cdst, cline);
        t->bad = memcmp(check, dst[0], (size_t)need) != 0;
        t->checked = 1;
        if (t->bad) memcpy(dst[0], check, (size_t)need), job->conversion = 1;
        av_free(check);
      }
    }
  } else {
    sws_scale(*sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dst, dst_linesize);
    job->conversion = 1;
  }
  av_frame_unref(f);
  if (d->hflip) mirror(dst, dst_linesize, d->out_fmt, ow, oh);
}

static double pts_ms_of(Decoder *d, const AVFrame *f) {
  int64_t ts = f->best_effort_timestamp;
  return ts == AV_NOPTS_VALUE ? -1 : ts * d->time_base * 1000.0;
}

static int is_keyframe(const AVFrame *f) {
#ifdef AV_FRAME_FLAG_KEY
  return (f->flags & AV_FRAME_FLAG_KEY) != 0;
#else
  return f->key_frame;
#endif
}

/*
 * What the codec discards, as the call asks: more at once; less at a
 * keyframe, or wherever no frame a later one may refer to was discarded:
 * after non-reference frames only (nothing refers to them), or with
 * keyframes only while nothing was discarded since the last keyframe (a
 * reader's take is near just after one: its frames are decoded from there,
 * ADR 0065). Otherwise a P frame's references were never decoded.
 */
static void apply_discard(Decoder *d, const AVPacket *pkt, int wanted) {
  if (wanted == 3) wanted = 2; /* holding: the codec is fed nothing; when it is again, from a keyframe or where it stopped */
  if (wanted == d->discard) return;
  if (wanted < d->discard && !(pkt->flags & AV_PKT_FLAG_KEY) && d->discard == 2 && d->refs_lost) return;
  d->discard = wanted;
  d->dec->skip_frame = wanted == 2 ? AVDISCARD_NONKEY : wanted == 1 ? AVDISCARD_NONREF : AVDISCARD_DEFAULT;
}

static double monotonic_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void arrival_note(Decoder *d, const AVPacket *pkt, double at) {
  int64_t ts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
  if (ts == AV_NOPTS_VALUE) return;
  d->arrival_pts[d->arrival_next] = ts;
  d->arrival_at[d->arrival_next] = at;
  d->arrival_next = (d->arrival_next + 1) % ARRIVALS;
}

/* When the picture's own packet was read; the last packet's read time when it is not among those kept. */
static double arrival_of(Decoder *d, const AVFrame *f) {
  int64_t ts = f->pts != AV_NOPTS_VALUE ? f->pts : f->best_effort_timestamp;
  if (ts != AV_NOPTS_VALUE) {
    for (int i = 0; i < ARRIVALS; i++) {
      int at = (d->arrival_next - 1 - i + ARRIVALS) % ARRIVALS;
      if (d->arrival_at[at] > 0 && d->arrival_pts[at] == ts) return d->arrival_at[at];
    }
  }
  return d->last_packet_at;
}

/*
 * Keeps a video packet (its reference moves out of pkt): a keyframe starts a new group and lets go the one
 * before the last; over the bound the older group goes first, then the buffer is let go until the next
 * keyframe. fed_now: the codec was fed it.
 */
static void hold_packet(Decoder *d, AVPacket *pkt, int fed_now) {
  int key = (pkt->flags & AV_PKT_FLAG_KEY) != 0;
  if (key) {
    if (d->held_lost) held_clear(d);
    d->held_lost = 0;
    held_drop_older(d);
    if (d->held_n > 0) d->key_at = d->held_n;
    if (fed_now && !(d->fed_valid && d->fed == d->held_n)) {
      /* the codec starts afresh at this keyframe (it was flushed for it) */
      d->fed_from = d->held_n;
      d->fed = d->held_n;
    }
    if (fed_now) d->fed_valid = 1;
  }
  if (d->held_limit == 0 || d->held_lost || (d->held_n == 0 && !key)) {
    if (!fed_now) d->fed_valid = 0; /* a packet the codec will never see: it goes on from a keyframe only */
    av_packet_unref(pkt);
    return;
  }
  if (d->held_bytes + (size_t)pkt->size > d->held_limit) held_drop_older(d);
  if (d->held_bytes + (size_t)pkt->size > d->held_limit) {
    held_clear(d);
    d->held_lost = 1;
    if (!fed_now) d->fed_valid = 0;
    av_packet_unref(pkt);
    return;
  }
  if (d->held_n == d->held_cap) {
    int cap = d->held_cap ? d->held_cap * 2 : 64;
    AVPacket **grown = realloc(d->held, (size_t)cap * sizeof *grown);
    if (grown == NULL) {
      held_clear(d);
      d->held_lost = 1;
      av_packet_unref(pkt);
      return;
    }
    d->held = grown;
    d->held_cap = cap;
  }
  AVPacket *kept = av_packet_alloc();
  if (kept == NULL) {
    held_clear(d);
    d->held_lost = 1;
    av_packet_unref(pkt);
    return;
  }
  av_packet_move_ref(kept, pkt);
  d->held[d->held_n++] = kept;
  d->held_bytes += (size_t)kept->size;
  if (fed_now && d->fed == d->held_n - 1) d->fed = d->held_n;
}

/* av_read_frame()'s answer r is the source's end (a file's, or a stream that closed without being interrupted). */
static bool source_ended(Decoder *d, int r) {
  return r == AVERROR_EOF || (r < 0 && d->fmt->pb != NULL && avio_feof(d->fmt->pb) && !atomic_load(&d->interrupt));
}

/* av_read_frame() failed with r (not the end): the call fails, saying whether it was interrupted. */
static void read_failed(Decoder *d, Job *job, int r) { fail(job, atomic_load(&d->interrupt) ? "interrupted" : "reading the source failed", r); }

static double packet_pts_ms(Decoder *d, const AVPacket *pkt) {
  int64_t ts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
  return ts == AV_NOPTS_VALUE ? -1 : ts * d->time_base * 1000.0;
}

/*
 * Catching up after holding: the held packets the codec was not fed, from where it stopped (or from the
 * keyframe, flushed first), decoded in one burst. The picture kept in d->frame is the newest, or the one
 * nearest job->near_pts_ms. True if one is there.
 */
static bool catch_up(Decoder *d, Job *job) {
  /* Nothing to catch up on: decoding live, every held packet was fed, and no earlier time is asked. */
  if (d->held_n == 0 || (d->fed_valid && d->fed >= d->held_n && job->near_pts_ms < 0)) return false;
  /* The keyframe to start from: the last one, or for a time asked, the last one at or before it. */
  int start = d->key_at;
  if (job->near_pts_ms >= 0 && start > 0) {
    double key_pts = packet_pts_ms(d, d->held[start]);
    if (key_pts >= 0 && job->near_pts_ms < key_pts) start = 0;
  }
  /* From a keyframe again: the codec lost track, skipped frames the held ones refer to, passed the time
   * asked, or is further back than the keyframe it needs (decoding from there costs less). */
  bool restart = !d->fed_valid || d->discard != 0 || d->fed < start;
  if (!restart && job->near_pts_ms >= 0 && d->fed > d->fed_from) {
    double last_fed = packet_pts_ms(d, d->held[d->fed - 1]);
    restart = last_fed >= 0 && job->near_pts_ms <= last_fed;
  }
  if (restart) {
    avcodec_flush_buffers(d->dec);
    d->fed = start;
    d->fed_from = start;
    d->fed_valid = 1;
  }
  if (d->fed >= d->held_n) return false;
  d->dec->skip_frame = AVDISCARD_DEFAULT;
  d->discard = 0;
  d->refs_lost = 0;
  AVFrame *best = av_frame_alloc();
  if (best == NULL) return false;
  double best_gap = -1;
  for (; d->fed < d->held_n; d->fed++) {
    avcodec_send_packet(d->dec, d->held[d->fed]); /* a corrupt packet is skipped, as when decoding live */
    job->packets++;
    while (avcodec_receive_frame(d->dec, d->frame) == 0) {
      job->burst++;
      double pts = pts_ms_of(d, d->frame);
      if (is_keyframe(d->frame)) job->key_pts_ms = pts;
      double gap = job->near_pts_ms >= 0 && pts >= 0 ? fabs(pts - job->near_pts_ms) : 0;
      if (best->buf[0] == NULL || job->near_pts_ms < 0 || gap <= best_gap) {
        av_frame_unref(best);
        av_frame_move_ref(best, d->frame);
        best_gap = gap;
      } else {
        av_frame_unref(d->frame);
      }
    }
  }
  bool found = best->buf[0] != NULL;
  if (found) {
    av_frame_move_ref(d->frame, best);
    job->pts_ms = pts_ms_of(d, d->frame);
    if (job->burst > 0) job->burst--; /* the picture handed out is not counted among those passed over */
  }
  av_frame_free(&best);
  return found;
}

/*
 * Reads and decodes until one picture is in d->frame (true), or the source
 * ended (job->eof) or failed (job->err). Pictures before the job's
 * skip_before_ms are decoded (they must be) and dropped unconverted.
 * Holding (discard 3), one video packet is read and held, and the call
 * answers with no picture (job->held). Back from holding, the held packets
 * are decoded first (catch_up()).
 */
static bool receive_picture(Decoder *d, Job *job) {
  if (job->discard != 3 && catch_up(d, job)) return true;
  for (;;) {
    int r = avcodec_receive_frame(d->dec, d->frame);
    if (r == 0) {
      job->pts_ms = pts_ms_of(d, d->frame);
      if (is_keyframe(d->frame)) job->key_pts_ms = job->pts_ms;
      if (job->pts_ms >= 0 && job->pts_ms < job->skip_before_ms) {
        /* Decimation: decoded (it must be) but never converted nor handed out. */
        job->skipped++;
        av_frame_unref(d->frame);
        continue;
      }
      double arrived = arrival_of(d, d->frame);
      job->decode_ms = arrived > 0 ? monotonic_ms() - arrived : 0;
      return true;
    }
    if (r == AVERROR_EOF) {
      job->eof = 1;
      return false;
    }
    if (r != AVERROR(EAGAIN)) {
      fail(job, "decoding failed", r);
      return false;
    }
    r = av_read_frame(d->fmt, d->pkt);
    if (source_ended(d, r)) {
      if (!d->eof_sent) {
        avcodec_send_packet(d->dec, NULL); /* drain the frames the decoder still holds */
        d->eof_sent = 1;
      }
      continue;
    }
    if (r < 0) {
      read_failed(d, job, r);
      return false;
    }
    if (d->pkt->stream_index == d->stream) {
      job->packets++;
      d->last_packet_at = monotonic_ms();
      if (job->discard == 3) {
        job->held = 1;
        job->pts_ms = packet_pts_ms(d, d->pkt);
        if (d->pkt->flags & AV_PKT_FLAG_KEY) job->key_pts_ms = job->pts_ms;
        hold_packet(d, d->pkt, 0);
        return false;
      }
      /* Fed from a keyframe on, or where it stopped: the held packets it was not fed came first (catch_up()). */
      if (!d->fed_valid && !(d->pkt->flags & AV_PKT_FLAG_KEY)) {
        hold_packet(d, d->pkt, 0);
        continue;
      }
      if (!d->fed_valid) avcodec_flush_buffers(d->dec); /* a keyframe after packets the codec never saw */
      /* Skipping, the frames presented near a reader's take are decoded, decided packet by packet: the take finds the
         newest frame captured, whatever order the packets came in (a B frame's packet follows the later frame it refers
         to), and however many packets past the picture handed out this call reads (the codec's frame threads hold one
         each: with keyframes only, the packets after the keyframe a take needs are read before the call answers with
         it, and one discarded there loses the group). Less is applied where apply_discard() allows it. */
      int wanted = job->discard;
      if ((wanted == 1 || wanted == 2) && job->decode_from_ms >= 0 && packet_pts_ms(d, d->pkt) >= job->decode_from_ms) wanted = 0;
      apply_discard(d, d->pkt, wanted);
      arrival_note(d, d->pkt, d->last_packet_at);
      r = avcodec_send_packet(d->dec, d->pkt);
      /* A corrupt packet is skipped, as ffmpeg does; the decoder resynchronises on the next keyframe. */
      (void)r;
      if (d->pkt->flags & AV_PKT_FLAG_KEY) d->fed_valid = 1, d->refs_lost = 0;
      else if (d->discard == 2) d->refs_lost = 1;
      hold_packet(d, d->pkt, 1);
      continue;
    }
    av_packet_unref(d->pkt);
  }
}

/* decode(): the next picture, converted at once into the target. */
static void decode_execute(Decoder *d, Job *job) {
  if (receive_picture(d, job)) convert_picture(d, &d->decoder_own, d->frame, job);
}

/* next(): the next picture, left unconverted in d->frame for present(); or, holding, one packet held. */
static void next_execute(Decoder *d, Job *job) {
  if (!receive_picture(d, job)) av_frame_unref(d->frame);
}

/* Waits until the monotonic time `due` (ms); false if interrupted (close, kill) before it. */
static bool hold_wait(Decoder *d, double due) {
  struct timespec until;
  until.tv_sec = (time_t)(due / 1000.0);
  until.tv_nsec = (long)((due - (double)until.tv_sec * 1000.0) * 1e6);
  if (until.tv_nsec >= 1000000000L) until.tv_sec += 1, until.tv_nsec -= 1000000000L;
  if (until.tv_nsec < 0) until.tv_nsec = 0;
  pthread_mutex_lock(&d->lock);
  while (!atomic_load(&d->interrupt) && monotonic_ms() < due) {
    if (pthread_cond_timedwait(&d->hold_wake, &d->lock, &until) == ETIMEDOUT) break;
  }
  pthread_mutex_unlock(&d->lock);
  return !atomic_load(&d->interrupt);
}

/*
 * holdMany(): packets read and held, none decoded, many in one call (ADR 0091): each packet held one call at a
 * time cost a wake of this thread and a call into JavaScript, 10 a second a camera whose main stream nobody reads.
 * Each packet's time is noted for JavaScript (held_list). At the source's end with nothing held in the call, it
 * answers as next() does there (a picture the codec still had, or the end).
 */
static void held_note(Job *job, double pts, double at, int key, double had) {
  double *entry = job->held_list + 4 * job->held_list_n++;
  entry[0] = pts;
  entry[1] = at;
  entry[2] = key;
  entry[3] = had;
  job->pts_ms = pts;
}

static void hold_execute(Decoder *d, Job *job) {
  job->held = 1;
  for (;;) {
    if (atomic_exchange(&d->hold_yield, 0)) return;
    int r = av_read_frame(d->fmt, d->pkt);
    if (source_ended(d, r)) {
      if (job->held_list_n > 0) return; /* the next call finds the end again */
      job->held = 0;
      job->discard = 3;
      next_execute(d, job);
      /* A packet read after all (the end was a guess): held as next() holds one, and noted. */
      if (job->held && job->err == 0) held_note(job, job->pts_ms, d->last_packet_at, job->key_pts_ms == job->pts_ms && job->pts_ms >= 0, d->last_packet_at);
      return;
    }
    if (r < 0) return read_failed(d, job, r);
    if (d->pkt->stream_index != d->stream) {
      av_packet_unref(d->pkt);
      continue;
    }
    job->packets++;
    double now = monotonic_ms();
    d->last_packet_at = now;
    double pts = packet_pts_ms(d, d->pkt);
    int key = (d->pkt->flags & AV_PKT_FLAG_KEY) != 0;
    if (key) job->key_pts_ms = pts;
    hold_packet(d, d->pkt, 0);
    double at = now;
    if (job->pace_at_ms >= 0 && pts >= 0) {
      /* Paced: the packet came at its time; read early, the call waits for it (late, it is dated at its time). */
      at = job->pace_at_ms + (pts - job->pace_pts_ms);
      if (at > now && !hold_wait(d, at)) return fail(job, "interrupted", AVERROR_EXIT);
    }
    held_note(job, pts, at, key, monotonic_ms());
    if (job->held_list_n >= job->hold_max) return;
    if (job->hold_until_ms >= 0 && monotonic_ms() >= job->hold_until_ms) return;
  }
}

static double thread_cpu_ms(void) {
  struct timespec t;
  return clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t) == 0 ? t.tv_sec * 1e3 + t.tv_nsec / 1e6 : 0;
}

/* convert(), on the converter thread: the current picture, by reference, into the target. */
static void convert_execute(Decoder *d, Job *job) {
  pthread_mutex_lock(&d->lock);
  int r = d->cur->buf[0] == NULL ? AVERROR(EAGAIN) : av_frame_ref(d->conv_frame, d->cur);
  if (r == 0) d->cur_taken = 1;
  job->picture = d->cur_number;
  pthread_mutex_unlock(&d->lock);
  if (r == AVERROR(EAGAIN)) return fail(job, "no picture to convert: call next() and present() first", 0);
  if (r < 0) return fail(job, "cannot hold the picture", r);
  job->pts_ms = pts_ms_of(d, d->conv_frame);
  convert_picture(d, &d->converter_own, d->conv_frame, job);
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
    while (d->job == NULL && !d->closing) pthread_cond_wait(&d->wake, &d->lock);
    Job *job = d->job;
    d->job = NULL;
    pthread_mutex_unlock(&d->lock);
    if (job == NULL) break;
    double cpu = thread_cpu_ms();
    if (atomic_load(&d->interrupt)) fail(job, "interrupted", AVERROR_EXIT);
    else if (job->kind == JOB_OPEN) open_execute(d, job);
    else if (job->kind == JOB_NEXT) next_execute(d, job);
    else if (job->kind == JOB_HOLD) hold_execute(d, job);
    else decode_execute(d, job);
    job->cpu_ms = thread_cpu_ms() - cpu;
    job->held_bytes = (double)d->held_bytes;
    job->out_w = d->out_w;
    job->out_h = d->out_h;
    int open_failed = job->kind == JOB_OPEN && job->err != 0;
    /* Only at the environment's teardown can this fail; its references go with the environment. */
    if (napi_call_threadsafe_function(d->tsfn, job, napi_tsfn_nonblocking) != napi_ok) job_free(job);
    if (open_failed) break; /* nothing more can be asked of it */
  }
  av_free_all(d);
  napi_release_threadsafe_function(d->tsfn, napi_tsfn_release);
  return NULL;
}

/* The converter: takes one convert() at a time, answers it, and sleeps until the next; ends on close. */
static void *convert_main(void *arg) {
  Decoder *d = arg;
  pthread_setname_np(pthread_self(), "fs-convert");
  for (;;) {
    pthread_mutex_lock(&d->lock);
    while (d->conv_job == NULL && !d->closing) pthread_cond_wait(&d->conv_wake, &d->lock);
    Job *job = d->conv_job;
    d->conv_job = NULL;
    pthread_mutex_unlock(&d->lock);
    if (job == NULL) break;
    job->out_w = d->out_w; /* convert_picture() says the size it gave */
    job->out_h = d->out_h;
    double cpu = thread_cpu_ms();
    convert_execute(d, job);
    job->cpu_ms = thread_cpu_ms() - cpu;
    if (napi_call_threadsafe_function(d->tsfn, job, napi_tsfn_nonblocking) != napi_ok) job_free(job);
  }
  converter_free(&d->converter_own);
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
  Job *job = data;
  if (env == NULL) {
    job_free(job);
    return;
  }
  if (job->kind == JOB_CONVERT) d->converting = 0;
  else d->busy = 0;
  if (job->kind == JOB_OPEN && job->err == 0) d->opened = 1;
  /* Idle decoders do not keep the process alive (the reference is one flag, not a count: both lanes idle). */
  if (!d->busy && !d->converting) napi_unref_threadsafe_function(env, d->tsfn);
  napi_value cb, undefined, argv[2];
  napi_get_reference_value(env, job->callback, &cb);
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
    napi_create_double(env, job->cpu_ms, &v);
    napi_set_named_property(env, argv[1], "cpuMs", v);
    napi_create_string_utf8(env, job->conversion == 2 ? "table" : job->conversion == 1 ? "swscale" : "none", NAPI_AUTO_LENGTH, &v);
    napi_set_named_property(env, argv[1], "conversion", v);
    if (job->kind == JOB_HOLD && job->held) {
      napi_value ab;
      void *data = NULL;
      size_t n = (size_t)job->held_list_n * 4;
      if (napi_create_arraybuffer(env, n * sizeof(double), &data, &ab) == napi_ok) {
        if (n > 0) memcpy(data, job->held_list, n * sizeof(double));
        napi_create_typedarray(env, napi_float64_array, n, ab, 0, &v);
        napi_set_named_property(env, argv[1], "heldList", v);
      }
    }
    if (job->kind == JOB_CONVERT) {
      napi_create_double(env, job->picture, &v);
      napi_set_named_property(env, argv[1], "picture", v);
    }
    if (job->kind == JOB_OPEN) {
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
  napi_ref callback = job->callback;
  if (job->target_ref) napi_delete_reference(env, job->target_ref);
  if (job->handle_ref) napi_delete_reference(env, job->handle_ref);
  job_free(job);
  napi_value result;
  napi_call_function(env, undefined, cb, 2, argv, &result);
  napi_delete_reference(env, callback);
}

/* Hands a call to the thread; the thread-safe function keeps the process alive until it is answered. */
static void submit(napi_env env, Decoder *d, Job *job) {
  int convert = job->kind == JOB_CONVERT;
  if (convert) d->converting = 1;
  else d->busy = 1;
  napi_ref_threadsafe_function(env, d->tsfn);
  pthread_mutex_lock(&d->lock);
  if (convert) {
    d->conv_job = job;
    pthread_cond_signal(&d->conv_wake);
  } else {
    d->job = job;
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

/* Reads open()'s options into the job; false (with a JavaScript exception pending) if they are wrong. */
static bool read_open_options(napi_env env, napi_value options, Job *job, enum AVPixelFormat *out_fmt) {
  job->want_w = get_int(env, options, "width");
  job->want_h = get_int(env, options, "height");
  job->threads = get_int(env, options, "threads");
  job->lower_by = get_int(env, options, "lowerPriorityBy");
  if (job->lower_by < 0 || job->lower_by > 39) {
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
  Job *job = calloc(1, sizeof *job);
  if (job == NULL) {
    napi_throw_error(env, "ERR_NATIVE", "out of memory");
    return NULL;
  }
  job->kind = JOB_OPEN;
  job->url = get_string(env, argv[0]);
  enum AVPixelFormat out_fmt = AV_PIX_FMT_NONE;
  if (job->url == NULL) {
    job_free(job);
    napi_throw_type_error(env, "ERR_INVALID_ARGUMENT", "url must be a string");
    return NULL;
  }
  if (!read_open_options(env, argv[1], job, &out_fmt)) {
    job_free(job);
    return NULL;
  }
  Decoder *d = calloc(1, sizeof *d);
  if (d == NULL) {
    job_free(job);
    napi_throw_error(env, "ERR_NATIVE", "out of memory");
    return NULL;
  }
  d->out_fmt = out_fmt;
  d->lower_by = job->lower_by;
  d->decoder_own.gray.src_fmt = AV_PIX_FMT_NONE;
  d->converter_own.gray.src_fmt = AV_PIX_FMT_NONE;
  d->aim_ms = -1;
  d->decode_from_ms = -1;
  pthread_mutex_init(&d->lock, NULL);
  pthread_cond_init(&d->wake, NULL);
  pthread_cond_init(&d->conv_wake, NULL);
  pthread_condattr_t monotonic;
  pthread_condattr_init(&monotonic);
  pthread_condattr_setclock(&monotonic, CLOCK_MONOTONIC);
  pthread_cond_init(&d->hold_wake, &monotonic);
  pthread_condattr_destroy(&monotonic);
  atomic_init(&d->refs, 2);
  d->cur = av_frame_alloc();
  d->conv_frame = av_frame_alloc();
  napi_value handle, name;
  /* Two threads hold the thread-safe function: the decoder thread and the converter. */
  if (d->cur == NULL || d->conv_frame == NULL || napi_create_string_utf8(env, "framesupplier.decoder", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_threadsafe_function(env, NULL, NULL, name, 0, 2, d, tsfn_finalize, d, on_complete, &d->tsfn) != napi_ok) {
    decoder_free(d);
    job_free(job);
    napi_throw_error(env, "ERR_NATIVE", "cannot create the decoder's thread-safe function");
    return NULL;
  }
  if (napi_create_external(env, d, handle_finalize, NULL, &handle) != napi_ok) {
    /* No handle: the thread-safe function's finalizer alone releases the decoder. */
    atomic_store(&d->refs, 1);
    napi_release_threadsafe_function(d->tsfn, napi_tsfn_release);
    napi_release_threadsafe_function(d->tsfn, napi_tsfn_release);
    job_free(job);
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
    job_free(job);
    napi_throw_error(env, "ERR_NATIVE", "cannot start the decoder's threads");
    return NULL;
  }
  d->thread_started = 1;
  CHECK(napi_create_reference(env, handle, 1, &job->handle_ref));
  CHECK(napi_create_reference(env, argv[2], 1, &job->callback));
  submit(env, d, job);
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

/* A call's job with nothing asked yet (no time to skip to, aim at or decode from); NULL, an exception pending, without memory. */
static Job *job_new(napi_env env, JobKind kind) {
  Job *job = calloc(1, sizeof *job);
  if (job == NULL) {
    napi_throw_error(env, "ERR_NATIVE", "out of memory");
    return NULL;
  }
  job->kind = kind;
  job->skip_before_ms = -1;
  job->key_pts_ms = -1;
  job->near_pts_ms = -1;
  job->decode_from_ms = -1;
  return job;
}

/* Keeps the call's target (or NULL), handle and callback alive until it is answered; false (the job freed, an exception pending) if it cannot. */
static bool job_hold_values(napi_env env, Job *job, napi_value target, napi_value handle, napi_value callback) {
  if ((target != NULL && napi_create_reference(env, target, 1, &job->target_ref) != napi_ok) ||
      napi_create_reference(env, handle, 1, &job->handle_ref) != napi_ok || napi_create_reference(env, callback, 1, &job->callback) != napi_ok) {
    if (job->target_ref) napi_delete_reference(env, job->target_ref);
    if (job->handle_ref) napi_delete_reference(env, job->handle_ref);
    job_free(job);
    napi_throw_error(env, "ERR_NATIVE", "cannot hold the call's arguments");
    return false;
  }
  return true;
}

/*
 * Submits a decode(), next() or convert(): argv is (handle, [target,] [skipBeforePtsMs, discard,] callback)
 * as the kind takes them. The job holds its target, handle and callback until it is answered.
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
  Job *job = job_new(env, kind);
  if (job == NULL) return NULL;
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
  if (job_hold_values(env, job, has_target ? target : NULL, argv[0], callback)) submit(env, d, job);
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
  if (d->frame == NULL || d->frame->buf[0] == NULL) {
    napi_throw_error(env, "ERR_NATIVE_BUSY", "no decoded picture to present: next() first");
    return NULL;
  }
  pthread_mutex_lock(&d->lock);
  if (d->cur->buf[0] != NULL && !d->cur_taken) d->dropped++;
  av_frame_unref(d->cur);
  av_frame_move_ref(d->cur, d->frame);
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
  atomic_store(&d->interrupt, 1);
  pthread_mutex_lock(&d->lock);
  pthread_cond_broadcast(&d->hold_wake);
  pthread_mutex_unlock(&d->lock);
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
  Job *job = job_new(env, JOB_HOLD);
  if (job == NULL) return NULL;
  job->held_list = malloc((size_t)max * 4 * sizeof(double));
  if (job->held_list == NULL) {
    job_free(job);
    napi_throw_error(env, "ERR_NATIVE", "out of memory");
    return NULL;
  }
  job->hold_max = max;
  job->hold_until_ms = until >= 0 ? until : -1;
  job->pace_at_ms = pace_at >= 0 ? pace_at : -1;
  job->pace_pts_ms = pace_pts;
  job->discard = 3;
  /* A yield asked before this call was seen by JavaScript's choice to make it (the same turn): it ends no later call. */
  atomic_store(&d->hold_yield, 0);
  if (job_hold_values(env, job, NULL, argv[0], argv[5])) submit(env, d, job);
  return NULL;
}

/* yieldHold(handle): a running holdMany() answers after the packet it is on (or the next one does at once). */
static napi_value js_yield_hold(napi_env env, napi_callback_info info) {
  Decoder *d = decoder_of_call(env, info);
  if (d != NULL) atomic_store(&d->hold_yield, 1);
  return NULL;
}

/* monotonicMs() → the clock holdMany()'s times are on (CLOCK_MONOTONIC, ms). */
static napi_value js_monotonic_ms(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  CHECK(napi_create_double(env, monotonic_ms(), &result));
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

/*
 * mallocArenas() → the number of glibc malloc arenas the process has (-1 where malloc is not glibc's): what
 * limit_arenas() bounds, for tests and benchmarks.
 */
static napi_value js_malloc_arenas(napi_env env, napi_callback_info info) {
  (void)info;
  int arenas = -1;
#ifdef __GLIBC__
  char *text = NULL;
  size_t length = 0;
  FILE *out = open_memstream(&text, &length);
  if (out != NULL) {
    if (malloc_info(0, out) == 0) {
      fflush(out);
      arenas = 0;
      for (const char *at = text; at != NULL && (at = strstr(at, "<heap nr=")) != NULL; at++) arenas++;
    }
    fclose(out);
    free(text);
  }
#endif
  napi_value v;
  napi_create_int32(env, arenas, &v);
  return v;
}

typedef int (*mallctl_fn)(const char *name, void *old, size_t *old_len, void *new_value, size_t new_len);

/*
 * jemalloc's mallctl when jemalloc is the process's malloc (Debian's libjemalloc2 in LD_PRELOAD, as the service
 * and the image run it: ADR 0074), else NULL. Found in the process's global scope, where only a jemalloc that
 * replaces malloc puts it unprefixed (one loaded privately by a library is not there); sharp tells it the same
 * way. Not by comparing malloc's address with it: a non-PIE executable (Node's) answers malloc with its own PLT.
 */
static mallctl_fn jemalloc_mallctl(void) {
  static atomic_int looked = 0;
  static mallctl_fn found = NULL;
  if (atomic_load(&looked)) return found;
  found = (mallctl_fn)dlsym(RTLD_DEFAULT, "mallctl");
  atomic_store(&looked, 1);
  return found;
}

/* thread_caches: jemalloc's opt.tcache (1 or 0), -1 for glibc (its per-thread caches are not a setting here). */
static napi_value malloc_figures(napi_env env, const char *allocator, double in_use, double arena, double mmapped, int thread_caches) {
  napi_value result, v;
  CHECK(napi_create_object(env, &result));
  CHECK(napi_create_string_utf8(env, allocator, NAPI_AUTO_LENGTH, &v));
  CHECK(napi_set_named_property(env, result, "allocator", v));
  CHECK(napi_create_double(env, in_use, &v));
  CHECK(napi_set_named_property(env, result, "inUseBytes", v));
  CHECK(napi_create_double(env, arena, &v));
  CHECK(napi_set_named_property(env, result, "arenaBytes", v));
  CHECK(napi_create_double(env, mmapped, &v));
  CHECK(napi_set_named_property(env, result, "mmappedBytes", v));
  if (thread_caches >= 0) {
    CHECK(napi_get_boolean(env, thread_caches == 1, &v));
    CHECK(napi_set_named_property(env, result, "threadCaches", v));
  }
  return result;
}

/* One of jemalloc's size_t statistics as a property of `into` (returned); left out where this jemalloc does not have it. */
static napi_value jemalloc_size(napi_env env, mallctl_fn ctl, const char *name, size_t scale, napi_value into, const char *property) {
  size_t value = 0, len = sizeof value;
  if (ctl(name, &value, &len, NULL, 0) != 0) return into;
  napi_value v;
  CHECK(napi_create_double(env, (double)value * (double)scale, &v));
  CHECK(napi_set_named_property(env, into, property, v));
  return into;
}

/*
 * Where jemalloc's resident bytes are, beside what is allocated: in its active pages (allocated, and the free room of
 * the slabs and extents they are in: fragmentation), its dirty pages (freed, not yet given back: its decay), its
 * muzzy pages (given back lazily, resident until the kernel takes them) and its own metadata. A resident figure that
 * grows with allocated flat is one of these.
 */
static napi_value jemalloc_parts(napi_env env, mallctl_fn ctl, napi_value into) {
  size_t page = 0, len = sizeof page;
  if (ctl("arenas.page", &page, &len, NULL, 0) != 0) page = 4096;
  napi_value parts;
  CHECK(napi_create_object(env, &parts));
  jemalloc_size(env, ctl, "stats.active", 1, parts, "activeBytes");
  jemalloc_size(env, ctl, "stats.metadata", 1, parts, "metadataBytes");
  jemalloc_size(env, ctl, "stats.retained", 1, parts, "retainedBytes");
  /* 4096 is MALLCTL_ARENAS_ALL: every arena's sum. */
  jemalloc_size(env, ctl, "stats.arenas.4096.pdirty", page, parts, "dirtyBytes");
  jemalloc_size(env, ctl, "stats.arenas.4096.pmuzzy", page, parts, "muzzyBytes");
  CHECK(napi_set_named_property(env, into, "jemalloc", parts));
  return into;
}

/*
 * mallocStats() → { allocator, inUseBytes, arenaBytes, mmappedBytes, threadCaches (jemalloc's opt.tcache: whether
 * each thread keeps a cache of freed blocks, MALLOC_CONF=tcache:false turning it off, ADR 0101) }, or null where malloc is neither glibc's
 * nor jemalloc: bytes handed out and not freed, bytes the allocator holds from the system besides (in use or
 * free: free bytes there are what fragmentation costs), and bytes in blocks mmapped on their own. glibc's from
 * mallinfo2 over every arena; jemalloc's from its own statistics (stats.allocated, stats.resident; it has no
 * blocks outside its extents, so mmapped is 0), and with them `jemalloc`: where its resident bytes are
 * (jemalloc_parts). Beside the process's RSS it says whether a growth is memory in use (a leak) or kept free by
 * malloc, and for jemalloc why it keeps it.
 */
static napi_value js_malloc_stats(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  mallctl_fn ctl = jemalloc_mallctl();
  if (ctl != NULL) {
    uint64_t epoch = 1;
    size_t len = sizeof epoch;
    size_t allocated = 0, resident = 0, size_len = sizeof(size_t);
    ctl("epoch", &epoch, &len, &epoch, len); /* its statistics are a snapshot, refreshed by writing the epoch */
    bool tcache = true;
    size_t bool_len = sizeof tcache;
    int caches = ctl("opt.tcache", &tcache, &bool_len, NULL, 0) == 0 ? (tcache ? 1 : 0) : -1;
    if (ctl("stats.allocated", &allocated, &size_len, NULL, 0) == 0 && ctl("stats.resident", &resident, &size_len, NULL, 0) == 0) {
      result = malloc_figures(env, "jemalloc", (double)allocated, (double)resident, 0, caches);
      return result == NULL ? NULL : jemalloc_parts(env, ctl, result);
    }
  }
#ifdef __GLIBC__
  if (ctl == NULL) {
    struct mallinfo2 m = mallinfo2();
    return malloc_figures(env, "glibc", (double)(m.uordblks + m.hblkhd), (double)m.arena, (double)m.hblkhd, -1);
  }
#endif
  CHECK(napi_get_null(env, &result));
  return result;
}

/*
 * glibc gives each thread that allocates while the others hold their arenas an arena of its own, up to 8 per
 * core, and an arena keeps what is freed into it: 16 cameras' decoder threads made dozens, 715 MB RSS instead
 * of 758 at 16 cameras in P1 (docs/benchmarks.md, ADR 0034). One arena per core (at least 2) keeps that memory
 * for the same work. Only where MALLOC_ARENA_MAX does not say otherwise; once per process.
 *
 * And glibc raises its mmap threshold to the size of any mmapped block freed (up to 32 MB): once a decoder
 * closed, the next one's frames (1.4 MB at 720p, a pool of them per decoder, a decoder a pass for a looping
 * file) came from the arenas, where blocks that size freed among smaller ones that stay are memory the arena
 * keeps: RSS rose 2.5 MB a minute at 16 cameras and did not settle (ADR 0035). A threshold set once is fixed:
 * at glibc's own starting value (128 KiB) every frame-sized block is mmapped and goes back to the system when
 * freed. Only where MALLOC_MMAP_THRESHOLD_ does not say otherwise.
 */
static void limit_arenas(void) {
#ifdef __GLIBC__
  static atomic_int done = 0;
  if (atomic_exchange(&done, 1)) return;
  if (getenv("MALLOC_MMAP_THRESHOLD_") == NULL) mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  if (getenv("MALLOC_ARENA_MAX") != NULL) return;
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  mallopt(M_ARENA_MAX, cores < 2 ? 2 : cores > 64 ? 64 : (int)cores);
#endif
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
