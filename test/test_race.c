/* SPDX-License-Identifier: MIT */
/*
 * test_race.c - the race detector (docs/design/race.md).  Each racy
 * program (Go's race tests that fit C) must be reported at GOMAXPROCS 1
 * and 2, and its fixed twin never.  Under TSan every body runs in a child
 * (death_run): a racy one must exit with TSan's status 66, print a data
 * race report naming the racy function and a goroutine; a fixed one must
 * exit 0 without a word from TSan.  Outside TSan the fixed twins run in
 * process and check their results.  race_edges runs, fixed only, one
 * program per happens-before edge that goc promises (a write before the
 * edge in one goroutine, a read after it in another).
 */
#include <fcntl.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <unistd.h>

#include "test.h"

#define N 20 /* rounds per goroutine: enough to race, few under TSan */

struct race_case {
    void (*racy)(void *);
    void (*fixed)(void *);
    const char *func; /* a function the racy body's report names */
};

static int child_procs;

#if TEST_TSAN
static const struct race_case *child_case;
static bool child_racy;

static void race_child(void)
{
    goc_maxprocs(child_procs);
    ASSERT_OK(goc_run(child_racy ? child_case->racy : child_case->fixed,
                      NULL));
}
#endif

static void race_check(const struct race_case *rc)
{
    for (int procs = 1; procs <= 2; procs++) {
#if TEST_TSAN
        static struct death d;
        child_case = rc;
        child_procs = procs;
        child_racy = true;
        death_run(&d, race_child);
        ASSERT_STATUS(d, 66);
        ASSERT_CONTAINS(d.out, "WARNING: ThreadSanitizer: data race");
        ASSERT_CONTAINS(d.out, rc->func);
        ASSERT_CONTAINS(d.out, "'goroutine ");
        child_racy = false;
        death_run(&d, race_child);
        if (strstr(d.out, "ThreadSanitizer") != NULL)
            FAIL("fixed twin reported at GOMAXPROCS=%d:\n%s", procs, d.out);
        ASSERT_STATUS(d, 0);
#else
        goc_maxprocs(procs);
        run_main(rc->fixed, NULL);
#endif
    }
}

/* ---- counter++ in two goroutines, a yield between read and write ---- */

static int counter;
static goc_mutex counter_mu;

__attribute__((noinline)) static void counter_racy_add(void *arg)
{
    for (int i = 0; i < N; i++) {
        int v = counter;
        goc_yield();
        counter = v + 1;
    }
    goc_wg_done(arg);
}

__attribute__((noinline)) static void counter_fixed_add(void *arg)
{
    for (int i = 0; i < N; i++) {
        goc_mutex_lock(&counter_mu);
        int v = counter;
        goc_yield();
        counter = v + 1;
        goc_mutex_unlock(&counter_mu);
    }
    goc_wg_done(arg);
}

static void counter_body(void (*add)(void *))
{
    goc_wg wg = GOC_WG_INIT;
    counter = 0;
    goc_wg_add(&wg, 2);
    ASSERT_OK(goc_go(add, &wg));
    ASSERT_OK(goc_go(add, &wg));
    goc_wg_wait(&wg);
}

static void counter_racy(void *arg)
{
    (void)arg;
    counter_body(counter_racy_add);
}

static void counter_fixed(void *arg)
{
    (void)arg;
    counter_body(counter_fixed_add);
    ASSERT_EQ(counter, 2 * N);
}

TEST(race_counter)
{
    static const struct race_case rc = {counter_racy, counter_fixed,
                                        "counter_racy_add"};
    race_check(&rc);
}

/* ---- array slots written by two goroutines (Go's map race) ---- */

static int slots[8];

struct slot_arg {
    goc_wg *wg;
    int first, step;
};

__attribute__((noinline)) static void slots_write(void *arg)
{
    struct slot_arg *a = arg;
    for (int i = a->first; i < 8; i += a->step)
        slots[i] += 1;
    goc_wg_done(a->wg);
}

static void slots_body(int step)
{
    goc_wg wg = GOC_WG_INIT;
    memset(slots, 0, sizeof slots);
    /* step 1: both write every slot; step 2: even and odd slots. */
    struct slot_arg a = {&wg, 0, step}, b = {&wg, step == 1 ? 0 : 1, step};
    goc_wg_add(&wg, 2);
    ASSERT_OK(goc_go(slots_write, &a));
    ASSERT_OK(goc_go(slots_write, &b));
    goc_wg_wait(&wg);
}

