/* SPDX-License-Identifier: MIT */
/* test_stack.c - stack overflow is reported, not silent corruption. */
#include <unistd.h>

#include "test.h"

static volatile int forever = 1;
int test_recurse_forever(volatile char *prev, int depth)
{
    volatile char frame[1024];
    frame[0] = (char)depth;
    frame[1023] = prev != NULL ? prev[0] : 0;
    if (!forever)
        return 0;
    return test_recurse_forever(frame, depth + 1) + frame[5];
}

static _Atomic long overflow_goid;
static void overflow_child(void *arg)
{
    (void)arg;
    atomic_store(&overflow_goid, goc_id());
    fprintf(stderr, "child goroutine %lld\n", (long long)goc_id());
    test_recurse_forever(NULL, 0);
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
    ASSERT_OK(goc_run(overflow_main, NULL));
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
    ASSERT_OK(goc_run(overflow_elsewhere_main, NULL));
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

/* A default-size goroutine overflows into a guard page that its slab got
 * in a batch, before any of its slots ran (stack.c, slab_guard_rest and
 * guard_ahead), just as into one installed alone: hold_n goroutines park
 * on slots before the child's.  The first guard of a run (main's slot)
 * is the one installed alone. */
static int hold_n;
static goc_chan *storm_hold;
static void storm_parked(void *arg)
{
    (void)arg;
    (void)!goc_chan_recv(storm_hold, NULL); /* never sent to */
}
static void storm_overflow_main(void *arg)
{
    (void)arg;
    storm_hold = goc_chan_make(0, 0);
    for (int i = 0; i < hold_n; i++)
        ASSERT_OK(goc_go(storm_parked, NULL));
    while (goc_num_goroutine() < hold_n + 1)
        goc_yield();
    ASSERT_OK(goc_go(overflow_child, NULL));
    for (;;)
        goc_yield();
}
static void storm_overflow_death(void)
{
    ASSERT_OK(goc_run(storm_overflow_main, NULL));
}

/* The first slab (252 slots): the child's is past the first refill. */
TEST(stack_overflow_first_slab)
{
    setenv("GOC_TRACEBACK", "none", 1);
    hold_n = 100;
    check_overflow_of(storm_overflow_death);
}

/* A storm's slab (one spanning a page directory, its guards installed a
 * part per refill of the slab before, the rest when it becomes the one
 * carved): 4,600 goroutines hold slots past the first slab (252) and the
 * second (4,032), so the child's comes from the third. */
TEST(stack_overflow_storm_slab)
{
    /* Without the dump of 4,600 parked goroutines, which would overflow
     * the death pipe (the child would die of SIGPIPE). */
    setenv("GOC_TRACEBACK", "none", 1);
    hold_n = 4600;
    check_overflow_of(storm_overflow_death);
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

/* ---- out of stack memory: goroutines that cannot get a stack wait for
 * one instead of crashing ---- */

#include <sys/resource.h>

#define STARVE_N 2000
static _Atomic int starve_inflight, starve_max, starve_done;
static void starve_child(void *arg)
{
    (void)arg;
    int now = atomic_fetch_add(&starve_inflight, 1) + 1;
    int max = atomic_load(&starve_max);
    while (now > max && !atomic_compare_exchange_weak(&starve_max, &max, now))
        ;
    for (int i = 0; i < 3; i++)
        goc_yield(); /* hold the stack while every other child starts */
    atomic_fetch_sub(&starve_inflight, 1);
    atomic_fetch_add(&starve_done, 1);
}
static void starve_main(void *arg)
{
    (void)arg;
    /* Room for about two 64 MiB slabs of stacks, no more. */
    long vm_kb = test_status("VmSize");
    ASSERT_GT(vm_kb, 0);
    struct rlimit rl = {(rlim_t)(vm_kb + 160 * 1024) * 1024,
                        (rlim_t)(vm_kb + 160 * 1024) * 1024};
    ASSERT_EQ(setrlimit(RLIMIT_AS, &rl), 0);
    int enomem = 0;
    for (int i = 0; i < STARVE_N;) {
        int rc = goc_go(starve_child, NULL);
        if (rc == GOC_ENOMEM) { /* no stack right now: let others finish */
            enomem++;
            goc_yield();
            continue;
        }
        ASSERT_OK(rc);
        i++;
    }
    while (atomic_load(&starve_done) < STARVE_N)
        goc_yield();
    /* With stacks for all, every child would have started before the
     * first one finished (one P, each yields behind the rest). */
    ASSERT_LT(atomic_load(&starve_max), STARVE_N);
    fprintf(stderr, "at most %d children at once; %d spawns said ENOMEM\n",
            atomic_load(&starve_max), enomem);
}
TEST(stack_exhaustion_waits)
{
#if TEST_TSAN || TEST_ASAN || TEST_EMULATED
    /* Sanitizers map terabytes of shadow, and an emulator maps its own
     * address space: an address-space limit means nothing to them. */
    fprintf(stderr, "skipped: needs a plain native build\n");
    return;
#endif
    goc_maxprocs(1);
    run_main(starve_main, NULL);
}

/* ---- free stacks go back to the OS in the background ----
 * 3000 goroutines touch their stacks and exit; their slots, idle since,
 * have their pages returned by sysmon about a second later (beyond the
 * 256 kept warm and the Ps' caches), with no goroutine running to do it:
 * an exit never pays for it (stack.c, goc__stack_scavenge). */

#define IDLE_N 3000
static goc_chan *idle_ch;
static goc_wg idle_wg;
static void idle_parked(void *arg)
{
    (void)arg;
    ASSERT_ERR(goc_chan_recv(idle_ch, NULL), GOC_ECLOSED);
    goc_wg_done(&idle_wg);
}
/* n goroutines park on idle_ch, which is then closed: all of them exit. */
static void park_then_exit(int n)
{
    idle_ch = goc_chan_make(0, 0);
    goc_wg_add(&idle_wg, n);
    for (int i = 0; i < n; i++)
        ASSERT_OK(goc_go(idle_parked, NULL));
    ASSERT_OK(goc_chan_close(idle_ch));
    goc_wg_wait(&idle_wg);
    goc_chan_release(idle_ch);
}
/* park_then_exit(n), then wait (for timeout at most) until VmRSS has
 * fallen by half of what the slots beyond the warm ones and the Ps'
 * caches held, and check that it did. */
static void exits_return_pages(int n, int64_t timeout)
{
    park_then_exit(n);
    long hi = test_status("VmRSS");
    ASSERT_GT(hi, 0);
    long want = (n - 256 - 64 * goc_maxprocs(0)) * 4 / 2; /* KiB */
    long rss = hi;
    int64_t t0 = goc_now();
    while (hi - rss < want && goc_now() < t0 + timeout) {
        goc_sleep(50 * GOC_MILLISECOND);
        rss = test_status("VmRSS");
    }
    fprintf(stderr, "VmRSS %ld KiB after %d exits, %ld KiB %.1f s later\n",
            hi, n, rss, (double)(goc_now() - t0) / GOC_SECOND);
    ASSERT_GE(hi - rss, want);
}
static void idle_main(void *arg)
{
    (void)arg;
    exits_return_pages(IDLE_N, 10 * GOC_SECOND);
}
TEST(stack_idle_pages_returned)
{
#if TEST_TSAN
    /* Under TSan no slot is reused or kept free: a slab is unmapped as
     * its last slot is freed (stack.c), so nothing is left to return. */
    fprintf(stderr, "skipped: TSan frees stacks with their slabs\n");
    return;
#endif
    run_main(idle_main, NULL);
}

/* ---- the scavenger is paced ----
 * The pages of 60,000 stacks whose goroutines exited go back to the OS,
 * in passes of bounded CPU time (stack.c, goc__stack_scavenge; sysmon.c,
 * scavenge_budget): in one pass they took 90-180 ms here, in which
 * sysmon preempted, polled and lent nothing. */
#define PACED_N 60000
static void paced_main(void *arg)
{
    (void)arg;
    /* Scaled down under sanitizers and emulators: under ASan 60,000
     * goroutines took 43 s, most of it the process's exit, and once
     * more than the test's 120 s on a busy VM. */
    exits_return_pages((int)scaled(PACED_N), 30 * GOC_SECOND);
    int64_t longest = goc__stack_scavenge_longest();
    fprintf(stderr, "longest scavenger pass %.2f ms of CPU\n",
            (double)longest / GOC_MILLISECOND);
    /* The idle budget, 10 ms, and one batch past it (a batch takes ~0.3
     * ms, now and then 10 on a VM whose host is busy); all in one pass,
     * 90-180 ms. */
    ASSERT_LE(longest, 45 * GOC_MILLISECOND);
}
TEST(stack_scavenger_paced)
{
#if TEST_TSAN
    fprintf(stderr, "skipped: TSan frees stacks with their slabs\n");
    return;
#endif
    run_main(paced_main, NULL);
}

/* ---- stack slabs never get huge pages ----
 * With transparent huge pages "always", a huge page in a slab would hold
 * the stack pages of eight slots: the slabs say MADV_NOHUGEPAGE (stack.c,
 * slab_new), which the kernel shows as "nh" among the mapping's VmFlags. */

/* Returns: 1 if the mapping holding p has flag among its VmFlags, 0 if
 * not, -1 if no mapping holds p. */
static int vma_has_flag(const void *p, const char *flag)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    ASSERT(f != NULL);
    char line[512];
    bool in = false;
    int found = -1;
    unsigned long lo, hi, a = (unsigned long)(uintptr_t)p;
    while (found < 0 && fgets(line, sizeof line, f) != NULL) {
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) /* a mapping's */
            in = lo <= a && a < hi;
        else if (in && strncmp(line, "VmFlags:", 8) == 0) {
            char want[8];
            snprintf(want, sizeof want, " %s", flag);
            char *at = strstr(line + 8, want);
            found = at != NULL && (at[strlen(want)] == ' ' ||
                                   at[strlen(want)] == '\n');
        }
    }
    fclose(f);
    return found;
}
static goc_chan *nh_result, *nh_hold;
static goc_wg nh_wg;
static void nh_child(void *arg)
{
    (void)arg;
    volatile char here = 0; /* on this goroutine's stack */
    int has = vma_has_flag((const void *)&here, "nh");
    ASSERT_OK(goc_chan_send(nh_result, &has));
}
static void nh_parked(void *arg)
{
    (void)arg;
    ASSERT_ERR(goc_chan_recv(nh_hold, NULL), GOC_ECLOSED);
    goc_wg_done(&nh_wg);
}
/* The mapping of a goroutine's stack, after hold goroutines parked on
 * theirs, says "nh".  Returns: vma_has_flag's answer. */
