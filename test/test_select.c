/* SPDX-License-Identifier: MIT */
/* test_select.c - select: readiness, default, nil and closed cases,
 * fairness, self-select, duplicate channels, and a randomized torture test
 * checking that every value sent is received exactly once. */
#include <pthread.h>

#include "test.h"

static void basic_main(void *arg)
{
    (void)arg;
    goc_chan *a = goc_chan_make(sizeof(int), 1);
    goc_chan *b = goc_chan_make(sizeof(int), 1);
    int x = 0, y = 0, v = 5;

    /* Nothing ready: select_try says so; no cases at all too. */
    goc_case cs[3] = {GOC_RECV_CASE(a, &x), GOC_RECV_CASE(b, &y),
                      GOC_RECV_CASE(NULL, &x)};
    ASSERT_ERR(goc_select_try(cs, 3), GOC_EAGAIN);
    ASSERT_ERR(goc_select_try(NULL, 0), GOC_EAGAIN);

    /* One ready case. */
    ASSERT_OK(goc_chan_send(b, &v));
    ASSERT_EQ(goc_select(cs, 3), 1);
    ASSERT_EQ(y, 5);
    ASSERT_EQ(cs[1].err, 0);

    /* A send case. */
    goc_case sc[2] = {GOC_SEND_CASE(a, &v), GOC_RECV_CASE(b, &y)};
    ASSERT_EQ(goc_select(sc, 2), 0);
    ASSERT_EQ(goc_chan_len(a), 1);
    ASSERT_ERR(goc_select_try(sc, 1), GOC_EAGAIN); /* a is full */

    /* Closed channels: receive gets ECLOSED and zeroes; send ECLOSED. */
    ASSERT_OK(goc_chan_close(b));
    y = 9;
    goc_case rc[1] = {GOC_RECV_CASE(b, &y)};
    ASSERT_EQ(goc_select(rc, 1), 0);
    ASSERT_ERR(rc[0].err, GOC_ECLOSED);
    ASSERT_EQ(y, 0);
    goc_case sb[1] = {GOC_SEND_CASE(b, &v)};
    ASSERT_EQ(goc_select_try(sb, 1), 0);
    ASSERT_ERR(sb[0].err, GOC_ECLOSED);

    /* Bad arguments. */
    goc_case bad[1] = {{.chan = a, .op = 7}};
    ASSERT_ERR(goc_select(bad, 1), GOC_EINVAL);
    goc_case nul[1] = {GOC_SEND_CASE(a, NULL)};
    ASSERT_ERR(goc_select(nul, 1), GOC_EINVAL);

    goc_chan_release(a);
    goc_chan_release(b);
}
TEST(select_basic)
{
    run_main(basic_main, NULL);
}

/* ---- fairness: two always-ready cases are chosen about equally ---- */

static void fair_main(void *arg)
{
    (void)arg;
    goc_chan *a = goc_chan_make(0, 1), *b = goc_chan_make(0, 1);
    ASSERT_OK(goc_chan_send(a, NULL));
    ASSERT_OK(goc_chan_send(b, NULL));
    int count[2] = {0, 0};
    const int n = 20000;
    for (int i = 0; i < n; i++) {
        goc_case cs[2] = {GOC_RECV_CASE(a, NULL), GOC_RECV_CASE(b, NULL)};
        int k = goc_select(cs, 2);
        ASSERT(k == 0 || k == 1);
        count[k]++;
        ASSERT_OK(goc_chan_send(k == 0 ? a : b, NULL)); /* ready again */
    }
    /* Binomial(20000, 1/2): sd ~71; +-2000 is 28 sd, it cannot flake. */
    ASSERT_GT(count[0], n / 2 - 2000);
    ASSERT_GT(count[1], n / 2 - 2000);
    goc_chan_release(a);
    goc_chan_release(b);
}
TEST(select_fairness)
{
    run_main(fair_main, NULL);
}

/* ---- fairness over many cases: the poll order's draws are shared
 * between steps (select.c, poll_order), and refreshed past 2^16; every
 * enabled case must still win equally often, nil cases never ---- */

