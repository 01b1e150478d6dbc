/* SPDX-License-Identifier: MIT */
/*
 * cond.c - goc_cond, Go's sync.Cond: a FIFO of waiters (sema.h) that
 * signal wakes from the front and broadcast empties.  Design:
 * docs/design/sync.md.
 *
 * A wait has two steps, as Go's notifyList: queue (so a signal after the
 * unlock of m cannot be missed), unlock m, then sleep unless a signal has
 * already taken the waiter off the queue.  The queue's order is the order
 * of the waits, so the i-th signal wakes the i-th waiter, and a broadcast
 * wakes exactly the waiters queued before it.
 *
 * Invariants: the queue holds the waiters not yet signaled, oldest first.
 * Locking: the queue lock (a leaf) is never held across m's calls.
 */
#include "race.h"
#include "sema.h"

void goc_cond_wait(goc_cond *c, goc_mutex *m)
{
    goc__sync_enter_block();
    goc__semw w;
    goc__semw_init(&w, 0);
    goc__semq_lock(&c->sema);
    goc__semq_push(&c->sema, &w, false);
    goc__semq_unlock(&c->sema);
    goc_mutex_unlock(m);
    goc__g_waiting_on(goc__getg(), c);
    goc__semq_lock(&c->sema);
    goc__semq_sleep(&c->sema, &w, "sync.Cond.Wait");
    goc__race_acquire(c); /* signal -> the wait it wakes */
    goc_mutex_lock(m);
}

/* Take the first waiter off (all of them with all) and wake them. */
static void wake(goc_cond *c, bool all)
{
    goc__sync_enter();
    goc__race_release(c);
    goc__wakelist wl;
    goc__wakelist_init(&wl);
    goc__semq_lock(&c->sema);
    goc__semw *w;
    while ((w = goc__semq_first(&c->sema)) != NULL) {
        goc__semq_take(&c->sema, w, &wl);
        if (!all)
            break;
    }
    goc__semq_unlock(&c->sema);
    goc__wake_all(&wl);
}

void goc_cond_signal(goc_cond *c)
{
    wake(c, false);
}

void goc_cond_broadcast(goc_cond *c)
{
    wake(c, true);
}
