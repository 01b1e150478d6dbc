/* SPDX-License-Identifier: MIT */
/* test_compact.c - parked goroutines' stacks compacted and restored
 * (GOCDEBUG=compactstacks=1, src/compact.c): every way in to a compacted
 * stack sees the bytes it left, and overflow is still caught.  Where the
 * mode cannot run (sanitizers, valgrind, an emulator, no permission) each
 * test checks that it says so, and runs its workload all the same. */
#include <errno.h>
#include <pthread.h>
#include <unistd.h>

#include "test.h"

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define TEST_VALGRIND() RUNNING_ON_VALGRIND
#else
#define TEST_VALGRIND() 0
#endif
#ifndef TEST_EMULATED
#define TEST_EMULATED 0
#endif

/* Ask the next run for compaction of anything parked (compactafter=0). */
static void compact_ask(void)
{
    setenv("GOCDEBUG", "compactstacks=1,compactafter=0", 1);
}

/* Could this process have the mode?  Not under a sanitizer, valgrind or
 * an emulator, nor as on a kernel before 6.13 (make test-oldkernel); as
 * root or with vm.unprivileged_userfaultfd = 1. */
static bool compact_expected(void)
{
    if (TEST_ASAN || TEST_TSAN || TEST_EMULATED || TEST_VALGRIND())
        return false;
    if (getenv("GOC_TEST_OLD_KERNEL") != NULL) /* no madvise guards */
        return false;
    if (geteuid() == 0)
        return true;
    FILE *f = fopen("/proc/sys/vm/unprivileged_userfaultfd", "r");
    int v = 0;
    if (f != NULL) {
        if (fscanf(f, "%d", &v) != 1)
            v = 0;
        fclose(f);
    }
    return v == 1;
}

/* In the run: is the mode on?  It must be where it can be; where it is
 * not, it must say why. */
static bool compact_on(void)
{
    goc_compact_stats st;
    goc_compact_stats_read(&st);
    if (st.state == GOC_COMPACT_ON)
        return true;
    ASSERT_EQ(st.state, GOC_COMPACT_UNAVAILABLE);
    ASSERT(st.why != NULL && st.why[0] != '\0');
    if (compact_expected())
        FAIL("compaction unavailable where it should run: %s", st.why);
    fprintf(stderr, "compaction unavailable here: %s\n", st.why);
    return false;
}

/* Wait (bounded: 30 s) until at least n goroutines are compacted now. */
static void compact_wait(int64_t n)
{
    if (!compact_on())
        return;
    goc_compact_stats st;
    for (int i = 0; i < 30000; i++) {
        goc_compact_stats_read(&st);
        if (st.compacted >= n) {
            if (getenv("TEST_VERBOSE") != NULL)
                fprintf(stderr, "compacted %lld after %d ms\n",
                        (long long)st.compacted, i);
            return;
        }
        goc_sleep(GOC_MILLISECOND);
    }
    FAIL("%lld compacted after 30 s, want %lld", (long long)st.compacted,
         (long long)n);
}

static void wait_count(_Atomic int *c, int n)
{
    while (atomic_load(c) < n)
        goc_sleep(GOC_MILLISECOND);
}

/* ---- a channel sends into compacted receivers' stacks ---- */

#define CR_N 600 /* past the first slab's 252 slots: storm slabs too */
struct cr_elem {
    uint64_t v[8];
};
static goc_chan *cr_ch;
static goc_wg cr_wg;
static _Atomic int cr_parked;
static _Atomic int cr_seen[CR_N];

static void cr_receiver(void *arg)
{
    (void)arg;
    volatile uint64_t below[8];
    struct cr_elem e;
    volatile uint64_t above[8];
    for (int i = 0; i < 8; i++) {
        below[i] = 0xb10cb10cull ^ (uint64_t)i;
        above[i] = 0xab0eab0eull ^ (uint64_t)i;
    }
    memset(&e, 0xee, sizeof e);
    atomic_fetch_add(&cr_parked, 1);
    ASSERT_OK(goc_chan_recv(cr_ch, &e));
    uint64_t k = e.v[0];
    ASSERT_LT(k, CR_N);
    for (int i = 1; i < 8; i++)
        ASSERT_EQ(e.v[i], k * 1000003u + (uint64_t)i);
    for (int i = 0; i < 8; i++) {
        ASSERT_EQ(below[i], 0xb10cb10cull ^ (uint64_t)i);
        ASSERT_EQ(above[i], 0xab0eab0eull ^ (uint64_t)i);
    }
    atomic_fetch_add(&cr_seen[k], 1);
    goc_wg_done(&cr_wg);
}