static void slots_racy(void *arg)
{
    (void)arg;
    slots_body(1);
}

static void slots_fixed(void *arg)
{
    (void)arg;
    slots_body(2);
    for (int i = 0; i < 8; i++)
        ASSERT_EQ(slots[i], 1);
}

TEST(race_array_slots)
{
    static const struct race_case rc = {slots_racy, slots_fixed,
                                        "slots_write"};
    race_check(&rc);
}

/* ---- a variable captured by a goroutine and written by both ---- */

struct capture {
    int x;
    goc_wg wg;
};

__attribute__((noinline)) static void capture_set(void *arg)
{
    struct capture *c = arg;
    c->x = 1;
    goc_wg_done(&c->wg);
}

/* On the heap, where a Go closure's captured variable lives (and where
 * the compiler cannot keep it out of TSan's sight). */
__attribute__((noinline)) static void capture_racy(void *arg)
{
    (void)arg;
    struct capture *c = calloc(1, sizeof *c);
    ASSERT(c != NULL);
    goc_wg_add(&c->wg, 1);
    ASSERT_OK(goc_go(capture_set, c));
    c->x = 2; /* races with capture_set */
    goc_wg_wait(&c->wg);
    free(c);
}

static void capture_fixed(void *arg)
{
    (void)arg;
    struct capture *c = calloc(1, sizeof *c);
    ASSERT(c != NULL);
    goc_wg_add(&c->wg, 1);
    ASSERT_OK(goc_go(capture_set, c));
    goc_wg_wait(&c->wg);
    ASSERT_EQ(c->x, 1);
    c->x = 2;
    free(c);
}

TEST(race_closure_capture)
{
    static const struct race_case rc = {capture_racy, capture_fixed,
                                        "capture_set"};
    race_check(&rc);
}

/* ---- unprotected vs channel-protected ---- */

static int shared;

__attribute__((noinline)) static void chan_writer(void *arg)
{
    shared = 42;
    ASSERT_OK(goc_chan_send(arg, &(int){1}));
}

__attribute__((noinline)) static void chan_racy(void *arg)
{
    (void)arg;
    goc_chan *done = goc_chan_make(sizeof(int), 0);
    ASSERT_OK(goc_go(chan_writer, done));
    volatile int seen = shared; /* before the receive: races */
    (void)seen;
    int v;
    ASSERT_OK(goc_chan_recv(done, &v));
    goc_chan_release(done);
}

static void chan_fixed(void *arg)
{
    (void)arg;
    goc_chan *done = goc_chan_make(sizeof(int), 0);
    ASSERT_OK(goc_go(chan_writer, done));
    int v;
    ASSERT_OK(goc_chan_recv(done, &v));
    ASSERT_EQ(shared, 42);
    goc_chan_release(done);
}

TEST(race_chan_protected)
{
    static const struct race_case rc = {chan_racy, chan_fixed, "chan_racy"};
    race_check(&rc);
}

/* ---- one side forgets the mutex ---- */

static goc_mutex mu_guard;
static int mu_value;

__attribute__((noinline)) static void mutex_locked_add(void *arg)
{
    for (int i = 0; i < N; i++) {
        goc_mutex_lock(&mu_guard);
        mu_value++;
        goc_mutex_unlock(&mu_guard);
        goc_yield();
    }
    goc_wg_done(arg);
}

__attribute__((noinline)) static void mutex_unlocked_add(void *arg)
{
    for (int i = 0; i < N; i++) {
        mu_value++;
        goc_yield();
    }
    goc_wg_done(arg);
}

static void mutex_body(void (*second)(void *))
{
    goc_wg wg = GOC_WG_INIT;
    mu_value = 0;
    goc_wg_add(&wg, 2);
    ASSERT_OK(goc_go(mutex_locked_add, &wg));
    ASSERT_OK(goc_go(second, &wg));
    goc_wg_wait(&wg);
}

static void mutex_racy(void *arg)
{
    (void)arg;
    mutex_body(mutex_unlocked_add);
}

static void mutex_fixed(void *arg)
{
    (void)arg;
    mutex_body(mutex_locked_add);
    ASSERT_EQ(mu_value, 2 * N);
}

TEST(race_mutex)
{
    static const struct race_case rc = {mutex_racy, mutex_fixed,
                                        "mutex_unlocked_add"};
    race_check(&rc);
}

