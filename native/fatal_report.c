/*
 * The fatal-signal report: a process that dies of a fault (SIGSEGV, SIGBUS, SIGILL, SIGFPE) or of abort()
 * (SIGABRT) says so in one last JSON line on the log's descriptor before it goes: which signal, why (the fault's
 * kind and address, or who sent it), in which thread (its name: fs-decoder, a libav worker, node), and the native
 * stack as library+offset (what addr2line or a debug-symbols package turns into source lines). Without it a
 * crash inside libav on a decoder's thread ended the system with no word at all; a supervisor (systemd, a
 * container runtime) saw the signal, the log did not say where.
 *
 * Contract:
 * - install(fd) puts the handler in front of whatever handled these signals (Node's WebAssembly trap handler for
 *   SIGSEGV, the store's SIGBUS guard) once per process; later calls only change the descriptor.
 * - Those handlers go first: a fault they absorb (a WebAssembly bounds trap, a truncated store read as zeros)
 *   is theirs, and nothing is written. One that gives up sets the signal's action back to the default; so does
 *   this handler. The report is written only when the process is about to die of the signal.
 * - After the report the default action runs: the process ends by the same signal as without the handler (its
 *   exit status, a core where cores are on). A second thread that faults meanwhile waits for the first's report.
 * - Only async-signal-safe calls are made, except the stack walk (libgcc's unwinder, loaded at install so that
 *   it allocates nothing then); an alarm of ALARM_S seconds bounds it, so a walk that blocks (a fault inside the
 *   loader) ends the process by SIGALRM rather than leaving it hung and never restarted.
 * - Nothing of the process's data is written: no argument, environment or memory, only addresses and names of
 *   loaded libraries and their exported symbols.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "fatal_report.h"

/* The line's code (docs/errors.md). */
#define FATAL_CODE "ERR_FATAL_SIGNAL"
#define MAX_FRAMES 48
#define ALARM_S 3

static const int SIGNALS[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
#define SIGNAL_COUNT (sizeof SIGNALS / sizeof SIGNALS[0])

static struct sigaction previous[SIGNAL_COUNT];
static atomic_int out_fd = 2;
static atomic_int installed;
static atomic_int reporting;
static pthread_mutex_t install_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * A line under construction: appended to, never past `cap`, which keeps room at the end of `text` for the line's
 * ending while its frames go in (a frame that does not fit is taken out whole: the stack is cut, the line stays JSON).
 */
typedef struct {
  char text[8192];
  size_t len;
  size_t cap;
} Line;

/* Room kept for what follows the frames: the stack's note and the line's end. */
#define LINE_ENDING_ROOM 512

static void put(Line *line, const char *s) {
  while (*s != '\0' && line->len < line->cap) line->text[line->len++] = *s++;
}

/* A string as a JSON string's contents: quotes, backslashes and control characters escaped. */
static void put_json(Line *line, const char *s) {
  static const char hex[] = "0123456789abcdef";
  for (; *s != '\0' && line->len + 6 < line->cap; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      line->text[line->len++] = '\\';
      line->text[line->len++] = (char)c;
    } else if (c < 0x20) {
      char esc[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
      put(line, esc);
    } else {
      line->text[line->len++] = (char)c;
    }
  }
}

static void put_unsigned(Line *line, uintmax_t n, int base, int min_digits) {
  char digits[32];
  int i = 0;
  do {
    digits[i++] = "0123456789abcdef"[n % (uintmax_t)base];
    n /= (uintmax_t)base;
  } while (n > 0 && i < (int)sizeof digits);
  while (i < min_digits && i < (int)sizeof digits) digits[i++] = '0';
  char out[33];
  int j = 0;
  while (i > 0) out[j++] = digits[--i];
  out[j] = '\0';
  put(line, out);
}

static void put_signed(Line *line, intmax_t n) {
  if (n < 0) {
    put(line, "-");
    put_unsigned(line, (uintmax_t)(-(n + 1)) + 1, 10, 1);
  } else {
    put_unsigned(line, (uintmax_t)n, 10, 1);
  }
}

static void put_hex(Line *line, uintptr_t n) {
  put(line, "0x");
  put_unsigned(line, n, 16, 1);
}

/* The time as the logger writes it (ISO 8601, UTC, milliseconds), from the days since 1970 (Hinnant's civil_from_days). */
static void put_time(Line *line) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  int64_t secs = now.tv_sec;
  int64_t days = secs / 86400, rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    days -= 1;
  }
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t d = doy - (153 * mp + 2) / 5 + 1;
  int64_t m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) y += 1;
  put_unsigned(line, (uintmax_t)y, 10, 4);
  put(line, "-");
  put_unsigned(line, (uintmax_t)m, 10, 2);
  put(line, "-");
  put_unsigned(line, (uintmax_t)d, 10, 2);
  put(line, "T");
  put_unsigned(line, (uintmax_t)(rem / 3600), 10, 2);
  put(line, ":");
  put_unsigned(line, (uintmax_t)(rem / 60 % 60), 10, 2);
  put(line, ":");
  put_unsigned(line, (uintmax_t)(rem % 60), 10, 2);
  put(line, ".");
  put_unsigned(line, (uintmax_t)(now.tv_nsec / 1000000), 10, 3);
  put(line, "Z");
}

