/* SPDX-License-Identifier: MIT */
/*
 * semaphore.c - goc_sem, a weighted semaphore with the design of Go's
 * golang.org/x/sync/semaphore: size units, cur of them held, and a FIFO
 * of waiters each wanting n.  A release lets waiters in from the front
 * while the front one fits, and stops at the first that does not, so a
 * large request is never overtaken by smaller ones behind it.  Design:
 * docs/design/sync.md.
 *
 * Invariants (under the queue lock):
 *   0 <= cur <= size;
 *   the queue is not empty => its first waiter does not fit
 *   (size - cur < first->n): whoever changes cur lets in whoever fits.
 * Locking: size, cur and the queue are under the queue lock (sema.h).
 *
 * Cancellation (the context issue): a waiter is a goc__semw that a third
 * party can take off the queue under the lock and wake with a result; if
 * it was the first, the ones behind it may fit now and must be let in, as
 * x/sync does.
 */
#include "chan.h" /* goc__block_forever */
#include "sema.h"

void goc_sem_init(goc_sem *s, int64_t size)
{
    s->size = size < 0 ? 0 : size;
    s->cur = 0;
    s->sema = (goc__sema){0, 0, NULL};
}

/* Requires: the queue lock.  May the caller take n units now? */
static bool fits(goc_sem *s, int64_t n)
{
    return s->size - s->cur >= n && goc__semq_first(&s->sema) == NULL;
}

int goc_sem_acquire(goc_sem *s, int64_t n, goc_ctx *ctx)
{
    if (n < 0 || ctx != NULL)
        return GOC_EINVAL;
    goc__sync_enter();
    goc__semq_lock(&s->sema);
    if (fits(s, n)) {
        s->cur += n;
        goc__semq_unlock(&s->sema);
        return 0;
    }
    if (n > s->size) {
        /* Never satisfiable; queueing it would block everyone behind it.
         * x/sync waits for ctx to be done: with no ctx, for ever. */
        goc__semq_unlock(&s->sema);
        goc__block_forever("semacquire");
    }
    goc__semw w;
    goc__semw_init(&w, n);
    goc__semq_push(&s->sema, &w, false);
    goc__semq_sleep(&s->sema, &w, "semacquire");
    return w.result; /* the releaser added n to cur for us */
}

bool goc_sem_try_acquire(goc_sem *s, int64_t n)
{
    if (n < 0)
        return false;
    goc__sync_enter();
    goc__semq_lock(&s->sema);
    bool ok = fits(s, n);
    if (ok)
        s->cur += n;
    goc__semq_unlock(&s->sema);
    return ok;
}

void goc_sem_release(goc_sem *s, int64_t n)
{
    goc__sync_enter();
    goc__wakelist wl;
    goc__wakelist_init(&wl);
    goc__semq_lock(&s->sema);
    if (n < 0 || n > s->cur) {
        goc__semq_unlock(&s->sema);
        goc__fatal("semaphore: released more than held");
    }
    s->cur -= n;
    goc__semw *w;
    while ((w = goc__semq_first(&s->sema)) != NULL &&
           s->size - s->cur >= w->n) {
        s->cur += w->n;
        goc__semq_take(&s->sema, w, &wl);
    }
    goc__semq_unlock(&s->sema);
    goc__wake_all(&wl);
}