static int nh_check(int hold)
{
    nh_hold = goc_chan_make(0, 0);
    goc_wg_add(&nh_wg, hold);
    for (int i = 0; i < hold; i++)
        ASSERT_OK(goc_go(nh_parked, NULL));
    ASSERT_OK(goc_go(nh_child, NULL));
    int has = -2;
    ASSERT_OK(goc_chan_recv(nh_result, &has));
    ASSERT_OK(goc_chan_close(nh_hold));
    goc_wg_wait(&nh_wg);
    goc_chan_release(nh_hold);
    return has;
}
static void nh_main(void *arg)
{
    (void)arg;
    nh_result = goc_chan_make(sizeof(int), 0);
    ASSERT_EQ(nh_check(0), 1);    /* the first slab */
    ASSERT_EQ(nh_check(4600), 1); /* a storm's slab (past 252 + 4032) */
    goc_chan_release(nh_result);
}
TEST(stack_slabs_no_huge_pages)
{
    if (TEST_EMULATED ||
        access("/sys/kernel/mm/transparent_hugepage", F_OK) != 0) {
        fprintf(stderr, "skipped: no transparent huge pages here\n");
        return;
    }
    run_main(nh_main, NULL);
}

/* ---- mprotect guards leave the program mappings to spare ----
 * Without MADV_GUARD_INSTALL (kernels before 6.13, qemu-user) every guard
 * page splits its slab's mapping, and vm.max_map_count bounds them all.
 * Guards up to that limit left nothing for the next slab or anything
 * else: past ~32k live goroutines goc_go said GOC_ENOMEM.  The guards
 * stop at a budget (stack.c, mprotect_guard_budget) and later stacks go
 * without, said once on stderr. */
