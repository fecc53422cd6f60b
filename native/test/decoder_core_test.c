/*
 * decoder_core_test: the decoding core (native/decoder_core.c) on its own, with no Node: what a machine with only
 * a C compiler and libav can build and run (README.md here says how; test/capture/decoder-core.test.ts runs it in
 * `npm test`).
 *
 * It makes its clip with libav itself (320 x 240, 10 fps, 3 s, a keyframe every 10 frames, B frames: H.264 through
 * libx264, or MPEG-4 part 2 where this libavcodec has no libx264), reads the clip's packets back for what is
 * expected (their times, keyframes, which frames are references), and checks the core against that:
 *   - every picture decoded, in presentation order, then the end;
 *   - keyframes only decodes the keyframes, and nothing else;
 *   - skipping non-reference frames decodes exactly the reference frames;
 *   - crop and mirror: the cropped, mirrored gray picture is the full picture's rectangle reversed, and rgb24
 *     mirrored is rgb24 reversed pixel by pixel;
 *   - gray through the table is swscale's gray, byte for byte, on every picture;
 *   - the interrupt ends the open of a source that took the connection and never answers, and a paced hold's
 *     wait for a packet's time;
 *   - a paced hold dates each packet at its due time;
 *   - holding packets, then catching up with an aim, hands out the picture nearest the aim.
 * One TAP line a check ("ok N - what", "not ok N - what: why"); exit 0 when all passed, 1 when one failed, 2 when
 * the clip could not be made. A SIGALRM after 120 s ends a check that hangs (a wait nothing woke).
 *
 * Usage: decoder_core_test [folder]: the clip is made in the folder and left there (default: a new folder under
 * $TMPDIR, removed at the end). DECODER_CORE_TEST_CODEC=mpeg4 makes it with the fallback encoder even where
 * libx264 is there.
 */
#define _GNU_SOURCE
#include "decoder_core.h"

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libavutil/imgutils.h>
#include <libavutil/opt.h>

#define W 320
#define H 240
#define FPS 10
#define FRAMES 30
#define GOP 10
#define MAX_PACKETS 64

/* ---- the clip and what it holds ------------------------------------------ */

/* A picture that differs along x (so a mirror shows), along y, and from frame to frame (so frames refer to others). */
static void paint(AVFrame *f, int i) {
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) f->data[0][y * f->linesize[0] + x] = (uint8_t)(x * 3 / 4 + y / 3 + i * 5 + ((x / 16 + i) % 7 == 0 ? 60 : 0));
  for (int y = 0; y < H / 2; y++)
    for (int x = 0; x < W / 2; x++) {
      f->data[1][y * f->linesize[1] + x] = (uint8_t)(64 + x + i * 3);
      f->data[2][y * f->linesize[2] + x] = (uint8_t)(192 - y - i * 2);
    }
}

static int write_packets(AVCodecContext *c, AVFormatContext *oc, AVStream *st, AVPacket *pkt) {
  int r;
  while ((r = avcodec_receive_packet(c, pkt)) == 0) {
    av_packet_rescale_ts(pkt, c->time_base, st->time_base);
    pkt->stream_index = st->index;
    if ((r = av_interleaved_write_frame(oc, pkt)) < 0) return r;
  }
  return r == AVERROR(EAGAIN) || r == AVERROR_EOF ? 0 : r;
}

