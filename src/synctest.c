/* SPDX-License-Identifier: MIT */
/*
 * synctest.c - deterministic tests: a bubble (Go's testing/synctest) with a
 * virtual clock and seeded schedules.  Design: docs/design/synctest.md.
 *
 * A bubble is a run of its own (goc_run) in a mode the scheduler knows by
 * goc__bubble.on (runtime.h):
 *   - one P, so one goroutine runs at a time and the order in which they
 *     run is the scheduler's alone;
 *   - the preemption word stays set, so every goc call a goroutine makes
 *     enters goc__preempt_slow (park.c) and goc__bubble_choose below: it
 *     records the goroutine in the trace, and draws from goc__bubble.rand
 *     whether to swap the run queue's next two picks and whether to
 *     yield (at most opts->yields times).  The Ms' own generators
 *     (select's order) are seeded from the bubble's seed (proc.c).  So
 *     the fast paths pay nothing for bubbles: the choices live where a
 *     preemption check already calls out of line;
 *   - sysmon neither preempts nor lends Ps (sysmon.c): real time decides
 *     nothing;
 *   - goc__clock() (timers, goc_now, deadlines) reads goc__bubble.vclock,
 *     which the idle M moves to the next timer once every goroutine is
 *     durably blocked (proc.c, bubble_idle); with no timer it reports the
 *     deadlock and ends the run.
 * The state is set before goc_run and cleared after it; inside, only the
 * holder of the one P touches the generator and the trace.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "env.h"
#include "error.h"
#include "internal.h"
#include "park.h"
#include "proc.h"
#include "runq.h"

struct goc__bubble goc__bubble;

/* splitmix64: a seed spread over the generator's state (never 0). */
static uint64_t mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    x ^= x >> 31;
    return x != 0 ? x : 1;
}

/* The seed line, on a failure's way out (a fatal error's last line, the
 * SIGABRT of a failed assert): async-signal-safe. */
static void seed_note(int fd)
{
    char line[80];
    int n = snprintf(line, sizeof line,
                     "goc_synctest: replay with GOC_SEED=%llu\n",
                     (unsigned long long)goc__bubble.seed);
    if (n > 0)
        (void)!write(fd, line, (size_t)n);
}

static void on_abort(int sig)
{
    seed_note(2);
    signal(sig, SIG_DFL);
    raise(sig);
}

struct root {
    int (*fn)(void *);
    void *arg;
    int rc;
};

/* Wait for the goroutines fn left to exit, moving the clock for them:
 * once all wait (goc_synctest_wait), sleep to the next timer; with none
 * and some left, they never will. */
static void wait_others(void)
{
    while (goc_num_goroutine() > 1) {
        goc_synctest_wait();
        if (goc_num_goroutine() <= 1)
            break;
        int64_t next = goc__timers_next();
        if (next == 0) {
            goc__printf(2, "goc_synctest: the root returned, and %d "
                           "goroutines are blocked for ever\n\n",
                        goc_num_goroutine() - 1);
            goc_dump(2);
            goc__bubble.result = GOC_EDEADLK;
            return;
        }
        goc_sleep(next - goc__clock());
    }
}

/* A draw from the bubble's generator in [0, bound) (xorshift64*): the
 * P holder's. */
static uint32_t bubble_rand(uint32_t bound)
{
    uint64_t x = goc__bubble.rand;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    goc__bubble.rand = x;
    return (uint32_t)((((x * 0x2545F4914F6CDD1DULL) >> 32) * bound) >> 32);
}

/* The trace: FNV-1a over the goids seen entering goc calls, one entry
 * per change of goroutine.  The seed's choices: the run queue's next two
 * picks swapped (runnext to the tail), and extra yields, at most
 * yields_left of them.  Runs where a preemption check would: no lock
 * held, on the goroutine's stack. */
void goc__bubble_choose(goc__m *m)
{
    int64_t id = m->curg->goid;
    if (id != goc__bubble.last_goid) {
        goc__bubble.last_goid = id;
        goc__bubble.trace_hash =
            (goc__bubble.trace_hash ^ (uint64_t)id) * 0x100000001b3ULL;
        goc__bubble.switches++;
    }
    goc__p *p = m->p;
    if (bubble_rand(2) == 0) {
        goc__g *next = goc__runq_take_runnext(p);
        if (next != NULL)
            goc__runq_put(p, next, false);
    }
    if (goc__bubble.yields_left > 0 &&
        bubble_rand(goc__bubble.yield_odds) == 0) {
        goc__bubble.yields_left--;
        goc__yield_m(m);
    }
}

static void root_main(void *arg)
{
    struct root *r = arg;
    /* Every goc call asks goc__preempt_slow, which asks
     * goc__bubble_choose (after goc_run's reset of the word). */
    __atomic_store_n(&goc__preempt_word, 1, __ATOMIC_RELAXED);
    r->rc = r->fn(r->arg);
    wait_others();
    __atomic_store_n(&goc__preempt_word, 0, __ATOMIC_RELAXED);
}

