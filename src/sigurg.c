/* SPDX-License-Identifier: MIT */
/*
 * sigurg.c - goc's SIGURG handler: requests to one M's thread, served in
 * the context the signal interrupted (sigurg.h; Go's sigPreempt): DUMP,
 * for goroutine dumps (debug.c), and PREEMPT, asynchronous preemption
 * (preempt.c, which may park the thread in the handler).
 *
 * The handler is installed at the start of a run with SA_SIGINFO |
 * SA_ONSTACK | SA_RESTART (every M has an alternate signal stack, and a
 * system call the signal interrupts goes on as if nothing happened), and
 * the program's previous action comes back at the end of the run.  A
 * SIGURG that finds no request bit set is the program's: it goes to the
 * handler the program had (both forms; SIG_DFL and SIG_IGN ignore it).
 * A request that timed out clears its bit, so its signal, should it come
 * late, reaches the program's handler as a spurious SIGURG (as in Go,
 * which passes every SIGURG on).
 *
 * The DUMP handshake, on m->sigdump (IDLE, ASKED, HELD):
 *   dumper:  sigdump = ASKED; sigreq |= DUMP; tgkill(m->tid, SIGURG);
 *            wait (futex, <= wait_ns) while sigdump == ASKED;
 *            HELD: read m->sigctx and g's stack; CAS HELD -> IDLE; wake
 *            timeout: CAS ASKED -> IDLE (fails if HELD came meanwhile:
 *            then as HELD); sigreq &= ~DUMP
 *   handler: write m->sigctx; CAS ASKED -> HELD (fails: the dumper gave
 *            up; return); wake; wait (futex, <= GOC__SIGURG_HOLD_NS)
 *            while sigdump == HELD; timeout: CAS HELD -> IDLE
 * Every wait is bounded on both sides, so a thread that never answers
 * (SIGURG blocked, the program's own handler installed over goc's, TSan
 * deferring the signal) costs a dump wait_ns, and a dumper that dies
 * costs the thread GOC__SIGURG_HOLD_NS.  The release/acquire pairs on
 * sigdump carry the interrupted thread's stack writes to the dumper and
 * the dumper's reads back before the thread runs on; a dumper whose
 * final CAS fails knows the thread had run on and drops what it read.
 * Only the dump's owner asks, one M at a time (debug.c), so one word per
 * M is enough.
 *
 * Under TSan a signal that arrives while the thread runs instrumented
 * code is delivered later, at its next intercepted call, with the
 * context saved when it arrived: by then that context is stale.  Such a
 * late call runs on the goroutine's stack, not the alternate one, so the
 * handler refuses (CAS ASKED -> IDLE) unless it runs on the alternate
 * stack, where only a direct delivery puts it.
 */
#include <errno.h>
#include <linux/futex.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "internal.h"

enum { SIGDUMP_IDLE = 0, SIGDUMP_ASKED, SIGDUMP_HELD };

static struct sigaction old_urg;
/* What serves a PREEMPT request (preempt.c, floors above, installs it). */
static _Atomic(goc__sigurg_preemptf) preempt_hook;

void goc__sigurg_on_preempt(goc__sigurg_preemptf f)
{
    /* release: pairs with the handler's acquire load. */
    atomic_store_explicit(&preempt_hook, f, memory_order_release);
}
static bool urg_installed;

/* ---- futex waits with a deadline (async-signal-safe) ---- */

/* Sleep while *addr == val, until woken or until deadline (nanotime). */
static void urg_futex_wait(_Atomic uint32_t *addr, uint32_t val,
                           int64_t deadline)
{
    int64_t left = deadline - goc__nanotime();
    if (left <= 0)
        return;
    struct timespec ts = {(time_t)(left / 1000000000),
                          (long)(left % 1000000000)};
    /* EINTR, EAGAIN and spurious wake-ups: the callers loop. */
    syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, &ts, NULL, 0);
}

