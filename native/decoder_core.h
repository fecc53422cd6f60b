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

static void converter_free(Converter *c);
