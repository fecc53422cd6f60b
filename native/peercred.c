/*
 * peerCredentials(fd): the credentials of the process at the other end of a
 * connected Unix socket, as the kernel recorded them (SO_PEERCRED: for a
 * client, those of the server when it called listen()). Node has no API for
 * it; the system uses it to check who serves a model it found in a directory
 * before sending it a frame (docs/security.md). Returns { pid, uid, gid }, or
 * null where the platform has no SO_PEERCRED (the caller falls back to the
 * socket file's owner). Throws an Error whose code is the errno's name when
 * the kernel refuses (EBADF, ENOTSOCK, ENOTCONN).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <node_api.h>

napi_value peer_credentials(napi_env env, napi_callback_info info);

static const char *errno_name(int error) {
  switch (error) {
    case EBADF: return "EBADF";
    case ENOTSOCK: return "ENOTSOCK";
    case ENOTCONN: return "ENOTCONN";
    case EINVAL: return "EINVAL";
    default: return "EIO";
  }
}

static napi_value set_number(napi_env env, napi_value object, const char *name, double value) {
  napi_value number;
  if (napi_create_double(env, value, &number) != napi_ok) return NULL;
  if (napi_set_named_property(env, object, name, number) != napi_ok) return NULL;
  return object;
}

napi_value peer_credentials(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd = -1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, NULL, "peerCredentials(fd): fd must be a file descriptor (an integer >= 0)");
    return NULL;
  }
#ifdef SO_PEERCRED
  struct ucred cred;
  socklen_t length = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &length) != 0) {
    int error = errno;
    napi_throw_error(env, errno_name(error), strerror(error));
    return NULL;
  }
  napi_value result;
  if (napi_create_object(env, &result) != napi_ok) return NULL;
  if (set_number(env, result, "pid", (double)cred.pid) == NULL || set_number(env, result, "uid", (double)cred.uid) == NULL ||
      set_number(env, result, "gid", (double)cred.gid) == NULL)
    return NULL;
  return result;
#else
  napi_value nothing;
  napi_get_null(env, &nothing);
  return nothing;
#endif
}