static void cr_main(void *arg)
{
    (void)arg;
    cr_ch = goc_chan_make(sizeof(struct cr_elem), 0);
    goc_wg_add(&cr_wg, CR_N);
    for (int i = 0; i < CR_N; i++)
        ASSERT_OK(goc_go(cr_receiver, NULL));
    wait_count(&cr_parked, CR_N);
    compact_wait(CR_N);
    for (uint64_t k = 0; k < CR_N; k++) {
        struct cr_elem e;
        e.v[0] = k;
        for (int i = 1; i < 8; i++)
            e.v[i] = k * 1000003u + (uint64_t)i;
        ASSERT_OK(goc_chan_send(cr_ch, &e));
    }
    goc_wg_wait(&cr_wg);
    for (int k = 0; k < CR_N; k++)
        ASSERT_EQ(atomic_load(&cr_seen[k]), 1);
    goc_compact_stats st;
    goc_compact_stats_read(&st);
    if (st.state == GOC_COMPACT_ON)
        ASSERT_GE(st.restores, CR_N);
    goc_chan_release(cr_ch);
}

TEST(compact_chan_recv)
{
    compact_ask();
    run_main(cr_main, NULL);
}

/* ---- a goc_wg on a compacted stack, done by others ---- */

#define WG_WAITERS 32
#define WG_WORKERS 16
static goc_chan *wg_go;   /* closed once the waiters are compacted */
static goc_wg wg_all;
static _Atomic int wg_parked, wg_woken;

static void wg_worker(void *arg)
{
    goc_wg *wg = arg;
    int64_t n = 0;
    ASSERT_ERR(goc_chan_recv(wg_go, &n), GOC_ECLOSED);
    /* 0-3 ms, so that some land while a pass compacts and restores */
    goc_sleep((int64_t)(rand() % 4) * GOC_MILLISECOND);
    goc_wg_done(wg);
    goc_wg_done(&wg_all);
}

static void wg_waiter(void *arg)
{
    (void)arg;
    goc_wg wg = GOC_WG_INIT;
    volatile uint64_t mark = 0x5eed5eedull;
    goc_wg_add(&wg, WG_WORKERS);
    for (int i = 0; i < WG_WORKERS; i++)
        ASSERT_OK(goc_go(wg_worker, &wg));
    atomic_fetch_add(&wg_parked, 1);
    goc_wg_wait(&wg);
    ASSERT_EQ(mark, 0x5eed5eedull);
    ASSERT_EQ(wg.state >> 32, 0);
    atomic_fetch_add(&wg_woken, 1);
    goc_wg_done(&wg_all);
}

static void wg_main(void *arg)
{
    (void)arg;
    wg_go = goc_chan_make(sizeof(int64_t), 0);
    goc_wg_add(&wg_all, WG_WAITERS * (WG_WORKERS + 1));
    for (int i = 0; i < WG_WAITERS; i++)
        ASSERT_OK(goc_go(wg_waiter, NULL));
    wait_count(&wg_parked, WG_WAITERS);
    compact_wait(WG_WAITERS * (WG_WORKERS + 1));
    ASSERT_OK(goc_chan_close(wg_go));
    goc_wg_wait(&wg_all);
    ASSERT_EQ(atomic_load(&wg_woken), WG_WAITERS);
    goc_chan_release(wg_go);
}

TEST(compact_wg_on_stack)
{
    compact_ask();
    run_main(wg_main, NULL);
}

/* ---- selects parked on compacted stacks ---- */

#define SEL_N 300
static goc_chan *sel_ch[SEL_N][4]; /* recv, recv, send, send */
static _Atomic int sel_parked;
static goc_wg sel_wg;

static void sel_goroutine(void *arg)
{
    int i = (int)(intptr_t)arg;
    int64_t in0 = -1, in1 = -1;
    int64_t out2 = 2000000 + i, out3 = 3000000 + i;
    goc_case cs[4] = {
        GOC_RECV_CASE(sel_ch[i][0], &in0), GOC_RECV_CASE(sel_ch[i][1], &in1),
        GOC_SEND_CASE(sel_ch[i][2], &out2), GOC_SEND_CASE(sel_ch[i][3], &out3),
    };
    atomic_fetch_add(&sel_parked, 1);
    int k = goc_select(cs, 4);
    ASSERT_EQ(k, i % 4);
    ASSERT_OK(cs[k].err);
    ASSERT_EQ(in0, k == 0 ? i : -1);
    ASSERT_EQ(in1, k == 1 ? 1000000 + i : -1);
    goc_wg_done(&sel_wg);
}

