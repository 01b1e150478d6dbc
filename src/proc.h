/* SPDX-License-Identifier: MIT */
/*
 * proc.h - the scheduler core (proc.c): the current M, its random
 * numbers, parking and readying, starting Ms, the run.
 */
#ifndef GOC_PROC_H
#define GOC_PROC_H

#include <stdbool.h>
#include <stdint.h>

#include "goroutine.h"
#include "runq.h"
#include "runtime.h"

/* The calling thread's M, or NULL on a plain thread.
 *
 * A goroutine may resume on another thread after any park, so neither the
 * value nor the address of a thread-local may be kept across one; C
 * compilers assume a function runs on one thread, and do keep the thread
 * pointer in a register across calls (ClickHouse/silk#66).  So the load
 * is an asm statement that reads the thread pointer itself: volatile (never
 * merged with another, never dropped) with a memory clobber (never moved
 * across a call or a memory access).  Initial-exec TLS: the static TLS
 * block, reached through the GOT entry the linker fills in (or relaxes to
 * a constant in an executable); libgoc.so is not meant for a late
 * dlopen.  Other architectures call a noinline function doing the same. */
extern __thread goc__m *goc__tls_m
    __attribute__((tls_model("initial-exec"), visibility("hidden")));
#if defined(__x86_64__) && !defined(GOC_GETM_CALL)
static inline goc__m *goc__getm(void)
{
    goc__m *m;
    __asm__ __volatile__("movq goc__tls_m@gottpoff(%%rip), %0\n\t"
                         "movq %%fs:(%0), %0"
                         : "=r"(m)
                         :
                         : "memory");
    return m;
}
#elif defined(__aarch64__) && !defined(GOC_GETM_CALL)
static inline goc__m *goc__getm(void)
{
    goc__m *m;
    uintptr_t tp;
    __asm__ __volatile__("adrp %0, :gottprel:goc__tls_m\n\t"
                         "ldr %0, [%0, #:gottprel_lo12:goc__tls_m]\n\t"
                         "mrs %1, tpidr_el0\n\t"
                         "ldr %0, [%1, %0]"
                         : "=&r"(m), "=&r"(tp)
                         :
                         : "memory");
    return m;
}
#else
goc__m *goc__getm(void); /* noinline */
#endif

/* 32 random bits from m's generator (xorshift64*): cheap, good enough for
 * a steal order or a select's poll order.  Only on: m's thread. */
static inline uint32_t goc__fastrand(goc__m *m)
{
    uint64_t x = m->rand;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    m->rand = x;
    return (uint32_t)((x * 0x2545F4914F6CDD1DULL) >> 32);
}
goc__g *goc__getg(void);             /* current G or NULL */
/* The second half of a park of g, now off its stack, by the M that ran it
 * (on g0, or on the goroutine g switched straight to): g becomes WAITING,
 * then m's unlockf(g, arg) runs.  Returns: true if unlockf said no, and g
 * is RUNNABLE again (the caller runs or queues it).  Only on: m's
 * thread. */
static inline __attribute__((always_inline)) bool
goc__finish_park(goc__m *m, goc__g *g)
{
    goc__unlockf f = m->unlockf;
    void *arg = m->unlock_arg;
    m->unlockf = NULL;
    m->unlock_arg = NULL;
    /* From here on a ready() may run g anywhere: g is off its stack. */
    goc__gstatus_leave_running(g, GOC__GWAITING);
    /* unlockf runs hidden from the race detector (goroutine.h). */
    if (f != NULL && !goc__race_unlockf(f, g, arg)) {
        goc__gstatus_ready(g);
        return true;
    }
    return false;
}
/* goc__ready_m and goc__runq_put_wake: inline, at the end of this file. */
/* wakep's slow half: count a spinner (the caller won nmspinning 0 -> 1)
 * and start an M for it on an idle P. */
void goc__startm_spinning(void);
/* A plain (non-M) thread calls into goc: during a run, count it for
 * checkdead from now on (once per run).  Only on: a plain thread. */
void goc__extern_thread(void);
extern _Atomic uint64_t goc__sched_epoch;
void goc__wakep(void);

/* A goroutine is switched to on p: sysmon sees p's goroutine come back
 * to the scheduler.  Only on: p's M. */
static inline __attribute__((always_inline)) void goc__p_runtick(goc__p *p)
{
    atomic_store_explicit(
        &p->runtick,
        atomic_load_explicit(&p->runtick, memory_order_relaxed) + 1,
        memory_order_relaxed);
}

