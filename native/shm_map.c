/*
 * framesupplier_shm: read-only maps of frame-store files for the model server,
 * so a handler reads a frame where the writer put it instead of a copy; and
 * writable maps for the store's writer, which copies a frame into its slot
 * with writeSlot() instead of a positional write (ADR 0083).
 *
 * Contract:
 * - map(path) opens the file read-only (no symlink, no blocking on a FIFO),
 *   maps its current size PROT_READ / MAP_SHARED and closes the descriptor.
 *   It returns { buffer, slot, gen, dev, ino, size }: buffer is an external
 *   ArrayBuffer over the mapping, (slot, gen) names the mapping for broken()
 *   and unmap().
 * - A mapped file can be truncated or replaced by another process at any
 *   moment; a read past its new end raises SIGBUS. Every mapping is guarded
 *   by the SIGBUS guard (sigbus_guard.c, shared with the Python extension):
 *   the mapping that faulted is replaced with zero pages and marked broken,
 *   the read goes on reading zeros, the reader's seqlock or header check then
 *   fails, and broken() says why.
 * - mapWritable(path) is map() opening and mapping the file read-write; its
 *   guard leaves it writable after a fault (zero pages a copy goes on into).
 *   writeSlot(slot, gen, offset, header, data) writes one slot of such a
 *   mapping under the store's seqlock (docs/protocol.md): its seq made odd,
 *   header bytes 4–63 and the data copied, its seq made even again; it returns
 *   the new seq, or -1 when the mapping is gone or broken (the caller writes
 *   the frame again by other means). beginSlot(slot, gen, offset) makes a
 *   slot's seq odd alone: a slot lent out to be written in place (the frame
 *   converted straight into it), made whole later by writeSlot() with an
 *   empty data.
 * - unmap(slot, gen, buffer) detaches the buffer (every view of it becomes
 *   empty, so a late reader reads nothing rather than faulting) and unmaps.
 *   A buffer never unmapped is unmapped when it is garbage collected.
 * - The table of mappings is shared by every thread that loads the addon,
 *   under one lock; a mapping's slot is its guard's slot.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <node_api.h>

#include "fatal_report.h"
#include "sigbus_guard.h"

#define MAX_MAPPINGS SIGBUS_GUARD_SLOTS

typedef struct {
  /* Under table_lock. */
  uintptr_t addr;
  size_t len;
  uint32_t gen;
  int live;
} Region;

typedef struct {
  int slot;
  uint32_t gen;
} Hint;

static Region regions[MAX_MAPPINGS];
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;

/* Under table_lock: unmaps a live region and retires its generation. */
static void release_region(int slot) {
  Region *r = &regions[slot];
  sigbus_guard_remove(slot); /* unguarded before unmapped: the range may be reused at once */
  if (r->addr != 0) munmap((void *)r->addr, r->len);
  r->addr = 0;
  r->len = 0;
  r->live = 0;
  r->gen++;
}

static void finalize_mapping(napi_env env, void *data, void *hint) {
  Hint *h = hint;
  pthread_mutex_lock(&table_lock);
  if (regions[h->slot].live && regions[h->slot].gen == h->gen) release_region(h->slot);
  pthread_mutex_unlock(&table_lock);
  free(h);
}

