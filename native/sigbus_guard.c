/* The SIGBUS guard (sigbus_guard.h says what it does and who compiles it). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "sigbus_guard.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

typedef struct {
  /* Read by the signal handler: addr is set last and cleared first. */
  _Atomic uintptr_t addr;
  _Atomic size_t len;
  atomic_int broken;
  /* The zero pages' protection: PROT_READ, or PROT_READ | PROT_WRITE for a range written through (a writer goes on writing into them). */
  atomic_int prot;
  /* 1 while a range owns the slot (claimed before addr is set, released after it is cleared). */
  atomic_int claimed;
} Guard;

static Guard guards[SIGBUS_GUARD_SLOTS];
static struct sigaction previous_action;
static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static int install_errno;
static atomic_ulong faults;

static void on_sigbus(int sig, siginfo_t *info, void *context) {
  uintptr_t at = (uintptr_t)info->si_addr;
  /* Only a fault has an address: a SIGBUS sent by kill() (si_code <= 0) is not ours to absorb. */
  for (int i = 0; info->si_code > 0 && i < SIGBUS_GUARD_SLOTS; i++) {
    uintptr_t addr = atomic_load(&guards[i].addr);
    if (addr == 0) continue;
    size_t len = atomic_load(&guards[i].len);
    if (at < addr || at - addr >= len) continue;
    int saved = errno;
    void *zeros = mmap((void *)addr, len, atomic_load(&guards[i].prot), MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    errno = saved;
    if (zeros == MAP_FAILED) break; /* cannot recover: behave as if we were not here */
    atomic_store(&guards[i].broken, 1);
    atomic_fetch_add(&faults, 1);
    return; /* the faulting access runs again, on zeros */
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

static void install(void) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = on_sigbus;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&action.sa_mask);
  if (sigaction(SIGBUS, &action, &previous_action) != 0) install_errno = errno;
}

int sigbus_guard_install(void) {
  pthread_once(&install_once, install);
  if (install_errno != 0) {
    errno = install_errno;
    return -1;
  }
  return 0;
}

int sigbus_guard_add(uintptr_t addr, size_t len) { return sigbus_guard_add_writable(addr, len, 0); }

int sigbus_guard_add_writable(uintptr_t addr, size_t len, int writable) {
  for (int i = 0; i < SIGBUS_GUARD_SLOTS; i++) {
    int free_slot = 0;
    if (!atomic_compare_exchange_strong(&guards[i].claimed, &free_slot, 1)) continue;
    atomic_store(&guards[i].broken, 0);
    atomic_store(&guards[i].prot, writable ? PROT_READ | PROT_WRITE : PROT_READ);
    atomic_store(&guards[i].len, len);
    atomic_store(&guards[i].addr, addr);
    return i;
  }
  return -1;
}

void sigbus_guard_remove(int slot) {
  if (slot < 0 || slot >= SIGBUS_GUARD_SLOTS) return;
  atomic_store(&guards[slot].addr, 0);
  atomic_store(&guards[slot].len, 0);
  atomic_store(&guards[slot].broken, 0);
  atomic_store(&guards[slot].claimed, 0);
}

int sigbus_guard_broken(int slot) {
  if (slot < 0 || slot >= SIGBUS_GUARD_SLOTS) return 0;
  return atomic_load(&guards[slot].broken);
}

unsigned long sigbus_guard_faults(void) { return atomic_load(&faults); }
