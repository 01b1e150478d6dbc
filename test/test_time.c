/* SPDX-License-Identifier: MIT */
/* test_time.c - timers in the scheduler: sleep, goc_after, timers and
 * tickers, goc_select_until, timers of a busy P, idle CPU, deadlock
 * detection around timers, wait reasons. */
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include "test.h"

#define MS GOC_MILLISECOND

/* ---- goc_sleep: never early, rarely late ---- */

#define SLEEPERS 64
static int64_t sleep_late[SLEEPERS];
static goc_chan *sleep_done;
static void sleeper(void *arg)
{
    int i = (int)(intptr_t)arg;
    int64_t d = (1 + i % 20) * MS;
    int64_t t0 = goc_now();
    goc_sleep(d);
    sleep_late[i] = goc_now() - t0 - d;
    ASSERT_OK(goc_chan_send(sleep_done, NULL));
}
/* How late the machine itself is: a plain thread sleeps 1 ms over and over
 * while the sleepers run, and keeps its worst lateness.  A goroutine late
 * by about as much was stalled with the process (a loaded machine, a
 * sanitizer), not by goc's timers. */
static _Atomic int probe_stop;
static _Atomic int64_t probe_worst;
static void *stall_probe(void *arg)
{
    (void)arg;
    while (!atomic_load(&probe_stop)) {
        int64_t t0 = goc_now();
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
        int64_t late = goc_now() - t0 - MS;
        if (late > atomic_load(&probe_worst))
            atomic_store(&probe_worst, late);
    }
    return NULL;
}
static void sleep_main(void *arg)
{
    (void)arg;
    pthread_t probe;
    ASSERT_EQ(pthread_create(&probe, NULL, stall_probe, NULL), 0);
    sleep_done = goc_chan_make(0, 0);
    for (int i = 0; i < SLEEPERS; i++)
        ASSERT_OK(goc_go(sleeper, (void *)(intptr_t)i));
    for (int i = 0; i < SLEEPERS; i++)
        ASSERT_OK(goc_chan_recv(sleep_done, NULL));
    goc_chan_release(sleep_done);
    /* Zero and negative durations return at once. */
    int64_t t0 = goc_now();
    goc_sleep(0);
    goc_sleep(-5 * MS);
    int64_t zero = goc_now() - t0;
    atomic_store(&probe_stop, 1);
    ASSERT_EQ(pthread_join(probe, NULL), 0);
    int64_t stall = atomic_load(&probe_worst);
    int late = 0;
    for (int i = 0; i < SLEEPERS; i++) {
        ASSERT_GE(sleep_late[i], 0); /* never early */
        late += sleep_late[i] > stall + 50 * MS;
    }
    /* Late by 50 ms more than the machine's own worst stall: allow a
     * few, never most. */
    ASSERT_LT(late, SLEEPERS / 4);
    ASSERT_LT(zero, stall + 5 * MS);
}
TEST(time_sleep)
{
    run_main(sleep_main, NULL);
}

/* A plain thread's goc_sleep sleeps the thread. */
TEST(time_sleep_plain_thread)
{
    int64_t t0 = goc_now();
    goc_sleep(20 * MS);
    ASSERT_GE(goc_now() - t0, 20 * MS);
}

/* ---- timers fire in deadline order (one P: one runner at a time; the
 * value sent is the runner's clock, so it is non-decreasing in the order
 * the timers ran) ---- */

#define ORDERED 40
static void order_main(void *arg)
{
    (void)arg;
    goc_timer *t[ORDERED];
    int64_t base = goc_now() + 20 * MS, when[ORDERED], late[ORDERED];
    /* Created in a scrambled order: deadline k is base + k ms, give or
     * take the time between reading the clock and arming (a timer takes
     * a duration): the deadline is in [when[k], when[k] + late[k]]. */
    for (int i = 0; i < ORDERED; i++) {
        int k = (i * 17) % ORDERED;
        when[k] = base + k * MS;
        int64_t before = goc_now();
        t[k] = goc_timer_new(when[k] - before);
        late[k] = goc_now() - before;
        ASSERT(t[k] != NULL);
    }
    /* Receive, not poll after a sleep: whether every timer has fired by
     * the end of a sleep is a race the test need not run.  Timer k must
     * fire after timer k - 1 when their deadlines cannot have crossed
     * (a thread preempted while arming one can make them cross). */
    int64_t prev = 0;
    for (int k = 0; k < ORDERED; k++) {
        int64_t v = 0;
        ASSERT_OK(goc_chan_recv(goc_timer_chan(t[k]), &v));
        ASSERT_GE(v, when[k]);
        if (k == 0 || when[k] >= when[k - 1] + late[k - 1])
            ASSERT_GE(v, prev);
        prev = v;
        goc_timer_free(t[k]);
    }
}
TEST(time_timers_fire_in_order)
{
    goc_maxprocs(1);
    run_main(order_main, NULL);
}

