/*
 * What one camera's frame costs, part by part, outside any system: libavcodec decoding it (one codec thread, as the
 * decode floor), swscale converting it (to NV12, what P1's cameras publish; to BGR24, what the careful loop's
 * OpenCV retrieve() makes), copying it into a frame store file on /dev/shm (pwrite, as FrameStoreWriter does; and
 * memcpy into a mapping of such a file), a system call, and one thread waking another and being woken back
 * (eventfd and epoll, as libuv's async handles do: a decoder thread handing a frame to the event loop).
 *
 * It answers "which part depends on the CPU": each part's CPU time per operation with libav's SIMD as detected and
 * with it held to AVX2, SSE2 or none (av_force_cpu_flags), and, under valgrind --tool=callgrind with
 * --toggle-collect=part_<name> (decode, nv12, bgr24, pwrite, memcpy), each part's instructions (the parts are functions of their own for that). The
 * kernel's parts (pwrite, a system call, a wake) cost what this kernel's mitigations on this CPU make them cost.
 *
 * Usage: frame_parts FILE [FRAMES] [SIMD] (SIMD: auto, avx2, sse2, c). One JSON line on stdout, microseconds of
 * this thread's CPU (the wake: of both threads, per round trip) per operation.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/cpu.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define SLOTS 8

static double thread_cpu_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static double process_cpu_us(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e6 + (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

/* Every frame of the file, decoded, kept (the conversions then read them from memory as a camera's would be). */
static AVFrame **frames;
static int nframes;

__attribute__((noinline)) static int part_decode(AVCodecContext *c, AVPacket *p, AVFrame *f) {
  int got = 0;
  if (avcodec_send_packet(c, p) == 0)
    while (avcodec_receive_frame(c, f) == 0) {
      if (nframes >= 0) frames[nframes++] = av_frame_clone(f);
      av_frame_unref(f);
      got++;
    }
  return got;
}

__attribute__((noinline)) static void part_nv12(struct SwsContext *s, const AVFrame *f, uint8_t *dst[4], int stride[4]) {
  sws_scale(s, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dst, stride);
}

__attribute__((noinline)) static void part_bgr24(struct SwsContext *s, const AVFrame *f, uint8_t *dst[4], int stride[4]) {
  sws_scale(s, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dst, stride);
}

__attribute__((noinline)) static void part_pwrite(int fd, const uint8_t *data, size_t n, off_t at) {
  for (size_t done = 0; done < n;) {
    ssize_t w = pwrite(fd, data + done, n - done, at + (off_t)done);
    if (w <= 0) exit(3);
    done += (size_t)w;
  }
}

__attribute__((noinline)) static void part_memcpy(uint8_t *to, const uint8_t *from, size_t n) { memcpy(to, from, n); }

__attribute__((noinline)) static void part_syscall(void) { (void)getppid(); }

/* The wake: this thread writes the other's eventfd and waits in epoll for its answer, as libuv's loop waits. */
static int to_peer, to_main;
static int rounds;

static void *peer(void *unused) {
  (void)unused;
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN};
  epoll_ctl(ep, EPOLL_CTL_ADD, to_peer, &ev);
  uint64_t one = 1, got;
  for (int i = 0; i < rounds; i++) {
    epoll_wait(ep, &ev, 1, -1);
    if (read(to_peer, &got, 8) != 8) exit(4);
    if (write(to_main, &one, 8) != 8) exit(4);
  }
  close(ep);
  return NULL;
}

__attribute__((noinline)) static void part_wake(int ep) {
  uint64_t one = 1, got;
  struct epoll_event ev;
  if (write(to_peer, &one, 8) != 8) exit(4);
  epoll_wait(ep, &ev, 1, -1);
  if (read(to_main, &got, 8) != 8) exit(4);
}