#define FAIR_N 24 /* 16 of them enabled: the shuffle takes fresh draws */

static void fair_many_main(void *arg)
{
    (void)arg;
    goc_chan *c[FAIR_N];
    int count[FAIR_N] = {0};
    for (int i = 0; i < FAIR_N; i++) {
        c[i] = i % 3 == 1 ? NULL : goc_chan_make(0, 1);
        if (c[i] != NULL)
            ASSERT_OK(goc_chan_send(c[i], NULL));
    }
    const int n = 48000;
    for (int r = 0; r < n; r++) {
        goc_case cs[FAIR_N];
        for (int i = 0; i < FAIR_N; i++)
            cs[i] = (goc_case)GOC_RECV_CASE(c[i], NULL);
        int k = goc_select(cs, FAIR_N);
        ASSERT(k >= 0 && k < FAIR_N && c[k] != NULL);
        count[k]++;
        ASSERT_OK(goc_chan_send(c[k], NULL)); /* ready again */
    }
    /* Binomial(48000, 1/16): mean 3000, sd ~53; +-500 is over 9 sd. */
    for (int i = 0; i < FAIR_N; i++) {
        if (c[i] == NULL)
            continue;
        ASSERT_GT(count[i], 3000 - 500);
        ASSERT_LT(count[i], 3000 + 500);
        goc_chan_release(c[i]);
    }
}
TEST(select_fairness_many)
{
    run_main(fair_many_main, NULL);
}

/* ---- a self-select never pairs with itself ---- */

static goc_chan *selfc;
static _Atomic int self_result = -1;
static void self_selector(void *arg)
{
    (void)arg;
    int out = 1, in = 0;
    goc_case cs[2] = {GOC_SEND_CASE(selfc, &out), GOC_RECV_CASE(selfc, &in)};
    atomic_store(&self_result, goc_select(cs, 2));
}
static void self_main(void *arg)
{
    (void)arg;
    selfc = goc_chan_make(sizeof(int), 0);
    ASSERT_OK(goc_go(self_selector, NULL));
    for (int i = 0; i < 50; i++)
        goc_yield();
    ASSERT_EQ(atomic_load(&self_result), -1); /* still blocked */
    int v = 0;
    ASSERT_OK(goc_chan_recv(selfc, &v)); /* takes its send case */
    ASSERT_EQ(v, 1);
    while (atomic_load(&self_result) == -1)
        goc_yield();
    ASSERT_EQ(atomic_load(&self_result), 0);
    /* No stale waiter left: a try in either direction would block. */
    ASSERT_ERR(goc_chan_try_send(selfc, &v), GOC_EAGAIN);
    ASSERT_ERR(goc_chan_try_recv(selfc, &v), GOC_EAGAIN);
    goc_chan_release(selfc);
}
TEST(select_self)
{
    run_main(self_main, NULL);
}

/* ---- the same channel in several cases fires once ---- */

static goc_chan *dup;
static _Atomic int dup_result = -1;
static int dup_x, dup_y;
static void dup_selector(void *arg)
{
    (void)arg;
    goc_case cs[3] = {GOC_RECV_CASE(dup, &dup_x), GOC_RECV_CASE(NULL, NULL),
                      GOC_RECV_CASE(dup, &dup_y)};
    atomic_store(&dup_result, goc_select(cs, 3));
}
static void dup_main(void *arg)
{
    (void)arg;
    dup = goc_chan_make(sizeof(int), 0);
    ASSERT_OK(goc_go(dup_selector, NULL));
    for (int i = 0; i < 20; i++)
        goc_yield();
    int v = 7;
    ASSERT_OK(goc_chan_send(dup, &v));
    while (atomic_load(&dup_result) == -1)
        goc_yield();
    int k = atomic_load(&dup_result);
    ASSERT(k == 0 || k == 2);
    ASSERT_EQ(k == 0 ? dup_x : dup_y, 7);
    ASSERT_EQ(k == 0 ? dup_y : dup_x, 0);
    /* The other case's waiter is gone: a second send would block. */
    ASSERT_ERR(goc_chan_try_send(dup, &v), GOC_EAGAIN);
    goc_chan_release(dup);
}
TEST(select_same_channel_twice)
{
    run_main(dup_main, NULL);
}