/* ---- goc_after ---- */

static void after_main(void *arg)
{
    (void)arg;
    int64_t t0 = goc_now();
    goc_chan *c = goc_after(15 * MS);
    ASSERT(c != NULL);
    ASSERT_EQ(goc_chan_cap(c), 1);
    int64_t v = 0;
    ASSERT_OK(goc_chan_recv(c, &v));
    ASSERT_GE(v, t0 + 15 * MS);
    ASSERT_GE(goc_now(), t0 + 15 * MS);
    goc_chan_release(c);
    /* Released before it fires: the timer keeps its own reference
     * (ASan would see a use after free, or a leak). */
    for (int i = 0; i < 100; i++)
        goc_chan_release(goc_after((i % 5) * MS));
    goc_sleep(10 * MS);
    /* Pending at the end of the run: freed by the teardown. */
    goc_chan_release(goc_after(GOC_SECOND * 3600));
}
TEST(time_after)
{
    run_main(after_main, NULL);
    ASSERT(goc_after(MS) == NULL); /* outside a run */
}

/* ---- goc_timer: stop and reset return values, as Go's ---- */

static _Atomic int func_ran;
static void func_body(void *arg)
{
    (void)arg;
    atomic_fetch_add(&func_ran, 1);
}
static void timer_main(void *arg)
{
    (void)arg;
    int64_t v;
    /* Stop before it fires: true, and nothing is ever sent.  An hour, so
     * that "before it fires" does not race a stalled test (the stop
     * racing the firing is time_timer_stop_races). */
    goc_timer *t = goc_timer_new(GOC_SECOND * 3600);
    ASSERT(goc_timer_stop(t));
    ASSERT(!goc_timer_stop(t));
    goc_sleep(20 * MS);
    ASSERT_ERR(goc_chan_try_recv(goc_timer_chan(t), &v), GOC_EAGAIN);
    /* Reset a stopped timer: false (it was not armed); it fires. */
    ASSERT(!goc_timer_reset(t, 5 * MS));
    ASSERT_OK(goc_chan_recv(goc_timer_chan(t), &v));
    /* Fired: stop says false; reset says false and it fires again. */
    ASSERT(!goc_timer_stop(t));
    ASSERT(!goc_timer_reset(t, 5 * MS));
    ASSERT_OK(goc_chan_recv(goc_timer_chan(t), &v));
    /* Reset while armed: true; it fires once, at the new time. */
    int64_t t0 = goc_now();
    goc_timer_reset(t, GOC_SECOND);
    ASSERT(goc_timer_reset(t, 10 * MS));
    ASSERT_OK(goc_chan_recv(goc_timer_chan(t), &v));
    ASSERT_GE(v, t0 + 10 * MS);
    ASSERT_LT(v, t0 + GOC_SECOND);
    goc_timer_free(t);
    goc_timer_free(NULL);

    /* AfterFunc: fn runs in a goroutine of its own; no channel. */
    goc_timer *f = goc_after_func(5 * MS, func_body, NULL);
    ASSERT(goc_timer_chan(f) == NULL);
    while (atomic_load(&func_ran) == 0)
        goc_sleep(MS);
    ASSERT(!goc_timer_stop(f));
    goc_timer *g = goc_after_func(GOC_SECOND * 3600, func_body, NULL);
    ASSERT(goc_timer_stop(g)); /* fn never runs */
    goc_sleep(20 * MS);
    ASSERT_EQ(atomic_load(&func_ran), 1);
    goc_timer_free(f);
    goc_timer_free(g);
}
TEST(time_timer_stop_reset)
{
    run_main(timer_main, NULL);
}

/* Stop and reset racing with the firing: whatever the interleaving, a
 * stopped timer's value arrives at most once and free is always safe. */