/* ---- WaitGroup misuse: the results read before Wait ---- */

static int results[4];

__attribute__((noinline)) static void wg_worker(void *arg)
{
    int k = (int)(intptr_t)arg;
    results[k] = k + 1;
}

static int wg_sum(void)
{
    int s = 0;
    for (int k = 0; k < 4; k++)
        s += results[k];
    return s;
}

__attribute__((noinline)) static void wg_racy(void *arg)
{
    (void)arg;
    goc_wg wg = GOC_WG_INIT;
    for (int k = 0; k < 4; k++)
        ASSERT_OK(goc_wg_go(&wg, wg_worker, (void *)(intptr_t)k));
    volatile int early = wg_sum(); /* before the Wait: races */
    (void)early;
    goc_wg_wait(&wg);
}

static void wg_fixed(void *arg)
{
    (void)arg;
    goc_wg wg = GOC_WG_INIT;
    for (int k = 0; k < 4; k++)
        ASSERT_OK(goc_wg_go(&wg, wg_worker, (void *)(intptr_t)k));
    goc_wg_wait(&wg);
    ASSERT_EQ(wg_sum(), 1 + 2 + 3 + 4);
}

TEST(race_wg_read_before_wait)
{
    static const struct race_case rc = {wg_racy, wg_fixed, "wg_worker"};
    race_check(&rc);
}

/* ---- publish without synchronisation: flag written after the data ---- */

static int pub_data;
static int pub_flag;          /* the racy twin's flag: a plain int */
static atomic_int pub_aflag;  /* the fixed twin's: release/acquire */

__attribute__((noinline)) static void publish_racy_writer(void *arg)
{
    (void)arg;
    pub_data = 42;
    pub_flag = 1;
}

__attribute__((noinline)) static void publish_fixed_writer(void *arg)
{
    (void)arg;
    pub_data = 42;
    atomic_store_explicit(&pub_aflag, 1, memory_order_release);
}

static void publish_racy(void *arg)
{
    (void)arg;
    pub_data = pub_flag = 0;
    ASSERT_OK(goc_go(publish_racy_writer, NULL));
    for (int i = 0; i < 100000 && !*(volatile int *)&pub_flag; i++)
        goc_yield();
    volatile int seen = pub_data;
    (void)seen;
}

static void publish_fixed(void *arg)
{
    (void)arg;
    pub_data = 0;
    atomic_store(&pub_aflag, 0);
    ASSERT_OK(goc_go(publish_fixed_writer, NULL));
    int i = 0;
    while (!atomic_load_explicit(&pub_aflag, memory_order_acquire) &&
           i++ < 1000000)
        goc_yield();
    ASSERT_EQ(pub_data, 42);
}

TEST(race_publish_without_sync)
{
    static const struct race_case rc = {publish_racy, publish_fixed,
                                        "publish_racy_writer"};
    race_check(&rc);
}

/* ---- every edge goc promises: never reported ---- */

static int edge_data[64];
static int edge_after_run;

/* Buffered channel: a value's send -> its receive, and the k-th receive
 * -> the (k+cap)-th send (a channel of capacity 1 as a lock). */
static void edge_buf_sender(void *arg)
{
    for (int i = 0; i < 8; i++) {
        edge_data[i] = i;
        ASSERT_OK(goc_chan_send(arg, &i));
    }
}

static void edge_token_user(void *arg)
{
    goc_chan **cs = arg; /* cs[0]: the token channel, cs[1]: done */
    for (int i = 0; i < 4; i++) {
        ASSERT_OK(goc_chan_send(cs[0], &i)); /* take the token */
        edge_data[40]++;
        ASSERT_OK(goc_chan_recv(cs[0], NULL)); /* give it back */
        goc_yield();
    }
    ASSERT_OK(goc_chan_send(cs[1], &(int){0}));
}

static void edge_select_sender(void *arg)
{
    edge_data[10] = 7;
    goc_case c = GOC_SEND_CASE((goc_chan *)arg, &(int){1});
    ASSERT_EQ(goc_select(&c, 1), 0);
}

static void edge_closer(void *arg)
{
    edge_data[11] = 9;
    ASSERT_OK(goc_chan_close(arg));
}

static void edge_try_sender(void *arg)
{
    edge_data[12] = 5;
    ASSERT_OK(goc_chan_try_send(arg, &(int){1})); /* room for one */
}

