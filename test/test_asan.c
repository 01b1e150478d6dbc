/* SPDX-License-Identifier: MIT */
/*
 * test_asan.c - AddressSanitizer inside goroutines: it finds the bugs it
 * finds on threads, and reports nothing on correct programs that reuse
 * stacks the way goc does.
 *
 * Each bug runs in a child process (death_run) and its report must name
 * the bug kind and the function that made the bad access.  Every bug has
 * a fixed twin, run in every build: under ASan it must exit cleanly with
 * no report; elsewhere the bugs themselves do not run (they are undefined
 * behaviour) and the twins check that the same programs work.
 *
 * Under clang's ASan this file is built with
 * -fsanitize-address-use-after-return=always (TEST_ASAN_UAR): its
 * functions keep their locals on ASan's fake stacks whatever ASAN_OPTIONS
 * says, so every goroutine here exercises the fake-stack switches of
 * goroutine.c.
 *
 * The functions that make the bad accesses are exported and never
 * inlined: when no symbolizer is installed, the parent, which shares the
 * child's layout (fork), names the report's first frame with dladdr.
 */
#include <alloca.h>
#include <dlfcn.h>
#include <malloc.h>

#include "test.h"

#ifndef TEST_ASAN_UAR
#define TEST_ASAN_UAR 0
#endif

/* The functions that make the bad accesses: in the dynamic symbol table
 * (the build hides symbols by default), never inlined. */
#define TEST_EXPORT __attribute__((noinline, visibility("default")))

/* The name of the function in the first frame of the ASan report in out
 * (its "#0" line): the report's own name, or dladdr's for its pc. */
static const char *frame0_name(const char *out, char *buf, size_t len)
{
    const char *e = strstr(out, "ERROR: AddressSanitizer: ");
    const char *f = e != NULL ? strstr(e, "#0 0x") : NULL;
    if (f == NULL)
        return "";
    unsigned long long pc = strtoull(f + 3, NULL, 16);
    const char *in = strstr(f, " in ");
    const char *nl = strchr(f, '\n');
    if (in != NULL && (nl == NULL || in < nl)) {
        size_t n = strcspn(in + 4, " \n");
        snprintf(buf, len, "%.*s", (int)n, in + 4);
        return buf;
    }
    Dl_info info;
    if (dladdr((void *)(uintptr_t)pc, &info) == 0 || info.dli_sname == NULL)
        return "";
    snprintf(buf, len, "%s", info.dli_sname);
    return buf;
}

/* Run bug in a child: ASan must stop it with a report of kind, whose first
 * frame is fn. */
static void expect_report(void (*bug)(void), const char *kind,
                          const char *fn)
{
    static struct death d;
    death_run(&d, bug);
    if (d.status == 0)
        FAIL("no report of %s; output:\n%s", kind, d.out);
    char want[128];
    snprintf(want, sizeof want, "ERROR: AddressSanitizer: %s", kind);
    ASSERT_CONTAINS(d.out, want);
    char name[256];
    if (strcmp(frame0_name(d.out, name, sizeof name), fn) != 0)
        FAIL("first frame \"%s\", want %s; output:\n%s", name, fn, d.out);
}

/* Run fixed in a child: it must exit cleanly, and say nothing of ASan. */
static void expect_clean(void (*fixed)(void))
{
    static struct death d;
    death_run(&d, fixed);
    ASSERT_STATUS(d, 0);
    if (strstr(d.out, "AddressSanitizer") != NULL)
        FAIL("a report from a correct program:\n%s", d.out);
}

/* Receive one value from c and return it. */
static long recv_long(goc_chan *c)
{
    long v = 0;
    ASSERT_OK(goc_chan_recv(c, &v));
    return v;
}

/* ---- use after return of a goroutine's local ---- */

static int *volatile uar_escaped;
static goc_chan *uar_done;

/* Leaks the address of its local (the bug) or nothing (fixed). */
__attribute__((noinline)) int asan_uar_frame(bool leak)
{
    int local[4] = {1, 2, 3, 4};
    int *volatile p = local;
    if (leak)
        uar_escaped = p;
    return p[1];
}
/* The bad access: a write through the address of a dead frame. */
TEST_EXPORT void asan_uar_write(int *p)
{
    *p = 42;
}
static void uar_child(void *arg)
{
    bool leak = arg != NULL;
    long sum = asan_uar_frame(leak);
    goc_yield(); /* the dead frame stays poisoned across switches */
    if (leak)
        asan_uar_write(uar_escaped);
    ASSERT_OK(goc_chan_send(uar_done, &sum));
}
static void uar_main(void *arg)
{
    uar_done = goc_chan_make(sizeof(long), 0);
    ASSERT_OK(goc_go(uar_child, arg));
    ASSERT_EQ(recv_long(uar_done), 2);
    goc_chan_release(uar_done);
}
static void uar_bug(void)
{
    ASSERT_OK(goc_run(uar_main, (void *)1));
}
static void uar_fixed(void)
{
    ASSERT_OK(goc_run(uar_main, NULL));
}
TEST(asan_stack_use_after_return)
{
    if (TEST_ASAN_UAR)
        expect_report(uar_bug, "stack-use-after-return", "asan_uar_write");
    expect_clean(uar_fixed);
}