static long budget_n, budget_max;
static _Atomic long budget_parked;
static goc_chan *budget_hold;
static goc_wg budget_wg;
static void budget_parked_fn(void *arg)
{
    (void)arg;
    atomic_fetch_add(&budget_parked, 1);
    ASSERT_ERR(goc_chan_recv(budget_hold, NULL), GOC_ECLOSED);
    goc_wg_done(&budget_wg);
}
static void budget_main(void *arg)
{
    (void)arg;
    budget_hold = goc_chan_make(0, 0);
    goc_wg_add(&budget_wg, budget_n);
    for (long i = 0; i < budget_n; i++)
        ASSERT_OK(goc_go(budget_parked_fn, NULL));
    while (atomic_load(&budget_parked) < budget_n) /* each on its stack */
        goc_sleep(GOC_MILLISECOND);
    long maps = 0;
    FILE *f = fopen("/proc/self/maps", "r");
    ASSERT(f != NULL);
    for (int c; (c = fgetc(f)) != EOF;)
        maps += c == '\n';
    fclose(f);
    fprintf(stderr, "%ld goroutines parked, %ld mappings of %ld\n",
            budget_n, maps, budget_max);
    ASSERT_LE(maps, budget_max - budget_max / 8);
    ASSERT_OK(goc_chan_close(budget_hold));
    goc_wg_wait(&budget_wg);
    goc_chan_release(budget_hold);
}
static void budget_run(void)
{
    setenv("GOC_STACK_GUARD", "mprotect", 1);
    run_main(budget_main, NULL);
}
TEST(stack_guards_leave_mappings)
{
#if TEST_TSAN
    /* TSan's own mappings (one per two goroutines) have their own limit
     * and message (sanitizer.c). */
    fprintf(stderr, "skipped: TSan's mappings have a limit of their own\n");
    return;
#endif
#if TEST_ASAN
    /* 34,000 goroutines under ASan: 13 s on a quiet VM, much of it the
     * exit, and more on a busy one.  The Release, old-kernel and arm64
     * suites run it. */
    fprintf(stderr, "skipped: too heavy under ASan\n");
    return;
#endif
    FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
    ASSERT(f != NULL);
    ASSERT(fscanf(f, "%ld", &budget_max) == 1);
    fclose(f);
    if (budget_max > 262144) {
        fprintf(stderr, "skipped: vm.max_map_count %ld is raised\n",
                budget_max);
        return;
    }
    budget_n = budget_max / 2 + 1000; /* past what guards alone would take */
    static struct death d;
    death_run(&d, budget_run);
    fputs(d.out, stderr);
    ASSERT_STATUS(d, 0);
    const char *warn = "have no guard page";
    const char *at = strstr(d.out, warn);
    ASSERT(at != NULL);
    ASSERT(strstr(at + 1, warn) == NULL); /* once */
}