/* ---- select from a plain thread ---- */

static goc_chan *pa, *pb, *pdone;
static _Atomic int plain_known;
static void *plain_selector(void *arg)
{
    (void)arg;
    /* Any channel call makes the run count this thread as a possible
     * waker; until then main must not block waiting for it (it would be
     * reported as a deadlock), so main yields until this flag is up. */
    ASSERT_EQ(goc_chan_try_recv(pdone, NULL), GOC_EAGAIN);
    atomic_store(&plain_known, 1);
    int got = 0, x;
    while (got < 2000) {
        goc_case cs[2] = {GOC_RECV_CASE(pa, &x), GOC_RECV_CASE(pb, &x)};
        int k = goc_select(cs, 2);
        ASSERT(k == 0 || k == 1);
        ASSERT_EQ(x, k);
        got++;
    }
    ASSERT_OK(goc_chan_send(pdone, NULL));
    return NULL;
}
static void plain_feeder(void *arg)
{
    int which = (int)(intptr_t)arg;
    for (int i = 0; i < 1000; i++)
        ASSERT_OK(goc_chan_send(which ? pb : pa, &which));
}
static void plain_sel_main(void *arg)
{
    (void)arg;
    pa = goc_chan_make(sizeof(int), 0);
    pb = goc_chan_make(sizeof(int), 3);
    pdone = goc_chan_make(0, 0);
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, plain_selector, NULL), 0);
    while (!atomic_load(&plain_known))
        goc_yield();
    ASSERT_OK(goc_go(plain_feeder, (void *)(intptr_t)0));
    ASSERT_OK(goc_go(plain_feeder, (void *)(intptr_t)1));
    /* Not pthread_join: that would hold the only P at GOMAXPROCS 1. */
    ASSERT_OK(goc_chan_recv(pdone, NULL));
    pthread_join(t, NULL);
    goc_chan_release(pdone);
    goc_chan_release(pa);
    goc_chan_release(pb);
}
TEST(select_plain_thread)
{
    run_main(plain_sel_main, NULL);
}

/* ---- wait reasons ---- */

static void sel_block_main(void *arg)
{
    (void)arg;
    goc_chan *c = goc_chan_make(0, 0);
    goc_case cs[1] = {GOC_RECV_CASE(c, NULL)};
    ASSERT_EQ(goc_select(cs, 1), 0);
}
static void sel_none_main(void *arg)
{
    (void)arg;
    ASSERT_EQ(goc_select(NULL, 0), 0);
}
static void (*sel_reason_main)(void *);
static void sel_reason_death(void)
{
    ASSERT_OK(goc_run(sel_reason_main, NULL));
}
static void expect_sel_reason(void (*fn)(void *), const char *header)
{
    static struct death d;
    sel_reason_main = fn;
    death_run(&d, sel_reason_death);
    ASSERT_STATUS(d, 2);
    ASSERT_CONTAINS(d.out, header);
}
TEST(select_wait_reasons)
{
    expect_sel_reason(sel_block_main, "goroutine 1 [select]:\n");
    expect_sel_reason(sel_none_main, "goroutine 1 [select (no cases)]:\n");
}

/* ---- torture: random selects over many channels; every value sent is
 * received exactly once ---- */

#define T_CHANS 8
static goc_chan *tc[T_CHANS];
static goc_chan *t_quit, *t_done;
static long t_ops, t_workers;
static _Atomic int next_value;
static _Atomic unsigned char *t_sent, *t_recvd;
static long t_max;

static uint32_t t_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return (uint32_t)(*s >> 32);
}

static void t_record_recv(int v)
{
    ASSERT(v >= 0 && v < t_max);
    ASSERT_EQ(atomic_fetch_add(&t_recvd[v], 1), 0); /* exactly once */
}

