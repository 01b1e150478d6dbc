/* SPDX-License-Identifier: MIT */
/*
 * must.h - how the examples treat a goc result they do not expect.  goc
 * reports a failure through the result of the call (goc.h marks such
 * calls GOC_NODISCARD, so the compiler warns when one is dropped): a send
 * on a closed channel returns GOC_ECLOSED where Go would panic, a spawn
 * without memory returns GOC_ENOMEM.  Where such a failure can only mean
 * a bug in the program, the examples stop it with the call and the error,
 * as Go's panic would, rather than go on with a lost value.  Results the
 * program expects (a receive that sees GOC_ECLOSED ends a loop over a
 * channel) are handled where they happen.
 */
#ifndef GOC_EXAMPLES_MUST_H
#define GOC_EXAMPLES_MUST_H

#include <stdio.h>
#include <stdlib.h>

#include <goc.h>

/* MUST_BE(call, want): call returns want, or the program stops (status 2,
 * as a Go panic).  MUST(call): call returns 0.  MUST_OK(call): call
 * returns a descriptor, a count or 0 (anything but a negative error), and
 * the macro's value is that result: int fd = MUST_OK(goc_tcp_listen(...)). */
#define MUST_BE(call, want) must_be((call), (want), #call, __FILE__, __LINE__)
#define MUST(call) MUST_BE(call, 0)
#define MUST_OK(call) must_ok((call), #call, __FILE__, __LINE__)

static inline void must_be(int rc, int want, const char *call,
                           const char *file, int line)
{
    if (rc == want)
        return;
    fprintf(stderr, "%s:%d: %s: %s, want %s\n", file, line, call,
            goc_err_name(rc), goc_err_name(want));
    exit(2);
}

static inline int must_ok(long rc, const char *call, const char *file,
                          int line)
{
    if (rc >= 0)
        return (int)rc;
    fprintf(stderr, "%s:%d: %s: %s (%s), want a result >= 0\n", file, line,
            call, goc_err_name((int)rc), goc_strerror((int)rc));
    exit(2);
}

#endif /* GOC_EXAMPLES_MUST_H */
