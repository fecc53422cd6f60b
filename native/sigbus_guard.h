/*
 * The SIGBUS guard: keeps a frame store truncated under a reader from killing
 * the process. One source (sigbus_guard.c), compiled into both readers of
 * mapped stores: the Node addon (native/shm_map.c) and the Python extension
 * (python/src/framesupplier/_shmguard.c).
 *
 * A mapped page past a file's new end raises SIGBUS. For a fault inside a
 * registered range, the process-wide handler (installed once, by
 * sigbus_guard_install) puts anonymous zero pages over the whole range
 * (MAP_FIXED), marks it broken and lets the read go on, reading zeros: the
 * reader's seqlock or header check then fails, and sigbus_guard_broken says
 * why. A range added writable gets writable zero pages: a writer's copy goes
 * on into them, and its owner sees it broken after. This is the technique of Wayland's wl_shm. A SIGBUS outside every
 * range, or one sent by kill(), goes to the handler installed before ours, or
 * kills the process as it would have.
 *
 * The table is read by the handler with atomics only; claiming a slot is
 * lock-free too, so any thread may add and remove ranges. Removing a range
 * does not unmap it: its owner does, after removing it.
 */
#ifndef FRAMESUPPLIER_SIGBUS_GUARD_H
#define FRAMESUPPLIER_SIGBUS_GUARD_H

#include <stddef.h>
#include <stdint.h>

#define SIGBUS_GUARD_SLOTS 1024

/* Not exported from the addon or the extension: each links its own copy. */
#define SIGBUS_GUARD_API __attribute__((visibility("hidden")))

/* Installs the handler (once per process, whoever calls first): 0, or -1 with errno set. */
SIGBUS_GUARD_API int sigbus_guard_install(void);
/* Guards [addr, addr + len), not broken: its slot, or -1 when all SIGBUS_GUARD_SLOTS are taken. */
SIGBUS_GUARD_API int sigbus_guard_add(uintptr_t addr, size_t len);
/* The same for a range mapped writable (writable != 0): a fault leaves it writable, on zero pages. */
SIGBUS_GUARD_API int sigbus_guard_add_writable(uintptr_t addr, size_t len, int writable);
/* Stops guarding a slot (before its range is unmapped); a slot out of range is ignored. */
SIGBUS_GUARD_API void sigbus_guard_remove(int slot);
/* 1 once a fault replaced the slot's range with zeros, else 0 (0 for a slot out of range). */
SIGBUS_GUARD_API int sigbus_guard_broken(int slot);
/* SIGBUS faults absorbed since the process started. */
SIGBUS_GUARD_API unsigned long sigbus_guard_faults(void);

#endif