#define CHECK(call)                                                        \
  do {                                                                     \
    if ((call) != napi_ok) {                                               \
      napi_throw_error(env, "ERR_SHM_MAP", "N-API call failed: " #call); \
      return NULL;                                                         \
    }                                                                      \
  } while (0)

static napi_value throw_errno(napi_env env, const char *what, const char *path, int error) {
  char message[4096 + 256];
  snprintf(message, sizeof message, "%s %s: %s", what, path, strerror(error));
  napi_throw_error(env, "ERR_SHM_MAP", message);
  return NULL;
}

static napi_value set_number(napi_env env, napi_value object, const char *name, double value) {
  napi_value v;
  if (napi_create_double(env, value, &v) != napi_ok || napi_set_named_property(env, object, name, v) != napi_ok) return NULL;
  return object;
}

/* map(path) → { buffer, slot, gen, dev, ino, size }; mapWritable(path) the same, read-write. */
static napi_value map_path(napi_env env, napi_callback_info info, int writable) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char path[4096];
  size_t path_len = 0;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], path, sizeof path, &path_len) != napi_ok || path_len == 0 || path_len >= sizeof path - 1) {
    napi_throw_type_error(env, "ERR_SHM_MAP", "map(path): a path of 1–4094 bytes");
    return NULL;
  }
  int fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return throw_errno(env, "cannot open", path, errno);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int error = errno;
    close(fd);
    return throw_errno(env, "cannot stat", path, error);
  }
  if (!S_ISREG(st.st_mode) || st.st_size <= 0) {
    close(fd);
    return throw_errno(env, "not a non-empty regular file:", path, EINVAL);
  }
  size_t len = (size_t)st.st_size;
  void *addr = mmap(NULL, len, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0);
  int map_error = errno;
  close(fd);
  if (addr == MAP_FAILED) return throw_errno(env, "cannot map", path, map_error);

  if (sigbus_guard_install() != 0) {
    munmap(addr, len);
    return throw_errno(env, "cannot install the SIGBUS handler for", path, errno);
  }
  pthread_mutex_lock(&table_lock);
  int slot = sigbus_guard_add_writable((uintptr_t)addr, len, writable);
  if (slot < 0) {
    pthread_mutex_unlock(&table_lock);
    munmap(addr, len);
    napi_throw_error(env, "ERR_SHM_MAP", "too many mapped frame stores (1024)");
    return NULL;
  }
  Region *r = &regions[slot];
  r->live = 1;
  r->addr = (uintptr_t)addr;
  r->len = len;
  uint32_t gen = r->gen;
  pthread_mutex_unlock(&table_lock);

  Hint *hint = malloc(sizeof *hint);
  napi_value buffer;
  if (hint == NULL) {
    pthread_mutex_lock(&table_lock);
    release_region(slot);
    pthread_mutex_unlock(&table_lock);
    napi_throw_error(env, "ERR_SHM_MAP", "out of memory");
    return NULL;
  }
  hint->slot = slot;
  hint->gen = gen;
  if (napi_create_external_arraybuffer(env, addr, len, finalize_mapping, hint, &buffer) != napi_ok) {
    pthread_mutex_lock(&table_lock);
    release_region(slot);
    pthread_mutex_unlock(&table_lock);
    free(hint);
    napi_throw_error(env, "ERR_SHM_MAP", "cannot make an external ArrayBuffer (is this runtime's V8 sandbox on?)");
    return NULL;
  }
  napi_value result;
  CHECK(napi_create_object(env, &result));
  CHECK(napi_set_named_property(env, result, "buffer", buffer));
  if (set_number(env, result, "slot", slot) == NULL || set_number(env, result, "gen", gen) == NULL || set_number(env, result, "dev", (double)st.st_dev) == NULL ||
      set_number(env, result, "ino", (double)st.st_ino) == NULL || set_number(env, result, "size", (double)len) == NULL) {
    napi_throw_error(env, "ERR_SHM_MAP", "cannot build map()'s result");
    return NULL;
  }
  return result;
}

static napi_value map_file(napi_env env, napi_callback_info info) { return map_path(env, info, 0); }
static napi_value map_file_writable(napi_env env, napi_callback_info info) { return map_path(env, info, 1); }

static int slot_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv, int *slot, uint32_t *gen) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2) return -1;
  int32_t s;
  uint32_t g;
  if (napi_get_value_int32(env, argv[0], &s) != napi_ok || napi_get_value_uint32(env, argv[1], &g) != napi_ok) return -1;
  if (s < 0 || s >= MAX_MAPPINGS) return -1;
  *slot = s;
  *gen = g;
  return 0;
}

/* broken(slot, gen) → true once a fault replaced the mapping with zeros, or once it is unmapped. */
static napi_value is_broken(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int slot;
  uint32_t gen;
  if (slot_args(env, info, 2, argv, &slot, &gen) != 0) {
    napi_throw_type_error(env, "ERR_SHM_MAP", "broken(slot, gen)");
    return NULL;
  }
  pthread_mutex_lock(&table_lock);
  int broken = !regions[slot].live || regions[slot].gen != gen || sigbus_guard_broken(slot);
  pthread_mutex_unlock(&table_lock);
  napi_value result;
  CHECK(napi_get_boolean(env, broken, &result));
  return result;
}

