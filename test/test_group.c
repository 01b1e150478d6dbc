/* SPDX-License-Identifier: MIT */
/* test_group.c - goc_group (errgroup): the first error wins and cancels
 * the context, wait waits for all, the limit bounds the goroutines in
 * flight. */
#include "test.h"

#define MS GOC_MILLISECOND

static _Atomic int ran, canceled_seen, inflight, max_inflight;

static int ok_fn(goc_ctx *ctx, void *arg)
{
    (void)ctx;
    (void)arg;
    atomic_fetch_add(&ran, 1);
    return 0;
}
/* Fails at once: the first error. */
static int fail_first_fn(goc_ctx *ctx, void *arg)
{
    (void)ctx;
    (void)arg;
    atomic_fetch_add(&ran, 1);
    return -10;
}
/* Fails only once the group's context is done, which the first error
 * does: so it is the second error, by construction, not by timing. */
static int fail_second_fn(goc_ctx *ctx, void *arg)
{
    (void)arg;
    ASSERT_ERR(goc_chan_recv(goc_ctx_done(ctx), NULL), GOC_ECLOSED);
    atomic_fetch_add(&ran, 1);
    return -30;
}
/* Waits for the group's context: only the first error ends it. */
static int waiter_fn(goc_ctx *ctx, void *arg)
{
    (void)arg;
    ASSERT_ERR(goc_chan_recv(goc_ctx_done(ctx), NULL), GOC_ECLOSED);
    atomic_fetch_add(&canceled_seen, 1);
    return 0;
}
static void group_main(void *arg)
{
    (void)arg;
    /* No error: 0, every function ran, the context canceled by wait. */
    goc_group *g = goc_group_new(NULL, 0);
    for (int i = 0; i < 50; i++)
        ASSERT_OK(goc_group_go(g, ok_fn, NULL));
    ASSERT_OK(goc_group_wait(g));
    ASSERT_EQ(atomic_load(&ran), 50);
    ASSERT_ERR(goc_ctx_err(goc_group_ctx(g)), GOC_ECANCELED);
    goc_group_free(g);

    /* Errors: the first one is kept, and it cancels the context, which
     * ends the waiters and lets the second failure happen. */
    atomic_store(&ran, 0);
    goc_ctx *parent = goc_ctx_with_cancel(NULL);
    g = goc_group_new(parent, 0);
    for (int i = 0; i < 5; i++)
        ASSERT_OK(goc_group_go(g, waiter_fn, NULL));
    ASSERT_OK(goc_group_go(g, fail_second_fn, NULL));
    ASSERT_OK(goc_group_go(g, fail_first_fn, NULL));
    ASSERT_EQ(goc_group_wait(g), -10);
    ASSERT_EQ(atomic_load(&canceled_seen), 5);
    ASSERT_EQ(atomic_load(&ran), 2); /* wait waited for the slow one too */
    ASSERT_EQ(goc_ctx_err(parent), 0); /* the parent is not canceled */
    goc_group_free(g);

    /* The parent's cancel reaches the group's context. */
    g = goc_group_new(parent, 0);
    ASSERT_OK(goc_group_go(g, waiter_fn, NULL));
    goc_ctx_cancel(parent);
    ASSERT_OK(goc_group_wait(g));
    goc_group_free(g);
    goc_ctx_release(parent);
    ASSERT_ERR(goc_group_go(NULL, ok_fn, NULL), GOC_EINVAL);
}
TEST(group_first_error)
{
    run_main(group_main, NULL);
}

static int limited_fn(goc_ctx *ctx, void *arg)
{
    (void)ctx;
    (void)arg;
    int now = atomic_fetch_add(&inflight, 1) + 1;
    int m = atomic_load(&max_inflight);
    while (now > m && !atomic_compare_exchange_weak(&max_inflight, &m, now))
        ;
    goc_sleep(2 * MS);
    atomic_fetch_sub(&inflight, 1);
    return 0;
}
static void limit_main(void *arg)
{
    (void)arg;
    goc_group *g = goc_group_new(NULL, 3);
    for (int i = 0; i < 30; i++)
        ASSERT_OK(goc_group_go(g, limited_fn, NULL)); /* blocks at 3 */
    ASSERT_OK(goc_group_wait(g));
    ASSERT_LE(atomic_load(&max_inflight), 3);
    ASSERT_GE(atomic_load(&max_inflight), 1);
    goc_group_free(g);
}
TEST(group_limit)
{
    run_main(limit_main, NULL);
}