/* Encodes the clip into path (Matroska); *codec says which encoder. Negative: libav's error. */
static int make_clip(const char *path, const char **codec) {
  const char *asked = getenv("DECODER_CORE_TEST_CODEC"); /* mpeg4: the fallback, even where libx264 is there */
  const AVCodec *enc = asked != NULL && strcmp(asked, "mpeg4") == 0 ? NULL : avcodec_find_encoder_by_name("libx264");
  int h264 = enc != NULL;
  if (!h264) enc = avcodec_find_encoder(AV_CODEC_ID_MPEG4);
  if (enc == NULL) return AVERROR_ENCODER_NOT_FOUND;
  *codec = enc->name;
  AVFormatContext *oc = NULL;
  AVCodecContext *c = NULL;
  AVFrame *frame = av_frame_alloc();
  AVPacket *pkt = av_packet_alloc();
  AVDictionary *opts = NULL;
  int r = avformat_alloc_output_context2(&oc, NULL, "matroska", path);
  if (r < 0) goto done;
  AVStream *st = avformat_new_stream(oc, NULL);
  c = avcodec_alloc_context3(enc);
  if (st == NULL || c == NULL || frame == NULL || pkt == NULL) {
    r = AVERROR(ENOMEM);
    goto done;
  }
  c->width = W;
  c->height = H;
  c->pix_fmt = AV_PIX_FMT_YUV420P;
  c->time_base = (AVRational){1, FPS};
  c->framerate = (AVRational){FPS, 1};
  c->gop_size = GOP;
  c->keyint_min = GOP;
  c->max_b_frames = 2;
  c->thread_count = 1;
  if (oc->oformat->flags & AVFMT_GLOBALHEADER) c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  if (h264) {
    /* B frames that are never references (no pyramid), two between references always, keyframes only every GOP. */
    av_dict_set(&opts, "preset", "veryfast", 0);
    av_dict_set(&opts, "x264-params", "b-pyramid=none:b-adapt=0:scenecut=0:open-gop=0", 0);
  } else {
    c->bit_rate = 400000;
    av_dict_set(&opts, "sc_threshold", "1000000000", 0);
  }
  if ((r = avcodec_open2(c, enc, &opts)) < 0) goto done;
  if ((r = avcodec_parameters_from_context(st->codecpar, c)) < 0) goto done;
  st->time_base = c->time_base;
  if ((r = avio_open(&oc->pb, path, AVIO_FLAG_WRITE)) < 0) goto done;
  if ((r = avformat_write_header(oc, NULL)) < 0) goto done;
  frame->format = AV_PIX_FMT_YUV420P;
  frame->width = W;
  frame->height = H;
  if ((r = av_frame_get_buffer(frame, 0)) < 0) goto done;
  for (int i = 0; i < FRAMES; i++) {
    if ((r = av_frame_make_writable(frame)) < 0) goto done;
    paint(frame, i);
    frame->pts = i;
    if ((r = avcodec_send_frame(c, frame)) < 0 || (r = write_packets(c, oc, st, pkt)) < 0) goto done;
  }
  if ((r = avcodec_send_frame(c, NULL)) < 0 || (r = write_packets(c, oc, st, pkt)) < 0) goto done;
  r = av_write_trailer(oc);
done:
  av_dict_free(&opts);
  if (oc != NULL && oc->pb != NULL) avio_closep(&oc->pb);
  avformat_free_context(oc);
  avcodec_free_context(&c);
  av_frame_free(&frame);
  av_packet_free(&pkt);
  return r;
}

/* The clip's video packets as read back, in the file's (decoding) order. */
typedef struct {
  int n;
  double pts[MAX_PACKETS]; /* ms */
  int key[MAX_PACKETS];
  int ref[MAX_PACKETS]; /* a frame others may refer to (nal_ref_idc != 0; an MPEG-4 VOP not B) */
  double interval;      /* ms between pictures */
} Clip;

/* Whether an H.264 packet's first slice is a reference (nal_ref_idc), its NAL units length-prefixed (size > 0) or Annex B. */
static int h264_reference(const uint8_t *p, int size, int length_size) {
  int at = 0;
  while (at < size) {
    int start, end;
    if (length_size > 0) {
      if (at + length_size > size) break;
      int len = 0;
      for (int k = 0; k < length_size; k++) len = (len << 8) | p[at + k];
      start = at + length_size;
      end = start + len;
    } else {
      while (at + 3 <= size && !(p[at] == 0 && p[at + 1] == 0 && p[at + 2] == 1)) at++;
      start = at + 3;
      end = start;
      while (end + 3 <= size && !(p[end] == 0 && p[end + 1] == 0 && p[end + 2] == 1)) end++;
      if (end + 3 > size) end = size;
    }
    if (start >= size) break;
    int type = p[start] & 0x1f;
    if (type == 1 || type == 5) return (p[start] >> 5) & 3;
    at = end;
  }
  return 1;
}

