/* SPDX-License-Identifier: MIT */
/*
 * sysmon.c - the monitor thread that retakes the P of a thread stuck in a
 * blocking call (Go's sysmon and retake, proc.go).
 *
 * The blocking calls themselves are park.c's.  goc_blocking_begin lets go
 * of the caller's P without giving it away: the P becomes PSYSCALL,
 * holding its queues and timers, with no M.  If
 * the call is short, goc_blocking_end takes it back with one CAS
 * (PSYSCALL -> RUNNING) and nothing else happened: no thread woke, none
 * was created.  If it is long, sysmon CASes the P away first and hands it
 * to another M (goc__handoffp), and goc_blocking_end finds it gone: it
 * takes an idle P if there is one, or else queues its goroutine on the
 * global queue and lets its thread sleep until an M is needed (the
 * goroutine's thread goes back to the scheduler loop without a P:
 * find_runnable's reacquire_p).  Whoever wins the CAS owns the P; the M in
 * the call never touches it meanwhile (m->p is NULL, m->oldp remembers
 * it, and tells teardown not to wait for that M).
 *
 * sysmon sleeps 20 us between looks, doubling after 50 looks that found
 * nothing to do, up to 10 ms; while every P is idle it sleeps until the
 * next timer (100 ms at most) or a blocking call begins (an idle program
 * costs no CPU).  Each look:
 *   - retake every P in a blocking call seen in the same call (same
 *     syscalltick) at the previous look, unless it has nothing queued, no
 *     timers, somebody else is idle or spinning to pick up new work, and
 *     the call is younger than 10 ms (Go's rule: a P is worth moving only
 *     if it has work or nobody else could take it);
 *   - poll the descriptors if nobody did for 10 ms (every M busy);
 *   - lend a P (lend) for a P whose goroutine keeps it in a call it did
 *     not declare (its thread's CPU clock barely moves and its state is
 *     S or D), and take it back when the goroutine returns.
 * And it moves goc__coarse on (coarse_tick), the clock that parks stamp
 * their wait times with, once a second; it returns the pages of stacks
 * that stayed free for a second, ten times a second (goc__stack_scavenge:
 * Go's background scavenger, paced as Go's by a budget of CPU time; a
 * deep sleep lasts 100 ms at most, so an idle program gives them back
 * too); and it prints the dump of a
 * SIGQUIT that another thread received (goc__sysmon_forward_quit): caught
 * resting, it holds nothing, so its handler may read source lines with
 * libdw, which allocates, where a handler that interrupted any other
 * thread must not (that thread may be inside malloc).
 * sysmon has an M record of its own, without a P, so what it readies goes
 * to the global queue and it never counts as a plain thread.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "goc.h"
#include "internal.h"
#include "netpoll.h"

#define SYSMON_MIN_NS (20 * 1000)
#define SYSMON_MAX_NS (10 * 1000 * 1000)
#define SYSMON_IDLE_LOOKS 50        /* before the sleep starts doubling */
#define RETAKE_AFTER_NS (10 * 1000 * 1000)
/* Go's forcePreemptNS: the time slice. */
#define PREEMPT_AFTER_NS (10 * 1000 * 1000)
#define POLL_AFTER_NS (10 * 1000 * 1000)
/* The longest deep sleep (every P idle): a goroutine that took a P since
 * and then blocked without declaring it is noticed this late at worst,
 * unless a timer is due earlier.  Ten wake-ups a second of an idle
 * program cost nothing measurable. */
#define DEEP_SLEEP_MAX_NS (100 * 1000 * 1000)
/* How often sysmon returns the pages of stacks idle for a second (Go's
 * scavenger is paced too; 10 a second is a lock and a compare each). */
#define SCAVENGE_EVERY_NS (100 * 1000 * 1000)
/* The CPU time of one such pass (scavenge_budget).  While goroutines run:
 * Go's share (scavengePercent), 1% of each P's time, and at most 4 ms, for
 * sysmon preempts, polls and lends nothing meanwhile.  While every P is
 * idle nobody waits for it: 10% of one CPU, some 22,000 slots a second
 * here (the 4.2 GB of a million exited goroutines' stacks back in ~40 s;
 * Go 1.19 still held all of its 2.5 GB a minute after the same join). */
