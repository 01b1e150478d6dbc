/* SPDX-License-Identifier: MIT */
/*
 * context.h - the runtime's own way to hear of a context's cancellation:
 * a watch, called synchronously by the cancel (context.c), where
 * goc_ctx_after_func would start a goroutine.  The netpoller (netpoll.c)
 * uses it to wake a goroutine parked on a descriptor when its ctx is
 * canceled or its deadline passes, without a goroutine or an allocation
 * per wait.
 */
#ifndef GOC_CONTEXT_H
#define GOC_CONTEXT_H

#include <stdbool.h>

#include "goc.h"

typedef struct goc__ctxwatch goc__ctxwatch;

/* Called by the cancel of the watched context with its error
 * (GOC_ECANCELED or GOC_ETIMEDOUT), under the context's mu (rank CTX):
 * it may take locks ranked after CTX (a poll descriptor's, sched's) and
 * ready goroutines; never park. */
typedef void (*goc__ctx_watchf)(goc__ctxwatch *w, int err);

/* Lives in the watcher's own memory (a parked goroutine's frame) from
 * goc__ctx_watch to goc__ctx_unwatch.  Fields: context.c's. */
struct goc__ctxwatch {
    goc__ctx_watchf fn;
    goc_ctx *anchor;               /* where it is listed, or NULL */
    goc__ctxwatch *next, *prev;   /* anchor's mu */
    bool listed;                   /* anchor's mu */
};

/* Watch c (NULL or never canceled: nothing to do): fn(w, err) runs once,
 * when c is canceled.
 * Returns: 0, or c's error if it is done already (then fn never runs). */
int goc__ctx_watch(goc_ctx *c, goc__ctxwatch *w, goc__ctx_watchf fn);
/* Stop watching.  On return fn is not running and never will: the
 * watcher may free w. */
void goc__ctx_unwatch(goc__ctxwatch *w);

/* goc_ctx_err without its preemption check, which may yield: for the
 * runtime's callers that hold a lock (a sema queue's, semaphore.c). */
int goc__ctx_err(goc_ctx *c);

#endif /* GOC_CONTEXT_H */