static void race_main(void *arg)
{
    (void)arg;
    for (int i = 0; i < scaled(2000); i++) {
        goc_timer *t = goc_timer_new((i % 3) * GOC_MICROSECOND * 50);
        if (i % 7 == 0)
            goc_yield();
        bool stopped = goc_timer_stop(t);
        int64_t v;
        int got = goc_chan_try_recv(goc_timer_chan(t), &v) == 0;
        if (stopped)
            ASSERT_EQ(got, 0);
        if (i % 2 == 0 && goc_timer_reset(t, 0))
            FAIL("reset of a stopped timer said it was armed");
        goc_timer_free(t);
    }
}
TEST(time_timer_stop_races)
{
    run_main(race_main, NULL);
}

/* ---- goc_ticker ---- */

/* Take a tick if one is there: the ticker's channel is never closed. */
static void drain_tick(goc_ticker *tk)
{
    int rc = goc_chan_try_recv(goc_ticker_chan(tk), NULL);
    ASSERT(rc == 0 || rc == GOC_EAGAIN);
}
static void ticker_main(void *arg)
{
    (void)arg;
    ASSERT(goc_ticker_new(0) == NULL);
    int64_t t0 = goc_now(), v, prev = t0;
    goc_ticker *tk = goc_ticker_new(10 * MS);
    for (int i = 1; i <= 5; i++) {
        ASSERT_OK(goc_chan_recv(goc_ticker_chan(tk), &v));
        ASSERT_GE(v, prev);
        prev = v;
    }
    /* Five ticks took at least five periods, and the ticker does not
     * drift: the fifth is due at t0 + 50 ms whatever each one's delay. */
    ASSERT_GE(v, t0 + 50 * MS);
    /* A slow reader loses ticks, never gets a burst: the buffer is 1. */
    goc_sleep(60 * MS);
    ASSERT_LE(goc_chan_len(goc_ticker_chan(tk)), 1);
    /* Reset: a longer period from now. */
    drain_tick(tk);
    int64_t r = goc_now(); /* before: the reset reads the clock later */
    goc_ticker_reset(tk, 40 * MS);
    drain_tick(tk); /* a tick of the old period may be there */
    ASSERT_OK(goc_chan_recv(goc_ticker_chan(tk), &v));
    ASSERT_GE(v, r + 40 * MS);
    /* Stop: no more ticks. */
    goc_ticker_stop(tk);
    drain_tick(tk);
    goc_sleep(60 * MS);
    ASSERT_ERR(goc_chan_try_recv(goc_ticker_chan(tk), NULL), GOC_EAGAIN);
    goc_ticker_free(tk);
}
TEST(time_ticker)
{
    run_main(ticker_main, NULL);
}

/* ---- goc_select_until ---- */

static goc_chan *su_c;
static void su_sender(void *arg)
{
    (void)arg;
    goc_sleep(10 * MS);
    int v = 7;
    ASSERT_OK(goc_chan_send(su_c, &v));
}
static void select_until_main(void *arg)
{
    (void)arg;
    int v = 0;
    su_c = goc_chan_make(sizeof(int), 1);
    goc_case cs[2] = {GOC_RECV_CASE(su_c, &v), GOC_RECV_CASE(NULL, NULL)};
    /* Deadlines at 0 and in the past poll once. */
    ASSERT_ERR(goc_select_until(cs, 2, 0), GOC_ETIMEDOUT);
    ASSERT_ERR(goc_select_until(cs, 2, goc_now() - MS), GOC_ETIMEDOUT);
    int one = 1;
    ASSERT_OK(goc_chan_send(su_c, &one));
    ASSERT_EQ(goc_select_until(cs, 2, 0), 0); /* ready wins, even so */
    ASSERT_EQ(v, 1);
    /* A future deadline: no earlier than it. */
    int64_t t0 = goc_now();
    ASSERT_ERR(goc_select_until(cs, 2, t0 + 20 * MS), GOC_ETIMEDOUT);
    ASSERT_GE(goc_now(), t0 + 20 * MS);
    /* A case that fires first wins, and the timer never fires later into
     * the stack the select used. */
    ASSERT_OK(goc_go(su_sender, NULL));
    ASSERT_EQ(goc_select_until(cs, 2, goc_now() + 5 * GOC_SECOND), 0);
    ASSERT_EQ(v, 7);
    /* No cases: just the deadline. */
    t0 = goc_now();
    ASSERT_ERR(goc_select_until(NULL, 0, t0 + 10 * MS), GOC_ETIMEDOUT);
    ASSERT_GE(goc_now(), t0 + 10 * MS);
    /* Many short timed selects that time out and that don't, back to
     * back on the G's own timer. */
    for (int i = 0; i < scaled(2000); i++) {
        if (i % 2)
            ASSERT_OK(goc_chan_send(su_c, &i));
        int r = goc_select_until(cs, 2, goc_now() + 20 * GOC_MICROSECOND);
        ASSERT(r == (i % 2 ? 0 : GOC_ETIMEDOUT));
    }
    goc_chan_release(su_c);
}
TEST(time_select_until)
{
    run_main(select_until_main, NULL);
}

