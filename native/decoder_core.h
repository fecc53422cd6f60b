/*
 * framesupplier's decoding core: libavformat + libavcodec + libswscale, plain C
 * (libav, libc and pthreads; no Node), behind the N-API glue of native/decoder.c
 * (ADR 0011, 0145) and testable without it (native/test/decoder_core_test.c).
 *
 * Contract: a DecoderCore is one source opened and decoded. Its calls are
 * synchronous and take a DecoderJob: the call's arguments, and its results
 * written back (err and message when it failed). Pull, one picture per call:
 * decoder_core_decode() reads and decodes until one picture is out and
 * converts it into the job's target; decoder_core_next() leaves it unconverted
 * in d->frame (the caller takes it with av_frame_move_ref, or lets the next
 * call replace it); nothing is decoded ahead beyond what the codec's own frame
 * threads hold. Pictures before skip_before_ms are decoded (they must be) and
 * never converted.
 *
 * Threads: open, decode, next and hold run on one thread at a time (the
 * decoder's: libav's contexts are its alone), and decoder_core_close() frees
 * them there. decoder_core_convert() may run on another thread at the same
 * time, with a Converter of that thread's own and a picture it holds a
 * reference to: it reads only what open fixed (crop, mirror, sizes, format).
 * decoder_core_interrupt() and decoder_core_yield_hold() may be called from
 * any thread at any time, until decoder_core_destroy().
 *
 * Interruption: decoder_core_interrupt() sets the flag libav's AVIOInterruptCB
 * reads, so a pending open or read returns within libav's poll slice, and
 * wakes a paced hold's wait on the core's own condition (CLOCK_MONOTONIC); the
 * call fails with AVERROR_EXIT, "interrupted". The flag stays set: every later
 * call gives up too.
 *
 * What is decoded (ADR 0028): every decode or next says what the codec may
 * discard undecoded (DecoderJob.discard) and the core applies it before the
 * next packet: more at once, less only at a keyframe (frames after it may
 * refer to frames discarded before it). Each call reports the last keyframe it
 * decoded, so the caller can measure the stream's keyframe interval in every
 * mode.
 *
 * Holding (ADR 0052, 0091): with discard 3, next reads one packet of the video
 * stream and keeps it undecoded (job->held); decoder_core_hold() keeps many in
 * one call, each dated (held_list), waiting for each one's due time when
 * paced. The packets since the keyframe before the last are kept, up to
 * held_limit bytes; the next call that may decode catches up first: the held
 * packets the codec was not fed, decoded in one burst, hand out the newest
 * picture, or the one nearest near_pts_ms.
 */
#ifndef FRAMESUPPLIER_DECODER_CORE_H
#define FRAMESUPPLIER_DECODER_CORE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libswscale/swscale.h>

/* Packets whose read times are kept (a codec holds a few: its reorder depth and its frame threads). */
#define ARRIVALS 64

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

/* One call's arguments and results: what the caller fills, and what the core writes back. */
typedef struct {
  /* open */
  char *url;              /* malloc'ed: decoder_job_release() frees it */
  AVDictionary *options;  /* libav's options for the source (rtsp_transport, timeout...): open consumes what it knows */
  int want_w, want_h, threads;
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
  /* results, written by the core (held_bytes, out_w, out_h by its caller after each call: the core's own figures) */
  int err;
  char message[256];
  int eof;
  double pts_ms;
  int skipped;
  int conversion; /* how the picture was converted: 0 not at all, 1 swscale, 2 the gray table */
  double key_pts_ms; /* the last keyframe decoded during the call (handed out or passed over), -1 if none */
  int packets;       /* the video stream's packets read during the call (decoded or discarded) */
  double decode_ms;  /* from reading the picture's own packet to the picture out: decoding's latency, the codec's reordering and frame threads included */
  int held;          /* next, holding: a packet was read and held, no picture comes with this answer */
  int burst;         /* next: held packets decoded to catch up before this picture */
  double held_bytes; /* the packets held now, bytes */
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
   * Allocated by the caller (hold_max * 4 doubles); decoder_job_release() frees it.
   */
  double *held_list;
  int held_list_n;
} DecoderJob;

