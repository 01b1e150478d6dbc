/* SPDX-License-Identifier: MIT */
/*
 * test_synctest.c - bubbles (goc_synctest): virtual time, goc_synctest_wait,
 * deadlocks reported instead of hung, durable and non-durable waits,
 * goc_net_pipe, seeded schedules that replay, and a seed search that finds
 * a lost wake-up.  Every bubble runs hours of virtual time; the tests bound
 * the real time they take loosely (they must not have slept for real).
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "test.h"

#define SEC GOC_SECOND
#define MIN (60 * SEC)
#define HOUR (60 * MIN)

static int64_t real_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * SEC + ts.tv_nsec;
}

/* How long since the bubble began, on its clock. */
static int64_t vt(void)
{
    return goc_now() - GOC_SYNCTEST_EPOCH;
}

/* ---- virtual time ---- */

static void sleeper(void *arg)
{
    goc_wg *wg = arg;
    goc_sleep(2 * HOUR); /* from 1 h */
    ASSERT_EQ(vt(), 3 * HOUR);
    goc_wg_done(wg);
}

static int sleeps(void *arg)
{
    (void)arg;
    ASSERT_EQ(vt(), 0);
    goc_sleep(HOUR);
    ASSERT_EQ(vt(), HOUR);
    goc_wg wg = {0};
    goc_wg_add(&wg, 3);
    for (int i = 0; i < 3; i++)
        ASSERT_OK(goc_go(sleeper, &wg));
    goc_wg_wait(&wg);
    ASSERT_EQ(vt(), 3 * HOUR);
    /* A select timeout and goc_after. */
    goc_chan *never = goc_chan_make(0, 0);
    goc_case cs[1] = {GOC_RECV_CASE(never, NULL)};
    ASSERT_ERR(goc_select_until(cs, 1, goc_now() + 90 * SEC), GOC_ETIMEDOUT);
    ASSERT_EQ(vt(), 3 * HOUR + 90 * SEC);
    goc_chan *after = goc_after(MIN);
    int64_t fired;
    ASSERT_OK(goc_chan_recv(after, &fired));
    ASSERT_EQ(fired - GOC_SYNCTEST_EPOCH, 3 * HOUR + 150 * SEC);
    goc_chan_release(after);
    goc_chan_release(never);
    return 0;
}

TEST(synctest_virtual_time)
{
    int64_t t0 = real_now();
    goc_synctest_opts o = {0};
    ASSERT_OK(goc_synctest_run(&o, sleeps, NULL));
    ASSERT_LT(real_now() - t0, 10 * SEC);
    ASSERT_NE(o.seed_used, 0);
    ASSERT_GT(o.switches, 0);
}

/* The course's timeout and ticker examples, in virtual time. */
static void slow_op(void *arg)
{
    goc_chan *res = arg;
    goc_sleep(10 * SEC); /* the operation takes 10 s */
    int v = 42;
    (void)!goc_chan_try_send(res, &v);
    goc_chan_release(res);
}

static int ctx_and_ticker(void *arg)
{
    (void)arg;
    /* context.WithTimeout(2 s) against a 10 s operation. */
    goc_ctx *ctx = goc_ctx_with_timeout(NULL, 2 * SEC);
    goc_chan *res = goc_chan_make(sizeof(int), 1);
    goc_chan_retain(res);
    ASSERT_OK(goc_go(slow_op, res));
    int v;
    goc_case cs[2] = {GOC_RECV_CASE(res, &v),
                      GOC_RECV_CASE(goc_ctx_done(ctx), NULL)};
    ASSERT_EQ(goc_select(cs, 2), 1);
    ASSERT_ERR(goc_ctx_err(ctx), GOC_ETIMEDOUT);
    ASSERT_EQ(vt(), 2 * SEC);
    goc_ctx_release(ctx);
    /* A ticker every minute for an hour: exactly 60 ticks, on time. */
    goc_ticker *t = goc_ticker_new(MIN);
    for (int i = 1; i <= 60; i++) {
        int64_t at;
        ASSERT_OK(goc_chan_recv(goc_ticker_chan(t), &at));
        ASSERT_EQ(at - GOC_SYNCTEST_EPOCH, 2 * SEC + i * MIN);
    }
    goc_ticker_stop(t);
    goc_ticker_free(t);
    goc_chan_release(res);
    return 0; /* slow_op finishes at 10 s: the bubble waits for it */
}