/* From a plain thread: the thread waits on its futex with a timeout. */
static void *su_thread(void *arg)
{
    (void)arg;
    int v = 0;
    goc_case cs[1] = {GOC_RECV_CASE(su_c, &v)};
    int64_t t0 = goc_now();
    ASSERT_ERR(goc_select_until(cs, 1, t0 + 20 * MS), GOC_ETIMEDOUT);
    ASSERT_GE(goc_now(), t0 + 20 * MS);
    ASSERT_EQ(goc_select_until(cs, 1, goc_now() + 5 * GOC_SECOND), 0);
    ASSERT_EQ(v, 9);
    return NULL;
}
static void su_thread_main(void *arg)
{
    (void)arg;
    su_c = goc_chan_make(sizeof(int), 0);
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, su_thread, NULL), 0);
    goc_sleep(60 * MS);
    int nine = 9;
    ASSERT_OK(goc_chan_send(su_c, &nine));
    pthread_join(t, NULL);
    goc_chan_release(su_c);
}
TEST(time_select_until_plain_thread)
{
    run_main(su_thread_main, NULL);
}

/* ---- many sleepers ---- */

static _Atomic long many_woke, many_early;
static void many_sleeper(void *arg)
{
    int64_t d = (1 + (int64_t)(intptr_t)arg % 100) * MS;
    int64_t t0 = goc_now();
    goc_sleep(d);
    if (goc_now() - t0 < d)
        atomic_fetch_add(&many_early, 1);
    atomic_fetch_add(&many_woke, 1);
}
static void many_main(void *arg)
{
    long n = *(long *)arg;
    for (long i = 0; i < n; i++)
        ASSERT_OK(goc_go(many_sleeper, (void *)(intptr_t)(i * 7919)));
    while (atomic_load(&many_woke) < n)
        goc_sleep(5 * MS);
    ASSERT_EQ(atomic_load(&many_early), 0);
}
TEST(time_many_sleepers)
{
    long n = scaled(100000);
    run_main(many_main, &n);
}

/* ---- woken sleepers run ahead of the queue (goc__ready_ahead) ---- */

/* Five sleepers fall due together while twenty goroutines that have never
 * run wait in the P's queue: all five run before the twentieth queued
 * one's turn comes (one of the twenty may be in runnext, which runs
 * first).  Before, only the last one fired took runnext, and the other
 * four waited behind the whole queue. */
#define AHEAD_SLEEPERS 5
#define AHEAD_WORKERS 20
static _Atomic int ahead_seq, ahead_asleep;
static int ahead_pos[AHEAD_SLEEPERS + AHEAD_WORKERS];
static goc_wg ahead_wg;
static void ahead_record(void *arg)
{
    int i = (int)(intptr_t)arg;
    if (i < AHEAD_SLEEPERS) {
        atomic_fetch_add(&ahead_asleep, 1); /* one P: it gives the P up
                                               only in the sleep */
        goc_sleep(MS);
    }
    ahead_pos[i] = atomic_fetch_add(&ahead_seq, 1);
    goc_wg_done(&ahead_wg);
}
static void ahead_main(void *arg)
{
    (void)arg;
    goc_wg_add(&ahead_wg, AHEAD_SLEEPERS + AHEAD_WORKERS);
    for (int i = 0; i < AHEAD_SLEEPERS; i++)
        ASSERT_OK(goc_go(ahead_record, (void *)(intptr_t)i));
    while (atomic_load(&ahead_asleep) < AHEAD_SLEEPERS)
        goc_yield(); /* until the sleepers have parked, timers armed */
    /* Hold the P until every timer is due: none can fire meanwhile. */
    int64_t t0 = goc_now();
    while (goc_now() - t0 < 5 * MS) {
    }
    for (int i = AHEAD_SLEEPERS; i < AHEAD_SLEEPERS + AHEAD_WORKERS; i++)
        ASSERT_OK(goc_go(ahead_record, (void *)(intptr_t)i));
    goc_wg_wait(&ahead_wg);
    for (int i = 0; i < AHEAD_SLEEPERS; i++)
        ASSERT_LE(ahead_pos[i], AHEAD_SLEEPERS);
}
TEST(time_woken_ahead_of_queue)
{
    goc_maxprocs(1);
    run_main(ahead_main, NULL);
}