#define SCAVENGE_BUSY_NS_PER_P (1000 * 1000)
#define SCAVENGE_BUSY_MAX_NS (4 * 1000 * 1000)
#define SCAVENGE_IDLE_NS (10 * 1000 * 1000)

struct goc__coarse goc__coarse;

static bool sysmon_running;
/* sysmon is in one of its sleeps: it holds no lock and is in no call
 * that could (malloc, the loader): a signal handler that interrupts it
 * there may do what a thread may (goc__sysmon_quit_safe_here).  Written
 * and read by sysmon's thread alone (its handler included): a
 * sig_atomic_t, no atomic needed. */
static volatile sig_atomic_t sysmon_resting;
/* sysmon's thread takes a forwarded SIGQUIT: set by that thread once its
 * tid is known and it has found SIGQUIT unblocked in its mask (inherited
 * from the thread that started the run: a program that blocks SIGQUIT to
 * sigwait for it keeps it), cleared before it is joined.  release/
 * acquire: publishes sysmon_m.tid to goc__sysmon_forward_quit, which
 * other threads' handlers call (a lock-free atomic: signal-safe). */
static _Atomic bool sysmon_takes_quit;
static goc__m sysmon_m;
/* What sysmon saw of each P at its previous look. */
static struct {
    uint32_t tick;      /* syscalltick */
    int64_t since;      /* when tick was first seen */
    uint32_t rtick;     /* runtick */
    int64_t rsince;     /* when rtick was first seen */
    int64_t rcpu;       /* its M's CPU time at rcpu_at, or -1: not read
                           yet (a system call: only for a P stuck with
                           work waiting) */
    int64_t rcpu_at;
    uint8_t lent;       /* a P was lent while this one was stuck: LENT_* */
    uint32_t stick;     /* schedtick */
    int64_t ssince;     /* when stick was first seen running */
    int64_t sigat;      /* when its M was last signalled to preempt */
} seen[GOC__ALLP_MAX];

enum { LENT_NONE = 0, LENT_BLOCKED, LENT_COMPUTING };
/* Ps lent in all, and for goroutines that compute without calling goc:
 * those add parallelism, so there are at most as many as the program's
 * GOMAXPROCS (lend). */
static int32_t lent_total, lent_computing;

/* Has p work that waits for a P: queued goroutines (its own or global),
 * armed timers of its own, or a timer of any P that is due (with every
 * P stuck, nobody runs it: the sleeper that wakes for it finds no P)? */
static bool p_waits_for(goc__p *p, int64_t now)
{
    if (!goc__runq_empty(p) ||
        atomic_load_explicit(&p->timers.first, memory_order_relaxed) != 0 ||
        atomic_load_explicit(&goc__sched.runqsize, memory_order_relaxed) > 0)
        return true;
    int64_t next = goc__timers_next();
    return next != 0 && next <= now;
}

/* Is it worth moving p out of its blocking call now (see the top)? */
static bool worth_retaking(goc__p *p, int64_t since, int64_t now)
{
    if (p_waits_for(p, now))
        return true;
    if (atomic_load_explicit(&goc__sched.nmspinning, memory_order_relaxed) +
            atomic_load_explicit(&goc__sched.npidle, memory_order_relaxed) ==
        0)
        return true;
    return now - since >= RETAKE_AFTER_NS;
}

/* With asynchronous preemption on (preempt.c), signal the M of p, whose
 * goroutine has not answered its flag for a whole slice: at most once a
 * slice.  Returns: true if signalled. */
static bool preempt_async(int32_t i, goc__p *p, int64_t now)
{
    if (!goc__async_preempt || now - seen[i].ssince < 2 * PREEMPT_AFTER_NS ||
        now - seen[i].sigat < PREEMPT_AFTER_NS ||
        atomic_load_explicit(&p->preempt, memory_order_relaxed) == 0)
        return false;
    /* Racy: p may have changed hands; the handler checks that its M still
     * holds a flagged P at a safe point, and a stale M is harmless. */
    goc__m *m = __atomic_load_n(&p->m, __ATOMIC_RELAXED);
    if (m == NULL)
        return false;
    seen[i].sigat = now;
    goc__sigurg_send(m, GOC__SIGREQ_PREEMPT);
    return true;
}