static void edge_once_fn(void *arg)
{
    (void)arg;
    edge_data[13] = 3;
}

static goc_once edge_once = GOC_ONCE_INIT;

static void edge_once_user(void *arg)
{
    goc_once_do(&edge_once, edge_once_fn, NULL);
    ASSERT_EQ(edge_data[13], 3);
    goc_wg_done(arg);
}

static goc_rwmutex edge_rw;

static void edge_rw_writer(void *arg)
{
    goc_rwmutex_lock(&edge_rw);
    edge_data[14]++;
    goc_rwmutex_unlock(&edge_rw);
    goc_wg_done(arg);
}

static void edge_rw_reader(void *arg)
{
    goc_rwmutex_rlock(&edge_rw);
    volatile int v = edge_data[14];
    (void)v;
    goc_rwmutex_runlock(&edge_rw);
    goc_wg_done(arg);
}

static goc_mutex edge_mu;
static goc_cond edge_cond;
static int edge_ready;

static void edge_signaller(void *arg)
{
    (void)arg;
    edge_data[15] = 4;
    goc_mutex_lock(&edge_mu);
    edge_ready = 1;
    goc_cond_signal(&edge_cond);
    goc_mutex_unlock(&edge_mu);
}

static goc_sem edge_sem;

static void edge_sem_releaser(void *arg)
{
    (void)arg;
    edge_data[16] = 6;
    goc_sem_release(&edge_sem, 1);
}

static void edge_canceller(void *arg)
{
    edge_data[17] = 8;
    goc_ctx_cancel(arg);
}

static goc_chan *edge_after_done;

static void edge_after_fn(void *arg)
{
    int *p = arg;
    ASSERT_EQ(*p, 11);
    *p = 12;
    ASSERT_OK(goc_chan_send(edge_after_done, &(int){1}));
}

static void edge_pipe_writer(void *arg)
{
    int *fds = arg;
    edge_data[18] = 2;
    ASSERT_EQ(goc_write(fds[1], "x", 1, NULL), 1);
}

/* Goroutines one after another where finished ones ran, each with a
 * local that TSan sees (its address escapes).  The goroutines of one
 * round are not ordered among themselves, and without TSan they run on
 * each other's stacks; under TSan a stack's addresses serve one goroutine
 * (stack.c), and the 640 fill more than two slabs: the first is unmapped
 * when its goroutines are done, and the kernel hands its addresses out
 * again. */
__attribute__((noinline)) static void edge_touch(volatile int *p)
{
    *p += 1;
}

static void edge_stack_user(void *arg)
{
    volatile int local[16] = {0};
    for (int i = 0; i < 16; i++)
        edge_touch(&local[i]);
    goc_wg_done(arg);
}

/* A goroutine's goc_exit -> goc_run returns: the goroutine is gone (its
 * count dropped after its last switch) before main returns. */
static int edge_exit_value;
static atomic_int edge_exit_flag;
static atomic_int edge_cause_spin;
static void edge_exit_user(void *arg)
{
    (void)arg;
    edge_exit_value = 5;
    atomic_store_explicit(&edge_exit_flag, 1, memory_order_relaxed);
    goc_exit();
}

/* goc_ctx_cause after a cancel sees what the canceller did before. */
static int edge_cause_value;
static void edge_cause_user(void *arg)
{
    edge_cause_value = 3;
    goc_ctx_cancel_cause(arg, 42);
}