/* One source opened and decoded: libav's state, what open fixed, the held packets, and the interrupt. */
typedef struct {
  /* The decoder thread's alone (the thread that opens, decodes, holds). */
  AVFormatContext *fmt;
  AVCodecContext *dec;
  Converter decoder_own;
  AVPacket *pkt;
  AVFrame *frame; /* next's picture, until the caller takes it or the next call replaces it */
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
  int discard; /* what the codec discards now (DecoderJob.discard's values) */
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

  /* Any thread's. */
  atomic_int interrupt;  /* libav's AVIOInterruptCB reads it: a pending open or read gives up */
  atomic_int hold_yield; /* decoder_core_yield_hold(): the running or next hold answers after the packet it is on */
  pthread_mutex_t hold_lock;
  pthread_cond_t hold_wake; /* CLOCK_MONOTONIC: a paced hold waits on it for a packet's time; the interrupt ends the wait */
} DecoderCore;

/* A core with nothing open, converting to out_fmt (rgb24, bgr24, gray8, nv12, yuv420p). */
void decoder_core_init(DecoderCore *d, enum AVPixelFormat out_fmt);
/* Frees what open made (libav's contexts, the held packets, the decoder thread's converter), on that thread. */
void decoder_core_close(DecoderCore *d);
/* Frees the wait's lock and condition: once closed and nothing can interrupt it any more. */
void decoder_core_destroy(DecoderCore *d);

/* Opens job->url with job->options and the open arguments; the results say the source's size, rate and codec. */
void decoder_core_open(DecoderCore *d, DecoderJob *job);
/* The next picture, converted at once into job->target (decode()). */
void decoder_core_decode(DecoderCore *d, DecoderJob *job);
/* The next picture, left unconverted in d->frame; or, with discard 3, one packet held (next()). */
void decoder_core_next(DecoderCore *d, DecoderJob *job);
/* Packets read and held, none decoded, up to job->hold_max in one call, each noted in job->held_list (holdMany()). */
void decoder_core_hold(DecoderCore *d, DecoderJob *job);
/* Converts picture f (consumed: unref'ed on every path) into job->target with converter c, the calling thread's own. */
void decoder_core_convert(DecoderCore *d, Converter *c, AVFrame *f, DecoderJob *job);
/* A decoded picture's presentation time in ms (-1 unknown). */
double decoder_core_pts_ms(DecoderCore *d, const AVFrame *f);

/* Makes a pending or later libav call give up, and a paced hold's wait end: from any thread. */
void decoder_core_interrupt(DecoderCore *d);
/* Whether decoder_core_interrupt() was called. */
bool decoder_core_interrupted(DecoderCore *d);
/* The running hold answers after the packet it is on, or the next one at once. */
void decoder_core_yield_hold(DecoderCore *d);
/* Forgets a yield asked before: a hold decided on after it is not ended by it. */
void decoder_core_forget_yield(DecoderCore *d);

/* A job with nothing asked yet: zeros, and no time to skip to, aim at or decode from (-1), no keyframe seen (-1). */
void decoder_job_init(DecoderJob *job);
/* The job failed: err (averr, or -1 when 0) and message ("what: libav's words for averr"). */
void decoder_job_fail(DecoderJob *job, const char *what, int averr);
/* Frees what the job owns: its url, options and held_list. */
void decoder_job_release(DecoderJob *job);

/* A converter with no swscale context and no gray table yet. */
void decoder_converter_init(Converter *c);
void decoder_converter_free(Converter *c);

/* CLOCK_MONOTONIC in ms: the clock arrival, decoding latency and the hold's times are on. */
double decoder_monotonic_ms(void);

#endif