/* unmap(slot, gen, buffer): detaches the buffer and unmaps now. Idempotent. */
static napi_value unmap_file(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int slot;
  uint32_t gen;
  if (slot_args(env, info, 3, argv, &slot, &gen) != 0) {
    napi_throw_type_error(env, "ERR_SHM_MAP", "unmap(slot, gen, buffer)");
    return NULL;
  }
  bool detached = true;
  /* Detached first: no JS view can reach the range once it is unmapped (and perhaps reused). */
  if (napi_is_detached_arraybuffer(env, argv[2], &detached) == napi_ok && !detached) napi_detach_arraybuffer(env, argv[2]);
  pthread_mutex_lock(&table_lock);
  if (regions[slot].live && regions[slot].gen == gen) release_region(slot);
  pthread_mutex_unlock(&table_lock);
  return NULL;
}

/* The bytes of a Uint8Array argument, or -1 (a TypeError thrown). */
static int bytes_arg(napi_env env, napi_value value, uint8_t **data, size_t *length) {
  napi_typedarray_type type;
  napi_value ab;
  size_t offset;
  void *ptr = NULL;
  if (napi_get_typedarray_info(env, value, &type, length, &ptr, &ab, &offset) != napi_ok || type != napi_uint8_array) {
    napi_throw_type_error(env, "ERR_SHM_MAP", "writeSlot(slot, gen, offset, header, data): header and data must be Uint8Arrays");
    return -1;
  }
  *data = ptr;
  return 0;
}

#define SLOT_HEADER 64

/* A slot call's (slot, gen, offset, ...) arguments; throws `usage` (and returns -1) when they are not that. */
static int slot_offset_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv, int *slot, uint32_t *gen, size_t *offset,
                            const char *usage) {
  double at = -1;
  if (slot_args(env, info, want, argv, slot, gen) != 0 || napi_get_value_double(env, argv[2], &at) != napi_ok || !(at >= 0)) {
    napi_throw_type_error(env, "ERR_SHM_MAP", usage);
    return -1;
  }
  *offset = (size_t)at;
  return 0;
}

/*
 * writeSlot(slot, gen, offset, header, data) → the slot's new seq, or -1 when the mapping is gone or a fault broke it
 * (before or during the copy). The slot starts at `offset`: its seq (bytes 0–3) is made odd, header bytes 4–63 and
 * the data after them are copied, and the seq made even (skipping 0), with release ordering, as a positional writer
 * does it with three writes. Under the table's lock, so no thread unmaps the range meanwhile.
 */
