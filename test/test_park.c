/* SPDX-License-Identifier: MIT */
/* test_park.c - the park/ready primitive that channels and sync build on. */
#include <pthread.h>

#include "test.h"

/* A one-slot "mailbox" made of park/ready, the way a channel uses them:
 * the waiter publishes itself from its unlockf, after it is off its stack. */
struct waiter {
    _Atomic(test_g *) g;
    _Atomic int value;
};

static bool publish(test_g *g, void *arg)
{
    struct waiter *w = arg;
    atomic_store(&w->g, g);
    return true;
}

static void wait_for(struct waiter *w)
{
    goc__park(publish, w, "test: mailbox");
}

static void wake(struct waiter *w, int v)
{
    test_g *g;
    while ((g = atomic_load(&w->g)) == NULL)
        goc_yield();
    atomic_store(&w->g, NULL);
    atomic_store(&w->value, v);
    goc__ready(g);
}

/* ---- park, then ready from another goroutine ---- */

static struct waiter box;
static _Atomic int woke;
static void parker(void *arg)
{
    (void)arg;
    wait_for(&box);
    ASSERT_EQ(atomic_load(&box.value), 42);
    atomic_store(&woke, 1);
}
static void park_main(void *arg)
{
    (void)arg;
    ASSERT_OK(goc_go(parker, NULL));
    wake(&box, 42);
    while (!atomic_load(&woke))
        goc_yield();
}
TEST(park_ready)
{
    run_main(park_main, NULL);
}

/* ---- an unlockf that says false resumes the goroutine at once ---- */

static int unlock_calls;
static bool refuse(test_g *g, void *arg)
{
    (void)g;
    (void)arg;
    unlock_calls++;
    return false;
}
static void refuse_main(void *arg)
{
    (void)arg;
    goc__park(refuse, NULL, "test: refused");
    ASSERT_EQ(unlock_calls, 1);
}
TEST(park_unlockf_false)
{
    run_main(refuse_main, NULL);
}

/* ---- ready puts the woken goroutine in runnext: it runs next ---- */

static char order[8];
static _Atomic int norder;
static struct waiter box2;
static void note(char c)
{
    /* The byte before the count that publishes it (one P: no two notes
     * at once). */
    int k = atomic_load(&norder);
    order[k] = c;
    atomic_store(&norder, k + 1);
}
static void sleeper(void *arg)
{
    (void)arg;
    wait_for(&box2);
    note('w');
}
static void queued(void *arg)
{
    (void)arg;
    note('q');
}
static bool publish_then_queue(test_g *g, void *arg)
{
    (void)arg;
    atomic_store(&box2.g, g);
    return true;
}
static void waker(void *arg)
{
    (void)arg;
    /* Queue one G behind us, then wake the sleeper and park: the sleeper
     * (in runnext) must run before the one already queued. */
    ASSERT_OK(goc_go(queued, NULL));
    test_g *g = atomic_load(&box2.g);
    ASSERT(g != NULL);
    goc__ready(g);
    note('r');
}
static void runnext_main(void *arg)
{
    (void)arg;
    ASSERT_OK(goc_go(sleeper, NULL));
    while (atomic_load(&box2.g) == NULL)
        goc_yield();
    ASSERT_OK(goc_go(waker, NULL));
    while (atomic_load(&norder) < 3)
        goc_yield();
    order[3] = '\0';
    /* waker: spawns q (runnext), readies w (runnext, q kicked to the
     * tail), notes r, exits; then w, then q. */
    ASSERT(strcmp(order, "rwq") == 0);
    (void)publish_then_queue;
}
TEST(park_ready_runs_next)
{
    goc_maxprocs(1);
    run_main(runnext_main, NULL);
}

/* ---- many goroutines park; plain threads and goroutines ready them ---- */

#define MANY 512
static struct waiter boxes[MANY];
static _Atomic int many_done;
static void many_parker(void *arg)
{
    struct waiter *w = arg;
    for (int round = 0; round < 20; round++) {
        wait_for(w);
        ASSERT_EQ(atomic_load(&w->value), round);
    }
    atomic_fetch_add(&many_done, 1);
}
static void *plain_waker(void *arg)
{
    long half = (long)(intptr_t)arg;
    for (int round = 0; round < 20; round++)
        for (int i = 0; i < MANY / 2; i++) {
            struct waiter *w = &boxes[half * (MANY / 2) + i];
            test_g *g;
            while ((g = atomic_load(&w->g)) == NULL)
                sched_yield();
            atomic_store(&w->g, NULL);
            atomic_store(&w->value, round);
            goc__ready(g);
        }
    return NULL;
}
static void goroutine_waker(void *arg)
{
    (void)arg;
    for (int round = 0; round < 20; round++)
        for (int i = 0; i < MANY / 2; i++)
            wake(&boxes[i], round);
}
static void many_main(void *arg)
{
    (void)arg;
    for (int i = 0; i < MANY; i++)
        ASSERT_OK(goc_go(many_parker, &boxes[i]));
    ASSERT_OK(goc_go(goroutine_waker, NULL));
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, plain_waker, (void *)(intptr_t)1), 0);
    while (atomic_load(&many_done) < MANY)
        goc_yield();
    pthread_join(t, NULL);
}
TEST(park_ready_many)
{
    run_main(many_main, NULL);
}

/* ---- a park that hands the M straight to the G it readied, with an
 * unlockf that refuses: the parker must still come back ---- */

static struct waiter box3;
static _Atomic int refused_back, peer_ran;
static void peer(void *arg)
{
    (void)arg;
    wait_for(&box3);
    atomic_store(&peer_ran, 1);
}
static void refuse_direct_main(void *arg)
{
    (void)arg;
    ASSERT_OK(goc_go(peer, NULL));
    while (atomic_load(&box3.g) == NULL)
        goc_yield();
    test_g *g = atomic_load(&box3.g);
    atomic_store(&box3.g, NULL);
    goc__ready(g);                /* peer is now in runnext */
    goc__park(refuse, NULL, "test: refused"); /* direct switch to peer */
    atomic_store(&refused_back, 1);
    while (!atomic_load(&peer_ran))
        goc_yield();
}
TEST(park_direct_switch_refused)
{
    goc_maxprocs(1);
    unlock_calls = 0;
    run_main(refuse_direct_main, NULL);
    ASSERT_EQ(unlock_calls, 1);
    ASSERT_EQ(atomic_load(&refused_back), 1);
}
