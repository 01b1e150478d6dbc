/* SPDX-License-Identifier: MIT */
/* test_stack.c - stack overflow is reported, not silent corruption. */
#include "test.h"

static volatile int forever = 1;
static int recurse(volatile char *prev, int depth)
{
    volatile char frame[1024];
    frame[0] = (char)depth;
    frame[1023] = prev != NULL ? prev[0] : 0;
    if (!forever)
        return 0;
    return recurse(frame, depth + 1) + frame[5];
}

static _Atomic long overflow_goid;
static void overflow_child(void *arg)
{
    (void)arg;
    atomic_store(&overflow_goid, goc_id());
    fprintf(stderr, "child goroutine %lld\n", (long long)goc_id());
    recurse(NULL, 0);
}
static void overflow_main(void *arg)
{
    (void)arg;
    goc_spawn_opts o = {.stack_size = 64 * 1024};
    ASSERT_OK(goc_go_opts(&o, overflow_child, NULL));
    for (;;)
        goc_yield();
}
static void overflow_death(void)
{
    goc_run(overflow_main, NULL);
}

/* Main keeps its thread busy, so the child overflows on another M: every
 * M needs its own signal stack and SIGSEGV unblocked. */
static void overflow_elsewhere_main(void *arg)
{
    (void)arg;
    goc_spawn_opts o = {.stack_size = 64 * 1024};
    ASSERT_OK(goc_go_opts(&o, overflow_child, NULL));
    for (;;)
        ;
}
static void overflow_elsewhere_death(void)
{
    goc_maxprocs(2);
    goc_run(overflow_elsewhere_main, NULL);
}

static void check_overflow_of(void (*fn)(void))
{
    static struct death d;
    death_run(&d, fn);
    ASSERT_STATUS(d, 2);
    long long id = 0;
    ASSERT(sscanf(d.out, "child goroutine %lld", &id) == 1);
    char want[128];
    snprintf(want, sizeof want,
             "fatal error: stack overflow in goroutine %lld\n", id);
    ASSERT_CONTAINS(d.out, want);
}

static void check_overflow(void)
{
    check_overflow_of(overflow_death);
}

TEST(stack_overflow)
{
    check_overflow();
}

TEST(stack_overflow_other_thread)
{
    check_overflow_of(overflow_elsewhere_death);
}

/* The fallback for kernels without MADV_GUARD_INSTALL. */
TEST(stack_overflow_mprotect_guard)
{
    setenv("GOC_STACK_GUARD", "mprotect", 1);
    check_overflow();
}

/* Deep but legal use of a large stack works; stacks are reused. */
static _Atomic int deep_done;
static int deep(int n)
{
    volatile char pad[512];
    pad[0] = (char)n;
    return n == 0 ? 0 : deep(n - 1) + pad[0] - (char)n + 1;
}
static void deep_child(void *arg)
{
    ASSERT_EQ(deep((int)(intptr_t)arg), (int)(intptr_t)arg);
    atomic_fetch_add(&deep_done, 1);
}
static void deep_main(void *arg)
{
    (void)arg;
    /* 256 KiB default: ~300 frames of ~600 bytes fit; do it many times so
     * slots are recycled through the per-P caches and the pool. */
    for (int i = 0; i < 2000; i++)
        ASSERT_OK(goc_go(deep_child, (void *)(intptr_t)200));
    goc_spawn_opts o = {.stack_size = 16 << 20}; /* ASan's frames are big */
    ASSERT_OK(goc_go_opts(&o, deep_child, (void *)(intptr_t)5000));
    while (atomic_load(&deep_done) < 2001)
        goc_yield();
}
TEST(stack_deep_use)
{
    run_main(deep_main, NULL);
}
