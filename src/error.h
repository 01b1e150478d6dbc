/* SPDX-License-Identifier: MIT */
/*
 * error.h - the failure services (error.c): raw output to a descriptor,
 * Go's throw (goc__fatal), fatal signals and failed assertions.
 *
 * These sit on the ground floor: every file may call them, and they call
 * nothing above the OS.  A fatal error's goroutine dump (Go's throw ->
 * traceback) is the one way up: debug.c installs it as a hook when the
 * library is loaded, so error.c never names debug.c.
 */
#ifndef GOC_ERROR_H
#define GOC_ERROR_H

#include <stddef.h>

/* Write n bytes to fd with write(2), retrying short writes; gives up
 * silently on an error (there is nowhere left to report it).  No locks,
 * no allocation: usable in a signal handler. */
void goc__write_all(int fd, const char *s, size_t n);

/* Write the formatted text to fd with write(2): no locks, no allocation,
 * usable in a signal handler.  Output longer than 1023 bytes is cut. */
__attribute__((format(printf, 2, 3))) void goc__printf(int fd,
                                                       const char *fmt, ...);

/* "fatal error: <message>", a goroutine dump, exit 2 (GOC_TRACEBACK). */
__attribute__((noreturn, format(printf, 1, 2))) void
goc__fatal(const char *fmt, ...);

/* A fatal signal: the message as is (no "fatal error: "), dump, exit 2. */
__attribute__((noreturn, format(printf, 1, 2))) void
goc__fatal_signal(const char *fmt, ...);

/* The dump a fatal error prints after its first line: every goroutine to
 * fd, the calling one first.  Must be async-signal-tolerant (it runs in
 * fatal signal handlers).  Installed once, at load time, by debug.c. */
typedef void goc__fatal_dump_fn(int fd);
void goc__fatal_set_dump(goc__fatal_dump_fn *fn);
/* A last line for every fatal error, after the dump (NULL: none): a
 * synctest bubble's seed (synctest.c). */
void goc__fatal_set_note(goc__fatal_dump_fn *fn);

#endif /* GOC_ERROR_H */
