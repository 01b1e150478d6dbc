/* SPDX-License-Identifier: MIT */
/*
 * rwmutex.c - goc_rwmutex, Go's sync.RWMutex algorithm (sync/rwmutex.go)
 * in our words.  Design: docs/design/sync.md.
 *
 * readers counts the readers inside or arriving.  A writer first takes w
 * (so writers queue on a mutex among themselves), then subtracts
 * MAX_READERS: readers is negative from then on, and every arriving reader
 * sees it and sleeps on reader_sema.  The readers that were inside when
 * the writer arrived (r of them) are added to departing; each one leaving
 * decrements it, and the last one wakes the writer on writer_sema.
 * Unlock adds MAX_READERS back, which leaves the number of readers that
 * arrived meanwhile, wakes that many, then releases w.
 *
 * Invariants:
 *   readers >= 0: no writer pending; readers is the number of readers
 *   readers < 0:  a writer holds w and is pending or inside;
 *                 readers + MAX_READERS readers are inside or queued
 *   a writer is inside  <=>  readers < 0 and departing has reached 0
 * Locking: readers and departing are atomics (acq_rel read-modify-writes,
 * so each hand-over between a reader and a writer is ordered); the two
 * semaphores have their own locks (sema.h); writers serialise on w.
 */
#include "mutex.h"
#include "race.h"

#define MAX_READERS (1 << 30)

/* Race detector edges, as Go's: a writer's unlock -> every later lock and
 * rlock (through reader_sema); each reader's runlock -> the next writer's
 * lock (through writer_sema, merged); readers are not ordered among
 * themselves. */
static void race_rlocked(goc_rwmutex *rw)
{
    goc__race_acquire(&rw->reader_sema);
}
static void race_locked(goc_rwmutex *rw)
{
    goc__race_acquire(&rw->reader_sema);
    goc__race_acquire(&rw->writer_sema);
}

/* acq_rel throughout: each of these both publishes the caller's critical
 * section (release) and, when it lets the caller in, sees the previous
 * holder's (acquire). */
static int32_t add(int32_t *p, int32_t delta)
{
    return __atomic_add_fetch(p, delta, __ATOMIC_ACQ_REL);
}

void goc_rwmutex_rlock(goc_rwmutex *rw)
{
    goc__sync_enter_block();
    if (goc__unlikely(add(&rw->readers, 1) < 0)) { /* a writer is pending */
        goc__g_waiting_on(goc__getg(), rw);
        goc__semacquire(&rw->reader_sema, false, "sync.RWMutex.RLock");
    }
    race_rlocked(rw);
    GOC__KEEP_FRAME();
}

bool goc_rwmutex_tryrlock(goc_rwmutex *rw)
{
    goc__sync_enter();
    int32_t c = __atomic_load_n(&rw->readers, __ATOMIC_RELAXED);
    while (c >= 0) {
        /* acquire: pairs with the release in goc_rwmutex_unlock. */
        if (__atomic_compare_exchange_n(&rw->readers, &c, c + 1, false,
                                        __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
            race_rlocked(rw);
            return true;
        }
    }
    return false;
}

void goc_rwmutex_runlock(goc_rwmutex *rw)
{
    goc__sync_enter();
    goc__race_release(&rw->writer_sema);
    int32_t r = add(&rw->readers, -1);
    if (goc__likely(r >= 0))
        return;
    if (r + 1 == 0 || r + 1 == -MAX_READERS)
        goc__fatal("sync: RUnlock of unlocked RWMutex");
    /* A writer is pending: the last of the readers it waits for lets it
     * in. */
    if (add(&rw->departing, -1) == 0)
        goc__semrelease(&rw->writer_sema, 1);
}

/* Requires: rw->w held.  Keep readers out and wait for those inside.
 * Always inlined: it sits between the public call and the park, where
 * dumps show only runtime-text frames (check.h, CONTRIBUTING.md). */
static inline __attribute__((always_inline)) void
wait_readers(goc_rwmutex *rw)
{
    int32_t r = add(&rw->readers, -MAX_READERS) + MAX_READERS;
    if (r != 0 && add(&rw->departing, r) != 0) {
        goc__g_waiting_on(goc__getg(), rw);
        goc__semacquire(&rw->writer_sema, false, "sync.RWMutex.Lock");
    }
}

void goc_rwmutex_lock(goc_rwmutex *rw)
{
    goc__sync_enter_block();
    goc__mutex_lock_as(&rw->w, "sync.RWMutex.Lock");
    wait_readers(rw);
    race_locked(rw);
    GOC__KEEP_FRAME();
}

bool goc_rwmutex_trylock(goc_rwmutex *rw)
{
    if (!goc_mutex_trylock(&rw->w))
        return false;
    int32_t zero = 0;
    /* acq_rel: sees the last reader's runlock, publishes nothing yet. */
    if (!__atomic_compare_exchange_n(&rw->readers, &zero, -MAX_READERS,
                                     false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_RELAXED)) {
        goc_mutex_unlock(&rw->w);
        return false;
    }
    race_locked(rw);
    return true;
}

void goc_rwmutex_unlock(goc_rwmutex *rw)
{
    goc__sync_enter();
    goc__race_release(&rw->reader_sema);
    int32_t r = add(&rw->readers, MAX_READERS);
    if (goc__unlikely(r >= MAX_READERS))
        goc__fatal("sync: Unlock of unlocked RWMutex");
    /* r readers arrived while we held it: let them all in, then the next
     * writer. */
    if (r > 0)
        goc__semrelease(&rw->reader_sema, (uint32_t)r);
    goc_mutex_unlock(&rw->w);
}
