/* SPDX-License-Identifier: MIT */
/* test_sync_wg.c - goc_wg: zero value, goc_wg_go, reuse over many rounds
 * with several waiters, plain threads on both sides, and freeing a wait
 * group right after its Wait returns. */
#include "test_sync.h"

/* ---- basics ---- */

static _Atomic int ran;
static void count_run(void *arg)
{
    atomic_fetch_add(&ran, (int)(intptr_t)arg);
}
static void done_one(void *arg)
{
    atomic_fetch_add(&ran, 1);
    goc_wg_done(arg);
}

static void basic_main(void *arg)
{
    (void)arg;
    goc_wg wg = GOC_WG_INIT;
    goc_wg_wait(&wg); /* zero: returns at once */
    goc_wg_add(&wg, 3);
    for (int i = 0; i < 3; i++)
        ASSERT_OK(goc_go(done_one, &wg));
    goc_wg_wait(&wg);
    ASSERT_EQ(atomic_load(&ran), 3);

    for (int i = 1; i <= 10; i++)
        ASSERT_OK(goc_wg_go(&wg, count_run, (void *)(intptr_t)i));
    goc_wg_wait(&wg);
    ASSERT_EQ(atomic_load(&ran), 3 + 55);

    /* A failed goc_wg_go starts nothing and leaves the counter alone. */
    ASSERT_ERR(goc_wg_go(&wg, NULL, NULL), GOC_EINVAL);
    goc_wg_wait(&wg);
    goc_wg_add(&wg, 2);
    goc_wg_add(&wg, -2);
    goc_wg_wait(&wg);
}
TEST(sync_wg_basic)
{
    run_main(basic_main, NULL);
}

/* Outside a run goc_wg_go has nothing to start the goroutine on. */
TEST(sync_wg_go_without_run)
{
    goc_wg wg = {0};
    ASSERT_ERR(goc_wg_go(&wg, count_run, NULL), GOC_EPERM);
    goc_wg_wait(&wg);
}

/* ---- reuse: many rounds, each with workers and several waiters; a
 * round starts only after every waiter of the last one has returned ---- */

static goc_wg work, waiters;
static _Atomic long worked, waited;
static long round_now;

static void worker(void *arg)
{
    (void)arg;
    if (atomic_fetch_add(&worked, 1) % 7 == 0)
        goc_yield();
}
static void waiter(void *arg)
{
    (void)arg;
    goc_wg_wait(&work);
    /* Every worker of this round is done, and its work is visible. */
    ASSERT_GE(atomic_load(&ran), round_now * 8);
    atomic_fetch_add(&waited, 1);
}
static void reuse_main(void *arg)
{
    (void)arg;
    long rounds = scaled(2000);
    for (long r = 1; r <= rounds; r++) {
        round_now = r;
        goc_wg_add(&work, 8);
        for (int i = 0; i < 3; i++)
            ASSERT_OK(goc_wg_go(&waiters, waiter, NULL));
        for (int i = 0; i < 8; i++)
            ASSERT_OK(goc_go(done_one, &work));
        goc_wg_wait(&work);
        goc_wg_wait(&waiters);
        ASSERT_EQ(atomic_load(&ran), r * 8);
        ASSERT_EQ(atomic_load(&waited), r * 3);
    }
}
TEST(sync_wg_reuse)
{
    run_main(reuse_main, NULL);
}

/* ---- 100 waiters released by one Done ---- */

static goc_wg gate;
static void gate_waiter(void *arg)
{
    (void)arg;
    goc_wg_wait(&gate);
    atomic_fetch_add(&ran, 1);
}
static void many_main(void *arg)
{
    (void)arg;
    goc_wg all = {0};
    goc_wg_add(&gate, 1);
    for (int i = 0; i < 100; i++)
        ASSERT_OK(goc_wg_go(&all, gate_waiter, NULL));
    for (int i = 0; i < 20; i++)
        goc_yield();
    ASSERT_EQ(atomic_load(&ran), 0);
    goc_wg_done(&gate);
    goc_wg_wait(&all);
    ASSERT_EQ(atomic_load(&ran), 100);
}
TEST(sync_wg_many_waiters)
{
    run_main(many_main, NULL);
}

/* ---- plain threads: they add, finish, and wait; goroutines too ---- */

static goc_wg tw[3];
static _Atomic int tw_next;
static void thread_side(void *arg)
{
    (void)arg;
    goc_wg *wg = &tw[atomic_fetch_add(&tw_next, 1)];
    for (int i = 0; i < 50; i++) {
        goc_wg_add(wg, 1);
        ASSERT_OK(goc_go(done_one, wg)); /* a goroutine finishes it */
    }
    goc_wg_wait(wg); /* a thread waits for goroutines */
}
static void threads_main_fn(void *arg)
{
    (void)arg;
    struct threads ts;
    threads_start(&ts, 3, thread_side, NULL);
    threads_join(&ts); /* a goroutine waits for threads */
    for (int i = 0; i < 3; i++)
        goc_wg_wait(&tw[i]);
    ASSERT_EQ(atomic_load(&ran), 150);
}
TEST(sync_wg_plain_threads)
{
    run_main(threads_main_fn, NULL);
}

/* ---- the waiter frees the wait group as soon as Wait returns, while the
 * goroutine whose Done woke it may still be on its way out ---- */

static void free_main(void *arg)
{
    (void)arg;
    for (long r = 0; r < scaled(5000); r++) {
        goc_wg *wg = malloc(sizeof *wg);
        ASSERT(wg != NULL);
        *wg = (goc_wg)GOC_WG_INIT;
        for (int i = 0; i < 2; i++)
            ASSERT_OK(goc_wg_go(wg, worker, NULL));
        goc_wg_wait(wg);
        memset(wg, 0xa5, sizeof *wg); /* ASan: use after free; else junk */
        free(wg);
    }
}
TEST(sync_wg_free_after_wait)
{
    run_main(free_main, NULL);
}