/* Flag p, running, if its time slice (schedtick) has lasted
 * PREEMPT_AFTER_NS (Go's retake -> preemptone): its goroutine yields at
 * its next goc call.  *next becomes the earliest time a slice seen
 * running now reaches that age, or stays.  Returns: true if it signalled
 * p's M (preempt_async). */
static bool preempt_long_slice(int32_t i, goc__p *p, int64_t now,
                               int64_t *next)
{
    uint32_t t = goc__p_schedtick(p);
    if (seen[i].stick != t) {
        seen[i].stick = t;
        seen[i].ssince = now;
    } else if (preempt_async(i, p, now)) {
        return true;
    } else if (now - seen[i].ssince >= PREEMPT_AFTER_NS) {
        goc__preempt_request(p);
        /* The slice may have ended as we flagged it: then the flag would
         * cut the next one short (harmless, but not ours to leave). */
        if (atomic_load_explicit(&p->status, memory_order_relaxed) !=
                GOC__PRUNNING ||
            goc__p_schedtick(p) != t)
            goc__preempt_clear(p);
        return false;
    }
    if (seen[i].ssince + PREEMPT_AFTER_NS < *next)
        *next = seen[i].ssince + PREEMPT_AFTER_NS;
    return false;
}

/* p is PSYSCALL because asynchronous preemption parked its goroutine with
 * its thread (preempt.c): queue the goroutine and hand the P on.  What
 * the handler could not do (it may not allocate or start a thread).
 * Returns: true if that was so. */
static bool take_async_parked(goc__p *p)
{
    /* acquire: pairs with the handler's release store of asyncg. */
    goc__g *g = atomic_exchange_explicit(&p->asyncg, NULL,
                                         memory_order_acquire);
    if (g == NULL)
        return false;
    goc__globrunqput(g);
    uint32_t s = GOC__PSYSCALL;
    if (atomic_compare_exchange_strong_explicit(&p->status, &s,
                                                GOC__PRUNNING,
                                                memory_order_acquire,
                                                memory_order_relaxed))
        goc__handoffp(p);
    return true;
}

/* Flag the Ps whose slice is over (signal their Ms, in async mode);
 * retake the Ps that have been in one blocking call since the previous
 * look, or that hold a goroutine async preemption parked.  *next: as
 * preempt_long_slice.  Returns: how many Ps were retaken or signalled
 * (sysmon then looks again soon). */
static int retake(int64_t now, int64_t *next)
{
    int n = 0;
    int32_t procs = goc__gomaxprocs();
    int32_t nallp = atomic_load_explicit(&goc__sched.nallp,
                                         memory_order_acquire);
    for (int32_t i = 0; i < nallp; i++) {
        goc__p *p = goc__allp(i);
        if (p == NULL)
            continue;
        uint32_t st = atomic_load_explicit(&p->status, memory_order_relaxed);
        if (i >= procs) {
            /* GOMAXPROCS shrank (or a lent P was taken back) under a
             * goroutine that keeps running: it retires the P at its next
             * trip to the scheduler, which the flag brings about now. */
            if (st == GOC__PRUNNING)
                goc__preempt_request(p);
            else if (st == GOC__PSYSCALL && take_async_parked(p))
                n++; /* its new M retires it */
            continue;
        }
        if (st == GOC__PRUNNING) {
            /* A bubble's schedule is its seed's alone: no slices. */
            if (!atomic_load_explicit(&goc__bubble.on, memory_order_relaxed) &&
                preempt_long_slice(i, p, now, next))
                n++; /* look again soon: the handler will want us */
            continue;
        }
        /* Not running: the next slice starts its clock when it runs. */
        seen[i].stick = goc__p_schedtick(p);
        seen[i].ssince = now;
        if (st != GOC__PSYSCALL)
            continue;
        if (take_async_parked(p)) {
            n++;
            continue;
        }
        uint32_t t = atomic_load_explicit(&p->syscalltick,
                                          memory_order_relaxed);
        if (seen[i].tick != t) { /* a new call: give it a look's time */
            seen[i].tick = t;
            seen[i].since = now;
            continue;
        }
        if (!worth_retaking(p, seen[i].since, now))
            continue;
        uint32_t s = GOC__PSYSCALL;
        if (atomic_compare_exchange_strong_explicit(
                &p->status, &s, GOC__PRUNNING, memory_order_acquire,
                memory_order_relaxed)) {
            goc__handoffp(p);
            n++;
        }
    }
    return n;
}

