/* SPDX-License-Identifier: MIT */
/*
 * lockrank.h - the lock-rank table: every runtime lock has a rank, and a
 * thread may take a lock only if its rank is above the rank of every lock
 * the thread holds (Go's lockrank idea).  This table is the one statement
 * of the runtime's lock order; the design notes link here.
 *
 * Rules, lowest rank first (a lock may be taken holding only lower ranks):
 *   DUMP     the goroutine dump's lock: exempt from the order (a fatal
 *            error dumps holding whatever it holds), but recorded.
 *   TIMER    a timer's mu: its function runs under it and may take context,
 *            channel and sched locks, so it comes before them.
 *   CTX      a context's mu; several: parent before child (a cancel walks
 *            down), not in address order.
 *   CHAN     a channel's lock; several only in address order (select).
 *   GTIMER   a goroutine's own timer's mu (goc_sleep, goc_select_until):
 *            its function only readies a goroutine, so select may arm it
 *            holding its channels' locks.  Its own rank says so.
 *   SEMQ     a sync object's wait queue (sema.h); one at a time.
 *   PD       a poll descriptor's lock (netpoll.c); one at a time.  Taken
 *            under a context's mu by the cancel that wakes its waiters.
 *   SCHED    sched.lock.
 *   STACK    the stack pool's lock (stack.c), taken under sched.lock.
 *   TIMERS   a P's timer heap lock: a leaf below any timer's mu (the
 *            runner holding it only tries a mu: goc__trylock).
 *   GPOOL    the goroutine header pool (goroutine.c): a leaf.
 * A trylock cannot deadlock, so it is recorded but not checked.
 *
 * Checked at GOC_DEBUG >= 2 only: each lock then carries its rank (set by
 * goc__lock_setrank or GOC__MUTEX_INIT, runtime.h), each thread keeps a stack of the
 * locks it holds, and a violation dies through goc__fatal naming both
 * ranks.  Runtime locks are M-level: a lock a goroutine took may be
 * released by g0 after the switch, on the same thread, so a per-thread
 * record is right.  At GOC_DEBUG < 2 every hook compiles to nothing.
 */
#ifndef GOC_LOCKRANK_H
#define GOC_LOCKRANK_H

#include <stdbool.h>
#include <stdint.h>

#include "check.h"

enum goc__lockrank {
    GOC__RANK_NONE = 0, /* not set: acquiring it is a failure */
    GOC__RANK_DUMP,
    GOC__RANK_TIMER,
    GOC__RANK_CTX,
    GOC__RANK_CHAN,
    GOC__RANK_GTIMER,
    GOC__RANK_SEMQ,
    GOC__RANK_PD,
    GOC__RANK_SCHED,
    GOC__RANK_STACK,
    GOC__RANK_TIMERS,
    GOC__RANK_GPOOL,
    GOC__RANK_COUNT
};

#if GOC_DEBUG >= 2
/* Record that this thread takes lock (of rank rank); die if the order is
 * broken.  try: a trylock that succeeded (recorded, not checked). */
void goc__lockrank_acquire(const void *lock, unsigned rank, bool try);
/* Record the release; die if this thread does not hold lock. */
void goc__lockrank_release(const void *lock);
/* Returns: true if this thread holds lock. */
bool goc__lockrank_held(const void *lock);
/* Returns: how many runtime locks this thread holds. */
int goc__lockrank_nheld(void);
#define GOC__LOCKRANK_ACQUIRE(l, r) goc__lockrank_acquire((l), (r), false)
#define GOC__LOCKRANK_TRY(l, r) goc__lockrank_acquire((l), (r), true)
#define GOC__LOCKRANK_RELEASE(l) goc__lockrank_release(l)
#define GOC_ASSERT_HELD(l) GOC__ASSERT_ALWAYS(goc__lockrank_held(l))
#define GOC_ASSERT_NONE_HELD() GOC__ASSERT_ALWAYS(goc__lockrank_nheld() == 0)
#else
#define GOC__LOCKRANK_ACQUIRE(l, r) ((void)0)
#define GOC__LOCKRANK_TRY(l, r) ((void)0)
#define GOC__LOCKRANK_RELEASE(l) ((void)0)
#define GOC_ASSERT_HELD(l) ((void)0)
#define GOC_ASSERT_NONE_HELD() ((void)0)
#endif

#endif /* GOC_LOCKRANK_H */
