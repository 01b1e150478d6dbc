/* SPDX-License-Identifier: MIT */
/*
 * group.c - goc_group, Go's golang.org/x/sync/errgroup: run functions in
 * goroutines, wait for them all, keep the first error, and cancel the
 * group's context on it; an optional limit on how many run at once.
 * Built on goc_wg, goc_sem and contexts.  Design: docs/design/timers.md,
 * "Contexts".
 *
 * Invariants: err is 0 until the first function returns non-zero, then
 * that value for ever (one CAS); wg counts the functions started and not
 * yet returned; with a limit, sem holds one unit per such function.
 */
#include <stdlib.h>

#include "internal.h"

struct goc_group {
    goc_wg wg;
    goc_sem sem;     /* limit > 0 only */
    int limit;
    goc_ctx *ctx;    /* canceled on the first error, and by wait */
    _Atomic int err; /* the first error */
};

struct task {
    goc_group *g;
    int (*fn)(goc_ctx *ctx, void *arg);
    void *arg;
};

goc_group *goc_group_new(goc_ctx *parent, int limit)
{
    goc_group *g = calloc(1, sizeof *g);
    if (g == NULL)
        return NULL;
    g->ctx = goc_ctx_with_cancel(parent);
    if (g->ctx == NULL) {
        free(g);
        return NULL;
    }
    g->limit = limit > 0 ? limit : 0;
    if (g->limit > 0)
        goc_sem_init(&g->sem, g->limit);
    return g;
}

goc_ctx *goc_group_ctx(goc_group *g)
{
    return g->ctx;
}

static void task_main(void *arg)
{
    struct task t = *(struct task *)arg;
    free(arg);
    goc_group *g = t.g;
    int rc = t.fn(g->ctx, t.arg);
    int zero = 0;
    /* relaxed: wait reads err after goc_wg_wait, which orders it. */
    if (rc != 0 && atomic_compare_exchange_strong_explicit(
                       &g->err, &zero, rc, memory_order_relaxed,
                       memory_order_relaxed))
        goc_ctx_cancel(g->ctx);
    if (g->limit > 0)
        goc_sem_release(&g->sem, 1);
    goc_wg_done(&g->wg);
}

int goc_group_go(goc_group *g, int (*fn)(goc_ctx *ctx, void *arg), void *arg)
{
    if (g == NULL || fn == NULL)
        return GOC_EINVAL;
    struct task *t = malloc(sizeof *t);
    if (t == NULL)
        return GOC_ENOMEM;
    *t = (struct task){g, fn, arg};
    if (g->limit > 0)
        /* Blocks at the limit; with no ctx and n = 1 it cannot fail. */
        (void)!goc_sem_acquire(&g->sem, 1, NULL);
    goc_wg_add(&g->wg, 1);
    int rc = goc_go(task_main, t);
    if (rc != 0) {
        goc_wg_done(&g->wg);
        if (g->limit > 0)
            goc_sem_release(&g->sem, 1);
        free(t);
    }
    return rc;
}

int goc_group_wait(goc_group *g)
{
    goc_wg_wait(&g->wg);
    goc_ctx_cancel(g->ctx); /* as errgroup: Wait cancels the context */
    return atomic_load_explicit(&g->err, memory_order_relaxed);
}

void goc_group_free(goc_group *g)
{
    if (g == NULL)
        return;
    goc_ctx_release(g->ctx);
    free(g);
}
