/* The process's malloc: bounded once at load, and its figures for JavaScript (malloc_figures.c). */
#ifndef FRAMESUPPLIER_MALLOC_FIGURES_H
#define FRAMESUPPLIER_MALLOC_FIGURES_H

#include <node_api.h>

/* glibc: one arena per core (at least 2) and a fixed 128 KiB mmap threshold, unless the environment says otherwise; once per process. */
void limit_arenas(void);
/* mallocArenas() → glibc's arena count, -1 where malloc is not glibc's. */
napi_value js_malloc_arenas(napi_env env, napi_callback_info info);
/* mallocStats() → { allocator, inUseBytes, arenaBytes, mmappedBytes, threadCaches, jemalloc }, or null. */
napi_value js_malloc_stats(napi_env env, napi_callback_info info);

#endif