static napi_value write_slot(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  int slot;
  uint32_t gen;
  size_t offset;
  if (slot_offset_args(env, info, 5, argv, &slot, &gen, &offset, "writeSlot(slot, gen, offset ≥ 0, header, data)") != 0) return NULL;
  uint8_t *header = NULL, *data = NULL;
  size_t header_len = 0, data_len = 0;
  if (bytes_arg(env, argv[3], &header, &header_len) != 0 || bytes_arg(env, argv[4], &data, &data_len) != 0) return NULL;
  if (header_len < SLOT_HEADER) {
    napi_throw_type_error(env, "ERR_SHM_MAP", "writeSlot: the header must be 64 bytes");
    return NULL;
  }
  double result = -1;
  pthread_mutex_lock(&table_lock);
  Region *r = &regions[slot];
  if (r->live && r->gen == gen && !sigbus_guard_broken(slot) && offset <= r->len && r->len - offset >= SLOT_HEADER && r->len - offset - SLOT_HEADER >= data_len) {
    uint8_t *base = (uint8_t *)r->addr + offset;
    uint32_t *seq = (uint32_t *)base;
    uint32_t writing = __atomic_load_n(seq, __ATOMIC_RELAXED) | 1u; /* odd: being written */
    uint32_t stable = writing + 1u;
    if (stable == 0) stable = 2; /* 0 means never written: the wrap skips it */
    __atomic_store_n(seq, writing, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    memcpy(base + 4, header + 4, SLOT_HEADER - 4);
    if (data_len > 0) memcpy(base + SLOT_HEADER, data, data_len); /* none: written in place (beginSlot) */
    __atomic_store_n(seq, stable, __ATOMIC_RELEASE);
    if (!sigbus_guard_broken(slot)) result = stable;
  }
  pthread_mutex_unlock(&table_lock);
  napi_value value;
  CHECK(napi_create_double(env, result, &value));
  return value;
}

/*
 * beginSlot(slot, gen, offset) → the slot's seq, made odd, or -1 when the mapping is gone or broken. A slot lent
 * to someone who writes a frame into it in place (frame-store.ts's lend()) is marked as being written first, with a
 * full fence after the mark, so a reader that reads the slot meanwhile sees its seq change and never takes the half
 * written data for the frame that was there; writeSlot() with the header alone then makes it whole again.
 */
static napi_value begin_slot(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int slot;
  uint32_t gen;
  size_t offset;
  if (slot_offset_args(env, info, 3, argv, &slot, &gen, &offset, "beginSlot(slot, gen, offset ≥ 0)") != 0) return NULL;
  double result = -1;
  pthread_mutex_lock(&table_lock);
  Region *r = &regions[slot];
  if (r->live && r->gen == gen && !sigbus_guard_broken(slot) && offset <= r->len && r->len - offset >= SLOT_HEADER) {
    uint32_t *seq = (uint32_t *)((uint8_t *)r->addr + offset);
    uint32_t writing = __atomic_load_n(seq, __ATOMIC_RELAXED) | 1u;
    __atomic_store_n(seq, writing, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (!sigbus_guard_broken(slot)) result = writing;
  }
  pthread_mutex_unlock(&table_lock);
  napi_value value;
  CHECK(napi_create_double(env, result, &value));
  return value;
}

/* faults() → SIGBUS faults absorbed since the process started. */
static napi_value fault_count(napi_env env, napi_callback_info info) {
  napi_value result;
  CHECK(napi_create_double(env, (double)sigbus_guard_faults(), &result));
  return result;
}

/*
 * installFatalReport(fd) → true once installed: a fatal signal's last JSON line goes to fd (fatal_report.c).
 * Throws a TypeError for a descriptor that is no whole number ≥ 0, an Error naming errno when a handler cannot be set.
 */
static napi_value install_fatal_report(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd = -1;
  double check = -1;
  /* NaN fails every comparison but the first (check == check): refused before it is ever converted. */
  if (argc < 1 || napi_get_value_double(env, argv[0], &check) != napi_ok || !(check == check) || check < 0 || check > 1048576 ||
      check != (double)(int32_t)check) {
    napi_throw_type_error(env, "ERR_INVALID_ARGUMENT", "installFatalReport(fd): fd must be a whole number ≥ 0");
    return NULL;
  }
  fd = (int32_t)check;
  if (fatal_report_install(fd) != 0) {
    napi_throw_error(env, "ERR_FATAL_REPORT", strerror(errno));
    return NULL;
  }
  napi_value result;
  CHECK(napi_get_boolean(env, fatal_report_installed() != 0, &result));
  return result;
}

/* peercred.c: a Unix socket's peer credentials (SO_PEERCRED), exported by this addon too. */
napi_value peer_credentials(napi_env env, napi_callback_info info);
/* notify.c: one datagram to a Unix datagram socket (sd_notify's protocol), exported by this addon too. */
napi_value notify_datagram(napi_env env, napi_callback_info info);
/* motion.c: the motion detector's passes over its working picture, exported by this addon too (ADR 0099). */
void motion_exports(napi_env env, napi_value exports);

NAPI_MODULE_INIT() {
  napi_property_descriptor properties[] = {
      {"map", NULL, map_file, NULL, NULL, NULL, napi_default, NULL},
      {"mapWritable", NULL, map_file_writable, NULL, NULL, NULL, napi_default, NULL},
      {"writeSlot", NULL, write_slot, NULL, NULL, NULL, napi_default, NULL},
      {"beginSlot", NULL, begin_slot, NULL, NULL, NULL, napi_default, NULL},
      {"broken", NULL, is_broken, NULL, NULL, NULL, napi_default, NULL},
      {"unmap", NULL, unmap_file, NULL, NULL, NULL, napi_default, NULL},
      {"faults", NULL, fault_count, NULL, NULL, NULL, napi_default, NULL},
      {"peerCredentials", NULL, peer_credentials, NULL, NULL, NULL, napi_default, NULL},
      {"installFatalReport", NULL, install_fatal_report, NULL, NULL, NULL, napi_default, NULL},
      {"notifyDatagram", NULL, notify_datagram, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties) != napi_ok) return NULL;
  motion_exports(env, exports);
  return exports;
}
