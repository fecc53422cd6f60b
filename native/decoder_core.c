/*
 * framesupplier's decoding core (decoder_core.h says its contract): opening a
 * source, reading, what the codec discards, holding packets and catching up,
 * a picture with its timing, crop, mirror and conversion (swscale, the gray
 * table). libav, libc and pthreads only: native/decoder.c puts it behind
 * N-API, native/test/decoder_core_test.c runs it without Node.
 */
#define _GNU_SOURCE
#include "decoder_core.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>

static int on_interrupt(void *opaque) { return atomic_load(&((DecoderCore *)opaque)->interrupt); }

void decoder_job_fail(DecoderJob *job, const char *what, int averr) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {0};
  if (averr != 0) av_strerror(averr, text, sizeof text);
  job->err = averr == 0 ? -1 : averr;
  snprintf(job->message, sizeof job->message, "%s%s%s", what, averr != 0 ? ": " : "", text);
}

void decoder_converter_init(Converter *c) {
  c->sws = NULL;
  c->gray.src_fmt = AV_PIX_FMT_NONE;
}

void decoder_core_init(DecoderCore *d, enum AVPixelFormat out_fmt) {
  memset(d, 0, sizeof *d);
  d->out_fmt = out_fmt;
  decoder_converter_init(&d->decoder_own);
  atomic_init(&d->interrupt, 0);
  atomic_init(&d->hold_yield, 0);
  pthread_mutex_init(&d->hold_lock, NULL);
  pthread_condattr_t monotonic;
  pthread_condattr_init(&monotonic);
  pthread_condattr_setclock(&monotonic, CLOCK_MONOTONIC);
  pthread_cond_init(&d->hold_wake, &monotonic);
  pthread_condattr_destroy(&monotonic);
}

void decoder_core_destroy(DecoderCore *d) {
  pthread_mutex_destroy(&d->hold_lock);
  pthread_cond_destroy(&d->hold_wake);
}

void decoder_core_interrupt(DecoderCore *d) {
  atomic_store(&d->interrupt, 1);
  pthread_mutex_lock(&d->hold_lock);
  pthread_cond_broadcast(&d->hold_wake);
  pthread_mutex_unlock(&d->hold_lock);
}

bool decoder_core_interrupted(DecoderCore *d) { return atomic_load(&d->interrupt) != 0; }

void decoder_core_yield_hold(DecoderCore *d) { atomic_store(&d->hold_yield, 1); }

void decoder_core_forget_yield(DecoderCore *d) { atomic_store(&d->hold_yield, 0); }

void decoder_job_init(DecoderJob *job) {
  memset(job, 0, sizeof *job);
  job->skip_before_ms = -1;
  job->key_pts_ms = -1;
  job->near_pts_ms = -1;
  job->decode_from_ms = -1;
}

void decoder_job_release(DecoderJob *job) {
  free(job->held_list);
  job->held_list = NULL;
  free(job->url);
  job->url = NULL;
  av_dict_free(&job->options);
}

static void held_clear(DecoderCore *d) {
  for (int i = 0; i < d->held_n; i++) av_packet_free(&d->held[i]);
  d->held_n = 0;
  d->held_bytes = 0;
  d->fed = 0;
  d->fed_from = 0;
  d->key_at = 0;
}

