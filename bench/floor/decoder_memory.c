/*
 * What libavcodec itself holds per camera: N decoders of one file, each opened as framesupplier's in-process decoder
 * opens a camera's with one codec thread (slice threading, as the system's rule gives when cameras outnumber cores),
 * each fed its first FRAMES pictures (the reference and reordering pictures a stream needs fill the codec's pool by
 * then), measured by glibc's mallinfo2: the bytes in use after opening them and after decoding, less those before.
 * It answers "how much of a camera's memory is the decoder's": the least any design that decodes the stream with
 * libavcodec holds for it, beside which a system's per-camera figure is read.
 *
 * Usage: decoder_memory FILE [DECODERS] [FRAMES] (defaults 4, 150). One JSON line on stdout. Run it with glibc's
 * malloc (no LD_PRELOAD of another allocator: mallinfo2 would not see its bytes).
 */
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_DECODERS 256

static double mib(size_t bytes) { return (double)bytes / 1048576.0; }

static size_t in_use(void) {
  struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: decoder_memory FILE [DECODERS] [FRAMES]\n");
    return 2;
  }
  const char *file = argv[1];
  int n = argc > 2 ? atoi(argv[2]) : 4;
  int frames = argc > 3 ? atoi(argv[3]) : 150;
  if (n < 1 || n > MAX_DECODERS || frames < 1) {
    fprintf(stderr, "decoder_memory: DECODERS 1-%d, FRAMES at least 1\n", MAX_DECODERS);
    return 2;
  }
  static AVFormatContext *fmt[MAX_DECODERS];
  static AVCodecContext *dec[MAX_DECODERS];
  static int stream[MAX_DECODERS];
  AVPacket *pkt = av_packet_alloc();
  AVFrame *frame = av_frame_alloc();
  size_t before = in_use();
  for (int i = 0; i < n; i++) {
    const AVCodec *codec = NULL;
    if (avformat_open_input(&fmt[i], file, NULL, NULL) < 0 || avformat_find_stream_info(fmt[i], NULL) < 0) {
      fprintf(stderr, "decoder_memory: cannot open %s\n", file);
      return 1;
    }
    stream[i] = av_find_best_stream(fmt[i], AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (stream[i] < 0 || codec == NULL || (dec[i] = avcodec_alloc_context3(codec)) == NULL) return 1;
    avcodec_parameters_to_context(dec[i], fmt[i]->streams[stream[i]]->codecpar);
    dec[i]->thread_count = 1;
    dec[i]->thread_type = FF_THREAD_SLICE;
    if (avcodec_open2(dec[i], codec, NULL) < 0) return 1;
  }
  size_t opened = in_use();
  int decoded = 0;
  for (int i = 0; i < n; i++) {
    int got = 0;
    while (got < frames && av_read_frame(fmt[i], pkt) >= 0) {
      if (pkt->stream_index == stream[i] && avcodec_send_packet(dec[i], pkt) >= 0) {
        while (avcodec_receive_frame(dec[i], frame) == 0) {
          got++;
          av_frame_unref(frame);
        }
      }
      av_packet_unref(pkt);
    }
    decoded += got;
  }
  size_t after = in_use();
  const AVCodecParameters *par = fmt[0]->streams[stream[0]]->codecpar;
  printf("{\"tool\":\"bench/floor/decoder_memory.c\",\"file\":\"%s\",\"size\":\"%dx%d\",\"codec\":\"%s\",\"profile\":\"%s\","
         "\"has_b_frames\":%d,\"decoders\":%d,\"frames_decoded\":%d,\"opened_mib_per_decoder\":%.2f,\"decoding_mib_per_decoder\":%.2f}\n",
         file, par->width, par->height, avcodec_get_name(par->codec_id), avcodec_profile_name(par->codec_id, par->profile) ?: "",
         dec[0]->has_b_frames, n, decoded, mib(opened - before) / n, mib(after - before) / n);
  for (int i = 0; i < n; i++) {
    avcodec_free_context(&dec[i]);
    avformat_close_input(&fmt[i]);
  }
  av_frame_free(&frame);
  av_packet_free(&pkt);
  return 0;
}
