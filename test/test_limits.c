/* SPDX-License-Identifier: MIT */
/* test_limits.c - every size, count and duration argument of the public
 * API out of range: the documented error (NULL from a constructor, with
 * nothing allocated; GOC_EINVAL from a call returning int), never a huge
 * allocation or undefined behaviour.  The precondition table is goc.h's
 * header comment. */
#include <stddef.h>

#include "test.h"

/* goc_chan_make: Go's "makechan: size out of range" and element limit. */
TEST(limits_chan_make)
{
    ASSERT(goc_chan_make(GOC_CHAN_ELEM_MAX + 1, 0) == NULL);
    ASSERT(goc_chan_make(SIZE_MAX, 1) == NULL);
    ASSERT(goc_chan_make(0, GOC_CHAN_CAP_MAX + 1) == NULL);
    ASSERT(goc_chan_make(0, SIZE_MAX) == NULL);
    ASSERT(goc_chan_make(1, GOC_CHAN_BUF_MAX + 1) == NULL);
    ASSERT(goc_chan_make(8, SIZE_MAX / 4) == NULL); /* 8 * cap overflows */
    ASSERT(goc_chan_make(GOC_CHAN_ELEM_MAX, (size_t)1 << 40) == NULL);
    ASSERT(goc_chan_make(4096, GOC_CHAN_BUF_MAX / 4096 + 1) == NULL);
    /* At the limits, and allocating nothing for the buffer: fine. */
    goc_chan *c = goc_chan_make(0, GOC_CHAN_CAP_MAX);
    ASSERT(c != NULL);
    ASSERT_EQ(goc_chan_cap(c), GOC_CHAN_CAP_MAX);
    goc_chan_release(c);
    c = goc_chan_make(GOC_CHAN_ELEM_MAX, 1);
    ASSERT(c != NULL);
    goc_chan_release(c);
}

static void nop(void *arg)
{
    (void)arg;
}
static void stack_main(void *arg)
{
    (void)arg;
    goc_spawn_opts o = {.stack_size = GOC_STACK_SIZE_MAX + 1};
    ASSERT_ERR(goc_go_opts(&o, nop, NULL), GOC_EINVAL);
    o.stack_size = SIZE_MAX;
    ASSERT_ERR(goc_go_opts(&o, nop, NULL), GOC_EINVAL);
    o.stack_size = SIZE_MAX - 4095; /* would wrap when rounded to pages */
    ASSERT_ERR(goc_go_opts(&o, nop, NULL), GOC_EINVAL);
    ASSERT_ERR(goc_go_opts(NULL, NULL, NULL), GOC_EINVAL);
    o.stack_size = 1; /* tiny: rounded up, not refused */
    ASSERT_OK(goc_go_opts(&o, nop, NULL));
}
TEST(limits_stack_size)
{
    run_main(stack_main, NULL);
}

static void sem_main(void *arg)
{
    (void)arg;
    goc_sem s = GOC_SEM_INIT;
    goc_sem_init(&s, -5); /* counts as 0 */
    ASSERT(goc_sem_try_acquire(&s, 0));
    ASSERT(!goc_sem_try_acquire(&s, 1));
    goc_sem_init(&s, INT64_MAX);
    ASSERT_ERR(goc_sem_acquire(&s, -1, NULL), GOC_EINVAL);
    ASSERT_ERR(goc_sem_acquire(&s, INT64_MIN, NULL), GOC_EINVAL);
    ASSERT(!goc_sem_try_acquire(&s, -1));
    ASSERT(!goc_sem_try_acquire(&s, INT64_MIN));
    /* The whole range, with no overflow in the bookkeeping. */
    ASSERT_OK(goc_sem_acquire(&s, INT64_MAX, NULL));
    ASSERT(!goc_sem_try_acquire(&s, 1));
    goc_sem_release(&s, INT64_MAX);
    /* More than the size with a ctx: waits for the ctx, not for ever. */
    goc_sem_init(&s, 3);
    goc_ctx *done = goc_ctx_with_cancel(NULL);
    ASSERT(done != NULL);
    goc_ctx_cancel(done);
    ASSERT_ERR(goc_sem_acquire(&s, INT64_MAX, done), GOC_ECANCELED);
    goc_ctx_release(done);
}
TEST(limits_sem)
{
    run_main(sem_main, NULL);
}

static int group_fn(goc_ctx *ctx, void *arg)
{
    (void)ctx;
    (void)arg;
    return 0;
}
static void group_main(void *arg)
{
    (void)arg;
    int limits[] = {-1, INT32_MIN, 0, 1, INT32_MAX};
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
        goc_group *g = goc_group_new(NULL, limits[i]);
        ASSERT(g != NULL);
        for (int k = 0; k < 4; k++)
            ASSERT_OK(goc_group_go(g, group_fn, NULL));
        ASSERT_OK(goc_group_wait(g));
        goc_group_free(g);
    }
    goc_group *g = goc_group_new(NULL, 0);
    ASSERT(g != NULL);
    ASSERT_ERR(goc_group_go(g, NULL, NULL), GOC_EINVAL);
    ASSERT_OK(goc_group_wait(g));
    goc_group_free(g);
}
TEST(limits_group)
{
    run_main(group_main, NULL);
}