static void edges_main(void *arg)
{
    (void)arg;
    int v;

    goc_chan *buf = goc_chan_make(sizeof(int), 2);
    ASSERT_OK(goc_go(edge_buf_sender, buf));
    for (int i = 0; i < 8; i++) {
        ASSERT_OK(goc_chan_recv(buf, &v));
        ASSERT_EQ(edge_data[v], v);
    }
    goc_chan_release(buf);

    goc_chan *token = goc_chan_make(sizeof(int), 1);
    goc_chan *done = goc_chan_make(sizeof(int), 0);
    goc_chan *cs[2] = {token, done};
    ASSERT_OK(goc_go(edge_token_user, cs));
    ASSERT_OK(goc_go(edge_token_user, cs));
    ASSERT_OK(goc_chan_recv(done, &v));
    ASSERT_OK(goc_chan_recv(done, &v));
    ASSERT_EQ(edge_data[40], 8);
    goc_chan_release(token);
    goc_chan_release(done);

    goc_chan *sel = goc_chan_make(sizeof(int), 0);
    ASSERT_OK(goc_go(edge_select_sender, sel));
    goc_case rc = GOC_RECV_CASE(sel, &v);
    ASSERT_EQ(goc_select(&rc, 1), 0);
    ASSERT_EQ(edge_data[10], 7);

    goc_chan *cl = goc_chan_make(0, 0);
    ASSERT_OK(goc_go(edge_closer, cl));
    ASSERT_ERR(goc_chan_recv(cl, NULL), GOC_ECLOSED);
    ASSERT_EQ(edge_data[11], 9);
    goc_chan_release(cl);

    goc_chan_release(sel);

    goc_chan *try = goc_chan_make(sizeof(int), 1);
    ASSERT_OK(goc_go(edge_try_sender, try));
    for (int i = 0; i < 1000000 && goc_chan_try_recv(try, &v) != 0; i++)
        goc_yield();
    ASSERT_EQ(edge_data[12], 5);
    goc_chan_release(try);

    goc_wg wg = GOC_WG_INIT;
    goc_wg_add(&wg, 3);
    for (int i = 0; i < 3; i++)
        ASSERT_OK(goc_go(edge_once_user, &wg));
    goc_wg_wait(&wg);

    goc_wg_add(&wg, 4);
    ASSERT_OK(goc_go(edge_rw_writer, &wg));
    ASSERT_OK(goc_go(edge_rw_reader, &wg));
    ASSERT_OK(goc_go(edge_rw_writer, &wg));
    ASSERT_OK(goc_go(edge_rw_reader, &wg));
    goc_wg_wait(&wg);
    ASSERT_EQ(edge_data[14], 2);

    ASSERT_OK(goc_go(edge_signaller, NULL));
    goc_mutex_lock(&edge_mu);
    while (!edge_ready)
        goc_cond_wait(&edge_cond, &edge_mu);
    goc_mutex_unlock(&edge_mu);
    ASSERT_EQ(edge_data[15], 4);

    goc_sem_init(&edge_sem, 1);
    ASSERT_OK(goc_sem_acquire(&edge_sem, 1, NULL));
    ASSERT_OK(goc_go(edge_sem_releaser, NULL));
    ASSERT_OK(goc_sem_acquire(&edge_sem, 1, NULL));
    ASSERT_EQ(edge_data[16], 6);

    goc_ctx *ctx = goc_ctx_with_cancel(NULL);
    ASSERT_OK(goc_go(edge_canceller, ctx));
    ASSERT_ERR(goc_chan_recv(goc_ctx_done(ctx), NULL), GOC_ECLOSED);
    ASSERT_EQ(edge_data[17], 8);
    goc_ctx_release(ctx);
    goc_ctx *ctx2 = goc_ctx_with_cancel(NULL);
    edge_data[17] = 0;
    ASSERT_OK(goc_go(edge_canceller, ctx2));
    for (int i = 0; i < 1000000 && goc_ctx_err(ctx2) == 0; i++)
        goc_yield();
    ASSERT_EQ(edge_data[17], 8);
    goc_ctx_release(ctx2);

    static int after_value;
    after_value = 11;
    edge_after_done = goc_chan_make(sizeof(int), 0);
    goc_timer *t = goc_after_func(1000000, edge_after_fn, &after_value);
    ASSERT(t != NULL);
    ASSERT_OK(goc_chan_recv(edge_after_done, &v));
    ASSERT_EQ(after_value, 12);
    goc_timer_free(t);
    goc_chan_release(edge_after_done);

    int fds[2];
    ASSERT(pipe2(fds, O_CLOEXEC) == 0);
    ASSERT_OK(goc_go(edge_pipe_writer, fds));
    char c;
    ASSERT_EQ(goc_read(fds[0], &c, 1, NULL), 1);
    ASSERT_EQ(edge_data[18], 2);
    ASSERT_OK(goc_close(fds[0]));
    ASSERT_OK(goc_close(fds[1]));

    for (int round = 0; round < 4; round++) {
        goc_wg_add(&wg, 160);
        for (int i = 0; i < 160; i++)
            ASSERT_OK(goc_go(edge_stack_user, &wg));
        goc_wg_wait(&wg);
    }

    goc_ctx *cctx = goc_ctx_with_cancel(NULL);
    ASSERT(cctx != NULL);
    ASSERT_OK(goc_go(edge_cause_user, cctx));
    while (atomic_load_explicit(&edge_cause_spin, memory_order_relaxed) <
           1000000 && goc_ctx_cause(cctx) == 0) {
        atomic_fetch_add_explicit(&edge_cause_spin, 1, memory_order_relaxed);
        goc_yield();
    }
    ASSERT_EQ(goc_ctx_cause(cctx), 42);
    ASSERT_EQ(edge_cause_value, 3);
    goc_ctx_release(cctx);

    ASSERT_OK(goc_go(edge_exit_user, NULL));
    while (!atomic_load_explicit(&edge_exit_flag, memory_order_relaxed) ||
           goc_num_goroutine() > 1)
        goc_yield();

    edge_after_run = 99; /* read by the caller of goc_run */
}

