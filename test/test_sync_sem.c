/* SPDX-License-Identifier: MIT */
/* test_sync_sem.c - goc_sem: acquire/release/try, errors, strict FIFO
 * order so a large request is not starved by small ones, and the size
 * bound under contention from goroutines and plain threads. */
#include "test_sync.h"

/* ---- basics and errors ---- */

static void basic_main(void *arg)
{
    (void)arg;
    goc_sem zero = GOC_SEM_INIT; /* size 0 */
    ASSERT(goc_sem_try_acquire(&zero, 0));
    ASSERT(!goc_sem_try_acquire(&zero, 1));
    ASSERT_OK(goc_sem_acquire(&zero, 0, NULL));

    goc_sem s;
    goc_sem_init(&s, 10);
    ASSERT_OK(goc_sem_acquire(&s, 3, NULL));
    ASSERT_OK(goc_sem_acquire(&s, 7, NULL));
    ASSERT(!goc_sem_try_acquire(&s, 1));
    goc_sem_release(&s, 5);
    ASSERT(!goc_sem_try_acquire(&s, 6));
    ASSERT(goc_sem_try_acquire(&s, 5));
    goc_sem_release(&s, 10);
    ASSERT(goc_sem_try_acquire(&s, 10));
    goc_sem_release(&s, 10);

    ASSERT_ERR(goc_sem_acquire(&s, -1, NULL), GOC_EINVAL);
    ASSERT(!goc_sem_try_acquire(&s, -1));
    goc_sem_release(&s, 0);
}
TEST(sync_sem_basic)
{
    run_main(basic_main, NULL);
}

/* ---- FIFO: small requests queued behind a large one wait for it ---- */

static goc_sem fs;
static _Atomic int order_next, large_order;

static void want(void *arg)
{
    int n = (int)(intptr_t)arg;
    ASSERT_OK(goc_sem_acquire(&fs, n, NULL));
    int k = atomic_fetch_add(&order_next, 1);
    if (n == 10)
        atomic_store(&large_order, k);
    goc_sem_release(&fs, n);
}
/* Is someone queued?  try_acquire(0) fails exactly when the queue is not
 * empty. */
static bool queue_busy(void)
{
    return !goc_sem_try_acquire(&fs, 0);
}
static void fifo_main(void *arg)
{
    (void)arg;
    goc_sem_init(&fs, 10);
    ASSERT_OK(goc_sem_acquire(&fs, 10, NULL));
    goc_wg wg = {0};
    ASSERT_OK(goc_wg_go(&wg, want, (void *)10));
    while (!queue_busy())
        goc_yield();
    for (int i = 0; i < 8; i++)
        ASSERT_OK(goc_wg_go(&wg, want, (void *)1));
    for (int i = 0; i < 20; i++)
        goc_yield();
    /* Nine units free would let every small one in; none may pass the
     * large one at the front. */
    goc_sem_release(&fs, 9);
    for (int i = 0; i < 20; i++)
        goc_yield();
    ASSERT_EQ(atomic_load(&order_next), 0);
    ASSERT(!goc_sem_try_acquire(&fs, 1)); /* not even a try */
    goc_sem_release(&fs, 1);
    goc_wg_wait(&wg);
    ASSERT_EQ(atomic_load(&large_order), 0);
    ASSERT_EQ(atomic_load(&order_next), 9);
    ASSERT(goc_sem_try_acquire(&fs, 10)); /* all returned */
}
TEST(sync_sem_large_not_starved)
{
    run_main(fifo_main, NULL);
}

/* ---- the order of service is the order of arrival ---- */

static int served[6];
static _Atomic int nserved;
/* Sizes 3, 2, 3, 2, ... of 3: one is let in at a time, so the order of
 * service is the order of admission. */
static void want_id(void *arg)
{
    int id = (int)(intptr_t)arg;
    int n = 3 - id % 2;
    ASSERT_OK(goc_sem_acquire(&fs, n, NULL));
    served[atomic_fetch_add(&nserved, 1)] = id;
    goc_sem_release(&fs, n);
}
/* The number of goroutines parked in "semacquire", from a dump. */
static int parked_in_sem(void)
{
    static char buf[1 << 16];
    goc_stack(buf, sizeof buf, true);
    int n = 0;
    for (char *p = buf; (p = strstr(p, "[semacquire]")) != NULL; p++)
        n++;
    return n;
}
static void order_main(void *arg)
{
    (void)arg;
    goc_sem_init(&fs, 3);
    ASSERT_OK(goc_sem_acquire(&fs, 3, NULL));
    goc_wg wg = {0};
    for (int i = 0; i < 6; i++) {
        ASSERT_OK(goc_wg_go(&wg, want_id, (void *)(intptr_t)i));
        while (parked_in_sem() < i + 1)
            goc_yield();
    }
    goc_sem_release(&fs, 3);
    goc_wg_wait(&wg);
    ASSERT_EQ(atomic_load(&nserved), 6);
    for (int i = 0; i < 6; i++)
        ASSERT_EQ(served[i], i);
}
TEST(sync_sem_fifo_order)
{
    run_main(order_main, NULL);
}

/* ---- never more than size units held, goroutines and threads mixed ---- */