static void t_worker(void *arg)
{
    uint64_t seed = (uint64_t)(intptr_t)arg * 0x9E3779B97F4A7C15ULL | 1;
    for (long op = 0; op < t_ops; op++) {
        goc_case cs[4];
        int vals[4];
        int n = 1 + (int)(t_rand(&seed) % 4);
        bool any_send = false;
        for (int k = 0; k < n; k++) {
            goc_chan *c = tc[t_rand(&seed) % T_CHANS];
            if (t_rand(&seed) % 2) {
                vals[k] = atomic_fetch_add(&next_value, 1);
                ASSERT_LT(vals[k], t_max);
                cs[k] = (goc_case)GOC_SEND_CASE(c, &vals[k]);
                any_send = true;
            } else {
                vals[k] = -1;
                cs[k] = (goc_case)GOC_RECV_CASE(c, &vals[k]);
            }
        }
        /* Only selects with a send may block: the drainers always take
         * sends, while a receive might wait for a sender that is done. */
        int i = any_send ? goc_select(cs, (size_t)n)
                         : goc_select_try(cs, (size_t)n);
        if (i < 0) {
            ASSERT_ERR(i, GOC_EAGAIN);
            continue;
        }
        ASSERT_EQ(cs[i].err, 0);
        if (cs[i].op == GOC_SEND)
            atomic_store(&t_sent[vals[i]], 1);
        else
            t_record_recv(vals[i]);
    }
    ASSERT_OK(goc_chan_send(t_done, NULL));
}

static void t_drainer(void *arg)
{
    (void)arg;
    for (;;) {
        goc_case cs[T_CHANS + 1];
        int vals[T_CHANS];
        for (int k = 0; k < T_CHANS; k++)
            cs[k] = (goc_case)GOC_RECV_CASE(tc[k], &vals[k]);
        cs[T_CHANS] = (goc_case)GOC_RECV_CASE(t_quit, NULL);
        int i = goc_select(cs, T_CHANS + 1);
        if (i == T_CHANS) {
            ASSERT_ERR(cs[i].err, GOC_ECLOSED);
            ASSERT_OK(goc_chan_send(t_done, NULL));
            return;
        }
        ASSERT_EQ(cs[i].err, 0);
        t_record_recv(vals[i]);
    }
}

static void torture_main(void *arg)
{
    (void)arg;
    for (int k = 0; k < T_CHANS; k++)
        tc[k] = goc_chan_make(sizeof(int), (size_t)(k % 3 == 0 ? 0 : k));
    t_quit = goc_chan_make(0, 0);
    t_done = goc_chan_make(0, 0);
    const int drainers = 3;
    for (int d = 0; d < drainers; d++)
        ASSERT_OK(goc_go(t_drainer, NULL));
    for (long w = 0; w < t_workers; w++)
        ASSERT_OK(goc_go(t_worker, (void *)(intptr_t)(w + 1)));
    for (long w = 0; w < t_workers; w++)
        ASSERT_OK(goc_chan_recv(t_done, NULL));
    ASSERT_OK(goc_chan_close(t_quit));
    for (int d = 0; d < drainers; d++)
        ASSERT_OK(goc_chan_recv(t_done, NULL));
    /* Whatever is still buffered. */
    for (int k = 0; k < T_CHANS; k++) {
        int v;
        while (goc_chan_try_recv(tc[k], &v) == 0)
            t_record_recv(v);
        goc_chan_release(tc[k]);
    }
    int sent = 0;
    for (long v = 0; v < atomic_load(&next_value); v++) {
        ASSERT_EQ(atomic_load(&t_sent[v]), atomic_load(&t_recvd[v]));
        sent += atomic_load(&t_sent[v]);
    }
    ASSERT_GT(sent, 0);
    goc_chan_release(t_quit);
    goc_chan_release(t_done);
}

static void torture(int procs)
{
    t_workers = 16;
    t_ops = scaled(20000);
    t_max = t_workers * t_ops * 4;
    t_sent = calloc((size_t)t_max, 1);
    t_recvd = calloc((size_t)t_max, 1);
    goc_maxprocs(procs);
    run_main(torture_main, NULL);
    free((void *)t_sent);
    free((void *)t_recvd);
}
TEST(select_torture_1p)
{
    torture(1);
}
TEST(select_torture_2p)
{
    torture(2);
}