static void urg_futex_wake(_Atomic uint32_t *addr)
{
    syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* ---- the handler ---- */

void goc__sigctx_of(const void *ucv, goc__sigctx *c)
{
    const ucontext_t *uc = ucv;
#if defined(__x86_64__)
    c->pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    c->sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
    c->fp = (uintptr_t)uc->uc_mcontext.gregs[REG_RBP];
    c->lr = 0;
    static const int cs[GOC__UREGS] = {REG_RBX, REG_RBP, REG_R12,
                                       REG_R13, REG_R14, REG_R15};
    for (int i = 0; i < GOC__UREGS; i++)
        c->r[i] = (uintptr_t)uc->uc_mcontext.gregs[cs[i]];
#elif defined(__aarch64__)
    c->pc = (uintptr_t)uc->uc_mcontext.pc;
    c->sp = (uintptr_t)uc->uc_mcontext.sp;
    c->fp = (uintptr_t)uc->uc_mcontext.regs[29];
    c->lr = (uintptr_t)uc->uc_mcontext.regs[30];
    for (int i = 0; i < GOC__UREGS; i++)
        c->r[i] = (uintptr_t)uc->uc_mcontext.regs[19 + i];
#endif
}

/* Did the kernel deliver this signal to us directly?  Then we run on the
 * alternate stack (SA_ONSTACK); TSan's late calls run on the thread's
 * current stack (see the top of the file). */
static bool urg_delivered_now(void)
{
#ifdef GOC_HAVE_TSAN
    stack_t ss;
    return sigaltstack(NULL, &ss) == 0 && (ss.ss_flags & SS_ONSTACK);
#else
    return true;
#endif
}

/* DUMP: publish where this thread was, then stay here (bounded) while the
 * dumper reads the stack.  m: this thread's M. */
static void urg_answer_dump(goc__m *m, const ucontext_t *uc)
{
    if (!urg_delivered_now()) {
        uint32_t asked = SIGDUMP_ASKED;
        /* release: pairs with the dumper's acquire load; it stops
         * waiting. */
        if (atomic_compare_exchange_strong_explicit(
                &m->sigdump, &asked, SIGDUMP_IDLE, memory_order_release,
                memory_order_relaxed))
            urg_futex_wake(&m->sigdump);
        return;
    }
    goc__sigctx_of(uc, &m->sigctx);
    m->sigctx.g = m->curg; /* this thread's own field */
    uint32_t asked = SIGDUMP_ASKED;
    /* release: sigctx, and every write this thread made to its stack,
     * before the dumper's acquire load of HELD. */
    if (!atomic_compare_exchange_strong_explicit(&m->sigdump, &asked,
                                                 SIGDUMP_HELD,
                                                 memory_order_release,
                                                 memory_order_relaxed))
        return; /* the dumper gave up */
    urg_futex_wake(&m->sigdump);
    int64_t deadline = goc__nanotime() + GOC__SIGURG_HOLD_NS;
    /* acquire: pairs with the dumper's release CAS, so its reads of our
     * stack come before we run on. */
    while (atomic_load_explicit(&m->sigdump, memory_order_acquire) ==
           SIGDUMP_HELD) {
        if (goc__nanotime() >= deadline) {
            uint32_t held = SIGDUMP_HELD;
            /* acq_rel: a dumper that comes now finds IDLE and drops
             * what it read. */
            atomic_compare_exchange_strong_explicit(
                &m->sigdump, &held, SIGDUMP_IDLE, memory_order_acq_rel,
                memory_order_acquire);
            return;
        }
        urg_futex_wait(&m->sigdump, SIGDUMP_HELD, deadline);
    }
}

/* Not goc's signal: the program's handler, as it was before the run. */
static void urg_forward(int sig, siginfo_t *si, void *uc)
{
    if (old_urg.sa_flags & SA_SIGINFO) {
        if (old_urg.sa_sigaction != NULL)
            old_urg.sa_sigaction(sig, si, uc);
    } else if (old_urg.sa_handler != SIG_DFL &&
               old_urg.sa_handler != SIG_IGN) {
        old_urg.sa_handler(sig);
    }
}

/* Runs on the M's alternate stack, on any thread that gets a SIGURG. */
static void sigurg_handler(int sig, siginfo_t *si, void *uc)
{
    int saved_errno = errno;
    goc__m *m = goc__getm(); /* async-signal-safe: one TLS load */
    /* acquire: pairs with the release OR in goc__sigurg_send, so what
     * the sender wrote before (sigdump = ASKED) is visible. */
    uint32_t req = m != NULL ? atomic_exchange_explicit(
                                   &m->sigreq, 0, memory_order_acquire)
                             : 0;
    if (req == 0)
        urg_forward(sig, si, uc);
    /* Dispatch, in this order: a dump wants the context as the signal
     * found it, before anything else changes it. */
    if (req & GOC__SIGREQ_DUMP)
        urg_answer_dump(m, uc);
    /* Then a preemption, which may park the thread here for a while. */
    if (req & GOC__SIGREQ_PREEMPT) {
        goc__sigurg_preemptf f =
            atomic_load_explicit(&preempt_hook, memory_order_acquire);
        if (f != NULL)
            f(m, uc);
    }
    errno = saved_errno;
}

int goc__sigurg_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = sigurg_handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGURG, &sa, &old_urg) != 0)
        return -errno;
    urg_installed = true;
    return 0;
}

