/*
 * framesupplier._shmguard: keeps a truncated frame store from killing the
 * Python model server. A mapped page past a file's new end raises SIGBUS; for
 * a fault inside a registered mapping this handler puts anonymous zero pages
 * over the whole mapping (MAP_FIXED), marks it broken and lets the read go on
 * (the technique of Wayland's wl_shm, and of the Node server's addon,
 * native/shm_map.c). Any other SIGBUS goes to the handler installed before,
 * or kills the process as it would have. The table is read by the handler
 * with atomics only; the mapping itself belongs to Python's mmap object.
 */
#define PY_SSIZE_T_CLEAN
#define _GNU_SOURCE
#include <Python.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#define MAX_GUARDS 1024

typedef struct {
  _Atomic uintptr_t addr;
  _Atomic size_t len;
  atomic_int broken;
} Guard;

static Guard guards[MAX_GUARDS];
static struct sigaction previous_action;
static int installed;
static atomic_ulong faults;

static void on_sigbus(int sig, siginfo_t *info, void *context) {
  uintptr_t at = (uintptr_t)info->si_addr;
  for (int i = 0; info->si_code > 0 && i < MAX_GUARDS; i++) {
    uintptr_t addr = atomic_load(&guards[i].addr);
    if (addr == 0) continue;
    size_t len = atomic_load(&guards[i].len);
    if (at < addr || at - addr >= len) continue;
    int saved = errno;
    void *zeros = mmap((void *)addr, len, PROT_READ, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    errno = saved;
    if (zeros == MAP_FAILED) break;
    atomic_store(&guards[i].broken, 1);
    atomic_fetch_add(&faults, 1);
    return;
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
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(sig, &dfl, NULL);
  raise(sig);
}

/* guard(address, length) -> slot: absorbs SIGBUS inside [address, address + length). Called with the GIL held. */
static PyObject *guard(PyObject *self, PyObject *args) {
  unsigned long long addr, len;
  if (!PyArg_ParseTuple(args, "KK", &addr, &len)) return NULL;
  if (!installed) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_sigbus;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGBUS, &action, &previous_action) != 0) return PyErr_SetFromErrno(PyExc_OSError);
    installed = 1;
  }
  for (int i = 0; i < MAX_GUARDS; i++) {
    if (atomic_load(&guards[i].addr) != 0) continue;
    atomic_store(&guards[i].broken, 0);
    atomic_store(&guards[i].len, (size_t)len);
    atomic_store(&guards[i].addr, (uintptr_t)addr);
    return PyLong_FromLong(i);
  }
  PyErr_SetString(PyExc_RuntimeError, "too many guarded mappings (1024)");
  return NULL;
}

static PyObject *unguard(PyObject *self, PyObject *args) {
  int slot;
  if (!PyArg_ParseTuple(args, "i", &slot)) return NULL;
  if (slot >= 0 && slot < MAX_GUARDS) {
    atomic_store(&guards[slot].addr, 0);
    atomic_store(&guards[slot].len, 0);
  }
  Py_RETURN_NONE;
}

static PyObject *broken(PyObject *self, PyObject *args) {
  int slot;
  if (!PyArg_ParseTuple(args, "i", &slot)) return NULL;
  if (slot < 0 || slot >= MAX_GUARDS) Py_RETURN_FALSE;
  return PyBool_FromLong(atomic_load(&guards[slot].broken));
}

static PyObject *fault_count(PyObject *self, PyObject *args) { return PyLong_FromUnsignedLong(atomic_load(&faults)); }

static PyMethodDef methods[] = {
    {"guard", guard, METH_VARARGS, "Absorb SIGBUS inside a mapping: returns its slot."},
    {"unguard", unguard, METH_VARARGS, "Stop guarding a slot (before its mapping is unmapped)."},
    {"broken", broken, METH_VARARGS, "Whether a slot's mapping faulted and now reads zeros."},
    {"faults", fault_count, METH_NOARGS, "SIGBUS faults absorbed since the process started."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_shmguard", NULL, -1, methods};

PyMODINIT_FUNC PyInit__shmguard(void) { return PyModule_Create(&module); }
