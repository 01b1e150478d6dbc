/* SPDX-License-Identifier: MIT */
/* test_blocking.c - a goroutine that blocks does not stop the others.
 * At GOMAXPROCS=1 a ticker goroutine must keep ticking while another
 * goroutine sits in goc_read on an empty pipe (it parks: no thread
 * blocks), in goc_blocking_begin/end around a blocking read(2) or a
 * sleep (the P moves to another thread), or in a sleep it did not
 * declare (sysmon lends a P).  And goc_run returns once main returns,
 * whatever the other goroutines are doing: sitting in a blocking
 * section, or computing without ever yielding. */
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "test.h"

#define MS GOC_MILLISECOND
#define TICK (5 * MS)
/* Ticks the writer thread waits for while the call blocks. */
#define TICKS 5
/* Ticks a 200 ms sleep must see: 40 are due, a few prove the point. */
#define SLEEP_TICKS 3

/* ---- the ticker, and a writer thread that counts its ticks ---- */

static _Atomic long ticks;
static _Atomic int tick_stop, writer_starved;
static goc_chan *tick_c;  /* tick numbers, for the writer thread */
static goc_chan *enter_c; /* the tick count as the blocking call began */
static goc_wg tick_wg, blocker_wg;
static int bpipe[2];
static long entered_at, left_at;

static void ticker(void *arg)
{
    (void)arg;
    goc_ticker *tk = goc_ticker_new(TICK);
    ASSERT(tk != NULL);
    while (!atomic_load(&tick_stop)) {
        ASSERT_OK(goc_chan_recv(goc_ticker_chan(tk), NULL));
        long n = atomic_fetch_add(&ticks, 1) + 1;
        /* The writer drains the channel; a full one drops the number,
         * a later one will do. */
        int rc = goc_chan_try_send(tick_c, &n);
        ASSERT(rc == 0 || rc == GOC_EAGAIN);
    }
    goc_ticker_free(tk);
    goc_wg_done(&tick_wg);
}

/* A plain thread: once the blocker has said it is entering its call,
 * wait for TICKS more ticks (10 s at most: a starved ticker fails the
 * test with a message instead of a timeout), then write the byte that
 * ends the call. */
static void *tick_writer(void *arg)
{
    (void)arg;
    long e, n = 0;
    ASSERT_OK(goc_chan_recv(enter_c, &e));
    int64_t deadline = goc_now() + 10 * GOC_SECOND;
    while (n < e + TICKS) {
        goc_case c = GOC_RECV_CASE(tick_c, &n);
        if (goc_select_until(&c, 1, deadline) == GOC_ETIMEDOUT) {
            atomic_store(&writer_starved, 1);
            break;
        }
    }
    ASSERT_EQ(write(bpipe[1], "x", 1), 1);
    return NULL;
}

/* Record the tick count before and after call(). */
static void blocker(void *arg)
{
    void (*call)(void) = (void (*)(void))arg;
    long e = atomic_load(&ticks);
    ASSERT_OK(goc_chan_send(enter_c, &e));
    call();
    entered_at = e;
    left_at = atomic_load(&ticks);
    goc_wg_done(&blocker_wg);
}

/* Run call() in a goroutine beside the ticker, with the writer thread
 * if with_writer; stop the ticker after. */
static void with_ticker(void (*call)(void), bool with_writer)
{
    tick_c = goc_chan_make(sizeof(long), 256);
    enter_c = goc_chan_make(sizeof(long), 1);
    goc_wg_add(&tick_wg, 1);
    goc_wg_add(&blocker_wg, 1);
    ASSERT_OK(goc_go(ticker, NULL));
    pthread_t t;
    if (with_writer)
        ASSERT_EQ(pthread_create(&t, NULL, tick_writer, NULL), 0);
    ASSERT_OK(goc_go(blocker, (void *)call));
    goc_wg_wait(&blocker_wg);
    atomic_store(&tick_stop, 1);
    goc_wg_wait(&tick_wg);
    if (with_writer)
        ASSERT_EQ(pthread_join(t, NULL), 0);
    else
        ASSERT_OK(goc_chan_recv(enter_c, NULL));
    goc_chan_release(tick_c);
    goc_chan_release(enter_c);
}

/* ---- (a) goc_read on an empty pipe parks the goroutine ---- */

static void call_goc_read(void)
{
    char b;
    ASSERT_EQ(goc_read(bpipe[0], &b, 1, NULL), 1);
}
static void goc_read_main(void *arg)
{
    (void)arg;
    ASSERT_EQ(pipe(bpipe), 0);
    ASSERT_OK(goc_fd_wrap(bpipe[0]));
    with_ticker(call_goc_read, true);
    ASSERT(!atomic_load(&writer_starved));
    ASSERT_GE(left_at, entered_at + TICKS);
    ASSERT_OK(goc_close(bpipe[0]));
    close(bpipe[1]);
}
TEST(blocking_goc_read_parks)
{
    goc_maxprocs(1);
    run_main(goc_read_main, NULL);
}

/* ---- (b) a blocking read(2), declared ---- */