static void edges_child(void)
{
    goc_maxprocs(child_procs);
    ASSERT_OK(goc_run(edges_main, NULL));
    ASSERT_EQ(edge_after_run, 99);
    ASSERT_EQ(edge_exit_value, 5);
}

TEST(race_edges)
{
    for (int procs = 1; procs <= 2; procs++) {
        child_procs = procs;
#if TEST_TSAN
        static struct death d;
        death_run(&d, edges_child);
        if (strstr(d.out, "ThreadSanitizer") != NULL)
            FAIL("reported at GOMAXPROCS=%d:\n%s", procs, d.out);
        ASSERT_STATUS(d, 0);
#else
        memset(edge_data, 0, sizeof edge_data);
        edge_once = (goc_once)GOC_ONCE_INIT;
        edge_ready = 0;
        edges_child();
#endif
    }
}

/* ---- at the kernel's limit on mappings ----
 * Under TSan every live goroutine holds about one mapping for every two
 * (TSan's per-fiber state), and TSan dies with a bare "Failed to mmap"
 * when the kernel refuses one: goc's death hint must name the limit
 * (sanitizer.c, 4).  goc itself needs no mapping per goroutine: without
 * TSan the same program runs. */

/* Split one mapping into single pages until fewer than leave mappings
 * are left below vm.max_map_count. */
static void fill_mappings(long leave)
{
    FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
    ASSERT(f != NULL);
    long max = 0;
    ASSERT(fscanf(f, "%ld", &max) == 1);
    fclose(f);
    long want = max - leave - test_maps();
    ASSERT(want > 0);
    size_t ps = (size_t)sysconf(_SC_PAGESIZE);
    char *p = mmap(NULL, (size_t)want * ps, PROT_READ,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    ASSERT(p != MAP_FAILED);
    for (long i = 1; i < want; i += 2)
        ASSERT(mprotect(p + i * ps, ps, PROT_NONE) == 0);
}

#define MAPPING_GOROUTINES 5000

static goc_chan *mapping_gate;
static goc_wg mapping_wg;

static void mapping_parked(void *arg)
{
    (void)arg;
    ASSERT_EQ(goc_chan_recv(mapping_gate, NULL), GOC_ECLOSED);
    goc_wg_done(&mapping_wg);
}

static void mapping_main(void *arg)
{
    (void)arg;
    mapping_gate = goc_chan_make(0, 0);
    goc_wg_add(&mapping_wg, MAPPING_GOROUTINES);
    for (int i = 0; i < MAPPING_GOROUTINES; i++) {
        ASSERT_OK(goc_go(mapping_parked, NULL));
        if (i % 64 == 0)
            goc_yield(); /* let them start: TSan maps at a fiber's first run */
    }
    ASSERT_OK(goc_chan_close(mapping_gate));
    goc_wg_wait(&mapping_wg);
    goc_chan_release(mapping_gate);
}

static void mapping_child(void)
{
    goc_maxprocs(1); /* one M meets the limit: TSan dies in one thread */
    if (!TEST_EMULATED) /* an emulator's own mappings are not in the count */
        fill_mappings(300);
    ASSERT_OK(goc_run(mapping_main, NULL));
}

TEST(race_out_of_mappings)
{
    static struct death d;
    death_run(&d, mapping_child);
#if TEST_TSAN
    ASSERT_STATUS(d, 66);
    ASSERT_CONTAINS(d.out, "goc: the race detector ran out of memory "
                           "mappings");
    ASSERT_CONTAINS(d.out, "sysctl -w vm.max_map_count=");
#else
    ASSERT_STATUS(d, 0);
#endif
}