/* A seed nobody chose: the time and the process. */
static uint64_t fresh_seed(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t s = mix((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^
                     ((uint64_t)getpid() << 16));
    return s % 1000000000000ULL + 1; /* short enough to type */
}

int goc_synctest_run(goc_synctest_opts *opts, int (*fn)(void *), void *arg)
{
    if (fn == NULL)
        return GOC_EINVAL;
    if (goc__getm() != NULL)
        return GOC_EBUSY;
    goc_synctest_opts none = {0};
    goc_synctest_opts *o = opts != NULL ? opts : &none;
    goc__env_read();
    uint64_t seed = o->seed != 0         ? o->seed
                    : goc__env.seed != 0 ? goc__env.seed
                                         : fresh_seed();
    memset(&goc__bubble, 0, sizeof goc__bubble);
    goc__bubble.seed = seed;
    goc__bubble.rand = mix(seed);
    goc__bubble.yields_left = o->yields > 0 ? o->yields : 0;
    goc__bubble.yield_odds = o->yield_odds > 0 ? (uint32_t)o->yield_odds : 4;
    atomic_store_explicit(&goc__bubble.vclock, GOC_SYNCTEST_EPOCH,
                          memory_order_relaxed);
    atomic_store_explicit(&goc__bubble.on, true, memory_order_release);
    int procs = goc__maxprocs_next_swap(1);
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_abort;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGABRT, &sa, &old);
    goc__fatal_set_note(seed_note);

    struct root r = {fn, arg, 0};
    int rc = goc_run(root_main, &r);

    goc__fatal_set_note(NULL);
    sigaction(SIGABRT, &old, NULL);
    (void)goc__maxprocs_next_swap(procs);
    atomic_store_explicit(&goc__bubble.on, false, memory_order_release);
    o->seed_used = seed;
    o->trace = goc__bubble.trace_hash;
    o->switches = goc__bubble.switches;
    if (rc != 0)
        return rc;
    if (goc__bubble.result != 0)
        rc = goc__bubble.result; /* the deadlock's report is printed */
    else if ((rc = r.rc) != 0)
        goc__printf(2, "goc_synctest: the bubble failed (%d)\n", rc);
    if (rc != 0)
        seed_note(2);
    return rc;
}

int goc_synctest(int (*fn)(void *), void *arg)
{
    return goc_synctest_run(NULL, fn, arg);
}

/* Park's unlock: register g as the waiter (the idle M wakes it). */
static bool wait_unlock(goc__g *g, void *arg)
{
    (void)arg;
    goc__lock(&goc__sched.lock);
    goc__bubble.waiter = g;
    goc__unlock(&goc__sched.lock);
    return true;
}

void goc_synctest_wait(void)
{
    goc__m *m = goc__getm();
    if (!atomic_load_explicit(&goc__bubble.on, memory_order_relaxed) ||
        m == NULL || m->curg == NULL)
        goc__fatal("goc_synctest_wait: not in a bubble");
    goc__lock(&goc__sched.lock);
    bool busy = goc__bubble.waiter != NULL;
    goc__unlock(&goc__sched.lock);
    if (busy)
        goc__fatal("goc_synctest_wait: another goroutine waits already");
    goc__park_m(m, wait_unlock, NULL, "synctest.Wait");
}

int goc_synctest_search(goc_synctest_opts *opts, int n, int (*fn)(void *),
                        void *arg)
{
    if (opts == NULL || fn == NULL || n <= 0)
        return GOC_EINVAL;
    if (goc__getm() != NULL)
        return GOC_EBUSY;
    goc__env_read();
    uint64_t first = opts->seed != 0         ? opts->seed
                     : goc__env.seed != 0    ? goc__env.seed
                                             : 1;
    for (int i = 0; i < n; i++) {
        uint64_t seed = first + (uint64_t)i;
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0)
            return -errno;
        if (pid == 0) {
            if (opts->quiet) {
                int null = open("/dev/null", O_WRONLY);
                if (null >= 0) {
                    dup2(null, 1);
                    dup2(null, 2);
                }
            }
            goc_synctest_opts o = *opts;
            o.seed = seed;
            int rc = goc_synctest_run(&o, fn, arg);
            fflush(NULL);
            _exit(rc == 0 ? 0 : rc == GOC_EDEADLK ? 3 : 1);
        }
        int st;
        while (waitpid(pid, &st, 0) < 0) {
            if (errno != EINTR)
                return -errno;
        }
        int code = WIFEXITED(st) ? WEXITSTATUS(st) : 0;
        int rc = WIFSIGNALED(st) ? -128 - WTERMSIG(st)
                 : code == 3     ? GOC_EDEADLK
                                 : code; /* 1: fn failed; 2: fatal */
        if (rc != 0) {
            opts->seed_used = seed;
            goc__printf(2,
                        "goc_synctest_search: seed %llu failed (%d of %d "
                        "tried); replay with GOC_SEED=%llu\n",
                        (unsigned long long)seed, i + 1, n,
                        (unsigned long long)seed);
            return rc;
        }
    }
    opts->seed_used = 0;
    return 0;
}
