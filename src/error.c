/* SPDX-License-Identifier: MIT */
/*
 * error.c - error codes and the failure services: goc_strerror,
 * goc_err_name, the version calls, and what the runtime does when it must
 * stop (Go's throw): goc__printf, goc__fatal, goc__fatal_signal and
 * goc__assert_fail (check.h).
 *
 * A fatal error prints its line, then the goroutine dump that debug.c
 * installed (goc__fatal_set_dump), then exits 2.  This file calls nothing
 * of the runtime above it: the dump is reached only through that hook, set
 * at load time, so it is there for a fatal error before any run, during a
 * run and in a fatal signal handler.  GOC_TRACEBACK (env.c) picks none /
 * all / crash; it is read from the parsed environment, never with getenv,
 * because a fatal error may come from a signal handler.
 *
 * Invariants: at most one thread prints a fatal error (dying goes 0 -> 1
 * once); the others that fail meanwhile wait for the process to exit.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "env.h"
#include "error.h"
#include "goc.h"

#define GOC__STR(x) #x
#define GOC__XSTR(x) GOC__STR(x)

static const struct {
    int code;
    const char *name;
    const char *text;
} codes[] = {
    {0, "GOC_OK", "success"},
    {GOC_EPERM, "GOC_EPERM", "operation not permitted here"},
    {GOC_EINVAL, "GOC_EINVAL", "invalid argument"},
    {GOC_ENOMEM, "GOC_ENOMEM", "out of memory"},
    {GOC_EAGAIN, "GOC_EAGAIN", "operation would block"},
    {GOC_EBUSY, "GOC_EBUSY", "busy: already started"},
    {GOC_ETIMEDOUT, "GOC_ETIMEDOUT", "deadline exceeded"},
    {GOC_ECANCELED, "GOC_ECANCELED", "context canceled"},
    {GOC_ECLOSED, "GOC_ECLOSED", "use of closed channel or descriptor"},
    {GOC_EOF, "GOC_EOF", "end of file"},
    {GOC_E2BIG, "GOC_E2BIG", "message too large"},
    {GOC_EPROTO, "GOC_EPROTO", "protocol error"},
    {GOC_EDEADLK, "GOC_EDEADLK", "deadlock: every goroutine is blocked"},
};

const char *goc_strerror(int code)
{
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (codes[i].code == code)
            return codes[i].text;
    if (code < 0 && code > -4096)
        return strerror(-code); /* a kernel error passed through */
    return "unknown error";
}

const char *goc_err_name(int code)
{
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (codes[i].code == code)
            return codes[i].name;
    /* A kernel failure passed through (-ECONNREFUSED, ...): its errno
     * name, as the network calls return many that goc has no name for. */
    const char *name = code < 0 && code > -4096 ? strerrorname_np(-code)
                                                : NULL;
    return name != NULL ? name : "GOC_E?";
}

unsigned goc_version(void)
{
    return GOC_VERSION_HEX;
}

const char *goc_version_string(void)
{
    return GOC__XSTR(GOC_VERSION_MAJOR) "." GOC__XSTR(
        GOC_VERSION_MINOR) "." GOC__XSTR(GOC_VERSION_PATCH);
}

/* ---- failure services ---- */

/* Best effort: stops at the first error, but not at EINTR (a fatal error
 * must not lose its message to a handler that lacks SA_RESTART while
 * stderr is a full pipe).  errno is saved: this runs in signal handlers.
 * Out of line, so that no caller that parks shares its errno address
 * (os.h). */
__attribute__((noinline)) void goc__write_all(int fd, const char *s,
                                              size_t n)
{
    int saved = errno;
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        s += w;
        n -= (size_t)w;
    }
    errno = saved;
}

void goc__printf(int fd, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n <= 0)
        return;
    goc__write_all(fd, tmp, (size_t)n < sizeof tmp ? (size_t)n
                                                   : sizeof tmp - 1);
}

static _Atomic(goc__fatal_dump_fn *) dump_hook;
static _Atomic(goc__fatal_dump_fn *) note_hook;
static _Atomic int dying;

void goc__fatal_set_dump(goc__fatal_dump_fn *fn)
{
    atomic_store_explicit(&dump_hook, fn, memory_order_release);
}

void goc__fatal_set_note(goc__fatal_dump_fn *fn)
{
    atomic_store_explicit(&note_hook, fn, memory_order_release);
}

/* Runtime text, so that dumps leave it out (debug.c hides goc's frames at
 * the top of the failing goroutine's stack). */
GOC__RUNTIME_TEXT
static __attribute__((noreturn)) void vdie(const char *prefix,
                                           const char *fmt, va_list ap)
{
    int expect = 0;
    if (!atomic_compare_exchange_strong(&dying, &expect, 1)) {
        for (;;) /* another thread is already printing its fatal error */
            pause();
    }
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    goc__printf(2, "%s%s\n", prefix, msg);
    int tb = goc__env.traceback;
    /* acquire: pairs with the release store in goc__fatal_set_dump. */
    goc__fatal_dump_fn *dump =
        atomic_load_explicit(&dump_hook, memory_order_acquire);
    if (tb != GOC__TRACEBACK_NONE && dump != NULL) {
        goc__printf(2, "\n");
        dump(2);
    }
    goc__fatal_dump_fn *note =
        atomic_load_explicit(&note_hook, memory_order_acquire);
    if (note != NULL)
        note(2);
    if (tb == GOC__TRACEBACK_CRASH) {
        signal(SIGABRT, SIG_DFL);
        abort();
    }
    _exit(2);
}

GOC__RUNTIME_TEXT
void goc__fatal(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vdie("fatal error: ", fmt, ap);
}

GOC__RUNTIME_TEXT
void goc__fatal_signal(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vdie("", fmt, ap);
}

GOC__RUNTIME_TEXT
void goc__assert_fail(const char *expr, const char *file, int line,
                      const char *func)
{
    goc__fatal("assertion failed: %s (%s:%d, %s)", expr, file, line, func);
}