/* Whether an MPEG-4 part 2 packet's VOP is a reference: any but a B-VOP (vop_coding_type 2). */
static int mpeg4_reference(const uint8_t *p, int size) {
  for (int i = 0; i + 4 < size; i++)
    if (p[i] == 0 && p[i + 1] == 0 && p[i + 2] == 1 && p[i + 3] == 0xb6) return (p[i + 4] >> 6) != 2;
  return 1;
}

static int read_clip(const char *path, Clip *clip) {
  AVFormatContext *fmt = NULL;
  int r = avformat_open_input(&fmt, path, NULL, NULL);
  if (r < 0) return r;
  if ((r = avformat_find_stream_info(fmt, NULL)) < 0) goto done;
  int stream = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
  if ((r = stream) < 0) goto done;
  AVCodecParameters *par = fmt->streams[stream]->codecpar;
  double time_base = av_q2d(fmt->streams[stream]->time_base);
  int length_size = par->extradata_size > 4 && par->extradata[0] == 1 ? (par->extradata[4] & 3) + 1 : 0;
  AVPacket *pkt = av_packet_alloc();
  clip->n = 0;
  while ((r = av_read_frame(fmt, pkt)) >= 0) {
    if (pkt->stream_index == stream && clip->n < MAX_PACKETS) {
      clip->pts[clip->n] = pkt->pts * time_base * 1000.0; /* as the core reckons it, to the last bit */
      clip->key[clip->n] = (pkt->flags & AV_PKT_FLAG_KEY) != 0;
      clip->ref[clip->n] = par->codec_id == AV_CODEC_ID_H264 ? h264_reference(pkt->data, pkt->size, length_size) != 0 : mpeg4_reference(pkt->data, pkt->size);
      clip->n++;
    }
    av_packet_unref(pkt);
  }
  av_packet_free(&pkt);
  r = r == AVERROR_EOF ? 0 : r;
  clip->interval = 1000.0 / FPS;
done:
  avformat_close_input(&fmt);
  return r;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* The times of the clip's pictures for which want(i) holds, in presentation order; their count. */
static int expected_times(const Clip *clip, int (*want)(const Clip *, int), double *out) {
  int n = 0;
  for (int i = 0; i < clip->n; i++)
    if (want == NULL || want(clip, i)) out[n++] = clip->pts[i];
  qsort(out, (size_t)n, sizeof *out, by_value);
  return n;
}

static int is_key(const Clip *clip, int i) { return clip->key[i]; }
static int is_ref(const Clip *clip, int i) { return clip->ref[i]; }

/* ---- the checks -------------------------------------------------------------- */

static int checks, failed;
static const char *clip_path;
static Clip clip;

/* One TAP line; why NULL: passed. */
static void report(const char *what, const char *why) {
  checks++;
  if (why == NULL) {
    printf("ok %d - %s\n", checks, what);
  } else {
    failed++;
    printf("not ok %d - %s: %s\n", checks, what, why);
  }
  fflush(stdout);
}

static char why_text[1024];
#define WHY(...) (snprintf(why_text, sizeof why_text, __VA_ARGS__), why_text)

typedef struct {
  enum AVPixelFormat format;
  int crop_x, crop_y, crop_w, crop_h, hflip, held_limit;
} Opening;

/* Opens the clip (or url) in d; NULL, or why not. */
static const char *open_core(DecoderCore *d, const char *url, Opening o) {
  decoder_core_init(d, o.format);
  DecoderJob job;
  decoder_job_init(&job);
  job.url = strdup(url);
  job.threads = 1;
  job.crop_x = o.crop_x;
  job.crop_y = o.crop_y;
  job.crop_w = o.crop_w;
  job.crop_h = o.crop_h;
  job.hflip = o.hflip;
  job.held_limit = o.held_limit;
  decoder_core_open(d, &job);
  const char *why = job.err != 0 ? WHY("open: %s", job.message) : NULL;
  decoder_job_release(&job);
  return why;
}

static void end_core(DecoderCore *d) {
  decoder_core_close(d);
  decoder_core_destroy(d);
}

/* A next() asked with discard; 1: a picture in d->frame (the caller's to unref), 0: the end, -1: failed (job says why). */
static int next_picture(DecoderCore *d, int discard, DecoderJob *job) {
  decoder_job_init(job);
  job->discard = discard;
  decoder_core_next(d, job);
  return job->err != 0 ? -1 : job->eof ? 0 : 1;
}

/* Decodes the clip with discard asked at every call, and compares the pictures' times with the expected ones. */
static const char *decode_times(int discard, const double *expected, int n_expected, int keyframes_too) {
  DecoderCore d;
  const char *why = open_core(&d, clip_path, (Opening){.format = AV_PIX_FMT_GRAY8});
  double got[MAX_PACKETS];
  int n = 0;
  DecoderJob job;
  while (why == NULL) {
    int r = next_picture(&d, discard, &job);
    if (r < 0) why = WHY("picture %d: %s", n + 1, job.message);
    if (r <= 0) break;
    av_frame_unref(d.frame);
    if (keyframes_too && job.key_pts_ms != job.pts_ms) why = WHY("the picture at %.0f ms is no keyframe (last keyframe %.0f ms)", job.pts_ms, job.key_pts_ms);
    if (n < MAX_PACKETS) got[n] = job.pts_ms;
    n++;
  }
  end_core(&d);
  if (why != NULL) return why;
  if (n != n_expected) return WHY("%d pictures, %d expected", n, n_expected);
  for (int i = 0; i < n; i++)
    if (got[i] != expected[i]) return WHY("picture %d at %.0f ms, %.0f expected", i + 1, got[i], expected[i]);
  return NULL;
}

static void check_every_picture(void) {
  double expected[MAX_PACKETS];
  int n = expected_times(&clip, NULL, expected);
  const char *why = n != FRAMES ? WHY("the clip has %d packets, %d frames were encoded", n, FRAMES) : decode_times(0, expected, n, 0);
  report("every picture decoded, in presentation order, then the end", why);
}

static void check_keyframes_only(void) {
  double expected[MAX_PACKETS];
  int n = expected_times(&clip, is_key, expected);
  const char *why = n < 2 || n == clip.n ? WHY("the clip has %d keyframes in %d frames: nothing to tell apart", n, clip.n) : decode_times(2, expected, n, 1);
  char what[128];
  snprintf(what, sizeof what, "keyframes only: the %d keyframes of %d decoded, nothing else", n, clip.n);
  report(what, why);
}

static void check_nonref(void) {
  double expected[MAX_PACKETS];
  int n = expected_times(&clip, is_ref, expected);
  const char *why = n == clip.n ? "the clip has no non-reference frames to skip" : decode_times(1, expected, n, 0);
  char what[128];
  snprintf(what, sizeof what, "skipping non-reference frames: the %d reference frames of %d decoded, nothing else", n, clip.n);
  report(what, why);
}

/* Decodes the clip in two cores side by side, converting every picture; compare(a, b) says why they differ. */
static const char *side_by_side(Opening oa, Opening ob, int size_a, int size_b, const char *(*compare)(const uint8_t *, const uint8_t *, const DecoderJob *)) {
  DecoderCore a, b;
  const char *why = open_core(&a, clip_path, oa);
  const char *why_b = open_core(&b, clip_path, ob);
  uint8_t *pa = malloc((size_t)size_a), *pb = malloc((size_t)size_b);
  if (why == NULL) why = why_b;
  int pictures = 0;
  while (why == NULL) {
    DecoderJob ja, jb;
    decoder_job_init(&ja);
    decoder_job_init(&jb);
    ja.target = pa;
    ja.target_len = (size_t)size_a;
    jb.target = pb;
    jb.target_len = (size_t)size_b;
    decoder_core_decode(&a, &ja);
    decoder_core_decode(&b, &jb);
    if (ja.err != 0 || jb.err != 0) why = WHY("picture %d: %s%s", pictures + 1, ja.message, jb.message);
    else if (ja.eof != jb.eof || ja.pts_ms != jb.pts_ms) why = WHY("picture %d: at %.0f and %.0f ms", pictures + 1, ja.pts_ms, jb.pts_ms);
    else if (ja.eof) break;
    else if ((why = compare(pa, pb, &jb)) != NULL) {
      char differs[256];
      snprintf(differs, sizeof differs, "%s", why);
      why = WHY("picture %d at %.0f ms: %s", pictures + 1, jb.pts_ms, differs);
    }
    pictures++;
  }
  if (why == NULL && pictures != FRAMES) why = WHY("%d pictures, %d expected", pictures, FRAMES);
  free(pa);
  free(pb);
  end_core(&a);
  end_core(&b);
  return why;
}

enum { CROP_X = 40, CROP_Y = 20, CROP_W = 160, CROP_H = 120 };

/* b: gray, cropped and mirrored; a: gray, the whole picture. */
static const char *cropped_mirror_of(const uint8_t *a, const uint8_t *b, const DecoderJob *jb) {
  if (jb->out_w != CROP_W || jb->out_h != CROP_H) return WHY("%dx%d, the crop is %dx%d", jb->out_w, jb->out_h, CROP_W, CROP_H);
  for (int y = 0; y < CROP_H; y++)
    for (int x = 0; x < CROP_W; x++)
      if (b[y * CROP_W + x] != a[(y + CROP_Y) * W + CROP_X + CROP_W - 1 - x]) return WHY("byte (%d, %d) differs", x, y);
  return NULL;
}

/* b: rgb24 mirrored; a: rgb24. */
static const char *mirror_of(const uint8_t *a, const uint8_t *b, const DecoderJob *jb) {
  (void)jb;
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      if (memcmp(b + (y * W + x) * 3, a + (y * W + W - 1 - x) * 3, 3) != 0) return WHY("pixel (%d, %d) differs", x, y);
  return NULL;
}

static void check_crop_mirror(void) {
  Opening gray = {.format = AV_PIX_FMT_GRAY8};
  Opening cropped = {.format = AV_PIX_FMT_GRAY8, .crop_x = CROP_X, .crop_y = CROP_Y, .crop_w = CROP_W, .crop_h = CROP_H, .hflip = 1};
  report("crop and mirror: the gray picture cropped and mirrored is the whole one's rectangle, reversed",
         side_by_side(gray, cropped, W * H, CROP_W * CROP_H, cropped_mirror_of));
  Opening rgb = {.format = AV_PIX_FMT_RGB24}, mirrored = {.format = AV_PIX_FMT_RGB24, .hflip = 1};
  report("mirror: rgb24 mirrored is rgb24 reversed pixel by pixel (3 bytes)", side_by_side(rgb, mirrored, W * H * 3, W * H * 3, mirror_of));
}

static void check_gray_table(void) {
  DecoderCore d;
  const char *why = open_core(&d, clip_path, (Opening){.format = AV_PIX_FMT_GRAY8});
  Converter converter;
  decoder_converter_init(&converter);
  AVFrame *copy = av_frame_alloc();
  uint8_t *table = malloc(W * H), *swscale = malloc(W * H);
  int pictures = 0;
  while (why == NULL) {
    DecoderJob job;
    int r = next_picture(&d, 0, &job);
    if (r < 0) why = WHY("picture %d: %s", pictures + 1, job.message);
    if (r <= 0) break;
    av_frame_ref(copy, d.frame);
    job.target = table;
    job.target_len = W * H;
    decoder_core_convert(&d, &converter, d.frame, &job);
    /* swscale's own gray of the same picture, as the core asks it (bicubic, at the picture's size) */
    struct SwsContext *sws = sws_getContext(copy->width, copy->height, copy->format, W, H, AV_PIX_FMT_GRAY8, SWS_BICUBIC, NULL, NULL, NULL);
    uint8_t *dst[4] = {swscale, NULL, NULL, NULL};
    int dst_linesize[4] = {W, 0, 0, 0};
    int rows = sws != NULL ? sws_scale(sws, (const uint8_t *const *)copy->data, copy->linesize, 0, copy->height, dst, dst_linesize) : 0;
    sws_freeContext(sws);
    av_frame_unref(copy);
    pictures++;
    if (job.err != 0) why = WHY("picture %d: %s", pictures, job.message);
    else if (job.conversion != 2) why = WHY("picture %d was converted by %s, not the table", pictures, job.conversion == 1 ? "swscale" : "nothing");
    else if (rows != H) why = WHY("picture %d: swscale gave %d rows", pictures, rows);
    else if (memcmp(table, swscale, W * H) != 0) why = WHY("picture %d differs from swscale's gray", pictures);
  }
  if (why == NULL && pictures != FRAMES) why = WHY("%d pictures, %d expected", pictures, FRAMES);
  free(table);
  free(swscale);
  av_frame_free(&copy);
  decoder_converter_free(&converter);
  end_core(&d);
  report("gray through the table is swscale's gray, byte for byte, on every picture", why);
}

/* A source that takes the connection, reads the request, and never answers: then it interrupts the core. */
typedef struct {
  int listener;
  DecoderCore *core;
  int asked; /* the request came whole */
} SilentServer;

static void *silent_server(void *arg) {
  SilentServer *s = arg;
  int peer = accept(s->listener, NULL, NULL);
  char request[4096];
  size_t have = 0;
  while (peer >= 0 && have < sizeof request - 1) {
    ssize_t got = read(peer, request + have, sizeof request - 1 - have);
    if (got <= 0) break;
    have += (size_t)got;
    request[have] = 0;
    if (strstr(request, "\r\n\r\n") != NULL) {
      s->asked = 1;
      break;
    }
  }
  /* The open is now waiting for an answer that never comes: only the interrupt ends it. */
  decoder_core_interrupt(s->core);
  if (peer >= 0) {
    /* Held open until the core gave up: its own end of the connection closes first. */
    while (read(peer, request, sizeof request) > 0) continue;
    close(peer);
  }
  return NULL;
}

static void check_interrupt_open(void) {
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof addr;
  if (listener < 0 || bind(listener, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(listener, 1) != 0 ||
      getsockname(listener, (struct sockaddr *)&addr, &len) != 0) {
    report("the interrupt ends an open the source never answers", "cannot listen on the loopback");
    if (listener >= 0) close(listener);
    return;
  }
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/camera.mkv", ntohs(addr.sin_port));
  DecoderCore d;
  SilentServer server = {.listener = listener, .core = &d};
  decoder_core_init(&d, AV_PIX_FMT_GRAY8);
  pthread_t thread;
  pthread_create(&thread, NULL, silent_server, &server);
  DecoderJob job;
  decoder_job_init(&job);
  job.url = strdup(url);
  decoder_core_open(&d, &job);
  decoder_core_close(&d);
  shutdown(listener, SHUT_RDWR); /* an open that ended without connecting leaves the server in accept() */
  pthread_join(thread, NULL);
  close(listener);
  const char *why = NULL;
  if (!server.asked) why = "the source never had the whole request";
  else if (job.err != AVERROR_EXIT || strncmp(job.message, "interrupted", 11) != 0) why = WHY("the open answered %d, %s", job.err, job.err != 0 ? job.message : "no error");
  decoder_job_release(&job);
  decoder_core_destroy(&d);
  report("the interrupt ends an open the source never answers (\"interrupted\", AVERROR_EXIT)", why);
}

/* A hold of up to max packets, paced from pace_at (-1: not paced); the job keeps its held list. */
static void hold(DecoderCore *d, DecoderJob *job, int max, double pace_at, double pace_pts) {
  decoder_job_init(job);
  job->discard = 3;
  job->hold_max = max;
  job->hold_until_ms = -1;
  job->pace_at_ms = pace_at;
  job->pace_pts_ms = pace_pts;
  job->held_list = malloc((size_t)max * 4 * sizeof(double));
  decoder_core_hold(d, job);
}

static void check_paced_hold(void) {
  DecoderCore d;
  const char *why = open_core(&d, clip_path, (Opening){.format = AV_PIX_FMT_GRAY8, .held_limit = 8 << 20});
  DecoderJob job;
  decoder_job_init(&job);
  double pace_at = decoder_monotonic_ms(), pace_pts = clip.pts[0];
  if (why == NULL) {
    hold(&d, &job, 5, pace_at, pace_pts);
    if (job.err != 0) why = WHY("hold: %s", job.message);
    else if (job.held_list_n != 5) why = WHY("%d packets held, 5 asked", job.held_list_n);
  }
  for (int i = 0; why == NULL && i < job.held_list_n; i++) {
    const double *entry = job.held_list + 4 * i;
    double due = pace_at + (clip.pts[i] - pace_pts);
    if (entry[0] != clip.pts[i] || entry[2] != clip.key[i]) why = WHY("packet %d: at %.0f ms, key %.0f; the clip's is at %.0f, key %d", i, entry[0], entry[2], clip.pts[i], clip.key[i]);
    else if (entry[1] != due) why = WHY("packet %d dated %.3f, due at %.3f", i, entry[1], due);
    else if (entry[3] < due - 0.001) why = WHY("packet %d was had at %.3f, before its time %.3f", i, entry[3], due);
  }
  decoder_job_release(&job);
  end_core(&d);
  report("a paced hold waits for each packet's time and dates it at that time", why);
}

typedef struct {
  DecoderCore *core;
} Interrupter;

/* Interrupts the core once its hold has a packet: the hold is then waiting for that packet's time (or about to). */
static void *interrupt_when_held(void *arg) {
  Interrupter *it = arg;
  while (__atomic_load_n(&it->core->held_n, __ATOMIC_ACQUIRE) == 0) sched_yield();
  decoder_core_interrupt(it->core);
  return NULL;
}

static void check_interrupt_paced_hold(void) {
  DecoderCore d;
  const char *why = open_core(&d, clip_path, (Opening){.format = AV_PIX_FMT_GRAY8, .held_limit = 8 << 20});
  DecoderJob job;
  decoder_job_init(&job);
  if (why == NULL) {
    Interrupter it = {.core = &d};
    pthread_t thread;
    pthread_create(&thread, NULL, interrupt_when_held, &it);
    /* The first packet is due in an hour: only the interrupt ends the wait. */
    hold(&d, &job, 5, decoder_monotonic_ms() + 3600e3, clip.pts[0]);
    pthread_join(thread, NULL);
    if (job.err != AVERROR_EXIT || strncmp(job.message, "interrupted", 11) != 0) why = WHY("the hold answered %d, %s", job.err, job.err != 0 ? job.message : "no error");
  }
  decoder_job_release(&job);
  end_core(&d);
  report("the interrupt ends a paced hold's wait for a packet's time", why);
}

/* The time of the clip's picture nearest t (t is reckoned, the clip's times are as read: they may differ in the last bit). */
static double clip_time_near(double t) {
  double best = clip.pts[0];
  for (int i = 1; i < clip.n; i++)
    if (fabs(clip.pts[i] - t) < fabs(best - t)) best = clip.pts[i];
  return best;
}

/* After holding, asks for the picture nearest an aim a third of an interval past the picture at about t: that one must come. */
static const char *catch_up_to(DecoderCore *d, double t, int *burst) {
  double p = clip_time_near(t);
  DecoderJob job;
  decoder_job_init(&job);
  job.discard = 0;
  job.near_pts_ms = p + clip.interval / 3;
  decoder_core_next(d, &job);
  av_frame_unref(d->frame);
  *burst = job.burst;
  if (job.err != 0) return WHY("next: %s", job.message);
  if (job.pts_ms != p) return WHY("the picture at %.0f ms came for an aim at %.0f (nearest: %.0f)", job.pts_ms, job.near_pts_ms, p);
  return NULL;
}

static void check_hold_aim(void) {
  enum { HELD = 25 };
  DecoderCore d;
  const char *why = open_core(&d, clip_path, (Opening){.format = AV_PIX_FMT_GRAY8, .held_limit = 8 << 20});
  DecoderJob job;
  decoder_job_init(&job);
  if (why == NULL) {
    hold(&d, &job, HELD, -1, 0);
    if (job.err != 0) why = WHY("hold: %s", job.message);
    else if (job.held_list_n != HELD) why = WHY("%d packets held, %d asked", job.held_list_n, HELD);
  }
  /* The keyframes held: the second (the group before the last, the oldest the core keeps) and the third (the last). */
  double keys[3];
  int n_keys = 0;
  for (int i = 0; why == NULL && i < job.held_list_n && n_keys < 3; i++)
    if (job.held_list[4 * i + 2] != 0) keys[n_keys++] = job.held_list[4 * i];
  if (why == NULL && n_keys != 3) why = WHY("%d keyframes among the packets held, 3 expected", n_keys);
  int burst = 0;
  /* An older picture: within the group before the last keyframe, decoded again from that group's keyframe. */
  if (why == NULL && (why = catch_up_to(&d, keys[1] + 4 * clip.interval, &burst)) == NULL && burst < 4)
    why = WHY("%d pictures passed over to catch up, at least 4 before it", burst);
  /* A newer one: just after the last keyframe. */
  if (why == NULL) why = catch_up_to(&d, keys[2] + clip.interval, &burst);
  decoder_job_release(&job);
  end_core(&d);
  report("holding, then catching up with an aim: the picture nearest the aim, in either group held", why);
}

/* ---- the program ------------------------------------------------------------- */

static void hung(int sig) {
  (void)sig;
  static const char line[] = "Bail out! a check ran past 120 s (a wait nothing woke)\n";
  ssize_t ignored = write(STDOUT_FILENO, line, sizeof line - 1);
  (void)ignored;
  _exit(1);
}

int main(int argc, char **argv) {
  signal(SIGALRM, hung);
  alarm(120);
  signal(SIGPIPE, SIG_IGN);
  av_log_set_level(AV_LOG_FATAL);
  char made[4096] = "";
  const char *dir = argc > 1 ? argv[1] : NULL;
  if (dir == NULL) {
    const char *tmp = getenv("TMPDIR");
    snprintf(made, sizeof made, "%s/decoder-core-test-XXXXXX", tmp != NULL && *tmp != 0 ? tmp : "/tmp");
    if (mkdtemp(made) == NULL) {
      printf("Bail out! cannot make a folder for the clip under %s\n", made);
      return 2;
    }
    dir = made;
  }
  char path[sizeof made + 16];
  snprintf(path, sizeof path, "%s/clip.mkv", dir);
  clip_path = path;
  const char *codec = "";
  char text[AV_ERROR_MAX_STRING_SIZE] = "";
  int r = make_clip(path, &codec);
  if (r >= 0) r = read_clip(path, &clip);
  if (r < 0) {
    av_strerror(r, text, sizeof text);
    printf("Bail out! cannot make the clip %s with %s: %s\n", path, *codec ? codec : "no encoder", text);
    return 2;
  }
  printf("# the clip: %s, %d packets, %s (libavcodec %s)\n", path, clip.n, codec, AV_STRINGIFY(LIBAVCODEC_VERSION));
  check_every_picture();
  check_keyframes_only();
  check_nonref();
  check_crop_mirror();
  check_gray_table();
  check_interrupt_open();
  check_paced_hold();
  check_interrupt_paced_hold();
  check_hold_aim();
  printf("1..%d\n# %d checks, %d failed\n", checks, checks, failed);
  if (made[0] != 0) {
    unlink(path);
    rmdir(made);
  }
  return failed > 0 ? 1 : 0;
}