/* ---- time slices and cooperative preemption (Go's schedtick,
 * preemptone; docs/design/scheduler.md "Fairness and preemption") ----
 *
 * A P's time slice begins at every execute that does not inherit the
 * slice (a runnext hand-off inherits it).  sysmon counts the slices
 * (schedtick) and, when one has lasted 10 ms, sets the P's preempt flag
 * and adds one to goc__preempt_pending, the word that goc calls and
 * goc_checkpoint test with one load; the slow path (park.c) yields the
 * goroutine whose P is flagged.  The flag is cleared, and the count given
 * back, when the slice ends in any way: a new slice begins, the P goes
 * idle or into a blocking call, or the goroutine yields for it.
 * Invariant: goc__preempt_pending == the number of Ps whose preempt is 1
 * (each 0 -> 1 exchange adds one, each 1 -> 0 exchange takes one away). */

/* goc__preempt_pending (goc.h) as the library reads and writes it: an
 * alias without the GOT indirection of an exported name (park.c). */
extern uint32_t goc__preempt_word __attribute__((visibility("hidden")));

/* p's flag, if set, is withdrawn.  Any thread (sysmon, p's M). */
static inline void goc__preempt_clear(goc__p *p)
{
    if (atomic_load_explicit(&p->preempt, memory_order_relaxed) != 0 &&
        atomic_exchange_explicit(&p->preempt, 0, memory_order_relaxed) != 0)
        __atomic_fetch_sub(&goc__preempt_word, 1, __ATOMIC_RELAXED);
}

/* Ask p's goroutine to yield at its next goc call (sysmon). */
static inline void goc__preempt_request(goc__p *p)
{
    if (atomic_load_explicit(&p->preempt, memory_order_relaxed) == 0 &&
        atomic_exchange_explicit(&p->preempt, 1, memory_order_relaxed) == 0)
        __atomic_fetch_add(&goc__preempt_word, 1, __ATOMIC_RELAXED);
}

/* A new time slice begins on p: count it; a preemption asked for the old
 * slice no longer applies.  Only on: p's M. */
static inline __attribute__((always_inline)) void goc__p_new_slice(goc__p *p)
{
    atomic_store_explicit(
        &p->schedtick,
        atomic_load_explicit(&p->schedtick, memory_order_relaxed) + 1,
        memory_order_relaxed);
    goc__preempt_clear(p);
}

/* p's slice count (the 61-tick rule and sysmon).  Any thread. */
static inline uint32_t goc__p_schedtick(goc__p *p)
{
    return atomic_load_explicit(&p->schedtick, memory_order_relaxed);
}

/* End sysmon's deep sleep (sysmon.c), if it is in one: a blocking call
 * begins, which sysmon may have to retake.  A call that begins as sysmon
 * goes to sleep may be noticed only at the sleep's end (100 ms at most). */
static inline void goc__sysmon_wake(void)
{
    if (atomic_exchange_explicit(&goc__sched.sysmon_wait, false,
                                 memory_order_relaxed))
        goc__notewakeup(&goc__sched.sysmon_note);
}

/* ---- the scheduler's state, as its other floors read it ---- */
static inline int32_t goc__gomaxprocs(void)
{
    return atomic_load_explicit(&goc__sched.gomaxprocs, memory_order_relaxed);
}

static inline bool goc__exiting(void)
{
    return atomic_load_explicit(&goc__sched.exiting, memory_order_acquire);
}

/* P i of sched.allp.  acquire: pairs with the release store in
 * procresize (run.c) that published it. */
static inline goc__p *goc__allp(int32_t i)
{
    return atomic_load_explicit(&goc__sched.allp[i], memory_order_acquire);
}

/* ---- P and M lists, for run.c (start, GOMAXPROCS, teardown) ---- */
void goc__acquirep(goc__m *m, goc__p *p);
/* sysmon's extra Ps (run.c): add one (delta 1) while a goroutine keeps
 * its P blocked in a call it did not declare, or take one back (-1).
 * Returns: true if done. */
bool goc__procs_lend(int delta);
/* m, whose G is wired to it (m->lockedg) and waits RUNNABLE in a queue,
 * hands off its P if it holds one and sleeps until an M that dequeues
 * the G hands it a P (acquired on return).  Returns: false when the run
 * is exiting. */
bool goc__stoplockedm(goc__m *m);
/* Asynchronous preemption (preempt.c): on for this run? */
extern bool goc__async_preempt;
/* Decide it for the run that starts (env, sanitizers, valgrind, symbols). */
void goc__preempt_init(void);
/* The SIGURG handler's PREEMPT request, on m's thread; uc: the
 * interrupted ucontext_t.  Parks the goroutine with its thread if it is
 * at a safe point, else returns at once. */
void goc__preempt_signal(goc__m *m, void *uc);
/* Start an M (a new thread, or an idle one) on p, not spinning. */
void goc__startm_p(goc__p *p);
/* Find p, taken from its M (a locked G parked, a blocking call
 * retaken by sysmon), a new M if it has work, or park it (Go's
 * handoffp). */
