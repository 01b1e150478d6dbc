/* SPDX-License-Identifier: MIT */
/*
 * test.h - the test framework (libuv's task.h, in spirit): TEST(name),
 * assertions that print both operands and error names, helpers for running
 * a body under goc_run and for death tests.  Tests are listed in
 * test-list.h; each runs in its own process (runner.c).
 */
#ifndef GOC_TEST_H
#define GOC_TEST_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "goc.h"

#define TEST(name) void test_##name(void)

#define FAIL(...)                                                         \
    do {                                                                  \
        fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                   \
        fprintf(stderr, __VA_ARGS__);                                     \
        fprintf(stderr, "\n");                                            \
        fflush(stderr);                                                   \
        abort();                                                          \
    } while (0)

#define ASSERT(e)                                                         \
    do {                                                                  \
        if (!(e))                                                         \
            FAIL("assertion failed: %s", #e);                             \
    } while (0)

#define ASSERT_CMP(a, op, b)                                              \
    do {                                                                  \
        long long a_ = (long long)(a), b_ = (long long)(b);               \
        if (!(a_ op b_))                                                  \
            FAIL("%s %s %s: %lld vs %lld", #a, #op, #b, a_, b_);          \
    } while (0)
#define ASSERT_EQ(a, b) ASSERT_CMP(a, ==, b)
#define ASSERT_NE(a, b) ASSERT_CMP(a, !=, b)
#define ASSERT_LT(a, b) ASSERT_CMP(a, <, b)
#define ASSERT_LE(a, b) ASSERT_CMP(a, <=, b)
#define ASSERT_GT(a, b) ASSERT_CMP(a, >, b)
#define ASSERT_GE(a, b) ASSERT_CMP(a, >=, b)

#define ASSERT_ERR(rc, code)                                              \
    do {                                                                  \
        int r_ = (rc);                                                    \
        if (r_ != (code))                                                 \
            FAIL("%s: got %s (%d), want %s", #rc, goc_err_name(r_), r_,   \
                 #code);                                                  \
    } while (0)
#define ASSERT_OK(rc) ASSERT_ERR(rc, 0)

#define ASSERT_CONTAINS(hay, needle)                                      \
    do {                                                                  \
        if (strstr((hay), (needle)) == NULL)                              \
            FAIL("output lacks \"%s\"; output was:\n%s", (needle), (hay));\
    } while (0)

/* Which sanitizer this test binary was built with. */
#if defined(__SANITIZE_THREAD__)
#define TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TEST_TSAN 1
#endif
#endif
#ifndef TEST_TSAN
#define TEST_TSAN 0
#endif
#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#ifndef TEST_ASAN
#define TEST_ASAN 0
#endif
/* TEST_DEBUGINFO: the tests are built with DWARF line tables (-g). */
#ifndef TEST_DEBUGINFO
#define TEST_DEBUGINFO 0
#endif
/* TEST_EMULATED: the tests run under an emulator (set by the build). */
#ifndef TEST_EMULATED
#define TEST_EMULATED 0
#endif

/* Scale a workload: heavy counts shrink under sanitizers and emulators.
 * GOC_TEST_SCALE (environment) divides; the build may set a default. */
#ifndef GOC_TEST_SCALE_DEFAULT
#define GOC_TEST_SCALE_DEFAULT 1
#endif
static inline long scaled(long n)
{
    long div = GOC_TEST_SCALE_DEFAULT;
    const char *s = getenv("GOC_TEST_SCALE");
    if (s != NULL && atol(s) > 0)
        div = atol(s);
    long r = n / div;
    return r > 0 ? r : 1;
}

/* Run body(arg) as the main goroutine and check goc_run's result. */
static inline void run_main(void (*body)(void *), void *arg)
{
    int rc = goc_run(body, arg);
    if (rc != 0)
        FAIL("goc_run: %s", goc_err_name(rc));
}

/* Death tests: run fn in a child process; collect its stderr and status. */
struct death {
    int status; /* exit status, or 128 + signal */
    char out[256 * 1024];
};
void death_run(struct death *d, void (*fn)(void));
#define ASSERT_STATUS(d, want)                                            \
    do {                                                                  \
        if ((d).status != (want))                                         \
            FAIL("exit status %d, want %d; output:\n%s", (d).status,     \
                 (want), (d).out);                                        \
    } while (0)
/* The first line of d->out. */
const char *first_line(const struct death *d, char *buf, size_t len);

/* Recurse, 1 KiB a frame, until the stack overflows (test_stack.c). */
int test_recurse_forever(volatile char *prev, int depth);

/* Internal test hooks (the park/ready primitive and friends). */
typedef struct goc__g test_g;
typedef bool (*test_unlockf)(test_g *g, void *arg);
void goc__park(test_unlockf unlockf, void *arg, const char *reason);
void goc__ready(test_g *g);
test_g *goc__getg(void);
/* The most CPU time one pass of the stack scavenger took (stack.h). */
int64_t goc__stack_scavenge_longest(void);
/* Fresh stack slots' top pages populated ahead of their first run. */
uint64_t goc__stack_populated(void);
/* A runtime array that grows under a lock, and its end (os.h). */
bool goc__pages_grow(void **base, uint32_t *cap, size_t elem, size_t need);
void goc__pages_free(void *base, uint32_t cap, size_t elem);

/* A seccomp filter that makes this process (and its children) answer as
 * a kernel before 6.13 does: process_madvise fails with EINVAL, and with
 * guards MADV_GUARD_INSTALL and MADV_GUARD_REMOVE too.  make
 * test-oldkernel runs the suite so (GOC_TEST_OLD_KERNEL, runner.c).
 * Returns: false where no filter can be had (an emulator, another
 * architecture). */
bool test_refuse_new_kernel_calls(bool guards);
/* Kernel thread id of the caller. */
int test_gettid(void);
/* A field of /proc/self/status (VmRSS, VmPTE in kB; Threads), or -1. */
long test_status(const char *field);
/* Thread count of this process, from /proc/self/status. */
int test_threads(void);
/* The program's address space in KiB: the sum of /proc/self/maps. */
long test_vm_kb(void);
/* The program's mappings: the lines of /proc/self/maps. */
long test_maps(void);
/* The block of a dump for the goroutine named name ("goroutine N [...]
 * \"name\":" up to the blank line after it, or the end): a pointer to
 * its header line in dump, and its length in *len.  NULL if none. */
const char *test_dump_block(const char *dump, const char *name, size_t *len);

#endif /* GOC_TEST_H */
