/* SPDX-License-Identifier: MIT */
/*
 * park.h - parking and readying goroutines (park.c); the inline
 * goc__ready_m is in proc.h, with the wake-up it ends with.
 */
#ifndef GOC_PARK_H
#define GOC_PARK_H

#include <stdbool.h>

#include "lock.h"
#include "proc.h"
#include "runtime.h"

/* The caller is the waiter: g is m's current goroutine (m NULL: a plain
 * thread, which clears *note and will sleep on it).  m: goc__getm(). */
static inline void goc__parker_init(goc__parker *p, goc__m *m,
                                    goc__note *note)
{
    p->g = m != NULL ? m->curg : NULL;
    p->note = NULL;
    if (p->g == NULL) {
        goc__noteclear(note);
        p->note = note;
    }
}

/* Wake p's goroutine or thread (the caller took it off its queue, and
 * holds no queue lock).  m: goc__getm() of the caller (NULL on a plain
 * thread).  Only on: any thread.  May park: no. */
static inline void goc__parker_wake(goc__m *m, const goc__parker *p)
{
    if (p->g != NULL)
        goc__ready_m(m, p->g);
    else
        goc__notewakeup(p->note);
}

/* Before a wait that a dump shows with its object (runtime.h, waitobj):
 * g (the caller's goroutine; NULL on a plain thread) waits on obj. */
static inline void goc__g_waiting_on(goc__g *g, const void *obj)
{
    if (g != NULL)
        g->waitobj = obj;
}

/* The current goroutine ends (its fn returned, or goc_exit). */
__attribute__((noreturn)) void goc__goexit(void);
/* First thing a goroutine does whenever it resumes: finish the park of a
 * goroutine that switched straight to it. */
void goc__after_resume(void);
/* Park the current goroutine: it becomes WAITING with `reason`; after the
 * switch, g0 calls unlockf(g, arg) (if not NULL); false resumes it at once.
 * May park: yes.  Only on: a goroutine. */
void goc__park(goc__unlockf unlockf, void *arg, const char *reason);
/* The same, for a caller that has read m = goc__getm() since it last
 * parked (saves the thread-local read on hot paths). */
void goc__park_m(goc__m *m, goc__unlockf unlockf, void *arg,
                 const char *reason);
/* The current goroutine, whose M has no P (it lost it in a blocking
 * call), goes to the global queue; its M looks for a P or sleeps.
 * May park: yes (as a yield).  Only on: a goroutine. */
void goc__yield_m(goc__m *m);
/* Make a WAITING G runnable: into the caller's runnext when the caller is a
 * goroutine, else into the global queue; wakes an idle P if any.
 * Only on: any thread.  May park: no. */
void goc__ready(goc__g *g);
/* Make the WAITING Gs v[0 .. n) runnable, in order: at the tail of m's
 * ring, and the rest of them, once it is full, into the global queue in
 * one batch; then wake an idle P if any.  For a wake-up of many at once (a
 * channel's close): ready's runnext, whose every put kicks the G before to
 * the ring with an atomic exchange, only costs here.  m: goc__getm() of
 * the caller (NULL on a plain thread: all go to the global queue).
 * Only on: any thread.  May park: no. */
void goc__ready_batch(goc__m *m, goc__g *const *v, uint32_t n);
/* goc__ready for a goroutine whose timer fired (a sleep, a select's
 * deadline): ahead of the P's queue, not in its runnext.  Timers fire in
 * batches, and in a spawn storm the queue is full of goroutines that have
 * never run (each first run is a fresh stack page, ~10 us on this VM):
 * behind them, a woken sleeper waited ~2 ms (docs/performance.md,
 * "Timers").  Only on: any thread.  May park: no. */
void goc__ready_ahead(goc__g *g);
/* A bubble's goroutine enters a goc call (synctest.c keeps the
 * preemption word set in a bubble, so every one comes here): record it in
 * the trace, and let the seed reorder the run queue or yield.  Only on: a
 * goroutine holding the bubble's P. */
void goc__bubble_choose(goc__m *m);

/* The preemption check every goc call that may block (and goc_go,
 * goc_ctx_err, the polling forms) makes on its way in, before it takes
 * any lock: one load of goc__preempt_pending (proc.h), and a call only
 * when some P's slice is over.  Never from code that holds a runtime
 * lock or runs on g0 (timer callbacks, unlock callbacks): the slow path
 * may yield. */
static inline __attribute__((always_inline)) void goc__preempt_check(void)
{
    if (goc__unlikely(__atomic_load_n(&goc__preempt_word,
                                      __ATOMIC_RELAXED) != 0))
        goc__preempt_slow();
}

/* Block the caller (p, from goc__parker_init) until woken.  unlockf(g,
 * arg) releases the queue lock(s) once the caller can no longer miss the
 * wake-up (a plain thread calls it with g NULL, first) and must return
 * true.  reason: the wait reason for dumps.  m: goc__getm().  Inline: a
 * goroutine's park is one call to goc__park_m, as when each queue had its
 * own copy; always, even at -O0: it sits on a parked goroutine's stack,
 * and dumps hide only runtime text (check.h).  May park: yes. */
static inline __attribute__((always_inline)) void
goc__parker_sleep(goc__m *m, const goc__parker *p, goc__unlockf unlockf,
                  void *arg, const char *reason)
{
    if (p->g != NULL) {
        goc__park_m(m, unlockf, arg, reason);
        return;
    }
    (void)unlockf(NULL, arg);
    goc__notesleep(p->note);
}

#endif /* GOC_PARK_H */