void goc__handoffp(goc__p *p);
void goc__pidleput(goc__p *p);    /* Requires: sched.lock; p's queues empty */
goc__p *goc__pidleget(void);      /* Requires: sched.lock */
void goc__pidleremove(goc__p *p); /* Requires: sched.lock */
/* An idle P for an M that has none: takes sched.lock.  Returns: NULL if
 * none is idle or the run is exiting. */
goc__p *goc__pidletake(void);
/* The calling thread becomes m (its TLS, signal stack, TSan fiber). */
void goc__m_init_thread(goc__m *m);
/* m's scheduling loop; returns once the run is exiting (or m's locked G
 * has exited and m's thread must end). */
void goc__m_loop(goc__m *m);

/* Has a P other than p an armed timer?  (run_overdue_timers' loads.) */
bool goc__timers_elsewhere(goc__p *p);

/* find_runnable's step order, in one place (local_queue_first predicts
 * it): is it the global queue's turn at p's current tick, or right after
 * a preemption on p?  The length is a racy hint, as the global queue's
 * lock is taken only on a yes. */
static inline bool goc__global_turn(goc__p *p)
{
    return (p->global_next ||
            goc__p_schedtick(p) % GOC__GLOBAL_EVERY == 0) &&
           atomic_load_explicit(&goc__sched.runqsize,
                                memory_order_relaxed) > 0;
}

/* Is look number `look` for work one that checks the other Ps' timers? */
static inline bool goc__timer_look_due(uint32_t look)
{
    return (look & (GOC__TIMER_LOOK_EVERY - 1)) == 0;
}

/* Would find_runnable, called now, go straight to p's local queue?  Not
 * when p has an armed timer (it may be due: that needs the clock), on the
 * 61st tick with work in the global queue, or when this is the 8th look
 * (which checks the other Ps' timers) and some P has one.  A yes counts
 * as that look. */
static inline bool goc__local_queue_first(goc__p *p)
{
    if (atomic_load_explicit(&p->timers.first, memory_order_relaxed) != 0)
        return false;
    if (goc__global_turn(p))
        return false;
    if (goc__timer_look_due(p->timercheck + 1) && goc__timers_elsewhere(p))
        return false;
    p->timercheck++;
    return true;
}

/* ---- making work: ready, spawn (the wake-up protocol, proc.c) ---- */

/* Start a spinning M if a P is idle and nobody spins.  The caller has just
 * made work visible; that write must come before our loads of npidle and
 * nmspinning, against the spin-down path's decrement of nmspinning and its
 * rechecks (proc.c, any_work): the light side of an asymmetric fence,
 * whose heavy side the spinner pays as it gives up.  holds_p: the caller
 * holds a P (with GOMAXPROCS 1, nobody to wake). */
static inline __attribute__((always_inline)) void
goc__wakep_after(bool holds_p)
{
    if (holds_p &&
        atomic_load_explicit(&goc__sched.gomaxprocs, memory_order_relaxed) ==
            1)
        return;
    goc__fence_light();
    if (atomic_load_explicit(&goc__sched.npidle, memory_order_seq_cst) == 0)
        return;
    int32_t zero = 0;
    if (atomic_load_explicit(&goc__sched.nmspinning, memory_order_seq_cst) !=
            0 ||
        !atomic_compare_exchange_strong_explicit(&goc__sched.nmspinning,
                                                 &zero, 1,
                                                 memory_order_seq_cst,
                                                 memory_order_relaxed))
        return;
    goc__startm_spinning();
}

/* Queue a RUNNABLE g (new or just readied) as ready does: m's runnext, or
 * the global queue without a P; then wake an idle P if any.  m is the
 * caller's (goc__getm()). */
static inline __attribute__((always_inline)) void
goc__runq_put_wake(goc__m *m, goc__g *g)
{
    if (goc__likely(m != NULL && m->p != NULL)) {
        goc__runq_put_next_light(m->p, g);
        goc__wakep_after(true);
        return;
    }
    if (m == NULL)
        goc__extern_thread();
    goc__globrunqput(g);
    goc__wakep_after(false);
}

/* goc__ready_ahead's queueing: the head of m's ring (its runnext when the
 * ring is full), or the global queue without a P; then wake an idle P. */
static inline void goc__runq_put_ahead_wake(goc__m *m, goc__g *g)
{
    if (goc__likely(m != NULL && m->p != NULL)) {
        if (!goc__runq_ring_put_head(m->p, g))
            goc__runq_put(m->p, g, true);
        goc__wakep_after(true);
        return;
    }
    goc__runq_put_wake(m, g);
}

/* goc__ready with m = goc__getm() (NULL on a plain thread). */
static inline __attribute__((always_inline)) void goc__ready_m(goc__m *m,
                                                               goc__g *g)
{
    goc__gstatus_ready(g);
    goc__runq_put_wake(m, g);
}

#endif /* GOC_PROC_H */