TEST(synctest_timeout_and_ticker)
{
    int64_t t0 = real_now();
    ASSERT_OK(goc_synctest(ctx_and_ticker, NULL));
    ASSERT_LT(real_now() - t0, 10 * SEC);
}

/* ---- goc_synctest_wait ---- */

static void fill(void *arg)
{
    goc_chan *c = arg;
    for (int i = 0; i < 3; i++)
        ASSERT_OK(goc_chan_send(c, &i));
    goc_sleep(MIN);
}

static int waits(void *arg)
{
    (void)arg;
    goc_chan *c = goc_chan_make(sizeof(int), 2);
    ASSERT_OK(goc_go(fill, c));
    /* Once everything else is blocked: the sender filled the buffer and
     * waits on its third send; no time has passed. */
    goc_synctest_wait();
    ASSERT_EQ(goc_chan_len(c), 2);
    ASSERT_EQ(vt(), 0);
    int v;
    for (int i = 0; i < 3; i++) {
        ASSERT_OK(goc_chan_recv(c, &v));
        ASSERT_EQ(v, i);
    }
    goc_synctest_wait(); /* the sender sleeps its minute now */
    ASSERT_EQ(vt(), 0);
    goc_chan_release(c);
    return 0;
}

TEST(synctest_wait)
{
    ASSERT_OK(goc_synctest(waits, NULL));
}

/* ---- deadlocks ---- */

/* The channels the deadlocked goroutines hold, kept reachable: a bubble
 * that deadlocks abandons its goroutines and their stacks, and valgrind
 * would call what only they pointed to lost. */
static goc_chan *stuck;

static int deadlocks(void *arg)
{
    (void)arg;
    stuck = goc_chan_make(0, 0);
    goc_mutex mu = {0};
    goc_mutex_lock(&mu);
    (void)!goc_chan_recv(stuck, NULL); /* nobody sends */
    return 0;
}

static void deadlock_child(void)
{
    /* _exit: the abandoned goroutines' objects are not leaks. */
    _exit(goc_synctest(deadlocks, NULL) == GOC_EDEADLK ? 0 : 1);
}

TEST(synctest_deadlock_reported)
{
    struct death d;
    death_run(&d, deadlock_child);
    ASSERT_STATUS(d, 0);
    ASSERT_CONTAINS(d.out, "goc_synctest: deadlock: every goroutine in the "
                           "bubble is blocked");
    ASSERT_CONTAINS(d.out, "[chan receive]");
    ASSERT_CONTAINS(d.out, "goc_synctest: replay with GOC_SEED=");
}

static void forever(void *arg)
{
    (void)!goc_chan_recv(arg, NULL);
}

static int leaves_one(void *arg)
{
    (void)arg;
    stuck = goc_chan_make(0, 0);
    ASSERT_OK(goc_go(forever, stuck));
    goc_sleep(SEC);
    return 0; /* its goroutine waits for ever */
}

static void leaves_child(void)
{
    /* _exit: the abandoned goroutines' objects are not leaks. */
    _exit(goc_synctest(leaves_one, NULL) == GOC_EDEADLK ? 0 : 1);
}

TEST(synctest_root_leaves_blocked)
{
    struct death d;
    death_run(&d, leaves_child);
    ASSERT_STATUS(d, 0);
    ASSERT_CONTAINS(d.out, "the root returned, and 1 goroutines are blocked");
    ASSERT_CONTAINS(d.out, "GOC_SEED=");
}

/* ---- durable and not ---- */

static goc_mutex shared_mu;
static int shared_n;

static void locker(void *arg)
{
    goc_wg *wg = arg;
    for (int i = 0; i < 5; i++) {
        goc_mutex_lock(&shared_mu);
        int n = shared_n;
        goc_sleep(SEC); /* holding the lock across a sleep */
        shared_n = n + 1;
        goc_mutex_unlock(&shared_mu);
    }
    goc_wg_done(wg);
}

static int mutexes(void *arg)
{
    (void)arg;
    goc_wg wg = {0};
    goc_wg_add(&wg, 4);
    for (int i = 0; i < 4; i++)
        ASSERT_OK(goc_go(locker, &wg));
    goc_wg_wait(&wg);
    ASSERT_EQ(shared_n, 20);
    ASSERT_EQ(vt(), 20 * SEC); /* one at a time: mutex waits are durable */
    return 0;
}

TEST(synctest_mutex_durable)
{
    ASSERT_OK(goc_synctest(mutexes, NULL));
}

