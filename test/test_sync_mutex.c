/* SPDX-License-Identifier: MIT */
/* test_sync_mutex.c - goc_mutex: zero value, trylock, mutual exclusion
 * under contention from goroutines and plain threads, unlock by another
 * goroutine, and starvation mode keeping a waiter from starving. */
#include "test_sync.h"

/* ---- zero value, static initialiser, trylock ---- */

static goc_mutex static_mu = GOC_MUTEX_INIT;
static goc_mutex handed;
static goc_chan *handed_c;

static void unlock_other(void *arg)
{
    (void)arg;
    goc_mutex_unlock(&handed); /* locked by main: allowed, as in Go */
    ASSERT_OK(goc_chan_send(handed_c, NULL));
}

static void basic_main(void *arg)
{
    (void)arg;
    goc_mutex mu = {0};
    ASSERT(goc_mutex_trylock(&mu));
    ASSERT(!goc_mutex_trylock(&mu));
    goc_mutex_unlock(&mu);
    goc_mutex_lock(&mu);
    ASSERT(!goc_mutex_trylock(&mu));
    goc_mutex_unlock(&mu);
    ASSERT(goc_mutex_trylock(&mu));
    goc_mutex_unlock(&mu);

    goc_mutex_lock(&static_mu);
    goc_mutex_unlock(&static_mu);

    handed_c = goc_chan_make(0, 0);
    goc_mutex_lock(&handed);
    ASSERT_OK(goc_go(unlock_other, NULL));
    ASSERT_OK(goc_chan_recv(handed_c, NULL));
    ASSERT(goc_mutex_trylock(&handed));
    goc_mutex_unlock(&handed);
    goc_chan_release(handed_c);
}
TEST(sync_mutex_basic)
{
    run_main(basic_main, NULL);
}

/* ---- mutual exclusion under heavy contention ----
 * Every critical section checks that it is alone (an atomic flag) and that
 * the plain pair (a, b) is never seen torn: a and b are written apart, with
 * a yield between now and then, so an overlapping section would see
 * a != b.  TSan checks that the mutex orders the plain accesses. */

static goc_mutex cmu;
static long ca, cb;
static _Atomic int cinside;
static long citers;

static void critical(long i)
{
    goc_mutex_lock(&cmu);
    ASSERT_EQ(atomic_exchange_explicit(&cinside, 1, memory_order_relaxed), 0);
    ASSERT_EQ(ca, cb);
    ca++;
    if (i % 256 == 0)
        goc_yield(); /* hold it across a reschedule now and then */
    cb++;
    atomic_store_explicit(&cinside, 0, memory_order_relaxed);
    goc_mutex_unlock(&cmu);
}

static void contender(void *arg)
{
    (void)arg;
    for (long i = 0; i < citers; i++)
        critical(i);
}

static void contention_main(void *arg)
{
    int nthreads = (int)(intptr_t)arg;
    citers = scaled(100000);
    ca = cb = 0;
    goc_wg wg = {0};
    struct threads ts;
    if (nthreads > 0)
        threads_start(&ts, nthreads, contender, NULL);
    for (int i = 0; i < 8; i++)
        ASSERT_OK(goc_wg_go(&wg, contender, NULL));
    goc_wg_wait(&wg);
    if (nthreads > 0)
        threads_join(&ts);
    ASSERT_EQ(ca, (8 + nthreads) * citers);
    ASSERT_EQ(cb, ca);
}
TEST(sync_mutex_contention)
{
    run_main(contention_main, (void *)(intptr_t)0);
}
TEST(sync_mutex_contention_threads)
{
    goc_maxprocs(2);
    run_main(contention_main, (void *)(intptr_t)2);
}
TEST(sync_mutex_contention_4p)
{
    goc_maxprocs(4); /* more Ps than CPUs: holders get descheduled */
    run_main(contention_main, (void *)(intptr_t)1);
}