void goc__sigurg_restore(void)
{
    if (!urg_installed)
        return;
    sigaction(SIGURG, &old_urg, NULL);
    urg_installed = false;
}

/* ---- the requesting side ---- */

int goc__sigurg_send(goc__m *m, uint32_t req)
{
    /* release: pairs with the handler's acquire exchange. */
    atomic_fetch_or_explicit(&m->sigreq, req, memory_order_release);
    if (syscall(SYS_tgkill, getpid(), m->tid, SIGURG) != 0)
        return -errno;
    return 0;
}

bool goc__sigurg_dump_hold(goc__m *m, int64_t wait_ns, goc__sigctx *out)
{
    if (m == goc__getm() || m->tid == 0 || wait_ns <= 0)
        return false; /* our own thread would wait for itself */
    atomic_store_explicit(&m->sigdump, SIGDUMP_ASKED, memory_order_relaxed);
    if (goc__sigurg_send(m, GOC__SIGREQ_DUMP) != 0) {
        atomic_fetch_and_explicit(&m->sigreq, ~(uint32_t)GOC__SIGREQ_DUMP,
                                  memory_order_relaxed);
        atomic_store_explicit(&m->sigdump, SIGDUMP_IDLE,
                              memory_order_relaxed);
        return false;
    }
    int64_t deadline = goc__nanotime() + wait_ns;
    uint32_t s;
    /* acquire: pairs with the handler's release CAS to HELD (sigctx and
     * the thread's stack) or to IDLE (a refusal). */
    while ((s = atomic_load_explicit(&m->sigdump, memory_order_acquire)) ==
               SIGDUMP_ASKED &&
           goc__nanotime() < deadline)
        urg_futex_wait(&m->sigdump, SIGDUMP_ASKED, deadline);
    if (s == SIGDUMP_ASKED) {
        /* Give up, unless the answer comes right now (then s = HELD). */
        if (atomic_compare_exchange_strong_explicit(
                &m->sigdump, &s, SIGDUMP_IDLE, memory_order_acquire,
                memory_order_acquire)) {
            atomic_fetch_and_explicit(&m->sigreq,
                                      ~(uint32_t)GOC__SIGREQ_DUMP,
                                      memory_order_relaxed);
            return false;
        }
    }
    if (s != SIGDUMP_HELD)
        return false; /* refused */
    *out = m->sigctx;
    return true;
}

bool goc__sigurg_dump_release(goc__m *m)
{
    uint32_t held = SIGDUMP_HELD;
    /* release: our reads of the thread's stack come before it runs on;
     * pairs with the handler's acquire load. */
    bool ok = atomic_compare_exchange_strong_explicit(
        &m->sigdump, &held, SIGDUMP_IDLE, memory_order_release,
        memory_order_relaxed);
    if (ok)
        urg_futex_wake(&m->sigdump);
    return ok;
}
