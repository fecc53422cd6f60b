/*
 * The fatal-signal report (fatal_report.c says what it writes and when): installed once per process by the
 * shared-memory addon's installFatalReport(fd).
 */
#ifndef FATAL_REPORT_H
#define FATAL_REPORT_H

/* Puts the handler in front of SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGABRT's (once) and writes to fd from now on
   (fd < 0 keeps the one before; 2 at first). 0, or -1 with errno set. */
int fatal_report_install(int fd);

/* 1 once installed. */
int fatal_report_installed(void);

#endif
