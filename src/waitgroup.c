/* SPDX-License-Identifier: MIT */
/*
 * waitgroup.c - goc_wg, Go's sync.WaitGroup (sync/waitgroup.go) in our
 * words, and goc_wg_go.  Design: docs/design/sync.md.
 *
 * One 64-bit state word: the counter in the high half, the number of
 * waiters in the low half, so that "counter is zero" and "one more
 * waiter" are decided by one atomic operation each.  Waiters sleep on the
 * wait group's semaphore.  The Add that takes the counter to zero with w
 * waiters resets the word to 0 and gives the semaphore w wake-ups.
 *
 * Invariants:
 *   waiters > 0 => counter > 0, except between the Add that reached zero
 *   and its reset (no other Add or Wait may change the word then: an Add
 *   at zero racing a Wait is Go's misuse, reported);
 *   a waiter counted in the word gets exactly one of the wake-ups.
 * Locking: the state word is atomic; the semaphore has its own lock.  The
 * Add that wakes the waiters touches the wait group for the last time
 * when it releases the semaphore's lock, before any of them can return,
 * so the goroutine whose goc_wg_wait returns may free it.
 */
#include <stdlib.h>

#include "race.h"
#include "sema.h"

static uint64_t wg_load(goc_wg *wg)
{
    /* acquire: pairs with the acq_rel add that took the counter to zero,
     * so a Wait that returns at once sees what every Done published. */
    return __atomic_load_n(&wg->state, __ATOMIC_ACQUIRE);
}

static void misuse(void)
{
    goc__fatal("sync: WaitGroup misuse: Add called concurrently with Wait");
}

/* The rest of an Add of delta that left the word at s. */
static void after_add(goc_wg *wg, int64_t delta, uint64_t s)
{
    int32_t v = (int32_t)(s >> 32);
    uint32_t w = (uint32_t)s;
    if (v < 0)
        goc__fatal("sync: negative WaitGroup counter");
    if (w != 0 && delta > 0 && v == (int32_t)delta)
        misuse(); /* the first Add of a round, while waiters remain */
    if (v > 0 || w == 0)
        return;
    /* We took the counter to zero with w waiters: nobody may change the
     * word now.  Reset it and wake them. */
    if (!__atomic_compare_exchange_n(&wg->state, &s, 0, false,
                                     __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        misuse();
    goc__semrelease(&wg->sema, w);
}

void goc_wg_add(goc_wg *wg, int64_t delta)
{
    goc__sync_enter();
    if (delta > INT32_MAX || delta < -(int64_t)INT32_MAX)
        goc__fatal("sync: WaitGroup delta out of range");
    if (delta < 0)
        goc__race_release(wg); /* done -> wait returns */
    /* acq_rel: each Done publishes its goroutine's work (release), and the
     * one that reaches zero sees all the others' (acquire) before it
     * wakes the waiters. */
    uint64_t s =
        __atomic_add_fetch(&wg->state, (uint64_t)delta << 32, __ATOMIC_ACQ_REL);
    after_add(wg, delta, s);
}

void goc_wg_done(goc_wg *wg)
{
    goc__sync_enter();
    /* As goc_wg_add(wg, -1); a Done that leaves the counter above zero
     * has nothing else to do. */
    goc__race_release(wg);
    uint64_t s =
        __atomic_sub_fetch(&wg->state, (uint64_t)1 << 32, __ATOMIC_ACQ_REL);
    if (goc__likely((int32_t)(s >> 32) > 0))
        return;
    after_add(wg, -1, s);
}

void goc_wg_wait(goc_wg *wg)
{
    goc__sync_enter_block();
    uint64_t s = wg_load(wg);
    for (;;) {
        if ((s >> 32) == 0) {
            goc__race_acquire(wg);
            return;
        }
        /* Success only counts us (the wake-up orders, through the
         * semaphore's lock); a failure reloads s, acquire as in wg_load(). */
        if (__atomic_compare_exchange_n(&wg->state, &s, s + 1, false,
                                        __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE))
            break;
    }
    goc__g_waiting_on(goc__getg(), wg);
    goc__semacquire(&wg->sema, false, "sync.WaitGroup.Wait");
    /* The Add that woke us reset the word; a new round may start only
     * after every waiter of this one has returned. */
    if (wg_load(wg) != 0)
        goc__fatal("sync: WaitGroup is reused before previous Wait has "
                   "returned");
    goc__race_acquire(wg);
}

/* ---- goc_wg_go ---- */

struct wg_go_call {
    goc_wg *wg;
    void (*fn)(void *);
    void *arg;
};

/* The goroutine goc_wg_go starts: fn, then Done. */
static void wg_go_main(void *p)
{
    struct wg_go_call c = *(struct wg_go_call *)p;
    free(p);
    c.fn(c.arg);
    goc_wg_done(c.wg);
}

int goc_wg_go(goc_wg *wg, void (*fn)(void *), void *arg)
{
    if (fn == NULL)
        return GOC_EINVAL;
    struct wg_go_call *c = malloc(sizeof *c);
    if (c == NULL)
        return GOC_ENOMEM;
    *c = (struct wg_go_call){wg, fn, arg};
    /* Add before the spawn: the goroutine may be done before goc_go
     * returns. */
    goc_wg_add(wg, 1);
    int rc = goc_go(wg_go_main, c);
    if (rc != 0) {
        free(c);
        goc_wg_add(wg, -1); /* as if never called */
    }
    return rc;
}