static void call_blocking_read(void)
{
    char b;
    goc_blocking_begin();
    ssize_t r = read(bpipe[0], &b, 1);
    goc_blocking_end();
    ASSERT_EQ(r, 1);
}
static void blocking_read_main(void *arg)
{
    (void)arg;
    ASSERT_EQ(pipe(bpipe), 0); /* blocking: goc never sees it */
    with_ticker(call_blocking_read, true);
    ASSERT(!atomic_load(&writer_starved));
    ASSERT_GE(left_at, entered_at + TICKS);
    close(bpipe[0]);
    close(bpipe[1]);
}
TEST(blocking_section_read)
{
    goc_maxprocs(1);
    run_main(blocking_read_main, NULL);
}

/* ---- (c) a sleep, declared; (d) the same, undeclared ---- */

static void call_blocking_sleep(void)
{
    goc_blocking_begin();
    usleep(200 * 1000);
    goc_blocking_end();
}
static void call_bare_sleep(void)
{
    usleep(200 * 1000);
}
static void sleep_main(void *arg)
{
    with_ticker((void (*)(void))arg, false);
    if (left_at - entered_at < SLEEP_TICKS)
        FAIL("%ld ticks during a 200 ms blocking call, want %d or more",
             left_at - entered_at, SLEEP_TICKS);
}
TEST(blocking_section_sleep)
{
    goc_maxprocs(1);
    run_main(sleep_main, (void *)call_blocking_sleep);
}
/* Undeclared: sysmon sees the P's thread asleep in the kernel for 10 ms
 * with a timer due and no idle P, and lends a second P
 * (docs/design/netpoll.md, "Undeclared blocking"). */
TEST(blocking_undeclared_sleep)
{
    goc_maxprocs(1);
    run_main(sleep_main, (void *)call_bare_sleep);
}

/* ---- goc_run returns when main does ---- */

/* goc_run's watchdog: SIGALRM's default action ends the process, and
 * the test with it, if goc_run has not returned by then. */
#define RUN_WATCHDOG_S 10

static _Atomic int in_section;
static int never_pipe[2];
static void pauser(void *arg)
{
    (void)arg;
    goc_blocking_begin();
    atomic_fetch_add(&in_section, 1);
    pause(); /* until the process ends */
    goc_blocking_end();
}
static void never_reader(void *arg)
{
    (void)arg;
    char b;
    goc_blocking_begin();
    atomic_fetch_add(&in_section, 1);
    ssize_t r = read(never_pipe[0], &b, 1); /* nobody writes */
    goc_blocking_end();
    (void)r;
}
static void blocked_main(void *arg)
{
    (void)arg;
    ASSERT_EQ(pipe(never_pipe), 0);
    ASSERT_OK(goc_go(pauser, NULL));
    ASSERT_OK(goc_go(never_reader, NULL));
    /* Both inside their sections (a bounded wait: 10 s). */
    for (int i = 0; i < 10000 && atomic_load(&in_section) < 2; i++)
        goc_sleep(MS);
    ASSERT_EQ(atomic_load(&in_section), 2);
}
TEST(blocking_run_returns_with_blocked)
{
    alarm(RUN_WATCHDOG_S);
    run_main(blocked_main, NULL);
    alarm(0);
}

static _Atomic int spin_started, spin_stop;
static void spinner(void *arg)
{
    (void)arg;
    atomic_store(&spin_started, 1);
    /* No scheduling point: goc cannot preempt this.  It ends when the
     * test says so, or after 30 s. */
    int64_t end = goc_now() + 30 * GOC_SECOND;
    while (!atomic_load(&spin_stop) && goc_now() < end) {
    }
}
static void spin_main(void *arg)
{
    (void)arg;
    ASSERT_OK(goc_go(spinner, NULL));
    for (int i = 0; i < 10000 && !atomic_load(&spin_started); i++)
        goc_sleep(MS);
    ASSERT(atomic_load(&spin_started));
}
TEST(blocking_run_returns_with_spinner)
{
    /* Two Ps: on one, the spinner would keep main from running again
     * (no preemption yet), which is not what this test is about. */
    goc_maxprocs(2);
    alarm(RUN_WATCHDOG_S);
    run_main(spin_main, NULL);
    alarm(0);
    atomic_store(&spin_stop, 1);
}

/* ---- the thread limit: GOC_MAXTHREADS, then a fatal error ---- */

static void exhaust_child(void *arg)
{
    (void)arg;
    goc_blocking_begin();
    pause(); /* holds its thread; the death test's process ends it */
    goc_blocking_end();
}
static void exhaust_main(void *arg)
{
    (void)arg;
    /* Each goroutine in a blocking call keeps a thread; sysmon hands the
     * P to a new one for the next.  The fifth thread is over the limit.
     * Children keep coming until then (a loaded machine's sysmon may take
     * longer than 20 ms to hand the P over: 8 children were once not
     * enough), for 5 s at most. */
    for (int i = 0; i < 250; i++) {
        ASSERT_OK(goc_go(exhaust_child, NULL));
        goc_sleep(20 * MS);
    }
    FAIL("250 goroutines blocked in calls with GOC_MAXTHREADS=4");
}
static void exhaust_death(void)
{
    setenv("GOC_MAXTHREADS", "4", 1);
    goc_maxprocs(1);
    ASSERT_OK(goc_run(exhaust_main, NULL));
}
TEST(blocking_thread_limit)
{
    static struct death d;
    death_run(&d, exhaust_death);
    ASSERT_STATUS(d, 2);
    ASSERT_CONTAINS(d.out, "fatal error: thread exhaustion: program exceeds "
                           "4-thread limit (GOC_MAXTHREADS)");
}