static void blocker(void *arg)
{
    _Atomic int64_t *when = arg;
    goc_blocking_begin();
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL); /* 50 ms of real time in a blocking call */
    goc_blocking_end();
    atomic_store(when, vt());
}

static int blocking(void *arg)
{
    (void)arg;
    _Atomic int64_t when = -1;
    ASSERT_OK(goc_go(blocker, &when));
    goc_sleep(HOUR);
    /* The clock stood still while the call was in progress: the hour
     * passed only after it returned, at virtual time 0. */
    ASSERT_EQ(atomic_load(&when), 0);
    return 0;
}

TEST(synctest_blocking_call_not_durable)
{
    ASSERT_OK(goc_synctest(blocking, NULL));
}

/* A descriptor that is not a pipe end: its wait is not durable, so the
 * clock waits for it (here a plain thread writes after 50 ms of real
 * time). */
static void *late_writer(void *arg)
{
    int fd = *(int *)arg;
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
    ASSERT_EQ(write(fd, "x", 1), 1);
    return NULL;
}

static void real_reader(void *arg)
{
    int *fds = arg;
    char b;
    ASSERT_EQ(goc_read(fds[0], &b, 1, NULL), 1);
    fds[2] = (int)vt(); /* when the data came, on the bubble's clock */
}

static int real_fd(void *arg)
{
    (void)arg;
    int fds[3] = {-1, -1, -1};
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    ASSERT_OK(goc_fd_wrap(fds[0]));
    ASSERT_OK(goc_go(real_reader, fds));
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, late_writer, &fds[1]), 0);
    goc_sleep(HOUR);
    /* The hour could not pass while the reader waited on a real socket. */
    ASSERT_EQ(fds[2], 0);
    ASSERT_EQ(pthread_join(t, NULL), 0);
    ASSERT_OK(goc_close(fds[0]));
    close(fds[1]);
    return 0;
}

TEST(synctest_real_fd_not_durable)
{
    ASSERT_OK(goc_synctest(real_fd, NULL));
}

/* ---- goc_net_pipe ---- */

static void echo(void *arg)
{
    int fd = *(int *)arg;
    char buf[64];
    ssize_t n;
    while ((n = goc_read(fd, buf, sizeof buf, NULL)) > 0) {
        goc_sleep(100 * SEC); /* a slow server */
        ASSERT_EQ(goc_write(fd, buf, (size_t)n, NULL), n);
    }
    ASSERT_OK(goc_close(fd));
}

static int pipes(void *arg)
{
    (void)arg;
    int fds[2];
    ASSERT_OK(goc_net_pipe(fds));
    ASSERT_OK(goc_go(echo, &fds[1]));
    ASSERT_EQ(goc_write(fds[0], "ping", 4, NULL), 4);
    char buf[8];
    /* A read deadline shorter than the server: timed out, in virtual
     * time; then a longer one gets the answer. */
    goc_ctx *short_ctx = goc_ctx_with_timeout(NULL, 30 * SEC);
    ASSERT_ERR((int)goc_read(fds[0], buf, sizeof buf, short_ctx),
               GOC_ETIMEDOUT);
    ASSERT_EQ(vt(), 30 * SEC);
    goc_ctx_release(short_ctx);
    goc_ctx *long_ctx = goc_ctx_with_timeout(NULL, HOUR);
    ASSERT_EQ(goc_read(fds[0], buf, sizeof buf, long_ctx), 4);
    ASSERT_EQ(memcmp(buf, "ping", 4), 0);
    ASSERT_EQ(vt(), 100 * SEC);
    goc_ctx_release(long_ctx);
    ASSERT_OK(goc_close(fds[0]));
    return 0;
}

TEST(synctest_net_pipe)
{
    int64_t t0 = real_now();
    ASSERT_OK(goc_synctest(pipes, NULL));
    ASSERT_LT(real_now() - t0, 10 * SEC);
}

/* ---- seeded schedules ---- */

struct log {
    goc_mutex mu;
    int n;
    int ids[64];
};

static void writer(void *arg)
{
    struct log *l = arg;
    int me = (int)goc_id();
    for (int i = 0; i < 4; i++) {
        goc_mutex_lock(&l->mu);
        l->ids[l->n++] = me;
        goc_mutex_unlock(&l->mu);
    }
}

static struct log the_log;

static int interleave(void *arg)
{
    (void)arg;
    memset(&the_log, 0, sizeof the_log);
    for (int i = 0; i < 6; i++)
        ASSERT_OK(goc_go(writer, &the_log));
    return 0;
}

