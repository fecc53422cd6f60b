/*
 * framesupplier._shmguard: keeps a truncated frame store from killing the
 * Python model server. Python's face of the SIGBUS guard that the Node
 * server's addon uses too: one source, native/sigbus_guard.c (how it works is
 * in native/sigbus_guard.h), compiled into this extension as part of it
 * (setup.py finds it beside the package: ../native in the repository and in
 * the npm package, csrc/ in an sdist). The mapping itself belongs to Python's
 * mmap object; this only guards its range.
 */
#define PY_SSIZE_T_CLEAN
#define _GNU_SOURCE
#include <Python.h>
#include <errno.h>

#include "sigbus_guard.c"

/* guard(address, length) -> slot: absorbs SIGBUS inside [address, address + length). */
static PyObject *guard(PyObject *self, PyObject *args) {
  unsigned long long addr, len;
  if (!PyArg_ParseTuple(args, "KK", &addr, &len)) return NULL;
  if (sigbus_guard_install() != 0) return PyErr_SetFromErrno(PyExc_OSError);
  int slot = sigbus_guard_add((uintptr_t)addr, (size_t)len);
  if (slot < 0) {
    PyErr_SetString(PyExc_RuntimeError, "too many guarded mappings (1024)");
    return NULL;
  }
  return PyLong_FromLong(slot);
}

static PyObject *unguard(PyObject *self, PyObject *args) {
  int slot;
  if (!PyArg_ParseTuple(args, "i", &slot)) return NULL;
  sigbus_guard_remove(slot);
  Py_RETURN_NONE;
}

static PyObject *broken(PyObject *self, PyObject *args) {
  int slot;
  if (!PyArg_ParseTuple(args, "i", &slot)) return NULL;
  return PyBool_FromLong(sigbus_guard_broken(slot));
}

static PyObject *fault_count(PyObject *self, PyObject *args) { return PyLong_FromUnsignedLong(sigbus_guard_faults()); }

static PyMethodDef methods[] = {
    {"guard", guard, METH_VARARGS, "Absorb SIGBUS inside a mapping: returns its slot."},
    {"unguard", unguard, METH_VARARGS, "Stop guarding a slot (before its mapping is unmapped)."},
    {"broken", broken, METH_VARARGS, "Whether a slot's mapping faulted and now reads zeros."},
    {"faults", fault_count, METH_NOARGS, "SIGBUS faults absorbed since the process started."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_shmguard", NULL, -1, methods};

PyMODINIT_FUNC PyInit__shmguard(void) { return PyModule_Create(&module); }
