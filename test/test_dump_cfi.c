/* SPDX-License-Identifier: MIT */
/*
 * test_dump_cfi.c - dumps of code built without frame pointers: this file
 * is compiled with -fomit-frame-pointer (test/CMakeLists.txt), and a
 * parked goroutine's frames are still all there, unwound with the CFI of
 * the modules when libdw can be loaded.
 */
#include <dlfcn.h>

#include "test.h"

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define UNDER_VALGRIND() RUNNING_ON_VALGRIND
#else
#define UNDER_VALGRIND() 0
#endif

static goc_chan *cfi_ch;
static volatile int cfi_sink;

/* Three frames without frame records; each does some work after its call,
 * so none of the calls can become a jump. */
__attribute__((noinline)) static void cfi_inner(int x)
{
    int v = 0;
    (void)!goc_chan_recv(cfi_ch, &v);
    cfi_sink = v + x;
}
__attribute__((noinline)) static void cfi_middle(int x)
{
    cfi_inner(x * 3);
    cfi_sink += x;
}
__attribute__((noinline)) static void cfi_outer(void *arg)
{
    (void)arg;
    cfi_middle(7);
    cfi_sink++;
}

static void cfi_main(void *arg)
{
    (void)arg;
    cfi_ch = goc_chan_make(sizeof(int), 0);
    goc_spawn_opts o = {.name = "nofp"};
    ASSERT_OK(goc_go_opts(&o, cfi_outer, NULL));
    static char buf[1 << 16];
    const char *g = NULL;
    for (int i = 0; i < 100000 && g == NULL; i++) { /* until it waits */
        goc_stack(buf, sizeof buf, true);
        g = strstr(buf, "[chan receive] \"nofp\":\n");
        goc_yield();
    }
    ASSERT(g != NULL);
    void *dw = dlopen("libdw.so.1", RTLD_NOW | RTLD_LOCAL);
    if (dw != NULL && !UNDER_VALGRIND()) {
        /* The CFI walk: every frame, innermost first, up to the entry. */
        const char *pub = strstr(g, "\ngoc_chan_recv(");
        const char *in = strstr(g, "\ncfi_inner");
        const char *mid = strstr(g, "\ncfi_middle");
        const char *out = strstr(g, "\ncfi_outer");
        const char *by = strstr(g, "\ncreated by cfi_main");
        if (!(pub && in && mid && out && by && pub < in && in < mid &&
              mid < out && out < by))
            FAIL("frames missing or out of order:\n%s", g);
        dlclose(dw);
    } else {
        /* Frame pointers alone: the walk may lose the frames that have no
         * record, but it stays on the stack and ends. */
        ASSERT_CONTAINS(g, "\ncreated by cfi_main");
    }
    ASSERT_OK(goc_chan_close(cfi_ch));
    while (goc_num_goroutine() > 1)
        goc_yield();
    goc_chan_release(cfi_ch);
}
TEST(dump_without_frame_pointers)
{
    run_main(cfi_main, NULL);
}

/* ---- a running goroutine without frame records, stopped by a signal --- */

static _Atomic int spin_stop, spin_started;

__attribute__((noinline)) static void cfi_spin_inner(int x)
{
    atomic_store(&spin_started, 1);
    while (!atomic_load_explicit(&spin_stop, memory_order_relaxed))
        cfi_sink += x;
    cfi_sink++;
}
/* Called through a pointer in a register (call *%rax): the dump's
 * return-address search cannot tell such a call from stale data, so only
 * the CFI unwind finds the frames above. */
static void (*volatile spin_inner_ptr)(int) = cfi_spin_inner;
__attribute__((noinline)) static void cfi_spin_middle(int x)
{
    spin_inner_ptr(x);
    cfi_sink++;
}
__attribute__((noinline)) static void cfi_spin_outer(void *arg)
{
    (void)arg;
    void (*volatile middle)(int) = cfi_spin_middle;
    middle(5);
    cfi_sink++;
}

static void spin_main(void *arg)
{
    (void)arg;
    goc_spawn_opts o = {.name = "spinner"};
    ASSERT_OK(goc_go_opts(&o, cfi_spin_outer, NULL));
    while (!atomic_load(&spin_started)) /* it runs on the other P */
        goc_yield();
    static char buf[1 << 16];
    goc_stack(buf, sizeof buf, true);
    const char *g = strstr(buf, "[running] \"spinner\":\n");
    if (g != NULL && strstr(g, "\ngoroutine ") != NULL)
        *strstr(g, "\ngoroutine ") = '\0'; /* its block alone */
    ASSERT(g != NULL);
    void *dw = dlopen("libdw.so.1", RTLD_NOW | RTLD_LOCAL);
    /* TSan may defer the signal past the dump's patience: "stack
     * unavailable" is the documented answer then. */
    if (dw != NULL && !UNDER_VALGRIND() && !TEST_TSAN) {
        const char *in = strstr(g, "\ncfi_spin_inner");
        const char *mid = strstr(g, "\ncfi_spin_middle");
        const char *out = strstr(g, "\ncfi_spin_outer");
        const char *by = strstr(g, "\ncreated by spin_main");
        if (!(in && mid && out && by && in < mid && mid < out && out < by))
            FAIL("frames missing or out of order:\n%s", g);
    }
    if (dw != NULL)
        dlclose(dw);
    atomic_store(&spin_stop, 1);
    while (goc_num_goroutine() > 1)
        goc_yield();
}
TEST(dump_running_without_frame_pointers)
{
    goc_maxprocs(2);
    run_main(spin_main, NULL);
}