static void sel_main(void *arg)
{
    (void)arg;
    for (int i = 0; i < SEL_N; i++)
        for (int c = 0; c < 4; c++)
            sel_ch[i][c] = goc_chan_make(sizeof(int64_t), 0);
    goc_wg_add(&sel_wg, SEL_N);
    for (int i = 0; i < SEL_N; i++)
        ASSERT_OK(goc_go(sel_goroutine, (void *)(intptr_t)i));
    wait_count(&sel_parked, SEL_N);
    compact_wait(SEL_N);
    for (int i = 0; i < SEL_N; i++) {
        int64_t v;
        switch (i % 4) {
        case 0:
            v = i;
            ASSERT_OK(goc_chan_send(sel_ch[i][0], &v));
            break;
        case 1:
            v = 1000000 + i;
            ASSERT_OK(goc_chan_send(sel_ch[i][1], &v));
            break;
        default:
            ASSERT_OK(goc_chan_recv(sel_ch[i][i % 4], &v));
            ASSERT_EQ(v, (i % 4) * 1000000 + i);
        }
    }
    goc_wg_wait(&sel_wg);
    /* No waiter record of a select is left on any channel. */
    for (int i = 0; i < SEL_N; i++)
        for (int c = 0; c < 4; c++) {
            int64_t v = 7;
            ASSERT_ERR(goc_chan_try_send(sel_ch[i][c], &v), GOC_EAGAIN);
            ASSERT_ERR(goc_chan_try_recv(sel_ch[i][c], &v), GOC_EAGAIN);
            goc_chan_release(sel_ch[i][c]);
        }
}

TEST(compact_select)
{
    compact_ask();
    run_main(sel_main, NULL);
}

/* ---- the kernel writes into a compacted stack: read(2) ---- */

static int rd_pipe[2];
static char *_Atomic rd_buf;
static goc_chan *rd_done;
static ssize_t rd_n;
static int rd_errno;
static _Atomic int rd_finished;
static const char rd_text[] = "bytes the kernel copies into a compacted stack";

static void *rd_thread(void *arg)
{
    (void)arg;
    ssize_t n;
    while ((n = read(rd_pipe[0], atomic_load(&rd_buf), 100)) < 0 &&
           errno == EINTR) {
    }
    rd_n = n;
    rd_errno = n < 0 ? errno : 0;
    atomic_store(&rd_finished, 1);
    return NULL;
}

static void rd_owner(void *arg)
{
    (void)arg;
    char buf[128];
    memset(buf, '.', sizeof buf);
    atomic_store(&rd_buf, buf);
    int64_t v;
    ASSERT_OK(goc_chan_recv(rd_done, &v)); /* parked: compacted */
    ASSERT_EQ(rd_errno, 0);
    ASSERT_EQ(rd_n, (ssize_t)sizeof rd_text);
    ASSERT(memcmp(buf, rd_text, sizeof rd_text) == 0);
    ASSERT_EQ(buf[sizeof rd_text], '.');
    ASSERT_OK(goc_chan_send(rd_done, &v));
}

static void rd_main(void *arg)
{
    (void)arg;
    ASSERT_EQ(pipe(rd_pipe), 0);
    rd_done = goc_chan_make(sizeof(int64_t), 0);
    ASSERT_OK(goc_go(rd_owner, NULL));
    while (atomic_load(&rd_buf) == NULL)
        goc_sleep(GOC_MILLISECOND);
    compact_wait(1);
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, rd_thread, NULL), 0);
    /* the reader may be in read(2) already or not yet: either way the
     * bytes arrive after the compaction */
    ASSERT_EQ(write(rd_pipe[1], rd_text, sizeof rd_text),
              (ssize_t)sizeof rd_text);
    /* A goroutine that waited for the thread on a channel would leave
     * every goroutine asleep, which the runtime reports as a deadlock. */
    wait_count(&rd_finished, 1);
    ASSERT_EQ(pthread_join(t, NULL), 0);
    int64_t v = 1;
    ASSERT_OK(goc_chan_send(rd_done, &v)); /* the owner checks */
    ASSERT_OK(goc_chan_recv(rd_done, &v));
    close(rd_pipe[0]);
    close(rd_pipe[1]);
    goc_chan_release(rd_done);
}

TEST(compact_read_into_stack)
{
    compact_ask();
    run_main(rd_main, NULL);
}

/* ---- goroutines woken at random while passes compact them ---- */

#define WK_N 400
#define WK_ROUNDS 30
static goc_chan *wk_ch[WK_N];
static goc_wg wk_wg;

