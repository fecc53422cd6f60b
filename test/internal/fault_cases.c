/*
 * Real faults for the fatal-signal report's tests (test/internal/fatal-report.test.ts): native/fatal_report.c
 * compiled into a program of its own, which installs the report on stderr and then faults as argv[1] says. Its
 * functions are not static, so that the program built with -rdynamic names them in the report's stack.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fatal_report.h"

void fault_null_write(void) { *(volatile int *)0 = 1; }

/* A call through a pointer to where nothing is mapped: the thread's code address is in no library. */
void fault_wild_call(void) {
  void (*volatile target)(void) = (void (*)(void))0x10;
  target();
}

void *fault_on_a_named_thread(void *arg) {
  (void)arg;
  pthread_setname_np(pthread_self(), "fs-decoder");
  fault_null_write();
  return NULL;
}

/* A long stack of long names: the line's room runs out, and the stack is cut whole frames at a time. */
#define DEEP fault_after_many_frames_with_names_long_enough_to_fill_the_report_line_several_times_over_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
int DEEP(volatile int depth) {
  if (depth == 0) {
    fault_null_write();
    return 0;
  }
  return 1 + DEEP(depth - 1);
}

/* A read past the end of a mapped file that was cut short: SIGBUS, with no guard here to absorb it. */
void fault_truncated_mapping(const char *path) {
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || ftruncate(fd, 65536) != 0) exit(4);
  volatile unsigned char *bytes = mmap(NULL, 65536, PROT_READ, MAP_SHARED, fd, 0);
  if (bytes == MAP_FAILED || ftruncate(fd, 0) != 0) exit(4);
  printf("%d\n", bytes[4096]);
}

int main(int argc, char **argv) {
  if (argc < 2 || fatal_report_install(2) != 0) return 3;
  const char *which = argv[1];
  if (strcmp(which, "null") == 0) fault_null_write();
  if (strcmp(which, "wild") == 0) fault_wild_call();
  if (strcmp(which, "thread") == 0) {
    pthread_t thread;
    pthread_create(&thread, NULL, fault_on_a_named_thread, NULL);
    pthread_join(thread, NULL);
  }
  if (strcmp(which, "deep") == 0) DEEP(60);
  if (strcmp(which, "bus") == 0 && argc > 2) fault_truncated_mapping(argv[2]);
  if (strcmp(which, "abort") == 0) abort();
  return 5; /* no case faulted */
}