/* Durations at both ends of int64_t: no overflow of now + ns; the far
 * end is "never", the near end "at once". */
static void fn_never(void *arg)
{
    (void)arg;
    FAIL("a timer at the end of the clock fired");
}
static void time_main(void *arg)
{
    (void)arg;
    int64_t rx;
    goc_sleep(INT64_MIN);
    goc_chan *a = goc_after(INT64_MAX);
    ASSERT(a != NULL);
    ASSERT_ERR(goc_chan_try_recv(a, &rx), GOC_EAGAIN);
    goc_chan_release(a);
    a = goc_after(INT64_MIN);
    ASSERT(a != NULL);
    ASSERT_OK(goc_chan_recv(a, &rx));
    goc_chan_release(a);

    goc_timer *t = goc_timer_new(INT64_MAX);
    ASSERT(t != NULL);
    ASSERT(goc_timer_reset(t, INT64_MAX));
    ASSERT(goc_timer_stop(t));
    ASSERT(!goc_timer_reset(t, INT64_MIN));
    ASSERT_OK(goc_chan_recv(goc_timer_chan(t), &rx));
    goc_timer_free(t);
    t = goc_after_func(INT64_MAX, fn_never, NULL);
    ASSERT(t != NULL);
    ASSERT(goc_timer_stop(t));
    goc_timer_free(t);
    ASSERT(goc_after_func(5, NULL, NULL) == NULL);

    ASSERT(goc_ticker_new(0) == NULL);
    ASSERT(goc_ticker_new(-1) == NULL);
    ASSERT(goc_ticker_new(INT64_MIN) == NULL);
    goc_ticker *k = goc_ticker_new(INT64_MAX);
    ASSERT(k != NULL);
    goc_ticker_reset(k, INT64_MIN); /* ignored, as a non-positive period */
    goc_ticker_reset(k, INT64_MAX);
    ASSERT_ERR(goc_chan_try_recv(goc_ticker_chan(k), &rx), GOC_EAGAIN);
    goc_ticker_free(k);

    goc_ctx *c = goc_ctx_with_timeout(NULL, INT64_MAX);
    ASSERT(c != NULL);
    ASSERT_EQ(goc_ctx_err(c), 0);
    ASSERT_EQ(goc_ctx_deadline(c), INT64_MAX);
    goc_ctx_release(c);
    c = goc_ctx_with_timeout(NULL, INT64_MIN);
    ASSERT(c != NULL);
    ASSERT_ERR(goc_ctx_err(c), GOC_ETIMEDOUT);
    goc_ctx_release(c);
    c = goc_ctx_with_deadline(NULL, INT64_MIN);
    ASSERT(c != NULL);
    ASSERT_ERR(goc_ctx_err(c), GOC_ETIMEDOUT);
    goc_ctx_release(c);
    ASSERT(goc_ctx_with_value(NULL, NULL, NULL) == NULL);
}
TEST(limits_durations)
{
    run_main(time_main, NULL);
}

/* Outside a run, the constructors that need one say so with NULL. */
TEST(limits_timers_outside_run)
{
    ASSERT(goc_after(1) == NULL);
    ASSERT(goc_timer_new(1) == NULL);
    ASSERT(goc_ticker_new(1) == NULL);
    ASSERT_ERR(goc_go(nop, NULL), GOC_EPERM);
    int was = goc_maxprocs(INT32_MAX); /* capped, not refused */
    ASSERT_EQ(goc_maxprocs(INT32_MIN), GOC_MAXPROCS_MAX);
    ASSERT_EQ(goc_maxprocs(was), GOC_MAXPROCS_MAX);
}

static void count_main(void *arg)
{
    (void)arg;
    ASSERT_EQ(goc_stack(NULL, 0, false), 0);
    ASSERT_EQ(goc_stack(NULL, 4096, true), 0);
    char one[1] = {'x'};
    ASSERT_EQ(goc_stack(one, 1, false), 0);
    ASSERT_EQ(one[0], '\0');
    goc_case cs[1] = {GOC_RECV_CASE(NULL, NULL)};
    ASSERT_ERR(goc_select(NULL, 1), GOC_EINVAL);
    ASSERT_ERR(goc_select_try(cs, 65537), GOC_EINVAL);
    ASSERT_ERR(goc_select_try(cs, SIZE_MAX), GOC_EINVAL);
    ASSERT_ERR(goc_select_until(cs, SIZE_MAX, 0), GOC_EINVAL);
    cs[0].op = 7;
    ASSERT_ERR(goc_select_try(cs, 1), GOC_EINVAL);
}
TEST(limits_counts)
{
    run_main(count_main, NULL);
}