/* Is thread tid blocked in the kernel (state S or D in its stat file)?
 * The CPU clock alone cannot tell a thread blocked in a call from one
 * the kernel has not run for a while (several runnable threads per CPU:
 * a computing thread may get no CPU for a whole window); the state can
 * (R: running or runnable).  Read only when the clock has said "barely
 * moved", a rare event: it takes a descriptor for a moment. */
static bool thread_blocked(int tid)
{
    char st = goc__thread_state(tid);
    return st == 'S' || st == 'D';
}

/* Take back the P lent for seen[i]. */
static bool lend_back(int32_t i)
{
    if (!goc__procs_lend(-1))
        return false;
    lent_total--;
    if (seen[i].lent == LENT_COMPUTING)
        lent_computing--;
    seen[i].lent = LENT_NONE;
    return true;
}

/* Lend a P for every P whose goroutine has not come back to the scheduler
 * for a while, when work waits and no P is idle to run it: the thread
 * keeps its goroutine and its P, and the others go on on the lent P
 * (the P comes back once that goroutine returns to the scheduler).  Two
 * kinds of stuck goroutine:
 *   - blocked in a call it did not declare (a read(2), sleep(3), a
 *     library's synchronous query): its thread used under half the time
 *     in CPU and sleeps in the kernel (state S or D).  Lent after
 *     RETAKE_AFTER_NS, without limit: such a P adds no parallelism.
 *   - computing without ever calling goc (or a thread the kernel did not
 *     run): lent after twice that, once the preemption flag set at
 *     PREEMPT_AFTER_NS went unanswered, and only while fewer such Ps are
 *     lent than the program's GOMAXPROCS: past that, GOMAXPROCS would
 *     mean nothing.  A hot loop offers goc_checkpoint to be fair.
 * The thread's CPU-time clock is the cheap first test (no descriptor),
 * its state in /proc the final one (thread_blocked).  Returns: how many
 * Ps were lent or taken back. */
static int lend(int64_t now)
{
    int n = 0;
    int32_t procs = goc__gomaxprocs();
    for (int32_t i = 0; i < procs; i++) {
        goc__p *p = goc__allp(i);
        if (p == NULL)
            continue;
        uint32_t st = atomic_load_explicit(&p->status, memory_order_relaxed);
        uint32_t t = atomic_load_explicit(&p->runtick, memory_order_relaxed);
        if (st != GOC__PRUNNING || seen[i].rtick != t) {
            seen[i].rtick = t;
            seen[i].rsince = now;
            seen[i].rcpu = -1;
            if (seen[i].lent != LENT_NONE && lend_back(i))
                n++;
            continue;
        }
        /* Stuck for half the time with work waiting: read its thread's
         * CPU clock; for the other half: compare. */
        if (seen[i].lent != LENT_NONE ||
            now - seen[i].rsince < RETAKE_AFTER_NS / 2 ||
            atomic_load_explicit(&goc__sched.npidle, memory_order_relaxed) >
                0 ||
            !p_waits_for(p, now))
            continue;
        int32_t clock = atomic_load_explicit(&p->mclock, memory_order_relaxed);
        if (seen[i].rcpu < 0) {
            seen[i].rcpu = goc__thread_cpu(clock);
            seen[i].rcpu_at = now;
            continue;
        }
        if (now - seen[i].rcpu_at < RETAKE_AFTER_NS / 2)
            continue;
        int64_t cpu = goc__thread_cpu(clock);
        if (cpu < 0) { /* its M left: a clock we cannot read */
            seen[i].rcpu = cpu;
            seen[i].rcpu_at = now;
            continue;
        }
        uint8_t kind = LENT_BLOCKED;
        if (cpu - seen[i].rcpu >= (now - seen[i].rcpu_at) / 2 ||
            !thread_blocked(
                atomic_load_explicit(&p->mtid, memory_order_relaxed)))
            kind = LENT_COMPUTING;
        if (kind == LENT_COMPUTING &&
            (now - seen[i].rsince <
                 (goc__async_preempt ? 3 : 2) * RETAKE_AFTER_NS ||
             lent_computing >= procs - lent_total)) {
            seen[i].rcpu = cpu; /* look again over the next window */
            seen[i].rcpu_at = now;
            continue;
        }
        if (goc__procs_lend(1)) {
            seen[i].lent = kind;
            lent_total++;
            if (kind == LENT_COMPUTING)
                lent_computing++;
            n++;
        }
    }
    /* A stuck P past a GOMAXPROCS that shrank is not looked at above. */
    int32_t nallp = atomic_load_explicit(&goc__sched.nallp,
                                         memory_order_acquire);
    for (int32_t i = procs; i < nallp; i++)
        if (seen[i].lent != LENT_NONE && lend_back(i))
            n++;
    return n;
}