static void wk_goroutine(void *arg)
{
    int i = (int)(intptr_t)arg;
    volatile uint64_t pattern[16];
    int64_t count = 0; /* a stack local the restores must keep */
    for (int j = 0; j < 16; j++)
        pattern[j] = (uint64_t)i * 131 + (uint64_t)j;
    for (int r = 0; r < WK_ROUNDS; r++) {
        int64_t v;
        ASSERT_OK(goc_chan_recv(wk_ch[i], &v));
        ASSERT_EQ(v, count);
        count++;
        for (int j = 0; j < 16; j++) {
            ASSERT_EQ(pattern[j], (uint64_t)i * 131 + (uint64_t)j + (uint64_t)r);
            pattern[j]++;
        }
    }
    ASSERT_EQ(count, WK_ROUNDS);
    goc_wg_done(&wk_wg);
}

static void wk_main(void *arg)
{
    (void)arg;
    unsigned seed = 12345;
    for (int i = 0; i < WK_N; i++)
        wk_ch[i] = goc_chan_make(sizeof(int64_t), 0);
    goc_wg_add(&wk_wg, WK_N);
    for (int i = 0; i < WK_N; i++)
        ASSERT_OK(goc_go(wk_goroutine, (void *)(intptr_t)i));
    compact_wait(WK_N / 2);
    for (int r = 0; r < WK_ROUNDS; r++) {
        /* each round wakes every goroutine once, in a shuffled order,
         * with a pause now and then so that passes run in between */
        int order[WK_N];
        for (int i = 0; i < WK_N; i++)
            order[i] = i;
        for (int i = WK_N - 1; i > 0; i--) {
            int j = (int)(rand_r(&seed) % (unsigned)(i + 1));
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        for (int i = 0; i < WK_N; i++) {
            int64_t v = r;
            ASSERT_OK(goc_chan_send(wk_ch[order[i]], &v));
            if (rand_r(&seed) % 64 == 0)
                goc_sleep((int64_t)(rand_r(&seed) % 3) * GOC_MILLISECOND);
        }
    }
    goc_wg_wait(&wk_wg);
    goc_compact_stats st;
    goc_compact_stats_read(&st);
    if (st.state == GOC_COMPACT_ON)
        ASSERT_GE(st.restores, WK_N / 2);
    for (int i = 0; i < WK_N; i++)
        goc_chan_release(wk_ch[i]);
}

TEST(compact_wake_during_passes)
{
    compact_ask();
    goc_maxprocs(2);
    run_main(wk_main, NULL);
}

/* The same with the stack thread pausing 300 us before and after each
 * batch's write-protect: goroutines woken in the first window have run
 * (and maybe parked again) by the re-check; those woken in the second
 * run into the protect at their first write, wait for the batch, and
 * are restored from a copy taken while they waited. */
extern _Atomic uint32_t goc__compact_test_pause_us;

TEST(compact_wake_into_protect)
{
    compact_ask();
    goc_maxprocs(2);
    atomic_store(&goc__compact_test_pause_us, 300);
    run_main(wk_main, NULL);
    goc_compact_stats st;
    goc_compact_stats_read(&st);
    fprintf(stderr, "compactions %llu, restores %llu, abandoned %llu\n",
            (unsigned long long)st.compactions,
            (unsigned long long)st.restores,
            (unsigned long long)st.abandoned);
}

/* ---- overflow is still caught after a compaction and a restore ---- */

static goc_chan *ov_ch;
static void ov_child(void *arg)
{
    (void)arg;
    int64_t v;
    ASSERT_OK(goc_chan_recv(ov_ch, &v)); /* compacted here */
    fprintf(stderr, "child goroutine %lld\n", (long long)goc_id());
    test_recurse_forever(NULL, 0);
}

static void ov_main(void *arg)
{
    (void)arg;
    ov_ch = goc_chan_make(sizeof(int64_t), 0);
    ASSERT_OK(goc_go(ov_child, NULL));
    goc_compact_stats st;
    do {
        goc_sleep(GOC_MILLISECOND);
        goc_compact_stats_read(&st);
    } while (st.state == GOC_COMPACT_ON && st.compactions == 0);
    fprintf(stderr, "compaction state %d, compactions %llu\n", st.state,
            (unsigned long long)st.compactions);
    int64_t v = 1;
    ASSERT_OK(goc_chan_send(ov_ch, &v));
    for (;;)
        goc_sleep(GOC_SECOND);
}

static void ov_death(void)
{
    compact_ask();
    ASSERT_OK(goc_run(ov_main, NULL));
}

TEST(compact_overflow_still_caught)
{
    static struct death d;
    death_run(&d, ov_death);
    ASSERT_STATUS(d, 2);
    if (compact_expected())
        ASSERT_CONTAINS(d.out, "compaction state 1, compactions ");
    long long id = 0;
    const char *line = strstr(d.out, "child goroutine ");
    ASSERT(line != NULL && sscanf(line, "child goroutine %lld", &id) == 1);
    char want[128];
    snprintf(want, sizeof want,
             "fatal error: stack overflow in goroutine %lld\n", id);
    ASSERT_CONTAINS(d.out, want);
}

/* ---- not with mprotect's guard pages ----
 * Compaction removes a compacted stack's guard and installs it again,
 * with MADV_GUARD_INSTALL (Linux 6.13).  With mprotect's guards (older
 * kernels, or GOC_STACK_GUARD=mprotect) it used to say it was on and
 * then compact nothing; now it says why it cannot run. */
static void mprotect_guards_main(void *arg)
{
    (void)arg;
    goc_compact_stats st;
    goc_compact_stats_read(&st);
    ASSERT_EQ(st.state, GOC_COMPACT_UNAVAILABLE);
    ASSERT(st.why != NULL);
    fprintf(stderr, "compaction unavailable: %s\n", st.why);
    if (compact_expected()) /* else a sanitizer's or permission's reason */
        ASSERT(strstr(st.why, "guard pages") != NULL);
}
TEST(compact_unavailable_with_mprotect_guards)
{
    compact_ask();
    setenv("GOC_STACK_GUARD", "mprotect", 1);
    run_main(mprotect_guards_main, NULL);
}

/* ---- off unless asked ---- */

static void off_main(void *arg)
{
    (void)arg;
    goc_compact_stats st;
    goc_compact_stats_read(&st);
    ASSERT_EQ(st.state, GOC_COMPACT_OFF);
    ASSERT_EQ(st.compacted, 0);
}

TEST(compact_off_by_default)
{
    unsetenv("GOCDEBUG");
    run_main(off_main, NULL);
    setenv("GOCDEBUG", "compactstacks=2", 1); /* only "1" turns it on */
    run_main(off_main, NULL);
}

/* ---- the budget: <= 1 KiB per parked goroutine, page tables included */

#define BUD_N 100000
#define BUD_CHANS 1000 /* 100 waiters a channel: the Debug build checks a
                          channel's whole wait queue at each change */
static goc_chan *bud_ch[BUD_CHANS];
static goc_wg bud_wg;
static _Atomic int bud_parked;

static void bud_parked_one(void *arg)
{
    goc_chan *c = arg;
    atomic_fetch_add(&bud_parked, 1);
    ASSERT_ERR(goc_chan_recv(c, NULL), GOC_ECLOSED);
    goc_wg_done(&bud_wg);
}

static void bud_main(void *arg)
{
    (void)arg;
    int n = (int)scaled(BUD_N);
    for (int i = 0; i < BUD_CHANS; i++)
        bud_ch[i] = goc_chan_make(0, 0);
    long rss0 = test_status("VmRSS"), pte0 = test_status("VmPTE");
    goc_wg_add(&bud_wg, n);
    for (int i = 0; i < n; i++)
        ASSERT_OK(goc_go(bud_parked_one, bud_ch[i % BUD_CHANS]));
    wait_count(&bud_parked, n);
    compact_wait(n);
    long rss1 = test_status("VmRSS"), pte1 = test_status("VmPTE");
    long per = ((rss1 - rss0) + (pte1 - pte0)) * 1024 / n;
    fprintf(stderr, "%d parked: %ld B each (VmRSS + VmPTE)\n", n, per);
    goc_compact_stats st;
    goc_compact_stats_read(&st);
    /* The budget is for optimized code: at -O0 a receive parks with ~1.1
     * KiB of stack live (~300 B optimized), and the copy holds it all. */
#ifdef __OPTIMIZE__
    long budget = 1024;
#else
    long budget = 2048;
#endif
    if (st.state == GOC_COMPACT_ON)
        ASSERT_LE(per, budget);
    for (int i = 0; i < BUD_CHANS; i++)
        ASSERT_OK(goc_chan_close(bud_ch[i]));
    goc_wg_wait(&bud_wg);
    for (int i = 0; i < BUD_CHANS; i++)
        goc_chan_release(bud_ch[i]);
}

TEST(compact_100k_parked_under_1k)
{
    compact_ask();
    run_main(bud_main, NULL);
}
