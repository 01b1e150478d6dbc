/* SPDX-License-Identifier: MIT */
/* test_sync_once_cond.c - goc_once with 100 concurrent callers (and plain
 * threads), goc_cond: FIFO signals, broadcast to the waiters of the moment
 * only, and a producer/consumer queue across goroutines and threads. */
#include "test_sync.h"

/* ---- Once ---- */

static goc_once once = GOC_ONCE_INIT;
static _Atomic int init_calls;
static int config; /* plain: written by the one init, read by everyone */

static void init_config(void *arg)
{
    atomic_fetch_add(&init_calls, 1);
    for (int i = 0; i < 20; i++)
        goc_yield(); /* let the other callers arrive and wait */
    config = *(int *)arg;
}
static void once_caller(void *arg)
{
    (void)arg;
    static int value = 42;
    goc_once_do(&once, init_config, &value);
    ASSERT_EQ(config, 42); /* returned only after init did */
    ASSERT_EQ(atomic_load(&init_calls), 1);
}
static void once_main(void *arg)
{
    (void)arg;
    goc_wg wg = {0};
    struct threads ts;
    threads_start(&ts, 2, once_caller, NULL);
    for (int i = 0; i < 100; i++)
        ASSERT_OK(goc_wg_go(&wg, once_caller, NULL));
    goc_wg_wait(&wg);
    threads_join(&ts);
    once_caller(NULL); /* later callers: the fast path */
    ASSERT_EQ(atomic_load(&init_calls), 1);

    goc_once o2 = {0};
    goc_once_do(&o2, NULL, NULL); /* counts as done */
    goc_once_do(&o2, init_config, &(int){7});
    ASSERT_EQ(atomic_load(&init_calls), 1);
}
TEST(sync_once_100_callers)
{
    run_main(once_main, NULL);
}

/* ---- Cond: the i-th signal wakes the i-th waiter ----
 * Waiter i counts itself under the mutex and waits; cond_wait queues it
 * before it unlocks, so once main holds the mutex and sees the count, the
 * waiter is queued, and the next one queues behind it. */

#define NW 12
static goc_mutex cmu;
static goc_cond cond;
static int queued;             /* under cmu */
static goc_chan *woke;         /* int: who woke */

static void fifo_waiter(void *arg)
{
    int id = (int)(intptr_t)arg;
    goc_mutex_lock(&cmu);
    queued++;
    goc_cond_wait(&cond, &cmu); /* no loop: goc has no spurious wake-ups */
    goc_mutex_unlock(&cmu);
    ASSERT_OK(goc_chan_send(woke, &id));
}
static void wait_queued(int n)
{
    for (;;) {
        goc_mutex_lock(&cmu);
        int q = queued;
        goc_mutex_unlock(&cmu);
        if (q >= n)
            return;
        goc_yield();
    }
}
static void fifo_main(void *arg)
{
    (void)arg;
    woke = goc_chan_make(sizeof(int), NW);
    goc_wg wg = {0};
    struct threads ts;
    for (int i = 0; i < NW; i++) {
        if (i == 3) /* a plain thread among them */
            threads_start(&ts, 1, fifo_waiter, (void *)(intptr_t)i);
        else
            ASSERT_OK(goc_wg_go(&wg, fifo_waiter, (void *)(intptr_t)i));
        wait_queued(i + 1);
    }
    goc_cond_signal(&cond); /* holding the mutex is not required */
    int id;
    ASSERT_OK(goc_chan_recv(woke, &id));
    ASSERT_EQ(id, 0);
    for (int i = 1; i < NW; i++) {
        goc_mutex_lock(&cmu);
        goc_cond_signal(&cond);
        goc_mutex_unlock(&cmu);
        ASSERT_OK(goc_chan_recv(woke, &id));
        ASSERT_EQ(id, i);
    }
    goc_cond_signal(&cond); /* nobody waits: nothing happens */
    goc_wg_wait(&wg);
    threads_join(&ts);
    goc_chan_release(woke);
}
TEST(sync_cond_fifo)
{
    run_main(fifo_main, NULL);
}