/* ---- a refill populates its fresh slots where process_madvise cannot ----
 * Before Linux 6.13 process_madvise refuses MADV_POPULATE_WRITE (EINVAL),
 * and a spawn storm's goroutines then faulted in their stack pages one
 * by one: 27% of spawn + park 100k on a VM.  A refill then populates the
 * pages with a madvise each (stack.c, refill_populate).  A seccomp filter
 * makes process_madvise fail as such a kernel does. */
#include <sys/syscall.h>

#define POPULATE_N 3000
static void populate_main(void *arg)
{
    (void)arg;
    park_then_exit(POPULATE_N);
    uint64_t n = goc__stack_populated();
    fprintf(stderr, "%llu of %d stacks populated ahead\n",
            (unsigned long long)n, POPULATE_N);
    /* All but the first 256 slots carved (STACK_STORM) and the last
     * refill's leftovers, whoever runs them. */
    ASSERT_GE(n, POPULATE_N / 2);
}
static void populate_run(void)
{
    ASSERT(test_refuse_new_kernel_calls(false));
    errno = 0;
    ASSERT_EQ(syscall(SYS_process_madvise, -1, NULL, 0, 0, 0), -1);
    ASSERT_EQ(errno, EINVAL); /* the filter is in */
    run_main(populate_main, NULL);
}
TEST(stack_populate_without_process_madvise)
{
#if !(defined(__x86_64__) || defined(__aarch64__)) || TEST_EMULATED
    fprintf(stderr, "skipped: needs seccomp on x86-64 or arm64, natively\n");
    return;
#endif
    static struct death d;
    death_run(&d, populate_run);
    fputs(d.out, stderr);
    ASSERT_STATUS(d, 0);
}

/* ---- the runtime's growing arrays stay where they are ----
 * A stack pool's free list, the header pool's and the timer heaps grow
 * under their locks while a spawn storm runs.  Moved by mremap, an
 * array keeps its pages, but on a VM with shadow page tables the first
 * touch of each at its new address is a host fault: the free list that
 * a storm had moved paid them again at the join, under the pool's lock
 * (os_linux.c, goc__pages_grow).  Below its reservation an array keeps
 * its address; past it, it moves with its contents. */
TEST(pages_grow_keeps_place)
{
    struct entry {
        char *slot;
        int64_t since;
    } *v = NULL;
    uint32_t cap = 0;
    ASSERT(goc__pages_grow((void **)&v, &cap, sizeof *v, 1));
    ASSERT(v != NULL);
    struct entry *first = v;
    /* A million goroutines' free list: 16 MB, written as slabs come. */
    for (uint32_t need = 4096; need <= (1u << 20); need *= 2) {
        ASSERT(goc__pages_grow((void **)&v, &cap, sizeof *v, need));
        ASSERT(v == first);
        ASSERT_GE(cap, need);
        for (uint32_t i = need / 2; i < need; i++)
            v[i] = (struct entry){(char *)(uintptr_t)(i + 1), i};
    }
    /* Past the reservation: it may move, and keeps what it held. */
    uint32_t was = cap;
    ASSERT(goc__pages_grow((void **)&v, &cap, sizeof *v, (size_t)was + 1));
    ASSERT_GE(cap, was + 1);
    for (uint32_t i = 2048; i < (1u << 20); i += 4093)
        ASSERT_EQ(v[i].since, (int64_t)i);
    v[cap - 1].since = 1; /* the new end is writable */
    goc__pages_free(v, cap, sizeof *v);
}