/* Lets go the held packets before the last keyframe (the older group); what the codec was fed moves with them. */
static void held_drop_older(DecoderCore *d) {
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

void decoder_core_close(DecoderCore *d) {
  held_clear(d);
  free(d->held);
  d->held = NULL;
  decoder_converter_free(&d->decoder_own);
  if (d->frame) av_frame_free(&d->frame);
  if (d->pkt) av_packet_free(&d->pkt);
  if (d->dec) avcodec_free_context(&d->dec);
  if (d->fmt) avformat_close_input(&d->fmt);
}

void decoder_core_open(DecoderCore *d, DecoderJob *job) {
  d->fmt = avformat_alloc_context();
  if (d->fmt == NULL) return decoder_job_fail(job, "out of memory", AVERROR(ENOMEM));
  d->fmt->interrupt_callback.callback = on_interrupt;
  d->fmt->interrupt_callback.opaque = d;
  int r = avformat_open_input(&d->fmt, job->url, NULL, &job->options);
  if (r < 0) return decoder_job_fail(job, atomic_load(&d->interrupt) ? "interrupted" : "cannot open the source", r);
  if ((r = avformat_find_stream_info(d->fmt, NULL)) < 0) return decoder_job_fail(job, "cannot read the stream's parameters", r);
  const AVCodec *codec = NULL;
  d->stream = av_find_best_stream(d->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
  if (d->stream < 0 || codec == NULL) return decoder_job_fail(job, "no decodable video stream", d->stream < 0 ? d->stream : 0);
  AVStream *st = d->fmt->streams[d->stream];
  d->time_base = av_q2d(st->time_base);
  d->dec = avcodec_alloc_context3(codec);
  if (d->dec == NULL) return decoder_job_fail(job, "out of memory", AVERROR(ENOMEM));
  if ((r = avcodec_parameters_to_context(d->dec, st->codecpar)) < 0) return decoder_job_fail(job, "bad codec parameters", r);
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
  if ((r = avcodec_open2(d->dec, codec, NULL)) < 0) return decoder_job_fail(job, "cannot open the decoder", r);
  int sw = d->dec->width, sh = d->dec->height;
  if (sw <= 0 || sh <= 0) return decoder_job_fail(job, "the stream has no frame size", 0);
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
  if (d->pkt == NULL || d->frame == NULL) return decoder_job_fail(job, "out of memory", AVERROR(ENOMEM));
  AVRational rate = av_guess_frame_rate(d->fmt, st, NULL);
  job->fps = rate.den > 0 ? av_q2d(rate) : 0;
  job->codec = codec->name;
}

/*
 * Cuts the crop out of a decoded frame: pointer offsets into its planes, no
 * copy. As ffmpeg's crop filter does, a crop reaching past the frame's edge is
 * moved inside it (onto the chroma grid), so both decoders give the same pixels.
 */
static int apply_crop(DecoderCore *d, AVFrame *f) {
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

void decoder_converter_free(Converter *c) {
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
void decoder_core_convert(DecoderCore *d, Converter *c, AVFrame *f, DecoderJob *job) {
  struct SwsContext **sws = &c->sws;
  int r;
  if ((r = apply_crop(d, f)) < 0) {
    av_frame_unref(f);
    return decoder_job_fail(job, "the crop is larger than the frame", r);
  }
  /*
   * A size asked by the call (the readers' own, smaller than the output as opened) is reached with bilinear
   * filtering: the readers are models that resize with a linear filter themselves, where bicubic's sharper
   * edges change no detection (test/models/reader-size.test.ts) and cost a third more to rgb24 (SCALE, in
   * docs/benchmarks/notebook-2026-11-22-to-28.md). The size as opened keeps bicubic,
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
    return decoder_job_fail(job, "cannot convert the frame's pixel format", 0);
  }
  uint8_t *dst[4];
  int dst_linesize[4];
  int need = av_image_fill_arrays(dst, dst_linesize, job->target, d->out_fmt, ow, oh, 1);
  if (need < 0 || (size_t)need > job->target_len) {
    av_frame_unref(f);
    return decoder_job_fail(job, "the target buffer is too small", need < 0 ? need : 0);
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

double decoder_core_pts_ms(DecoderCore *d, const AVFrame *f) {
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
static void apply_discard(DecoderCore *d, const AVPacket *pkt, int wanted) {
  if (wanted == 3) wanted = 2; /* holding: the codec is fed nothing; when it is again, from a keyframe or where it stopped */
  if (wanted == d->discard) return;
  if (wanted < d->discard && !(pkt->flags & AV_PKT_FLAG_KEY) && d->discard == 2 && d->refs_lost) return;
  d->discard = wanted;
  d->dec->skip_frame = wanted == 2 ? AVDISCARD_NONKEY : wanted == 1 ? AVDISCARD_NONREF : AVDISCARD_DEFAULT;
}

double decoder_monotonic_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void arrival_note(DecoderCore *d, const AVPacket *pkt, double at) {
  int64_t ts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
  if (ts == AV_NOPTS_VALUE) return;
  d->arrival_pts[d->arrival_next] = ts;
  d->arrival_at[d->arrival_next] = at;
  d->arrival_next = (d->arrival_next + 1) % ARRIVALS;
}

/* When the picture's own packet was read; the last packet's read time when it is not among those kept. */
static double arrival_of(DecoderCore *d, const AVFrame *f) {
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
static void hold_packet(DecoderCore *d, AVPacket *pkt, int fed_now) {
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
static bool source_ended(DecoderCore *d, int r) {
  return r == AVERROR_EOF || (r < 0 && d->fmt->pb != NULL && avio_feof(d->fmt->pb) && !atomic_load(&d->interrupt));
}

/* av_read_frame() failed with r (not the end): the call fails, saying whether it was interrupted. */
static void read_failed(DecoderCore *d, DecoderJob *job, int r) { decoder_job_fail(job, atomic_load(&d->interrupt) ? "interrupted" : "reading the source failed", r); }

static double packet_pts_ms(DecoderCore *d, const AVPacket *pkt) {
  int64_t ts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
  return ts == AV_NOPTS_VALUE ? -1 : ts * d->time_base * 1000.0;
}

/*
 * Catching up after holding: the held packets the codec was not fed, from where it stopped (or from the
 * keyframe, flushed first), decoded in one burst. The picture kept in d->frame is the newest, or the one
 * nearest job->near_pts_ms. True if one is there.
 */
static bool catch_up(DecoderCore *d, DecoderJob *job) {
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
      double pts = decoder_core_pts_ms(d, d->frame);
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
    job->pts_ms = decoder_core_pts_ms(d, d->frame);
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
static bool receive_picture(DecoderCore *d, DecoderJob *job) {
  if (job->discard != 3 && catch_up(d, job)) return true;
  for (;;) {
    int r = avcodec_receive_frame(d->dec, d->frame);
    if (r == 0) {
      job->pts_ms = decoder_core_pts_ms(d, d->frame);
      if (is_keyframe(d->frame)) job->key_pts_ms = job->pts_ms;
      if (job->pts_ms >= 0 && job->pts_ms < job->skip_before_ms) {
        /* Decimation: decoded (it must be) but never converted nor handed out. */
        job->skipped++;
        av_frame_unref(d->frame);
        continue;
      }
      double arrived = arrival_of(d, d->frame);
      job->decode_ms = arrived > 0 ? decoder_monotonic_ms() - arrived : 0;
      return true;
    }
    if (r == AVERROR_EOF) {
      job->eof = 1;
      return false;
    }
    if (r != AVERROR(EAGAIN)) {
      decoder_job_fail(job, "decoding failed", r);
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
      d->last_packet_at = decoder_monotonic_ms();
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
void decoder_core_decode(DecoderCore *d, DecoderJob *job) {
  if (receive_picture(d, job)) decoder_core_convert(d, &d->decoder_own, d->frame, job);
}

/* next(): the next picture, left unconverted in d->frame for present(); or, holding, one packet held. */
void decoder_core_next(DecoderCore *d, DecoderJob *job) {
  if (!receive_picture(d, job)) av_frame_unref(d->frame);
}

/* Waits until the monotonic time `due` (ms); false if interrupted (close, kill) before it. */
static bool hold_wait(DecoderCore *d, double due) {
  struct timespec until;
  until.tv_sec = (time_t)(due / 1000.0);
  until.tv_nsec = (long)((due - (double)until.tv_sec * 1000.0) * 1e6);
  if (until.tv_nsec >= 1000000000L) until.tv_sec += 1, until.tv_nsec -= 1000000000L;
  if (until.tv_nsec < 0) until.tv_nsec = 0;
  pthread_mutex_lock(&d->hold_lock);
  while (!atomic_load(&d->interrupt) && decoder_monotonic_ms() < due) {
    if (pthread_cond_timedwait(&d->hold_wake, &d->hold_lock, &until) == ETIMEDOUT) break;
  }
  pthread_mutex_unlock(&d->hold_lock);
  return !atomic_load(&d->interrupt);
}

/*
 * holdMany(): packets read and held, none decoded, many in one call (ADR 0091): each packet held one call at a
 * time cost a wake of this thread and a call into JavaScript, 10 a second a camera whose main stream nobody reads.
 * Each packet's time is noted for JavaScript (held_list). At the source's end with nothing held in the call, it
 * answers as next() does there (a picture the codec still had, or the end).
 */
static void held_note(DecoderJob *job, double pts, double at, int key, double had) {
  double *entry = job->held_list + 4 * job->held_list_n++;
  entry[0] = pts;
  entry[1] = at;
  entry[2] = key;
  entry[3] = had;
  job->pts_ms = pts;
}

void decoder_core_hold(DecoderCore *d, DecoderJob *job) {
  job->held = 1;
  for (;;) {
    if (atomic_exchange(&d->hold_yield, 0)) return;
    int r = av_read_frame(d->fmt, d->pkt);
    if (source_ended(d, r)) {
      if (job->held_list_n > 0) return; /* the next call finds the end again */
      job->held = 0;
      job->discard = 3;
      decoder_core_next(d, job);
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
    double now = decoder_monotonic_ms();
    d->last_packet_at = now;
    double pts = packet_pts_ms(d, d->pkt);
    int key = (d->pkt->flags & AV_PKT_FLAG_KEY) != 0;
    if (key) job->key_pts_ms = pts;
    hold_packet(d, d->pkt, 0);
    double at = now;
    if (job->pace_at_ms >= 0 && pts >= 0) {
      /* Paced: the packet came at its time; read early, the call waits for it (late, it is dated at its time). */
      at = job->pace_at_ms + (pts - job->pace_pts_ms);
      if (at > now && !hold_wait(d, at)) return decoder_job_fail(job, "interrupted", AVERROR_EXIT);
    }
    held_note(job, pts, at, key, decoder_monotonic_ms());
    if (job->held_list_n >= job->hold_max) return;
    if (job->hold_until_ms >= 0 && decoder_monotonic_ms() >= job->hold_until_ms) return;
  }
}
