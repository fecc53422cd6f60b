/*
 * The process's malloc, as the decoder addon bounds and reports it (malloc_figures.h): glibc's arenas and mmap
 * threshold fixed once at load (ADR 0034, 0035), and the figures that tell a leak from memory malloc keeps:
 * mallocArenas(), mallocStats() (glibc's mallinfo2, or jemalloc's own statistics: ADR 0074, 0101). Nothing here
 * is the decoder's; the decoder addon is where the process's malloc is looked at because it is what allocates
 * the frames.
 */
#define _GNU_SOURCE
#include "malloc_figures.h"

#include <dlfcn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "napi_check.h"

/*
 * mallocArenas() → the number of glibc malloc arenas the process has (-1 where malloc is not glibc's): what
 * limit_arenas() bounds, for tests and benchmarks.
 */
napi_value js_malloc_arenas(napi_env env, napi_callback_info info) {
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
napi_value js_malloc_stats(napi_env env, napi_callback_info info) {
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
 * of 758 at 16 cameras in P1 (docs/benchmarks/notebook-2026-11-22-to-28.md, ADR 0034). One arena per core (at
 * least 2) keeps that memory for the same work. Only where MALLOC_ARENA_MAX does not say otherwise; once per
 * process.
 *
 * And glibc raises its mmap threshold to the size of any mmapped block freed (up to 32 MB): once a decoder
 * closed, the next one's frames (1.4 MB at 720p, a pool of them per decoder, a decoder a pass for a looping
 * file) came from the arenas, where blocks that size freed among smaller ones that stay are memory the arena
 * keeps: RSS rose 2.5 MB a minute at 16 cameras and did not settle (ADR 0035). A threshold set once is fixed:
 * at glibc's own starting value (128 KiB) every frame-sized block is mmapped and goes back to the system when
 * freed. Only where MALLOC_MMAP_THRESHOLD_ does not say otherwise.
 */
void limit_arenas(void) {
#ifdef __GLIBC__
  static atomic_int done = 0;
  if (atomic_exchange(&done, 1)) return;
  if (getenv("MALLOC_MMAP_THRESHOLD_") == NULL) mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  if (getenv("MALLOC_ARENA_MAX") != NULL) return;
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  mallopt(M_ARENA_MAX, cores < 2 ? 2 : cores > 64 ? 64 : (int)cores);
#endif
}