/* The head of a P's ring moves back under thieves: sleepers woken ahead
 * on two Ps while yielders and fresh goroutines keep both rings busy and
 * idle Ps steal.  Every goroutine runs exactly once to its end. */
static _Atomic long thief_done;
static void thief_sleeper(void *arg)
{
    for (int k = 0; k < 20; k++)
        goc_sleep((int64_t)((intptr_t)arg + k) % 3 * 100 * GOC_MICROSECOND);
    atomic_fetch_add(&thief_done, 1);
}
static void thief_yielder(void *arg)
{
    (void)arg;
    for (int k = 0; k < 50; k++)
        goc_yield();
    atomic_fetch_add(&thief_done, 1);
}
static void thief_main(void *arg)
{
    long n = *(long *)arg;
    for (long i = 0; i < n; i++)
        ASSERT_OK(goc_go(i % 2 ? thief_sleeper : thief_yielder,
                         (void *)(intptr_t)i));
    while (atomic_load(&thief_done) < n)
        goc_sleep(MS);
    ASSERT_EQ(atomic_load(&thief_done), n);
}
TEST(time_woken_ahead_with_thieves)
{
    goc_maxprocs(2);
    long n = scaled(4000);
    run_main(thief_main, &n);
}

/* ---- the timers of a P whose goroutine never yields fire anyway ---- */

static _Atomic int busy_fired;
static void busy_fn(void *arg)
{
    (void)arg;
    atomic_store(&busy_fired, 1);
}
static void busy_main(void *arg)
{
    (void)arg;
    /* The timer goes into this P's heap; then this goroutine keeps the P
     * busy: only another M can run the timer. */
    goc_timer *t = goc_after_func(20 * MS, busy_fn, NULL);
    int64_t give_up = goc_now() + 20 * GOC_SECOND;
    while (!atomic_load(&busy_fired) && goc_now() < give_up)
        ;
    ASSERT(atomic_load(&busy_fired));
    goc_timer_free(t);
}
TEST(time_timers_of_busy_p)
{
    goc_maxprocs(2);
    run_main(busy_main, NULL);
}

/* ---- a run whose goroutines all sleep uses no CPU ---- */

static double proc_cpu_seconds(void)
{
    /* utime and stime, fields 14 and 15 of /proc/self/stat, in ticks. */
    FILE *f = fopen("/proc/self/stat", "r");
    ASSERT(f != NULL);
    char buf[1024];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    ASSERT(p != NULL);
    unsigned long ut = 0, st = 0;
    /* after ") ": state(3) ppid pgrp session tty tpgid flags minflt
     * cminflt majflt cmajflt utime stime */
    ASSERT_EQ(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                     &ut, &st),
              2);
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}
static goc_chan *idle_done;
static void idle_sleeper(void *arg)
{
    (void)arg;
    goc_sleep(400 * MS);
    ASSERT_OK(goc_chan_send(idle_done, NULL));
}
static void idle_main(void *arg)
{
    (void)arg;
    idle_done = goc_chan_make(0, 0);
    for (int i = 0; i < 100; i++)
        ASSERT_OK(goc_go(idle_sleeper, NULL));
    goc_sleep(20 * MS); /* let them all park */
    double c0 = proc_cpu_seconds();
    for (int i = 0; i < 100; i++)
        ASSERT_OK(goc_chan_recv(idle_done, NULL));
    double used = proc_cpu_seconds() - c0;
    goc_chan_release(idle_done);
    /* 380 ms of everybody asleep; a polling timer loop would burn most of
     * it on every P.  Ticks are 10 ms: allow a few. */
    ASSERT_LT(used * 1000, 60);
}
TEST(time_idle_uses_no_cpu)
{
    goc_maxprocs(4);
    run_main(idle_main, NULL);
}

/* ---- deadlock detection waits for timers, then reports ---- */

