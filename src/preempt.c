/* SPDX-License-Identifier: MIT */
/*
 * preempt.c - asynchronous preemption (opt-in: GOCDEBUG=asyncpreempt=1):
 * a goroutine that has ignored its preemption flag for a whole slice is
 * stopped where it stands by a signal, and its thread is parked with it,
 * so its P goes on with other goroutines.  Cooperative preemption (the
 * flag, the checks at goc calls) is proc.h's and park.c's; sysmon.c
 * decides when to signal; sigurg.c owns the SIGURG handler and calls
 * goc__preempt_signal for a PREEMPT request.
 *
 * The goroutine keeps its thread (Go's lockedm; the "KLT-switching" of
 * Shiina et al.): errno, thread-local data and the owners of pthread
 * locks stay right, whatever the interrupted code was doing with them.
 * It parks inside the signal handler, on the M's alternate signal stack,
 * rather than in a trampoline whose call the handler would inject into
 * the interrupted context, as Go does: the kernel has already saved the
 * whole register state in the signal frame (every FP/SIMD register, AVX-512
 * and SVE included, sized for this CPU), built the frame below the x86-64
 * red zone, and restores it all with sigreturn.  Go injects a call because
 * its goroutine must leave the thread; ours stays, so the injection would
 * buy nothing but a hand-written register save that must follow every
 * ISA extension, and on arm64 a way to restore x30 and jump without a
 * free register.
 *
 * The handler acts only when all of these hold (else the flag stays, and
 * sysmon's lend is the fallback):
 *   - async preemption is on for this run (goc__preempt_init);
 *   - the thread runs a goroutine (m->curg), holds a P that is running and
 *     still flagged (the slice is still the one sysmon meant), is not in a
 *     blocking section (m->oldp);
 *   - the interrupted pc is in the program's own code: not libc, the
 *     loader, the vDSO, another library, nor goc (goc__pc_in_user_text),
 *     so no runtime lock, no libc lock of this thread's, no half-done
 *     runtime operation is held while it waits; the program calls no goc
 *     function back from goc while goc holds a runtime lock (none does);
 *   - the interrupted sp is inside the goroutine's stack;
 *   - the handler runs on the alternate signal stack (the goroutine's own
 *     stack needs no room).
 *
 * The park, in the handler:
 *   1. the flag is cleared; g is wired to m (lockedm/lockedg, the previous
 *      values kept), leaves RUNNING for RUNNABLE, with its interrupted
 *      context published for dumps (g->async_ctx);
 *   2. m lets go of its P: the P becomes PSYSCALL with p->asyncg = g,
 *      and sysmon (woken) queues g on the global queue and hands the P to
 *      another M (goc__handoffp).  Nothing here allocates or starts a
 *      thread: those are not async-signal-safe, and the interrupted code
 *      may be the program's own allocator;
 *   3. m sleeps as a locked M (goc__stoplockedm) until an M that
 *      dequeues g hands it a P (startlockedm), then g runs again: a new
 *      slice, its wiring restored, and the handler returns into it.
 * If the run ends meanwhile the thread never returns to the goroutine:
 * it sleeps for good, as a thread abandoned in a blocking call does.
 *
 * Off under sanitizers and valgrind: TSan delivers signals late, at its
 * own points, with a context that is not the interrupted one, and ASan
 * and valgrind track stacks the handler would leave mid-frame for a long
 * time; a lend does the job there.
 */
#include <signal.h>

#include "goc.h"
#include "internal.h"

/* GOC_HAVE_TSAN: the library is built without -fsanitize=thread under
 * TSan (race.h), the program with it. */
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__) || \
    defined(GOC_HAVE_TSAN)
#define PREEMPT_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define PREEMPT_SANITIZED 1
#endif
#endif

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define PREEMPT_VALGRIND() RUNNING_ON_VALGRIND
#else
#define PREEMPT_VALGRIND() 0
#endif

bool goc__async_preempt;

void goc__preempt_init(void)
{
    bool on = goc__env.async_preempt;
#if !(defined(__x86_64__) || defined(__aarch64__)) || defined(PREEMPT_SANITIZED)
    on = false;
#endif
    if (on && PREEMPT_VALGRIND())
        on = false;
    if (on && goc__user_text_init() != 0)
        on = false; /* no symbol table: goc's code cannot be told apart */
    goc__async_preempt = on;
    goc__sigurg_on_preempt(goc__preempt_signal);
}

/* Is the handler on an alternate signal stack? */
static bool on_altstack(void)
{
    stack_t ss;
    return sigaltstack(NULL, &ss) == 0 && (ss.ss_flags & SS_ONSTACK) != 0;
}

/* May the goroutine that m runs be parked here (see the top)? */
static bool safe_point(goc__m *m, const void *uc)
{
    goc__g *g = m->curg;
    goc__p *p = m->p;
    if (g == NULL || g->system || p == NULL ||
        atomic_load_explicit(&m->oldp, memory_order_relaxed) != NULL ||
        atomic_load_explicit(&p->status, memory_order_relaxed) !=
            GOC__PRUNNING ||
        atomic_load_explicit(&p->preempt, memory_order_relaxed) == 0)
        return false;
    goc__sigctx c;
    goc__sigctx_of(uc, &c);
    return goc__pc_in_user_text(c.pc) && c.sp >= (uintptr_t)g->stack_lo &&
           c.sp < (uintptr_t)g->stack_hi && on_altstack();
}

/* The run is over while the goroutine waited: it never runs again. */
static void __attribute__((noreturn)) sleep_for_good(void)
{
    goc__note never;
    goc__noteclear(&never);
    for (;;)
        goc__notesleep(&never);
}

void goc__preempt_signal(goc__m *m, void *uc)
{
    if (!goc__async_preempt || !safe_point(m, uc))
        return;
    goc__g *g = m->curg;
    goc__p *p = m->p;
    goc__preempt_clear(p);
    /* 1. g waits for a P of its own, on this thread. */
    goc__m *lockedm = g->lockedm;
    goc__g *lockedg = m->lockedg;
    g->lockedm = m;
    m->lockedg = g;
    g->async_ctx = uc;
    g->m = NULL;
    m->curg = NULL;
    goc__gstatus_leave_running(g, GOC__GRUNNABLE);
    /* 2. The P to sysmon, which queues g and hands the P on. */
    p->m = NULL;
    m->p = NULL;
    /* release: g's state and wiring written above reach sysmon, whose
     * acquire exchange of asyncg (take_async_parked) pairs with it. */
    atomic_store_explicit(&p->asyncg, g, memory_order_release);
    atomic_fetch_add_explicit(&p->syscalltick, 1, memory_order_relaxed);
    /* release: the M that the P is handed to (through sysmon's acquire
     * CAS) sees the P as we left it. */
    atomic_store_explicit(&p->status, GOC__PSYSCALL, memory_order_release);
    goc__notewakeup(&goc__sched.sysmon_note);
    /* 3. Sleep until handed a P with g. */
    if (!goc__stoplockedm(m))
        sleep_for_good();
    goc__gstatus_run(g); /* waits while a dump reads g's stack */
    g->async_ctx = NULL;
    g->m = m;
    m->curg = g;
    g->lockedm = lockedm;
    m->lockedg = lockedg;
    goc__p_new_slice(m->p);
    goc__p_runtick(m->p);
}