static const char *signal_name(int sig) {
  switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGILL: return "SIGILL";
    case SIGFPE: return "SIGFPE";
    case SIGABRT: return "SIGABRT";
    default: return "a fatal signal";
  }
}

/* What the kernel says of a fault's kind (si_code > 0); NULL for one it sent for another reason. */
static const char *fault_kind(int sig, int code) {
  if (sig == SIGSEGV && code == SEGV_MAPERR) return "address not mapped";
  if (sig == SIGSEGV && code == SEGV_ACCERR) return "no permission for the access";
  if (sig == SIGBUS && code == BUS_ADRALN) return "misaligned address";
  if (sig == SIGBUS && code == BUS_ADRERR) return "address past the end of a mapped file";
  if (sig == SIGBUS && code == BUS_OBJERR) return "hardware error";
  if (sig == SIGILL) return "illegal instruction";
  if (sig == SIGFPE && code == FPE_INTDIV) return "integer division by zero";
  if (sig == SIGFPE) return "arithmetic fault";
  return sig == SIGSEGV || sig == SIGBUS ? "fault" : NULL;
}

static int slot_of(int sig) {
  for (size_t i = 0; i < SIGNAL_COUNT; i++)
    if (SIGNALS[i] == sig) return (int)i;
  return -1;
}

static void on_fatal(int sig, siginfo_t *info, void *context);

/* This handler as a signal's action, set at install and again for the stack walk's guard. */
static struct sigaction handler_action(void) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = on_fatal;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&action.sa_mask);
  return action;
}

/* Whether this handler is still the signal's action (a handler that gave up sets the default back). */
static int still_ours(int sig) {
  struct sigaction now;
  if (sigaction(sig, NULL, &now) != 0) return 0;
  return (now.sa_flags & SA_SIGINFO) != 0 && now.sa_sigaction == on_fatal;
}

static void write_all(int fd, const char *text, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, text, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    text += n;
    len -= (size_t)n;
  }
}

/* The thread walking its stack in report(), and where a fault during the walk goes back to (see walk_stack). */
static atomic_long walking_tid;
static sigjmp_buf walk_env;

#if defined(__x86_64__) || defined(__aarch64__)
#define HAVE_CONTEXT_PC 1
#else
#define HAVE_CONTEXT_PC 0
#endif

/* The code address the thread was at, its stack pointer and link register, from the signal's context (0 where unknown). */
static void context_registers(const void *context, uintptr_t *pc, uintptr_t *sp, uintptr_t *lr) {
  *pc = 0;
  *sp = 0;
  *lr = 0;
  if (context == NULL) return;
  const ucontext_t *uc = context;
#if defined(__x86_64__)
  *pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
  *sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
  *pc = (uintptr_t)uc->uc_mcontext.pc;
  *sp = (uintptr_t)uc->uc_mcontext.sp;
  *lr = (uintptr_t)uc->uc_mcontext.regs[30];
#else
  (void)uc;
#endif
}

/*
 * The native frames, outermost last, this handler's own left out. The walk (libgcc's unwinder) reads the code at
 * each frame's address where it has no unwind table for it, so a thread that jumped to an address where nothing is
 * mapped (a call through a freed pointer), or whose stack is broken, faults again inside it. So the walk is guarded:
 * this handler set again for the fault signals and unblocked, and a fault during it comes back here by siglongjmp
 * (on_fatal). The walk is tried first; if it faults, the thread's code address is given with its probable caller
 * (the link register, or the return address on the stack's top), read under the same guard; if that faults too,
 * the code address alone (`known`: the context gave the registers). *note says why the frames are so few.
 */