static void sleeper_then_exit(void *arg)
{
    (void)arg;
    goc_sleep(100 * MS);
}
static void timer_deadlock_main(void *arg)
{
    (void)arg;
    ASSERT_OK(goc_go(sleeper_then_exit, NULL));
    goc_chan *c = goc_chan_make(0, 0);
    ASSERT_OK(goc_chan_recv(c, NULL)); /* for ever */
}
static void timer_deadlock(void)
{
    ASSERT_OK(goc_run(timer_deadlock_main, NULL));
}
static void pending_after_main(void *arg)
{
    (void)arg;
    goc_chan_release(goc_after(100 * MS)); /* nobody will receive */
    goc_chan *c = goc_chan_make(0, 0);
    ASSERT_OK(goc_chan_recv(c, NULL));
}
static void pending_after(void)
{
    ASSERT_OK(goc_run(pending_after_main, NULL));
}
static void check_late_deadlock(void (*fn)(void))
{
    struct death d;
    int64_t t0 = goc_now();
    death_run(&d, fn);
    ASSERT_STATUS(d, 2);
    ASSERT_CONTAINS(d.out,
                    "fatal error: all goroutines are asleep - deadlock!");
    ASSERT_CONTAINS(d.out, "[chan receive]");
    /* Not before the timer went (the child started after t0). */
    ASSERT_GE(goc_now() - t0, 100 * MS);
}
TEST(time_deadlock_after_last_timer)
{
    check_late_deadlock(timer_deadlock);
    check_late_deadlock(pending_after);
}

/* ---- wait reasons ---- */

/* The dump has a goroutine with this header whose frames include fn. */
static void assert_blocked_in(const char *dump, const char *header,
                              const char *fn)
{
    const char *h = strstr(dump, header);
    ASSERT_CONTAINS(dump, header);
    const char *end = strstr(h, "\ngoroutine ");
    const char *f = strstr(h, fn);
    if (f == NULL || (end != NULL && f > end))
        FAIL("no %s under %s in:\n%s", fn, header, dump);
}

static goc_chan *wr_ready;
static _Atomic int wr_never;
/* Each does something after its wait, so the call is not a tail call
 * (which would leave no frame of the caller to show). */
static void wr_sleeper(void *arg)
{
    (void)arg;
    ASSERT_OK(goc_chan_send(wr_ready, NULL));
    goc_sleep(GOC_SECOND * 3600);
    atomic_store(&wr_never, 1);
}
static goc_chan *wr_never_ch; /* freed after the run: its waiter is
                                 abandoned with the goroutine */
static void wr_selector(void *arg)
{
    (void)arg;
    goc_case cs[1] = {GOC_RECV_CASE(wr_never_ch, NULL)};
    ASSERT_OK(goc_chan_send(wr_ready, NULL));
    ASSERT_ERR(goc_select_until(cs, 1, goc_now() + GOC_SECOND * 3600),
               GOC_ETIMEDOUT);
    atomic_store(&wr_never, 1);
}
static void wr_main(void *arg)
{
    (void)arg;
    wr_ready = goc_chan_make(0, 0);
    wr_never_ch = goc_chan_make(0, 0);
    ASSERT_OK(goc_go(wr_sleeper, NULL));
    ASSERT_OK(goc_go(wr_selector, NULL));
    ASSERT_OK(goc_chan_recv(wr_ready, NULL));
    ASSERT_OK(goc_chan_recv(wr_ready, NULL));
    /* Until both have parked, which only a dump shows (a fixed sleep
     * would race them on a slow machine). */
    static char buf[65536];
    for (int i = 0;; i++) {
        goc_stack(buf, sizeof buf, true);
        if (strstr(buf, "[sleep]:") != NULL &&
            strstr(buf, "[select]:") != NULL)
            break;
        ASSERT_LT(i, 10000);
        goc_sleep(MS);
    }
    ASSERT_EQ(atomic_load(&wr_never), 0); /* read, so the stores stay */
    /* Go shows time.Sleep above the caller; goc shows goc_sleep, and
     * goc_select_until when it is not a tail call (debug builds). */
    assert_blocked_in(buf, "[sleep]:", "wr_sleeper(");
    assert_blocked_in(buf, "[select]:", "wr_selector(");
}
TEST(time_wait_reasons)
{
    run_main(wr_main, NULL);
    goc_chan_release(wr_never_ch);
    goc_chan_release(wr_ready);
}