/* ---- Broadcast wakes exactly the goroutines waiting at that moment ---- */

static _Atomic int late_woke;
static void late_waiter(void *arg)
{
    (void)arg;
    goc_mutex_lock(&cmu);
    queued++;
    goc_cond_wait(&cond, &cmu);
    atomic_store(&late_woke, 1);
    goc_mutex_unlock(&cmu);
}
static void broadcast_main(void *arg)
{
    (void)arg;
    woke = goc_chan_make(sizeof(int), NW);
    goc_wg wg = {0};
    for (int i = 0; i < NW; i++)
        ASSERT_OK(goc_wg_go(&wg, fifo_waiter, (void *)(intptr_t)i));
    wait_queued(NW);
    goc_mutex_lock(&cmu);
    goc_cond_broadcast(&cond);
    goc_mutex_unlock(&cmu);
    ASSERT_OK(goc_wg_go(&wg, late_waiter, NULL)); /* after the broadcast */
    bool seen[NW] = {false};
    for (int i = 0; i < NW; i++) {
        int id;
        ASSERT_OK(goc_chan_recv(woke, &id));
        ASSERT(!seen[id]);
        seen[id] = true;
    }
    wait_queued(NW + 1);
    for (int i = 0; i < 20; i++)
        goc_yield();
    ASSERT_EQ(atomic_load(&late_woke), 0);
    goc_cond_broadcast(&cond);
    goc_wg_wait(&wg);
    ASSERT_EQ(atomic_load(&late_woke), 1);
    goc_chan_release(woke);
}
TEST(sync_cond_broadcast)
{
    run_main(broadcast_main, NULL);
}

/* ---- a bounded queue with two conds, goroutines and threads on both
 * ends: every item arrives exactly once ---- */

#define QCAP 4
static goc_mutex qmu;
static goc_cond notfull, notempty;
static long qbuf[QCAP], qlen, qhead;
static long items;
static _Atomic long consumed_sum, consumed_n;

static void producer(void *arg)
{
    (void)arg;
    for (long i = 1; i <= items; i++) {
        goc_mutex_lock(&qmu);
        while (qlen == QCAP)
            goc_cond_wait(&notfull, &qmu);
        qbuf[(qhead + qlen++) % QCAP] = i;
        goc_cond_signal(&notempty);
        goc_mutex_unlock(&qmu);
    }
}
static void consumer(void *arg)
{
    (void)arg;
    for (long k = 0; k < items; k++) {
        goc_mutex_lock(&qmu);
        while (qlen == 0)
            goc_cond_wait(&notempty, &qmu);
        long v = qbuf[qhead];
        qhead = (qhead + 1) % QCAP;
        qlen--;
        goc_cond_signal(&notfull);
        goc_mutex_unlock(&qmu);
        atomic_fetch_add(&consumed_sum, v);
        atomic_fetch_add(&consumed_n, 1);
    }
}
static void queue_main(void *arg)
{
    (void)arg;
    items = scaled(20000);
    goc_wg wg = {0};
    struct threads prod, cons;
    threads_start(&prod, 1, producer, NULL);
    threads_start(&cons, 1, consumer, NULL);
    for (int i = 0; i < 3; i++) {
        ASSERT_OK(goc_wg_go(&wg, producer, NULL));
        ASSERT_OK(goc_wg_go(&wg, consumer, NULL));
    }
    goc_wg_wait(&wg);
    threads_join(&prod);
    threads_join(&cons);
    ASSERT_EQ(atomic_load(&consumed_n), 4 * items);
    ASSERT_EQ(atomic_load(&consumed_sum), 4 * (items * (items + 1) / 2));
}
TEST(sync_cond_queue)
{
    run_main(queue_main, NULL);
}