static int simd_flags(const char *name) {
  int all = av_get_cpu_flags();
  if (strcmp(name, "avx2") == 0) return all & ~(AV_CPU_FLAG_AVX512 | AV_CPU_FLAG_AVX512ICL);
  if (strcmp(name, "sse2") == 0) return all & (AV_CPU_FLAG_MMX | AV_CPU_FLAG_MMXEXT | AV_CPU_FLAG_SSE | AV_CPU_FLAG_SSE2 | AV_CPU_FLAG_CMOV);
  if (strcmp(name, "c") == 0) return 0;
  return -1;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s FILE [FRAMES] [auto|avx2|sse2|c]\n", argv[0]);
    return 2;
  }
  int want = argc > 2 ? atoi(argv[2]) : 200;
  const char *simd = argc > 3 ? argv[3] : "auto";
  av_log_set_level(AV_LOG_ERROR);
  int flags = simd_flags(simd);
  if (flags >= 0) av_force_cpu_flags(flags);
  AVFormatContext *fmt = NULL;
  if (avformat_open_input(&fmt, argv[1], NULL, NULL) < 0 || avformat_find_stream_info(fmt, NULL) < 0) return 1;
  int v = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
  const AVCodec *codec = avcodec_find_decoder(fmt->streams[v]->codecpar->codec_id);
  AVCodecContext *c = avcodec_alloc_context3(codec);
  avcodec_parameters_to_context(c, fmt->streams[v]->codecpar);
  c->thread_count = 1;
  if (avcodec_open2(c, codec, NULL) < 0) return 1;
  frames = calloc((size_t)want + 16, sizeof *frames);
  AVPacket *p = av_packet_alloc();
  AVFrame *f = av_frame_alloc();
  double decode_us = 0;
  int decoded = 0;
  while (nframes < want) {
    if (av_read_frame(fmt, p) < 0) break;
    if (p->stream_index == v) {
      double t = thread_cpu_us();
      decoded += part_decode(c, p, f);
      decode_us += thread_cpu_us() - t;
    }
    av_packet_unref(p);
  }
  int w = c->width, h = c->height;
  /* Conversions: each kept frame once, to NV12 and to BGR24 at its own size (the flags FrameSupplier and OpenCV give). */
  double conv_us[2] = {0, 0};
  enum AVPixelFormat outs[2] = {AV_PIX_FMT_NV12, AV_PIX_FMT_BGR24};
  size_t nv12_bytes = (size_t)av_image_get_buffer_size(AV_PIX_FMT_NV12, w, h, 1);
  uint8_t *buffer = av_malloc((size_t)av_image_get_buffer_size(AV_PIX_FMT_BGR24, w, h, 1));
  for (int o = 0; o < 2; o++) {
    struct SwsContext *s = sws_getContext(w, h, c->pix_fmt, w, h, outs[o], SWS_BICUBIC, NULL, NULL, NULL);
    uint8_t *dst[4];
    int stride[4];
    av_image_fill_arrays(dst, stride, buffer, outs[o], w, h, 1);
    for (int i = 0; i < nframes; i++) {
      double t = thread_cpu_us();
      (o == 0 ? part_nv12 : part_bgr24)(s, frames[i], dst, stride);
      conv_us[o] += thread_cpu_us() - t;
    }
    sws_freeContext(s);
  }
  /* The store: a ring of SLOTS frame slots in a file on /dev/shm, every page written first (as a store is made). */
  char path[] = "/dev/shm/frame_parts_XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return 1;
  unlink(path);
  size_t slot = (nv12_bytes + 64 + 4095) & ~(size_t)4095;
  for (int i = 0; i < SLOTS; i++) part_pwrite(fd, buffer, slot, (off_t)(i * slot));
  double pwrite_us = 0, memcpy_us = 0;
  for (int i = 0; i < nframes; i++) {
    double t = thread_cpu_us();
    part_pwrite(fd, buffer, nv12_bytes, (off_t)((i % SLOTS) * slot + 64));
    pwrite_us += thread_cpu_us() - t;
  }
  uint8_t *map = mmap(NULL, slot * SLOTS, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) return 1;
  for (int i = 0; i < SLOTS; i++) part_memcpy(map + i * slot + 64, buffer, nv12_bytes); /* mapped once */
  for (int i = 0; i < nframes; i++) {
    double t = thread_cpu_us();
    part_memcpy(map + (size_t)(i % SLOTS) * slot + 64, buffer, nv12_bytes);
    memcpy_us += thread_cpu_us() - t;
  }
  /* A system call, and a wake round trip between two threads. */
  const int calls = 20000;
  double t = thread_cpu_us();
  for (int i = 0; i < calls; i++) part_syscall();
  double syscall_us = (thread_cpu_us() - t) / calls;
  rounds = 20000;
  to_peer = eventfd(0, 0);
  to_main = eventfd(0, 0);
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN};
  epoll_ctl(ep, EPOLL_CTL_ADD, to_main, &ev);
  pthread_t th;
  pthread_create(&th, NULL, peer, NULL);
  double cpu0 = process_cpu_us();
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (int i = 0; i < rounds; i++) part_wake(ep);
  clock_gettime(CLOCK_MONOTONIC, &b);
  double wake_cpu_us = (process_cpu_us() - cpu0) / rounds;
  double wake_wall_us = ((double)(b.tv_sec - a.tv_sec) * 1e6 + (double)(b.tv_nsec - a.tv_nsec) / 1e3) / rounds;
  pthread_join(th, NULL);
  printf("{\"parts\":\"bench/floor/frame_parts.c\",\"libavcodec\":\"%s\",\"simd\":\"%s\",\"cpu_flags\":\"0x%x\",\"size\":\"%dx%d\","
         "\"frames\":%d,\"decode_us\":%.0f,\"to_nv12_us\":%.0f,\"to_bgr24_us\":%.0f,\"nv12_bytes\":%zu,\"pwrite_us\":%.0f,"
         "\"memcpy_mapped_us\":%.0f,\"syscall_us\":%.3f,\"wake_round_trip_cpu_us\":%.2f,\"wake_round_trip_wall_us\":%.2f}\n",
         av_version_info(), simd, (unsigned)av_get_cpu_flags(), w, h, decoded, decode_us / decoded, conv_us[0] / nframes,
         conv_us[1] / nframes, nv12_bytes, pwrite_us / nframes, memcpy_us / nframes, syscall_us, wake_cpu_us, wake_wall_us);
  return 0;
}