/* Plain threads alone, with no run at all. */
static void *bare_thread(void *arg)
{
    (void)arg;
    for (long i = 0; i < citers; i++)
        critical(i);
    return NULL;
}
TEST(sync_mutex_threads_without_run)
{
    citers = scaled(100000);
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(pthread_create(&t[i], NULL, bare_thread, NULL), 0);
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(pthread_join(t[i], NULL), 0);
    ASSERT_EQ(ca, 3 * citers);
    ASSERT_EQ(cb, ca);
}

/* ---- trylock never blocks and never lets two in ---- */

static goc_mutex tmu;
static _Atomic long tgot, tfailed;
static long tcount;

static void trier(void *arg)
{
    (void)arg;
    for (long i = 0; i < citers; i++) {
        if (goc_mutex_trylock(&tmu)) {
            tcount++;
            atomic_fetch_add(&tgot, 1);
            goc_mutex_unlock(&tmu);
        } else {
            atomic_fetch_add(&tfailed, 1);
            goc_mutex_lock(&tmu); /* mix in blocking lockers */
            tcount++;
            atomic_fetch_add(&tgot, 1);
            goc_mutex_unlock(&tmu);
        }
    }
}
static void trylock_main(void *arg)
{
    (void)arg;
    citers = scaled(50000);
    goc_wg wg = {0};
    struct threads ts;
    threads_start(&ts, 1, trier, NULL);
    for (int i = 0; i < 4; i++)
        ASSERT_OK(goc_wg_go(&wg, trier, NULL));
    goc_wg_wait(&wg);
    threads_join(&ts);
    ASSERT_EQ(tcount, 5 * citers);
    ASSERT_EQ(atomic_load(&tgot), tcount);
}
TEST(sync_mutex_trylock_contention)
{
    run_main(trylock_main, NULL);
}

/* ---- starvation: a goroutine re-locking in a tight loop cannot keep a
 * waiter out.  The hog holds the mutex across a yield, so whenever the
 * waiter runs the mutex is held, and the hog re-locks it at once after
 * each unlock: with one P, in normal mode the waiter would never get in
 * (the hog stops only once it has, so the test would hang).  Starvation
 * mode, after the waiter has waited 1 ms, hands it the mutex; the bound is
 * a generous second.  With two Ps, or a plain thread as the waiter, it
 * may also catch the mutex between an unlock and the next lock. ---- */

static goc_mutex smu;
static _Atomic int hog_running, waiter_in;
static long hog_rounds;

static void hog(void *arg)
{
    (void)arg;
    while (!atomic_load(&waiter_in)) {
        goc_mutex_lock(&smu);
        if (++hog_rounds == 100)
            atomic_store(&hog_running, 1);
        goc_yield(); /* holding it */
        goc_mutex_unlock(&smu);
    }
}

static int64_t waited_ns;
static void starved(void *arg)
{
    (void)arg;
    while (!atomic_load(&hog_running))
        goc_yield();
    int64_t t0 = now_ns();
    goc_mutex_lock(&smu);
    waited_ns = now_ns() - t0;
    atomic_store(&waiter_in, 1);
    goc_mutex_unlock(&smu);
}

static void starvation_main(void *arg)
{
    bool thread_waiter = arg != NULL;
    goc_wg wg = {0};
    struct threads ts;
    ASSERT_OK(goc_wg_go(&wg, hog, NULL));
    if (thread_waiter)
        threads_start(&ts, 1, starved, NULL);
    else
        ASSERT_OK(goc_wg_go(&wg, starved, NULL));
    goc_wg_wait(&wg);
    if (thread_waiter)
        threads_join(&ts);
    ASSERT_LT(waited_ns, 1000000000);
}
TEST(sync_mutex_starvation)
{
    goc_maxprocs(1);
    run_main(starvation_main, NULL);
}
TEST(sync_mutex_starvation_2p)
{
    goc_maxprocs(2);
    run_main(starvation_main, NULL);
}
TEST(sync_mutex_starvation_thread)
{
    run_main(starvation_main, (void *)1);
}