/* Is every P idle, none past GOMAXPROCS still running its goroutine
 * (its M retires it at its next trip to the scheduler)? */
static bool all_idle(void)
{
    int32_t procs = goc__gomaxprocs();
    if (atomic_load_explicit(&goc__sched.npidle, memory_order_seq_cst) !=
        procs)
        return false;
    int32_t nallp = atomic_load_explicit(&goc__sched.nallp,
                                         memory_order_acquire);
    for (int32_t i = procs; i < nallp; i++)
        if (atomic_load_explicit(&goc__allp(i)->status,
                                 memory_order_relaxed) != GOC__PDEAD)
            return false;
    return true;
}

/* The CPU time the next scavenger pass may use (SCAVENGE_BUSY_NS_PER_P). */
static int64_t scavenge_budget(void)
{
    if (all_idle())
        return SCAVENGE_IDLE_NS;
    int64_t b = (int64_t)goc__gomaxprocs() * SCAVENGE_BUSY_NS_PER_P;
    return b < SCAVENGE_BUSY_MAX_NS ? b : SCAVENGE_BUSY_MAX_NS;
}

/* Every P is idle: sleep until the next timer (at most
 * DEEP_SLEEP_MAX_NS), a blocking call begins (goc__sysmon_wake) or the
 * run ends (Go's sysmon: no wake-up for each P that leaves the idle list,
 * which a server going idle between requests does thousands of times a
 * second).  Returns: true if a blocking call woke it. */
static bool sysmon_deep_sleep(int64_t now)
{
    int64_t sleep = DEEP_SLEEP_MAX_NS;
    int64_t next = goc__timers_next();
    if (next != 0 && next - now < sleep)
        sleep = next - now > 0 ? next - now : 0;
    atomic_store_explicit(&goc__sched.sysmon_wait, true, memory_order_seq_cst);
    bool woken = false;
    sysmon_resting = 1;
    if (!goc__exiting())
        woken = goc__notetsleep(&goc__sched.sysmon_note, sleep);
    sysmon_resting = 0;
    atomic_store_explicit(&goc__sched.sysmon_wait, false,
                          memory_order_seq_cst);
    goc__noteclear(&goc__sched.sysmon_note);
    return woken;
}

/* Move goc__coarse on if it is GOC__COARSE_EVERY_NS behind: every park
 * reads its line, so it is written seldom. */
static void coarse_tick(int64_t now)
{
    if (now - atomic_load_explicit(&goc__coarse.now, memory_order_relaxed) >=
        GOC__COARSE_EVERY_NS)
        atomic_store_explicit(&goc__coarse.now, now, memory_order_relaxed);
}