static goc_sem bs;
static _Atomic long held;
static long biters;
static void bounded(void *arg)
{
    uint32_t seed = (uint32_t)(uintptr_t)arg + 1;
    for (long i = 0; i < biters; i++) {
        seed = seed * 1103515245u + 12345u;
        int64_t n = 1 + (seed >> 16) % 4;
        if (i % 5 == 0) {
            if (!goc_sem_try_acquire(&bs, n))
                continue;
        } else {
            ASSERT_OK(goc_sem_acquire(&bs, n, NULL));
        }
        ASSERT_LE(atomic_fetch_add(&held, n) + n, 5);
        if (i % 16 == 0)
            goc_yield();
        atomic_fetch_sub(&held, n);
        goc_sem_release(&bs, n);
    }
}
static void bounded_main(void *arg)
{
    (void)arg;
    biters = scaled(20000);
    goc_sem_init(&bs, 5);
    goc_wg wg = {0};
    struct threads ts;
    threads_start(&ts, 2, bounded, NULL);
    for (int i = 0; i < 6; i++)
        ASSERT_OK(goc_wg_go(&wg, bounded, (void *)(intptr_t)i));
    goc_wg_wait(&wg);
    threads_join(&ts);
    ASSERT_EQ(atomic_load(&held), 0);
    ASSERT(goc_sem_try_acquire(&bs, 5));
}
TEST(sync_sem_bounded)
{
    run_main(bounded_main, NULL);
}

/* ---- contexts: cancel and deadline end a wait; granted units are kept;
 * a canceled front waiter lets the ones behind it in ---- */

static goc_sem cs_sem;
static goc_ctx *cs_ctx;
static goc_chan *cs_done;
static _Atomic int cs_phase;

static void cs_waiter(void *arg)
{
    int want = (int)(intptr_t)arg;
    int rc = goc_sem_acquire(&cs_sem, want, cs_ctx);
    ASSERT_OK(goc_chan_send(cs_done, &rc));
}
static void cs_small(void *arg)
{
    (void)arg;
    int rc = goc_sem_acquire(&cs_sem, 3, NULL); /* behind the big one */
    atomic_store(&cs_phase, 1);
    goc_sem_release(&cs_sem, 3);
    ASSERT_OK(goc_chan_send(cs_done, &rc));
}
static void sem_ctx_main(void *arg)
{
    (void)arg;
    cs_done = goc_chan_make(sizeof(int), 0);
    goc_sem_init(&cs_sem, 10);
    int rc;
    /* Done before the call: fail, even with the units free. */
    goc_ctx *dead = goc_ctx_with_cancel(NULL);
    goc_ctx_cancel(dead);
    ASSERT_ERR(goc_sem_acquire(&cs_sem, 1, dead), GOC_ECANCELED);
    ASSERT(goc_sem_try_acquire(&cs_sem, 10)); /* nothing was taken */
    goc_sem_release(&cs_sem, 10);
    /* Free units with a live ctx: at once. */
    goc_ctx *live = goc_ctx_with_cancel(NULL);
    ASSERT_OK(goc_sem_acquire(&cs_sem, 4, live));
    goc_sem_release(&cs_sem, 4);

    /* A waiter canceled at the front lets the one behind it in. */
    ASSERT_OK(goc_sem_acquire(&cs_sem, 5, NULL));
    cs_ctx = live;
    ASSERT_OK(goc_go(cs_waiter, (void *)(intptr_t)10));
    while (goc_sem_try_acquire(&cs_sem, 0)) /* until it has queued */
        goc_yield();
    ASSERT_OK(goc_go(cs_small, NULL));
    goc_sleep(10 * GOC_MILLISECOND);
    ASSERT_EQ(atomic_load(&cs_phase), 0); /* FIFO: 3 waits behind 10 */
    goc_ctx_cancel(live);
    ASSERT_OK(goc_chan_recv(cs_done, &rc));
    ASSERT_OK(goc_chan_recv(cs_done, &rc));
    ASSERT_EQ(atomic_load(&cs_phase), 1);
    goc_sem_release(&cs_sem, 5);
    ASSERT(goc_sem_try_acquire(&cs_sem, 10)); /* all back */

    /* A deadline ends the wait with ETIMEDOUT; so does n > size. */
    int64_t t0 = goc_now(); /* before: the deadline counts from its make */
    goc_ctx *t = goc_ctx_with_timeout(NULL, 20 * GOC_MILLISECOND);
    ASSERT_ERR(goc_sem_acquire(&cs_sem, 1, t), GOC_ETIMEDOUT);
    ASSERT_GE(goc_now() - t0, 20 * GOC_MILLISECOND);
    goc_ctx *t2 = goc_ctx_with_timeout(NULL, 10 * GOC_MILLISECOND);
    ASSERT_ERR(goc_sem_acquire(&cs_sem, 11, t2), GOC_ETIMEDOUT);
    goc_sem_release(&cs_sem, 10);

    /* Cancel racing with release: either the units or the error, and
     * never a lost unit. */
    for (int i = 0; i < scaled(500); i++) {
        ASSERT_OK(goc_sem_acquire(&cs_sem, 10, NULL));
        goc_ctx *c = goc_ctx_with_cancel(NULL);
        cs_ctx = c;
        ASSERT_OK(goc_go(cs_waiter, (void *)(intptr_t)10));
        if (i % 2)
            goc_yield();
        goc_ctx_cancel(c);
        goc_sem_release(&cs_sem, 10);
        ASSERT_OK(goc_chan_recv(cs_done, &rc));
        if (rc == 0)
            goc_sem_release(&cs_sem, 10);
        else
            ASSERT_ERR(rc, GOC_ECANCELED);
        ASSERT(goc_sem_try_acquire(&cs_sem, 10));
        goc_sem_release(&cs_sem, 10);
        goc_ctx_release(c);
    }
    goc_ctx_release(dead);
    goc_ctx_release(live);
    goc_ctx_release(t);
    goc_ctx_release(t2);
    goc_chan_release(cs_done);
}
TEST(sync_sem_ctx)
{
    run_main(sem_ctx_main, NULL);
}