/* ---- stack buffer overflow in a goroutine ---- */

static volatile int sbo_index;
static goc_chan *sbo_done;

/* The bad access when sbo_index is 16: one past the array. */
TEST_EXPORT int asan_sbo_write(int i)
{
    volatile char buf[16];
    volatile char *p = buf; /* past UBSan's bounds check, to ASan's */
    for (int k = 0; k < 16; k++)
        p[k] = (char)k;
    p[i] = 1;
    return buf[3];
}
static void sbo_child(void *arg)
{
    (void)arg;
    goc_yield();
    long v = asan_sbo_write(sbo_index);
    ASSERT_OK(goc_chan_send(sbo_done, &v));
}
static void sbo_main(void *arg)
{
    sbo_index = (int)(intptr_t)arg;
    sbo_done = goc_chan_make(sizeof(long), 0);
    ASSERT_OK(goc_go(sbo_child, NULL));
    ASSERT_EQ(recv_long(sbo_done), sbo_index == 3 ? 1 : 3);
    goc_chan_release(sbo_done);
}
static void sbo_bug(void)
{
    ASSERT_OK(goc_run(sbo_main, (void *)16));
}
static void sbo_fixed(void)
{
    ASSERT_OK(goc_run(sbo_main, (void *)15));
}
TEST(asan_stack_buffer_overflow)
{
    if (TEST_ASAN)
        expect_report(sbo_bug, "stack-buffer-overflow", "asan_sbo_write");
    expect_clean(sbo_fixed);
}

/* ---- heap use after free across two goroutines ---- */

/* One goroutine allocates and hands the block over; the other frees it
 * and says so; the first then writes to it (the bug) or not (fixed). */
static goc_chan *uaf_handoff, *uaf_freed;

TEST_EXPORT void asan_uaf_write(long *p)
{
    p[1] = 7;
}
static void uaf_freer(void *arg)
{
    (void)arg;
    long *p = NULL;
    ASSERT_OK(goc_chan_recv(uaf_handoff, &p));
    long v = p[0];
    free(p);
    ASSERT_OK(goc_chan_send(uaf_freed, &v));
}
static void uaf_main(void *arg)
{
    bool bug = arg != NULL;
    uaf_handoff = goc_chan_make(sizeof(long *), 0);
    uaf_freed = goc_chan_make(sizeof(long), 0);
    ASSERT_OK(goc_go(uaf_freer, NULL));
    long *p = malloc(4 * sizeof *p);
    ASSERT(p != NULL);
    p[0] = 5;
    ASSERT_OK(goc_chan_send(uaf_handoff, &p));
    ASSERT_EQ(recv_long(uaf_freed), 5);
    if (bug)
        asan_uaf_write(p);
    goc_chan_release(uaf_handoff);
    goc_chan_release(uaf_freed);
}
static void uaf_bug(void)
{
    goc_maxprocs(2);
    ASSERT_OK(goc_run(uaf_main, (void *)1));
}
static void uaf_fixed(void)
{
    goc_maxprocs(2);
    ASSERT_OK(goc_run(uaf_main, NULL));
}
TEST(asan_heap_use_after_free_across_goroutines)
{
    if (TEST_ASAN)
        expect_report(uaf_bug, "heap-use-after-free", "asan_uaf_write");
    expect_clean(uaf_fixed);
}

/* ---- no false positives ---- */

/* Touch n bytes of this goroutine's real stack below the caller's frame
 * (alloca is never on a fake stack; memset is checked by ASan): stale
 * poison left there by an earlier goroutine on the same slot is found. */
__attribute__((noinline)) static long touch_stack(size_t n)
{
    volatile char *b = alloca(n);
    memset((char *)b, 0x5a, n);
    return b[n / 2];
}

/* Frames with locals (on the fake stack under TEST_ASAN_UAR, with
 * redzones on the real one otherwise), live across a switch. */
__attribute__((noinline)) static long frames(int depth)
{
    volatile long local[8];
    for (int i = 0; i < 8; i++)
        local[i] = depth + i;
    if (depth == 0) {
        goc_yield();
        return local[7];
    }
    return frames(depth - 1) + local[0] - depth;
}

/* Many short goroutines: each starts on the stack a dead one just left
 * (goc__g_exit_into, the per-P slot cache), whose frames never returned. */
