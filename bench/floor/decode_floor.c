/*
 * The decode floor: libavcodec decoding a file alone, in this process, as a camera does: N streams, each a thread
 * that reads the file at its own rate (packet k at k frame intervals after its start, looped) and decodes every
 * packet on one codec thread, converting nothing and copying nothing. What it costs is the least a camera can cost
 * any implementation that decodes every frame with libavcodec; the bench prints it beside P1 and P2.
 *
 * Usage: decode_floor FILE STREAMS SECONDS [WARMUP_SECONDS]. One JSON line on stdout: CPU of this process (every
 * thread) over the measured window, per stream, and the CPU time per frame decoded.
 */
#define _POSIX_C_SOURCE 200809L
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

static const char *file;
static atomic_int stopping;
static atomic_long decoded;
static atomic_int failed;

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void sleep_until(double at) {
  double wait = at - now_s();
  if (wait <= 0) return;
  struct timespec t = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
  nanosleep(&t, NULL);
}

static double cpu_s(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return (double)u.ru_utime.tv_sec + (double)u.ru_utime.tv_usec / 1e6 + (double)u.ru_stime.tv_sec + (double)u.ru_stime.tv_usec / 1e6;
}

static void *stream(void *unused) {
  (void)unused;
  AVFormatContext *format = NULL;
  if (avformat_open_input(&format, file, NULL, NULL) < 0 || avformat_find_stream_info(format, NULL) < 0) {
    atomic_store(&failed, 1);
    return NULL;
  }
  int video = av_find_best_stream(format, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
  const AVCodec *codec = video < 0 ? NULL : avcodec_find_decoder(format->streams[video]->codecpar->codec_id);
  AVCodecContext *context = codec == NULL ? NULL : avcodec_alloc_context3(codec);
  if (context == NULL || avcodec_parameters_to_context(context, format->streams[video]->codecpar) < 0) {
    atomic_store(&failed, 1);
    return NULL;
  }
  context->thread_count = 1;
  if (avcodec_open2(context, codec, NULL) < 0) {
    atomic_store(&failed, 1);
    return NULL;
  }
  AVRational rate = format->streams[video]->avg_frame_rate;
  double interval = rate.num > 0 ? (double)rate.den / rate.num : 0.1;
  AVPacket *packet = av_packet_alloc();
  AVFrame *frame = av_frame_alloc();
  double start = now_s();
  long k = 0;
  while (!atomic_load(&stopping)) {
    int read = av_read_frame(format, packet);
    if (read == AVERROR_EOF) {
      // Loop the file as a camera never ends: the decoder keeps its state, as a seek back does in the bench's cameras.
      avformat_seek_file(format, video, INT64_MIN, 0, 0, 0);
      continue;
    }
    if (read < 0) {
      atomic_store(&failed, 1);
      break;
    }
    if (packet->stream_index == video) {
      sleep_until(start + (double)k++ * interval);
      if (avcodec_send_packet(context, packet) == 0) {
        while (avcodec_receive_frame(context, frame) == 0) atomic_fetch_add(&decoded, 1);
      }
    }
    av_packet_unref(packet);
  }
  av_frame_free(&frame);
  av_packet_free(&packet);
  avcodec_free_context(&context);
  avformat_close_input(&format);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s FILE STREAMS SECONDS [WARMUP_SECONDS]\n", argv[0]);
    return 2;
  }
  file = argv[1];
  int streams = atoi(argv[2]);
  double seconds = atof(argv[3]);
  double warmup = argc > 4 ? atof(argv[4]) : 2.0;
  if (streams < 1 || seconds <= 0) return 2;
  av_log_set_level(AV_LOG_ERROR);
  pthread_t *threads = calloc((size_t)streams, sizeof *threads);
  for (int i = 0; i < streams; i++) pthread_create(&threads[i], NULL, stream, NULL);
  sleep_until(now_s() + warmup);
  double cpu0 = cpu_s(), wall0 = now_s();
  long decoded0 = atomic_load(&decoded);
  sleep_until(wall0 + seconds);
  double cpu = cpu_s() - cpu0, wall = now_s() - wall0;
  long frames = atomic_load(&decoded) - decoded0;
  atomic_store(&stopping, 1);
  for (int i = 0; i < streams; i++) pthread_join(threads[i], NULL);
  double pct = cpu / wall * 100.0;
  printf("{\"floor\":\"libavcodec decoding alone, in process, one codec thread per stream (bench/floor/decode_floor.c)\","
         "\"libavcodec\":\"%s\",\"streams\":%d,\"seconds\":%.1f,\"cpu_pct\":%.2f,\"cpu_pct_per_camera\":%.2f,"
         "\"frames_decoded\":%ld,\"decoded_fps\":%.1f,\"cpu_us_per_frame\":%.0f,\"failed\":%s}\n",
         av_version_info(), streams, wall, pct, pct / streams, frames, frames / wall, frames > 0 ? cpu / frames * 1e6 : 0.0,
         atomic_load(&failed) ? "true" : "false");
  free(threads);
  return atomic_load(&failed) ? 1 : 0;
}
