/* SPDX-License-Identifier: MIT */
/*
 * env.c - every environment variable goc reads, parsed in one place (Go's
 * GODEBUG), so no other file calls getenv and signal handlers read plain
 * fields.  The variables and their meaning are listed in README.md.
 *
 * Invariants: see env.h.  Validation per variable:
 *   GOMAXPROCS      an integer (strtoll base 0, whole string); callers use
 *                   it only when > 0 and cap it at GOC_MAXPROCS_MAX
 *   GOC_STACK_SIZE  an integer; the stack pool uses it only when
 *                   0 < n <= its maximum
 *   GOC_STACK_GUARD exactly "mprotect" selects the fallback guard
 *   GOC_TRACEBACK   exactly "none", "system" or "crash"; anything else:
 *                   all
 *   GOC_DEBUG_SIGNALS  set (to anything) or not
 *   GOCDEBUG        comma-separated name=value settings, as Go's GODEBUG;
 *                   known: asyncpreempt=1, leakreport=1,
 *                   compactstacks=1 (exactly "1" turns them on);
 *                   compactafter=MS (a decimal count of milliseconds,
 *                   0 to 86400000);
 *                   unknown names are ignored
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "env.h"

struct goc__env goc__env;

/* Returns: the integer in variable name, or 0 when unset, empty, out of
 * range or not wholly a number. */
static int64_t env_int(const char *name)
{
    const char *s = getenv(name);
    if (s == NULL || *s == '\0')
        return 0;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 0);
    if (errno != 0 || *end != '\0')
        return 0;
    return v;
}

static bool env_is(const char *name, const char *value)
{
    const char *s = getenv(name);
    return s != NULL && strcmp(s, value) == 0;
}

/* The next name=value of a GOCDEBUG list from *list on: its value, *len
 * its length, and *list moved past it; NULL when there is none. */
static const char *gocdebug_next(const char **list, const char *name,
                                 size_t *len)
{
    const char *s = *list;
    size_t nl = strlen(name);
    while (s != NULL && *s != '\0') {
        const char *end = strchr(s, ',');
        size_t n = end != NULL ? (size_t)(end - s) : strlen(s);
        *list = end != NULL ? end + 1 : NULL;
        if (n > nl && strncmp(s, name, nl) == 0 && s[nl] == '=') {
            *len = n - nl - 1;
            return s + nl + 1;
        }
        s = *list;
    }
    return NULL;
}

/* Returns: true if the GOCDEBUG list has name=value, exactly. */
static bool gocdebug_has(const char *name, const char *value)
{
    const char *list = getenv("GOCDEBUG"), *v;
    size_t len;
    while ((v = gocdebug_next(&list, name, &len)) != NULL)
        if (len == strlen(value) && strncmp(v, value, len) == 0)
            return true;
    return false;
}

/* Returns: the decimal value of name's first entry in the GOCDEBUG list
 * if it is one and within [0, max], else -1. */
static int64_t gocdebug_int(const char *name, int64_t max)
{
    const char *list = getenv("GOCDEBUG");
    size_t len;
    const char *v = gocdebug_next(&list, name, &len);
    if (v == NULL || len == 0)
        return -1;
    int64_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9' || n > max)
            return -1;
        n = n * 10 + (v[i] - '0');
    }
    return n <= max ? n : -1;
}

void goc__env_read(void)
{
    goc__env.gomaxprocs = env_int("GOMAXPROCS");
    goc__env.max_threads = env_int("GOC_MAXTHREADS");
    goc__env.stack_size = env_int("GOC_STACK_SIZE");
    goc__env.stack_guard_mprotect = env_is("GOC_STACK_GUARD", "mprotect");
    goc__env.traceback = env_is("GOC_TRACEBACK", "none")
                             ? GOC__TRACEBACK_NONE
                         : env_is("GOC_TRACEBACK", "crash")
                             ? GOC__TRACEBACK_CRASH
                         : env_is("GOC_TRACEBACK", "system")
                             ? GOC__TRACEBACK_SYSTEM
                             : GOC__TRACEBACK_ALL;
    goc__env.debug_signals = getenv("GOC_DEBUG_SIGNALS") != NULL;
    goc__env.async_preempt = gocdebug_has("asyncpreempt", "1");
    goc__env.leak_report = gocdebug_has("leakreport", "1");
    goc__env.compact_stacks = gocdebug_has("compactstacks", "1");
    goc__env.compact_after_ms = gocdebug_int("compactafter", 86400000);
    const char *seed = getenv("GOC_SEED");
    char *end = NULL;
    goc__env.seed = seed != NULL ? strtoull(seed, &end, 0) : 0;
    if (end != NULL && *end != '\0')
        goc__env.seed = 0;
}

/* At load time, so a fatal error before the first goc_run already honours
 * GOC_TRACEBACK. */
__attribute__((constructor)) static void env_init(void)
{
    goc__env_read();
}
