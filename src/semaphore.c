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
 * Cancellation: an acquire with a context waits on a channel of its own
 * (the waker sends on it instead of readying) and on the context's done
 * channel.  If done wins, it takes itself off the queue under the lock;
 * if it was the first, the ones behind it may fit now and are let in, as
 * x/sync does.
 */
#include "chan.h" /* goc__block_forever */
#include "context.h" /* goc__ctx_err */
#include "race.h"
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
    GOC_ASSERT_HELD(&s->sema);
    return s->size - s->cur >= n && goc__semq_first(&s->sema) == NULL;
}

/* Let in the waiters at the front that fit now.  Requires: the lock. */
static void let_in(goc_sem *s, goc__wakelist *wl)
{
    GOC_ASSERT_HELD(&s->sema);
    goc__semw *w;
    while ((w = goc__semq_first(&s->sema)) != NULL &&
           s->size - s->cur >= w->n) {
        s->cur += w->n;
        goc__semq_take(&s->sema, w, wl);
    }
}

/* Wait for n units or for ctx, whichever comes first (x/sync's select on
 * ready and ctx.Done()).  The waiter is woken by a send on a channel of
 * its own, so that it can select on that and on done.  If ctx wins but
 * the units were granted meanwhile, keep them and succeed, as x/sync
 * does.  Requires: the lock, which it releases.  May park: yes. */
static int acquire_ctx(goc_sem *s, int64_t n, goc_ctx *ctx, goc_chan *done)
{
    GOC_ASSERT_HELD(&s->sema);
    goc_chan *sig = goc_chan_make(0, 1);
    if (sig == NULL) {
        goc__semq_unlock(&s->sema);
        return GOC_ENOMEM;
    }
    goc__semw w;
    goc__semw_init(&w, n);
    w.signal = sig;
    w.sleeping = true; /* whoever takes it off must send */
    goc__semq_push(&s->sema, &w, false);
    goc__semq_unlock(&s->sema);
    goc_case cs[2] = {GOC_RECV_CASE(sig, NULL), GOC_RECV_CASE(done, NULL)};
    int rc = 0;
    if (goc_select(cs, 2) == 1) {
        goc__wakelist wl;
        goc__wakelist_init(&wl);
        goc__semq_lock(&s->sema);
        if (w.queued) {
            bool front = goc__semq_first(&s->sema) == &w;
            w.sleeping = false; /* taken off by us: nobody sends */
            goc__semq_take(&s->sema, &w, &wl);
            if (front) /* the ones behind may fit now */
                let_in(s, &wl);
            rc = goc__ctx_err(ctx); /* under the lock: no yield */
        }
        goc__semq_unlock(&s->sema);
        goc__wake_all(&wl);
        if (rc == 0)
            /* Granted: its send is on the way, and sig is never closed. */
            (void)!goc_chan_recv(sig, NULL);
    }
    goc_chan_release(sig); /* the sender is done with it (see above) */
    return rc;
}

/* Always inlined into goc_sem_acquire: a frame of its own would show in
 * goroutine dumps. */
static inline __attribute__((always_inline)) int
sem_acquire(goc_sem *s, int64_t n, goc_ctx *ctx)
{
    if (n < 0)
        return GOC_EINVAL;
    goc__sync_enter_block();
    goc_chan *done = goc_ctx_done(ctx); /* NULL: nothing can cancel ctx */
    goc__semq_lock(&s->sema);
    int err = goc__ctx_err(ctx); /* under the lock: no yield */
    if (err != 0) {
        /* Done before the call, or while it waited for the lock: fail
         * even if the units are there (x/sync). */
        goc__semq_unlock(&s->sema);
        return err;
    }
    if (fits(s, n)) {
        s->cur += n;
        goc__semq_unlock(&s->sema);
        return 0;
    }
    if (n > s->size) {
        /* Never satisfiable; queueing it would block everyone behind it.
         * x/sync waits for ctx to be done: with no ctx, for ever. */
        goc__semq_unlock(&s->sema);
        if (done == NULL)
            goc__block_forever("semacquire");
        (void)!goc_chan_recv(done, NULL); /* GOC_ECLOSED: ctx is done */
        return goc_ctx_err(ctx);
    }
    if (done != NULL)
        return acquire_ctx(s, n, ctx, done);
    goc__semw w;
    goc__semw_init(&w, n);
    goc__semq_push(&s->sema, &w, false);
    goc__g_waiting_on(goc__getg(), s);
    goc__semq_sleep(&s->sema, &w, "semacquire");
    return w.result; /* the releaser added n to cur for us */
}

int goc_sem_acquire(goc_sem *s, int64_t n, goc_ctx *ctx)
{
    int rc = sem_acquire(s, n, ctx);
    if (rc == 0)
        goc__race_acquire(s); /* every earlier release -> this acquire */
    return rc;
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
    if (ok)
        goc__race_acquire(s);
    return ok;
}

void goc_sem_release(goc_sem *s, int64_t n)
{
    goc__sync_enter();
    goc__race_release(s);
    goc__wakelist wl;
    goc__wakelist_init(&wl);
    goc__semq_lock(&s->sema);
    if (n < 0 || n > s->cur) {
        goc__semq_unlock(&s->sema);
        goc__fatal("semaphore: released more than held");
    }
    s->cur -= n;
    let_in(s, &wl);
    goc__semq_unlock(&s->sema);
    goc__wake_all(&wl);
}