static void *sysmon_main(void *arg)
{
    (void)arg;
    goc__m_init_thread(&sysmon_m);
    sigset_t mask;
    atomic_store_explicit(&sysmon_takes_quit,
                          pthread_sigmask(SIG_BLOCK, NULL, &mask) == 0 &&
                              !sigismember(&mask, SIGQUIT),
                          memory_order_release);
    int idle = 0;
    int64_t delay = SYSMON_MIN_NS;
    int64_t next = INT64_MAX; /* a slice seen running reaches 10 ms */
    int64_t scavenge_at = goc__nanotime() + SCAVENGE_EVERY_NS;
    while (!goc__exiting()) {
        if (idle == 0)
            delay = SYSMON_MIN_NS;
        else if (idle > SYSMON_IDLE_LOOKS && delay < SYSMON_MAX_NS)
            delay = delay * 2 > SYSMON_MAX_NS ? SYSMON_MAX_NS : delay * 2;
        /* Backed off or not, look when a slice comes of age: a
         * goroutine is preempted 10 ms after sysmon saw its slice begin,
         * not up to 10 ms later still. */
        int64_t sleep = delay;
        if (next != INT64_MAX) {
            int64_t left = next - goc__nanotime();
            if (left < sleep)
                sleep = left > 0 ? left : 0;
        }
        /* Outside a deep sleep (sysmon_wait clear) only the end of the
         * run wakes the note: a clear that erases that wake-up is
         * covered by the exiting check. */
        sysmon_resting = 1;
        goc__notetsleep(&goc__sched.sysmon_note, sleep);
        sysmon_resting = 0;
        goc__noteclear(&goc__sched.sysmon_note);
        if (goc__exiting())
            break;
        int64_t now = goc__nanotime();
        coarse_tick(now);
        if (now >= scavenge_at) {
            scavenge_at = now + SCAVENGE_EVERY_NS;
            goc__stack_scavenge(scavenge_budget());
        }
        if (all_idle()) {
            /* Woken by a blocking call: it may need retaking soon, so
             * look often again (Go's bet); else keep the backed-off pace. */
            if (sysmon_deep_sleep(now))
                idle = 0;
            next = INT64_MAX; /* no slice was running */
            continue;
        }
        bool busy = false;
        if (goc__netpoll_waiters() > 0 &&
            !atomic_load_explicit(&goc__sched.timer_via_poll,
                                  memory_order_relaxed) &&
            now - atomic_load_explicit(&goc__sched.lastpoll,
                                       memory_order_relaxed) >
                POLL_AFTER_NS)
            busy = goc__netpoll(0, &sysmon_m) > 0;
        next = INT64_MAX;
        if (retake(now, &next) > 0)
            busy = true;
        if (!atomic_load_explicit(&goc__bubble.on, memory_order_relaxed) &&
            lend(now) > 0) /* a bubble keeps its one P */
            busy = true;
        idle = busy ? 0 : idle + 1;
    }
    goc__altstack_free(&sysmon_m);
    return NULL;
}

int goc__sysmon_start(void)
{
    memset(&sysmon_m, 0, sizeof sysmon_m);
    sysmon_m.id = -1;
    memset(seen, 0, sizeof seen);
    int64_t now = goc__nanotime();
    for (int32_t i = 0; i < GOC__ALLP_MAX; i++) {
        /* A P not seen yet is not stuck since the epoch. */
        seen[i].rsince = seen[i].ssince = now;
        seen[i].sigat = now - PREEMPT_AFTER_NS;
        seen[i].rcpu = -1;
    }
    lent_total = lent_computing = 0;
    atomic_store_explicit(&sysmon_takes_quit, false, /* until it looks */
                          memory_order_relaxed);
    atomic_store_explicit(&goc__coarse.now, now, memory_order_relaxed);
    goc__noteclear(&goc__sched.sysmon_note);
    atomic_store(&goc__sched.sysmon_wait, false);
    int rc = goc__thread_start(&sysmon_m, sysmon_main);
    sysmon_running = rc == 0;
    return rc;
}

bool goc__sysmon_forward_quit(void)
{
    if (!atomic_load_explicit(&sysmon_takes_quit, memory_order_acquire) ||
        goc__getm() == &sysmon_m)
        return false;
    return syscall(SYS_tgkill, getpid(), sysmon_m.tid, SIGQUIT) == 0;
}

bool goc__sysmon_quit_safe_here(void)
{
#ifdef GOC_HAVE_TSAN
    return false; /* TSan reports any allocation in a handler */
#else
    return goc__getm() == &sysmon_m && sysmon_resting;
#endif
}

void goc__sysmon_stop(void)
{
    if (!sysmon_running)
        return;
    atomic_store_explicit(&sysmon_takes_quit, false, memory_order_relaxed);
    goc__notewakeup(&goc__sched.sysmon_note); /* exiting is set */
    pthread_join(sysmon_m.thread, NULL);
    sysmon_running = false;
}
