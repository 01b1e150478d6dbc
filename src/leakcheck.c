/* SPDX-License-Identifier: MIT */
/*
 * leakcheck.c - goc_leakcheck, Go's goleak.VerifyNone for tests: the
 * goroutines still alive, besides the caller and those it ignores, are
 * leaks, reported with their dumps.
 *
 * It works on the dump's text (debug.c, through goc_stack), one block per
 * goroutine, so that what it reports is exactly what a dump shows and the
 * scan protocol stays debug.c's alone.  Goroutines on their way out get
 * time to finish: the check is repeated, with a growing pause, until no
 * leak is left or the wait is over (goleak retries the same way), so a
 * test that closed its channels need not wait for its goroutines itself.
 *
 * goc__leak_report (GOCDEBUG=leakreport=1, when main returns) prints the
 * goroutines that the dump marks "(leaked)": they wait on a channel whose
 * every reference is held by its waiters (chan.c, goc__chan_abandoned),
 * so no goroutine or thread can ever reach it again.  Go could find such
 * goroutines only with its garbage collector; goc knows it from the
 * reference count, for the waiters that own their reference
 * (goc_chan_send_release).  A waiter that borrows its reference from
 * another holder cannot be told apart from one whose holder is still
 * alive: it is never marked (docs/design/leaks.md).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "goc.h"
#include "internal.h"

#define LEAK_WAIT_NS ((int64_t)1000 * 1000 * 1000) /* goleak's is ~1 s */
#define PAUSE_MIN_NS ((int64_t)10 * 1000)
#define PAUSE_MAX_NS ((int64_t)100 * 1000 * 1000)

/* The whole dump in a buffer of its own (caller frees).
 * Returns: it, NUL-terminated, or NULL when out of memory. */
static char *leak_dump_text(void)
{
    size_t len;
    bool cut;
    return goc__dump_text(SIZE_MAX / 2, &len, &cut);
}

/* Does the block [b, e) have a frame of function name ("name(" at the
 * start of a line)? */
static bool block_has_frame(const char *b, const char *e, const char *name)
{
    size_t n = strlen(name);
    for (const char *l = b; l < e;) {
        const char *nl = memchr(l, '\n', (size_t)(e - l));
        const char *end = nl != NULL ? nl : e;
        if ((size_t)(end - l) > n && strncmp(l, name, n) == 0 && l[n] == '(')
            return true;
        l = end + 1;
    }
    return false;
}

/* Is the goroutine of block [b, e) one the check leaves alone: the
 * caller, or one that o ignores? */
static bool block_ignored(const char *b, const char *e, int64_t self,
                          const goc_leak_opts *o)
{
    long long id = strtoll(b + strlen("goroutine "), NULL, 10);
    if (id == self)
        return true;
    for (size_t i = 0; o != NULL && i < o->nignore_ids; i++)
        if (o->ignore_ids[i] == id)
            return true;
    for (size_t i = 0; o != NULL && o->ignore_funcs != NULL &&
                       o->ignore_funcs[i] != NULL;
         i++)
        if (block_has_frame(b, e, o->ignore_funcs[i]))
            return true;
    return false;
}

/* Does block [b, e) wait on an abandoned channel ("(leaked)]" in its
 * header line)? */
static bool block_abandoned(const char *b, const char *e)
{
    const char *nl = memchr(b, '\n', (size_t)(e - b));
    const char *m = strstr(b, " (leaked)]");
    return m != NULL && nl != NULL && m < nl;
}

/* Walk dump's goroutine blocks; with fd >= 0 write each leaked one there:
 * with o, those neither the caller nor ignored; without, those waiting on
 * abandoned channels.
 * Returns: the number of leaked goroutines. */
static int leaks_in(const char *dump, int64_t self, const goc_leak_opts *o,
                    bool abandoned_only, int fd)
{
    int n = 0;
    const char *b = dump;
    while (b != NULL && strncmp(b, "goroutine ", 10) == 0) {
        const char *sep = strstr(b, "\n\ngoroutine ");
        const char *e = sep != NULL ? sep + 1 : b + strlen(b);
        if (abandoned_only ? block_abandoned(b, e)
                           : !block_ignored(b, e, self, o)) {
            n++;
            if (fd >= 0) {
                goc__write_all(fd, "\n", 1);
                goc__write_all(fd, b, (size_t)(e - b));
            }
        }
        b = sep != NULL ? sep + 2 : NULL;
    }
    return n;
}

int goc_leakcheck(const goc_leak_opts *o)
{
    goc__g *g = goc__getg();
    int64_t self = g != NULL ? g->goid : 0;
    int64_t wait = o != NULL && o->wait_ns > 0 ? o->wait_ns : LEAK_WAIT_NS;
    int fd = o != NULL && o->fd != 0 ? o->fd : 2;
    int64_t end = goc_now() + wait, pause = PAUSE_MIN_NS;
    for (;;) {
        char *dump = leak_dump_text();
        if (dump == NULL)
            return GOC_ENOMEM;
        int n = leaks_in(dump, self, o, false, -1);
        if (n == 0 || goc_now() >= end) {
            if (n > 0 && fd >= 0) {
                goc__printf(fd, "goc_leakcheck: %d goroutine%s leaked:\n", n,
                            n == 1 ? "" : "s");
                (void)leaks_in(dump, self, o, false, fd);
            }
            free(dump);
            return n;
        }
        free(dump);
        if (g != NULL)
            goc_sleep(pause);
        else
            usleep((useconds_t)(pause / 1000));
        pause = pause * 2 < PAUSE_MAX_NS ? pause * 2 : PAUSE_MAX_NS;
    }
}

int goc__leak_report(int fd)
{
    char *dump = leak_dump_text();
    if (dump == NULL)
        return 0;
    int n = leaks_in(dump, 0, NULL, true, -1);
    if (n > 0) {
        goc__printf(fd, "goc: %d goroutine%s leaked: waiting for ever on "
                        "channels nobody can reach any more\n",
                    n, n == 1 ? "" : "s");
        (void)leaks_in(dump, 0, NULL, true, fd);
    }
    free(dump);
    return n;
}

struct ids {
    int64_t *ids;
    size_t n, count;
};

static void add_id(goc__g *g, void *arg)
{
    struct ids *a = arg;
    /* acquire: pairs with the release stores of the status (goid is
     * written before the G becomes RUNNABLE). */
    uint32_t s = atomic_load_explicit(&g->status, memory_order_acquire);
    if ((s != GOC__GRUNNABLE && s != GOC__GRUNNING && s != GOC__GWAITING) ||
        g->system)
        return;
    if (a->count < a->n)
        a->ids[a->count] = g->goid;
    a->count++;
}

size_t goc_goroutine_ids(int64_t *ids, size_t n)
{
    struct ids a = {ids, ids != NULL ? n : 0, 0};
    goc__g_each(add_id, &a);
    return a.count;
}
