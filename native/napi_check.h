/* The N-API glue's check of each napi_* call (decoder.c, malloc_figures.c): one that fails throws and returns NULL. */
#ifndef FRAMESUPPLIER_NAPI_CHECK_H
#define FRAMESUPPLIER_NAPI_CHECK_H

#include <node_api.h>

#define CHECK(call)                                                     \
  do {                                                                  \
    if ((call) != napi_ok) {                                            \
      napi_throw_error(env, "ERR_NATIVE", "N-API call failed: " #call); \
      return NULL;                                                      \
    }                                                                   \
  } while (0)

#endif