static int walk_stack(void **frames, int known, uintptr_t at, uintptr_t top, uintptr_t link, const char **note) {
  volatile uintptr_t pc = at, sp = top, lr = link;
  struct sigaction ours = handler_action(), before_segv, before_bus;
  sigaction(SIGSEGV, &ours, &before_segv);
  sigaction(SIGBUS, &ours, &before_bus);
  sigset_t faults, saved_mask;
  sigemptyset(&faults);
  sigaddset(&faults, SIGSEGV);
  sigaddset(&faults, SIGBUS);
  pthread_sigmask(SIG_BLOCK, NULL, &saved_mask);
  /* A handler before this one that gave up raised the signal again (Node's does), pending while this one runs: taken
     off here, or the unblocking below would deliver it as if the walk had faulted. It is raised again at the end. */
  struct timespec zero = {0, 0};
  while (sigtimedwait(&faults, NULL, &zero) > 0) {
  }
  volatile int count = 0;
  volatile int stage = 0;
  atomic_store(&walking_tid, syscall(SYS_gettid));
  if (sigsetjmp(walk_env, 0) != 0) stage++; /* the stage before faulted: the next one */
  pthread_sigmask(SIG_UNBLOCK, &faults, NULL);
  if (stage == 0) {
    void *all[MAX_FRAMES];
    int n = backtrace(all, MAX_FRAMES);
    Dl_info self, where;
    int first = 0;
    if (dladdr((void *)walk_stack, &self) != 0) {
      while (first < n && dladdr(all[first], &where) != 0 && where.dli_fbase == self.dli_fbase) first++;
      if (first > 0 && first < n) first++; /* the kernel's return trampoline */
    }
    for (int i = first; i < n; i++) frames[count++] = all[i];
  } else if (stage == 1 && known) {
    count = 0;
    frames[count++] = (void *)pc;
    *note = "the stack could not be walked (the code address is in no library: a jump through a bad pointer, or a broken stack): the frames are where the thread was and its probable caller";
#if defined(__aarch64__)
    void *caller = (void *)lr;
#else
    void *caller = sp != 0 ? *(void *const *)sp : NULL;
#endif
    Dl_info where;
    if (caller != NULL && dladdr(caller, &where) != 0) frames[count++] = caller;
  } else {
    count = 0;
    if (known) frames[count++] = (void *)pc;
    *note = "the stack could not be walked (a fault during the walk): the frame given is where the thread was";
  }
  pthread_sigmask(SIG_SETMASK, &saved_mask, NULL);
  atomic_store(&walking_tid, 0);
  sigaction(SIGSEGV, &before_segv, NULL);
  sigaction(SIGBUS, &before_bus, NULL);
  (void)lr;
  return count;
}

/* The line: static, for only the thread that won `reporting` writes it (8 KB off a faulting thread's stack). */
static Line line;

static void report(int sig, const siginfo_t *info, void *context) {
  line.len = 0;
  line.cap = sizeof line.text - LINE_ENDING_ROOM;
  char thread[17] = {0};
  prctl(PR_GET_NAME, thread, 0, 0, 0);
  long tid = syscall(SYS_gettid);
  const char *kind = info != NULL && info->si_code > 0 ? fault_kind(sig, info->si_code) : NULL;

  put(&line, "{\"level\":\"fatal\",\"time\":\"");
  put_time(&line);
  put(&line, "\",\"code\":\"");
  put(&line, FATAL_CODE);
  put(&line, "\",\"signal\":\"");
  put(&line, signal_name(sig));
  put(&line, "\",\"thread\":\"");
  put_json(&line, thread);
  put(&line, "\",\"tid\":");
  put_signed(&line, tid);
  put(&line, ",\"pid\":");
  put_signed(&line, getpid());
  if (kind != NULL) {
    put(&line, ",\"fault\":\"");
    put(&line, kind);
    put(&line, "\",\"address\":\"");
    put_hex(&line, (uintptr_t)info->si_addr);
    put(&line, "\"");
  } else if (info != NULL) {
    put(&line, ",\"sentBy\":");
    put_signed(&line, info->si_pid);
  }
  put(&line, ",\"msg\":\"the process dies of ");
  put(&line, signal_name(sig));
  put(&line, " in thread ");
  put_json(&line, thread);
  if (kind != NULL) {
    put(&line, " (");
    put(&line, kind);
    put(&line, " at ");
    put_hex(&line, (uintptr_t)info->si_addr);
    put(&line, ")");
  } else if (info != NULL && info->si_pid == getpid()) {
    put(&line, " (raised by the process itself: abort(), a failed assertion, raise() or kill())");
  } else if (info != NULL) {
    put(&line, " (sent by process ");
    put_signed(&line, info->si_pid);
    put(&line, ")");
  }
  put(&line, "; stack has the native frames as library+offset\",\"stack\":[");

  void *frames[MAX_FRAMES];
  const char *walk_note = NULL;
  /* Armed until the process is gone: a walk that blocks, or a write into a full pipe, ends it by SIGALRM. */
  alarm(ALARM_S);
  uintptr_t pc = 0, sp = 0, lr = 0;
  context_registers(context, &pc, &sp, &lr);
  int count = walk_stack(frames, HAVE_CONTEXT_PC && context != NULL, pc, sp, lr, &walk_note);
  int written = 0;
  for (int i = 0; i < count; i++) {
    size_t before = line.len;
    Dl_info where;
    if (written > 0) put(&line, ",");
    put(&line, "\"");
    if (dladdr(frames[i], &where) != 0 && where.dli_fname != NULL) {
      const char *base = strrchr(where.dli_fname, '/');
      put_json(&line, base != NULL ? base + 1 : where.dli_fname);
      put(&line, "+");
      put_hex(&line, (uintptr_t)frames[i] - (uintptr_t)where.dli_fbase);
      if (where.dli_sname != NULL && where.dli_saddr != NULL) {
        put(&line, " (");
        put_json(&line, where.dli_sname);
        put(&line, "+");
        put_hex(&line, (uintptr_t)frames[i] - (uintptr_t)where.dli_saddr);
        put(&line, ")");
      }
    } else if ((uintptr_t)frames[i] == pc) {
      put_hex(&line, pc); /* where the thread was: code of no library (generated at run time, or a wild jump) */
    } else {
      put(&line, "?"); /* no library's: a frame of generated code, or a stack word that is none (never printed) */
    }
    put(&line, "\"");
    if (line.len + 8 >= line.cap) { /* it did not fit: taken out whole, and the stack cut here */
      line.len = before;
      walk_note = "cut: the line's room ran out";
      break;
    }
    written++;
  }
  line.cap = sizeof line.text - 2;
  put(&line, "]");
  if (walk_note != NULL) {
    put(&line, ",\"stackNote\":\"");
    put(&line, walk_note);
    put(&line, "\"");
  }
  put(&line, "}\n");
  write_all(atomic_load(&out_fd), line.text, line.len);
}

