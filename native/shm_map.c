/*
 * framesupplier_shm: read-only maps of frame-store files for the model server,
 * so a handler reads a frame where the writer put it instead of a copy.
 *
 * Contract:
 * - map(path) opens the file read-only (no symlink, no blocking on a FIFO),
 *   maps its current size PROT_READ / MAP_SHARED and closes the descriptor.
 *   It returns { buffer, slot, gen, dev, ino, size }: buffer is an external
 *   ArrayBuffer over the mapping, (slot, gen) names the mapping for broken()
 *   and unmap().
 * - A mapped file can be truncated or replaced by another process at any
 *   moment; a read past its new end raises SIGBUS. A process-wide SIGBUS
 *   handler (installed by the first map()) replaces the whole mapping that
 *   faulted with anonymous zero pages (MAP_FIXED), marks it broken and lets
 *   the read go on, reading zeros: the reader's seqlock or header check then
 *   fails, and broken() says why. This is the technique of Wayland's wl_shm.
 *   A SIGBUS outside every mapping of ours goes to the handler installed
 *   before ours, or, if that was the default, kills the process as it would
 *   have.
 * - unmap(slot, gen, buffer) detaches the buffer (every view of it becomes
 *   empty, so a late reader reads nothing rather than faulting) and unmaps.
 *   A buffer never unmapped is unmapped when it is garbage collected.
 * - The table of mappings is shared by every thread that loads the addon;
 *   the signal handler reads it without locks (atomics only).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <node_api.h>

#define MAX_MAPPINGS 1024

typedef struct {
  /* Read by the signal handler: addr is set last and cleared first. */
  _Atomic uintptr_t addr;
  _Atomic size_t len;
  atomic_int broken;
  /* Under table_lock only. */
  uint32_t gen;
  int live;
} Region;

typedef struct {
  int slot;
  uint32_t gen;
} Hint;

static Region regions[MAX_MAPPINGS];
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sigaction previous_action;
static int handler_installed;
static atomic_ulong faults;

static void on_sigbus(int sig, siginfo_t *info, void *context) {
  uintptr_t at = (uintptr_t)info->si_addr;
  /* Only a fault has an address: a SIGBUS sent by kill() (si_code <= 0) is not ours to absorb. */
  for (int i = 0; info->si_code > 0 && i < MAX_MAPPINGS; i++) {
    uintptr_t addr = atomic_load(&regions[i].addr);
    if (addr == 0) continue;
    size_t len = atomic_load(&regions[i].len);
    if (at < addr || at - addr >= len) continue;
    int saved = errno;
    void *zeros = mmap((void *)addr, len, PROT_READ, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    errno = saved;
    if (zeros == MAP_FAILED) break; /* cannot recover: behave as if we were not here */
    atomic_store(&regions[i].broken, 1);
    atomic_fetch_add(&faults, 1);
    return; /* the faulting read runs again, on zeros */
  }
  if (previous_action.sa_flags & SA_SIGINFO) {
    if (previous_action.sa_sigaction != NULL) {
      previous_action.sa_sigaction(sig, info, context);
      return;
    }
  } else if (previous_action.sa_handler != SIG_DFL && previous_action.sa_handler != SIG_IGN) {
    previous_action.sa_handler(sig);
    return;
  }
  /* The default action: restore it and raise the signal again (pending until this handler returns,
     then fatal, for a fault and for a kill() alike): the process dies of SIGBUS as without us. */
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(sig, &dfl, NULL);
  raise(sig);
}

/* Under table_lock. */
static int install_handler(void) {
  if (handler_installed) return 0;
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = on_sigbus;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&action.sa_mask);
  if (sigaction(SIGBUS, &action, &previous_action) != 0) return -1;
  handler_installed = 1;
  return 0;
}

/* Under table_lock: unmaps a live region and retires its generation. */
static void release_region(int slot) {
  Region *r = &regions[slot];
  uintptr_t addr = atomic_load(&r->addr);
  size_t len = atomic_load(&r->len);
  atomic_store(&r->addr, 0);
  atomic_store(&r->len, 0);
  if (addr != 0) munmap((void *)addr, len);
  atomic_store(&r->broken, 0);
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

/* map(path) → { buffer, slot, gen, dev, ino, size } */
static napi_value map_file(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char path[4096];
  size_t path_len = 0;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], path, sizeof path, &path_len) != napi_ok || path_len == 0 || path_len >= sizeof path - 1) {
    napi_throw_type_error(env, "ERR_SHM_MAP", "map(path): a path of 1–4094 bytes");
    return NULL;
  }
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
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
  void *addr = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
  int map_error = errno;
  close(fd);
  if (addr == MAP_FAILED) return throw_errno(env, "cannot map", path, map_error);

  pthread_mutex_lock(&table_lock);
  int slot = -1;
  if (install_handler() == 0) {
    for (int i = 0; i < MAX_MAPPINGS; i++) {
      if (!regions[i].live) {
        slot = i;
        break;
      }
    }
  }
  if (slot < 0) {
    pthread_mutex_unlock(&table_lock);
    munmap(addr, len);
    napi_throw_error(env, "ERR_SHM_MAP", handler_installed ? "too many mapped frame stores (1024)" : "cannot install the SIGBUS handler");
    return NULL;
  }
  Region *r = &regions[slot];
  r->live = 1;
  uint32_t gen = r->gen;
  atomic_store(&r->broken, 0);
  atomic_store(&r->len, len);
  atomic_store(&r->addr, (uintptr_t)addr);
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
  int broken = !regions[slot].live || regions[slot].gen != gen || atomic_load(&regions[slot].broken);
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

/* faults() → SIGBUS faults absorbed since the process started. */
static napi_value fault_count(napi_env env, napi_callback_info info) {
  napi_value result;
  CHECK(napi_create_double(env, (double)atomic_load(&faults), &result));
  return result;
}

/* peercred.c: a Unix socket's peer credentials (SO_PEERCRED), exported by this addon too. */
napi_value peer_credentials(napi_env env, napi_callback_info info);

NAPI_MODULE_INIT() {
  napi_property_descriptor properties[] = {
      {"map", NULL, map_file, NULL, NULL, NULL, napi_default, NULL},
      {"broken", NULL, is_broken, NULL, NULL, NULL, napi_default, NULL},
      {"unmap", NULL, unmap_file, NULL, NULL, NULL, napi_default, NULL},
      {"faults", NULL, fault_count, NULL, NULL, NULL, napi_default, NULL},
      {"peerCredentials", NULL, peer_credentials, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties) != napi_ok) return NULL;
  return exports;
}