/* Run interleave under seed; its trace and log in *o and log. */
static void run_seed(uint64_t seed, goc_synctest_opts *o, struct log *log)
{
    memset(o, 0, sizeof *o);
    o->seed = seed;
    o->yields = 16;
    ASSERT_OK(goc_synctest_run(o, interleave, NULL));
    ASSERT_EQ(o->seed_used, seed);
    ASSERT_EQ(the_log.n, 24);
    *log = the_log;
}

TEST(synctest_seed_replays)
{
    goc_synctest_opts a, b;
    struct log la, lb;
    run_seed(7, &a, &la);
    run_seed(7, &b, &lb);
    ASSERT_EQ(a.trace, b.trace);
    ASSERT_EQ(a.switches, b.switches);
    ASSERT_EQ(memcmp(la.ids, lb.ids, sizeof la.ids), 0);
    /* Other seeds, other interleavings: all 8 cannot be the same. */
    int differ = 0;
    for (uint64_t s = 8; s < 16; s++) {
        run_seed(s, &b, &lb);
        differ += b.trace != a.trace;
    }
    ASSERT_GT(differ, 0);
}

/* A lost wake-up: the waiter checks the flag, then (after a goc call
 * that may yield) waits for a signal that the notifier sends only if
 * somebody waits already. */
static _Atomic bool lw_ready;
static goc_chan *lw_sig;
static goc_mutex lw_mu;

static void lw_waiter(void *arg)
{
    goc_wg *wg = arg;
    if (!atomic_load(&lw_ready)) {
        goc_mutex_lock(&lw_mu); /* "log that we wait": a goc call */
        goc_mutex_unlock(&lw_mu);
        (void)!goc_chan_recv(lw_sig, NULL); /* lost if the notifier ran */
    }
    goc_wg_done(wg);
}

static void lw_notifier(void *arg)
{
    goc_wg *wg = arg;
    atomic_store(&lw_ready, true);
    (void)!goc_chan_try_send(lw_sig, NULL); /* nobody waits: dropped */
    goc_wg_done(wg);
}

static int lost_wakeup(void *arg)
{
    (void)arg;
    atomic_store(&lw_ready, false);
    lw_sig = goc_chan_make(0, 0);
    goc_wg wg = {0};
    goc_wg_add(&wg, 2);
    ASSERT_OK(goc_go(lw_waiter, &wg));
    ASSERT_OK(goc_go(lw_notifier, &wg));
    goc_wg_wait(&wg);
    goc_chan_release(lw_sig);
    return 0;
}

TEST(synctest_search_finds_lost_wakeup)
{
    goc_synctest_opts o = {.seed = 1, .yields = 4, .yield_odds = 2};
    int rc = goc_synctest_search(&o, 200, lost_wakeup, NULL);
    ASSERT_ERR(rc, GOC_EDEADLK);
    uint64_t bad = o.seed_used;
    ASSERT_NE(bad, 0);
    /* Replayed: the same seed fails the same way, in a child of ours. */
    goc_synctest_opts again = {.seed = bad, .yields = 4, .yield_odds = 2};
    ASSERT_ERR(goc_synctest_search(&again, 1, lost_wakeup, NULL),
               GOC_EDEADLK);
    ASSERT_EQ(again.seed_used, bad);
    /* Without extra yields the window is never hit. */
    goc_synctest_opts calm = {.seed = 1};
    ASSERT_OK(goc_synctest_search(&calm, 50, lost_wakeup, NULL));
}

static int fails(void *arg)
{
    (void)arg;
    return 3;
}

static void fails_child(void)
{
    _exit(goc_synctest(fails, NULL) == 3 ? 0 : 1);
}

TEST(synctest_failure_prints_seed)
{
    struct death d;
    death_run(&d, fails_child);
    ASSERT_STATUS(d, 0);
    ASSERT_CONTAINS(d.out, "goc_synctest: the bubble failed (3)");
    ASSERT_CONTAINS(d.out, "goc_synctest: replay with GOC_SEED=");
}

static int in_run(void *arg)
{
    (void)arg;
    return 0;
}

static void nested(void *arg)
{
    (void)arg;
    ASSERT_ERR(goc_synctest(in_run, NULL), GOC_EBUSY);
}

TEST(synctest_errors)
{
    ASSERT_ERR(goc_synctest(NULL, NULL), GOC_EINVAL);
    run_main(nested, NULL);
    goc_synctest_opts o = {0};
    ASSERT_ERR(goc_synctest_search(&o, 0, in_run, NULL), GOC_EINVAL);
}