static void to_default(int sig) {
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(sig, &dfl, NULL);
}

static void on_fatal(int sig, siginfo_t *info, void *context) {
  /* A fault during the report's own stack walk: back to it (walk_stack). */
  if (atomic_load(&walking_tid) == syscall(SYS_gettid)) siglongjmp(walk_env, 1);
  int saved = errno;
  int slot = slot_of(sig);
  if (slot < 0) return;
  const struct sigaction *before = &previous[slot];
  /* The handler before this one goes first: what it absorbs is not fatal. */
  if ((before->sa_flags & SA_SIGINFO) != 0 && before->sa_sigaction != NULL && before->sa_sigaction != on_fatal) {
    before->sa_sigaction(sig, info, context);
    if (still_ours(sig)) {
      errno = saved;
      return;
    }
  } else if (before->sa_handler != SIG_DFL && before->sa_handler != SIG_IGN && before->sa_handler != NULL) {
    before->sa_handler(sig);
    if (still_ours(sig)) {
      errno = saved;
      return;
    }
  }
  int expected = 0;
  if (atomic_compare_exchange_strong(&reporting, &expected, 1)) {
    report(sig, info, context);
  } else {
    /* Another thread is reporting: wait for it to end the process (a bounded wait, then die as this one would). */
    struct timespec tick = {0, 50 * 1000 * 1000};
    for (int i = 0; i < 100; i++) nanosleep(&tick, NULL);
  }
  /* The default action, raised again: pending until this handler returns, then fatal, whether or not the fault's
     cause is still there when its instruction runs again (a mapping remade meanwhile by another thread). */
  to_default(sig);
  raise(sig);
  errno = saved;
}

int fatal_report_install(int fd) {
  pthread_mutex_lock(&install_lock);
  int result = 0;
  if (!atomic_load(&installed)) {
    /* The unwinder is loaded now (its first use dlopens libgcc_s), not in the handler. */
    void *warm[2];
    backtrace(warm, 2);
    struct sigaction action = handler_action();
    for (size_t i = 0; i < SIGNAL_COUNT && result == 0; i++) {
      /* What was there, read before this handler is set: a signal on another thread meanwhile finds it filled in. */
      if (sigaction(SIGNALS[i], NULL, &previous[i]) != 0 || sigaction(SIGNALS[i], &action, NULL) != 0) result = -1;
    }
    if (result == 0) atomic_store(&installed, 1);
  }
  if (result == 0 && fd >= 0) atomic_store(&out_fd, fd);
  pthread_mutex_unlock(&install_lock);
  return result;
}

int fatal_report_installed(void) { return atomic_load(&installed); }
