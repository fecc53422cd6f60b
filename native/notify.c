/*
 * notifyDatagram(path, message): one datagram to a Unix datagram socket, the
 * way a service tells systemd its state (sd_notify: READY=1, WATCHDOG=1,
 * STOPPING=1, STATUS=... to $NOTIFY_SOCKET). Node's net module has no Unix
 * datagram sockets, and libsystemd is not a dependency: the protocol is one
 * sendto() of the text. A path starting with '@' is in the abstract namespace
 * (systemd's own notation). The socket is non-blocking and closed at once, so
 * the call never waits (a full receiver is EAGAIN) and holds nothing. Returns
 * true; throws an Error whose code is the errno's name (ENOENT, ECONNREFUSED,
 * EAGAIN, ...) when the kernel refuses, or ENAMETOOLONG for a path that does
 * not fit a sockaddr_un. Safe to call from any thread (a worker's included).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <node_api.h>

napi_value notify_datagram(napi_env env, napi_callback_info info);

#define MAX_MESSAGE 4096

static const char *errno_name(int error) {
  switch (error) {
    case ENOENT: return "ENOENT";
    case ECONNREFUSED: return "ECONNREFUSED";
    case EAGAIN: return "EAGAIN";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case ENOTSOCK: return "ENOTSOCK";
    case EPROTOTYPE: return "EPROTOTYPE";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case EMSGSIZE: return "EMSGSIZE";
    default: return "EIO";
  }
}

static napi_value fail(napi_env env, int error) {
  napi_throw_error(env, errno_name(error), strerror(error));
  return NULL;
}

napi_value notify_datagram(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
  char message[MAX_MESSAGE + 1];
  size_t path_length = 0, message_length = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      napi_get_value_string_utf8(env, argv[0], path, sizeof path, &path_length) != napi_ok ||
      napi_get_value_string_utf8(env, argv[1], message, sizeof message, &message_length) != napi_ok) {
    napi_throw_type_error(env, NULL, "notifyDatagram(path, message): both must be strings");
    return NULL;
  }
  struct sockaddr_un address;
  memset(&address, 0, sizeof address);
  address.sun_family = AF_UNIX;
  // napi truncates a string longer than the buffer: one that fills it is too long for sun_path.
  if (path_length == 0 || path_length >= sizeof address.sun_path) return fail(env, ENAMETOOLONG);
  if (message_length >= MAX_MESSAGE) return fail(env, EMSGSIZE);
  memcpy(address.sun_path, path, path_length);
  if (path[0] == '@') address.sun_path[0] = '\0';
  socklen_t address_length = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + path_length + (path[0] == '@' ? 0 : 1));
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return fail(env, errno);
  ssize_t sent = sendto(fd, message, message_length, MSG_NOSIGNAL, (struct sockaddr *)&address, address_length);
  int error = errno;
  close(fd);
  if (sent < 0) return fail(env, error);
  napi_value result;
  if (napi_get_boolean(env, true, &result) != napi_ok) return NULL;
  return result;
}