static goc_chan *short_done;
static void short_child(void *arg)
{
    long v = frames((int)(intptr_t)arg % 8) + touch_stack(8 * 1024);
    ASSERT_OK(goc_chan_send(short_done, &v));
}
static void short_main(void *arg)
{
    (void)arg;
    long n = scaled(20000);
    short_done = goc_chan_make(sizeof(long), 64);
    for (long i = 0; i < n; i++) {
        ASSERT_OK(goc_go(short_child, (void *)(intptr_t)i));
        if (i >= 64) /* at most 64 in flight */
            ASSERT_EQ(recv_long(short_done), 7 + 0x5a);
    }
    for (long i = n < 64 ? 0 : 64; i > 0; i--)
        ASSERT_EQ(recv_long(short_done), 7 + 0x5a);
    goc_chan_release(short_done);
}
static void short_run(void)
{
    goc_maxprocs(2);
    ASSERT_OK(goc_run(short_main, NULL));
}
TEST(asan_stack_reuse_many_short)
{
    expect_clean(short_run);
}

/* Deep recursion in a goroutine, with switches at the bottom and on the
 * way back, and the stack then reused. */
static goc_chan *deep_done;
__attribute__((noinline)) static long deep(int depth)
{
    volatile char pad[200];
    pad[0] = (char)depth;
    pad[199] = 1;
    if (depth % 500 == 0)
        goc_yield();
    long r = depth == 0 ? 0 : deep(depth - 1);
    return r + pad[199];
}
static void deep_child(void *arg)
{
    long v = deep((int)(intptr_t)arg) + touch_stack(64 * 1024);
    ASSERT_OK(goc_chan_send(deep_done, &v));
}
static void deep_main(void *arg)
{
    (void)arg;
    deep_done = goc_chan_make(sizeof(long), 0);
    goc_spawn_opts o = {.stack_size = 4 << 20};
    for (int round = 0; round < 4; round++) {
        ASSERT_OK(goc_go_opts(&o, deep_child, (void *)(intptr_t)2000));
        ASSERT_OK(goc_go_opts(&o, deep_child, (void *)(intptr_t)100));
        long a = recv_long(deep_done), b = recv_long(deep_done);
        ASSERT_EQ(a + b, 2001 + 101 + 2 * 0x5a);
    }
    goc_chan_release(deep_done);
}
static void deep_run(void)
{
    ASSERT_OK(goc_run(deep_main, NULL));
}
TEST(asan_deep_recursion)
{
    expect_clean(deep_run);
}

/* Goroutines exit, parked deep in frames, while others run and spawn on
 * two Ps; main returns with some still parked (abandoned), and the next
 * run's goroutines use the same slots (stale poison from the abandoned
 * frames would be reported) and the same number of fake stacks (each
 * abandoned goroutine's is freed: the address space stays put). */
static _Atomic long churn_exited, churn_parked;
/* Runs once the goroutine is off its stack: it is parked for good. */
static bool churn_count_parked(test_g *g, void *arg)
{
    (void)g;
    (void)arg;
    atomic_fetch_add(&churn_parked, 1);
    return true;
}
static void churn_child(void *arg)
{
    long depth = (intptr_t)arg % 6;
    if ((intptr_t)arg % 3 == 0) {
        (void)frames((int)depth); /* a fake stack to abandon */
        goc__park(churn_count_parked, NULL, "test: abandoned");
    }
    (void)frames((int)depth);
    (void)touch_stack(16 * 1024);
    atomic_fetch_add(&churn_exited, 1);
}
static void churn_main(void *arg)
{
    (void)arg;
    long n = scaled(6000);
    atomic_store(&churn_exited, 0);
    atomic_store(&churn_parked, 0);
    for (long i = 0; i < n; i++)
        ASSERT_OK(goc_go(churn_child, (void *)(intptr_t)i));
    /* Every other goroutine has exited (released: no longer counted) or
     * parked for good: none is left running when main returns, which
     * goc_run would wait for only so long on a loaded machine. */
    long parked = (n + 2) / 3;
    for (long spins = 0; goc_num_goroutine() > 1 + parked ||
                         atomic_load(&churn_parked) < parked;
         spins++) {
        ASSERT_LT(spins, 100 * 1000 * 1000L);
        goc_yield();
    }
    ASSERT_EQ(atomic_load(&churn_exited), n - parked);
}
static void churn_runs(void)
{
    goc_maxprocs(2);
    mallopt(M_ARENA_MAX, 2); /* arenas per thread: see sched_teardown */
    ASSERT_OK(goc_run(churn_main, NULL)); /* warm up lazy state */
    long vm = test_vm_kb();
    /* Few runs: goc_run gives up on an M that a loaded machine keeps off
     * the CPU for 200 ms as it ends, and the next run is then refused. */
    for (int i = 0; i < 2; i++)
        ASSERT_OK(goc_run(churn_main, NULL));
    /* A leaked fake stack is megabytes, a hundred of them a run (the
     * address space without ASan is sched_teardown's to check). */
    if (TEST_ASAN)
        ASSERT_LT(test_vm_kb() - vm, 256 * 1024);
}
TEST(asan_exit_while_others_run)
{
    expect_clean(churn_runs);
}
