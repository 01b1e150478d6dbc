/* SPDX-License-Identifier: MIT */
/*
 * mutex.c - goc_mutex, Go's sync.Mutex algorithm (sync/mutex.go) in our
 * words.  Design: docs/design/sync.md.
 *
 * The state word: bit 0 LOCKED, bit 1 WOKEN (a waiter is awake and
 * competing, so an unlock need not wake another), bit 2 STARVING, and the
 * number of waiters from bit 3 up.  Waiters sleep on the mutex's own
 * semaphore (sema.c).
 *
 * Normal mode: a waiter woken by an unlock competes with goroutines that
 * have just arrived (and hold the CPU); if it loses it queues again at
 * the front.  Newcomers may spin a little while the holder runs on
 * another P.  This keeps throughput high: the lock goes to whoever is
 * running.  Starvation mode: once a waiter has waited more than 1 ms it
 * sets STARVING; from then on unlock hands the mutex straight to the
 * first waiter, newcomers neither take it nor spin but queue at the
 * tail, and the mode ends when a waiter that gets the lock is the last
 * one or waited less than 1 ms.
 *
 * Invariants:
 *   STARVING => waiters > 0 (the last waiter to get the lock clears it);
 *   STARVING and !LOCKED: the mutex is being handed to the first waiter,
 *   and nobody else may take it;
 *   WOKEN is set by at most one party at a time (an unlocker that wakes a
 *   waiter, or a spinning newcomer), and cleared by the one it woke.
 * Locking: the state word is atomic; the semaphore has its own lock
 * (sema.h).  After the add that releases the mutex, unlock reads or writes
 * it again only while a waiter it counted is still to be woken (so the
 * mutex is still in use and cannot have been freed): one CAS to claim the
 * wake-up, never a re-read after a failed one (Go's unlockSlow loops).
 */
#include "mutex.h"
#include "race.h"

enum {
    LOCKED = GOC__MUTEX_LOCKED,
    WOKEN = GOC__MUTEX_WOKEN,
    STARVING = GOC__MUTEX_STARVING,
    WAITER_SHIFT = GOC__MUTEX_WAITER_SHIFT,
    WAITER = 1u << WAITER_SHIFT,
};

#define STARVATION_NS 1000000 /* 1 ms, as Go */
#define SPIN_ROUNDS 4         /* spins before queueing, as Go */
#define MUTEX_SPIN_PAUSES 30 /* pause instructions per spin */

static uint32_t state_load(goc_mutex *m)
{
    /* relaxed: only a guess for the CAS that follows, which orders. */
    return __atomic_load_n(&m->state, __ATOMIC_RELAXED);
}

/* acquire on success: pairs with the release subtract of
 * goc_mutex_unlock, so the critical section before the unlock happens
 * before ours. */
static bool cas(goc_mutex *m, uint32_t *old, uint32_t new)
{
    return __atomic_compare_exchange_n(&m->state, old, new, false,
                                       __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

/* Is spinning worth it?  Only a few rounds, only with several CPUs, and
 * only while another P is running (the holder may be on it) and this P
 * has nothing else to run (Go's sync_runtime_canSpin). */
static bool can_spin(int round)
{
    static int ncpu; /* relaxed: every thread computes the same value */
    if (round >= SPIN_ROUNDS)
        return false;
    int n = __atomic_load_n(&ncpu, __ATOMIC_RELAXED);
    if (n == 0) {
        n = goc__ncpu();
        __atomic_store_n(&ncpu, n, __ATOMIC_RELAXED);
    }
    if (n <= 1)
        return false;
    goc__m *me = goc__getm();
    if (me == NULL || me->p == NULL)
        return true; /* a plain thread: spinning beats a futex sleep */
    /* relaxed: heuristics; a stale value costs one spin or one sleep. */
    int32_t busy =
        atomic_load_explicit(&goc__sched.gomaxprocs, memory_order_relaxed) -
        atomic_load_explicit(&goc__sched.npidle, memory_order_relaxed) -
        atomic_load_explicit(&goc__sched.nmspinning, memory_order_relaxed);
    return busy > 1 && goc__runq_empty(me->p);
}

GOC__RUNTIME_TEXT
void goc__mutex_lock_slow(goc_mutex *m, const char *reason)
{
    int64_t wait_start = 0; /* when we first queued; 0: not yet */
    bool starving = false;  /* we have waited more than 1 ms */
    bool awoke = false;     /* we own the WOKEN bit */
    int round = 0;
    uint32_t old = state_load(m);
    for (;;) {
        /* 1. Locked in normal mode: spin a little, first setting WOKEN so
         *    that the unlock does not wake a sleeper to compete with us. */
        if ((old & (LOCKED | STARVING)) == LOCKED && can_spin(round)) {
            if (!awoke && !(old & WOKEN) && (old >> WAITER_SHIFT) != 0 &&
                __atomic_compare_exchange_n(&m->state, &old, old | WOKEN,
                                            false, __ATOMIC_RELAXED,
                                            __ATOMIC_RELAXED))
                awoke = true;
            goc__sync_pause(MUTEX_SPIN_PAUSES);
            round++;
            old = state_load(m);
            continue;
        }
        /* 2. The new state: take the lock in normal mode; queue if it is
         *    held or being handed over; ask for starvation mode if we
         *    have waited too long (only while it is held: an unlocked
         *    mutex would stay STARVING with nobody to hand it to). */
        uint32_t new = old;
        if (!(old & STARVING))
            new |= LOCKED;
        if (old & (LOCKED | STARVING))
            new += WAITER;
        if (starving && (old & LOCKED))
            new |= STARVING;
        if (awoke) {
            if (!(new & WOKEN)) /* ours to clear: someone else did */
                goc__fatal("sync: inconsistent mutex state");
            new &= ~WOKEN;
        }
        if (!cas(m, &old, new))
            continue; /* old is the fresh value */
        if (!(old & (LOCKED | STARVING)))
            return; /* 3. took it */
        /* 4. Queued: sleep.  A waiter that was woken and lost goes back
         *    to the front; its wait started at its first sleep. */
        bool lifo = wait_start != 0;
        if (!lifo)
            wait_start = goc__clock();
        goc__g_waiting_on(goc__getg(), m);
        goc__semacquire(&m->sema, lifo, reason);
        starving = starving || goc__clock() - wait_start > STARVATION_NS;
        old = state_load(m);
        if (old & STARVING) {
            /* 5. Handed to us: take it, leave the queue, and end
             *    starvation mode if we were the last waiter or did not
             *    really starve.  acquire: pairs with the release subtract
             *    of the unlock that handed it over. */
            if ((old & (LOCKED | WOKEN)) || (old >> WAITER_SHIFT) == 0)
                goc__fatal("sync: inconsistent mutex state");
            uint32_t delta = LOCKED - WAITER;
            if (!starving || (old >> WAITER_SHIFT) == 1)
                delta -= STARVING;
            __atomic_fetch_add(&m->state, delta, __ATOMIC_ACQUIRE);
            return;
        }
        /* 6. Normal mode: compete again; the unlocker set WOKEN for us. */
        awoke = true;
        round = 0;
    }
}

void goc_mutex_lock(goc_mutex *m)
{
    goc__sync_enter_block();
    goc__mutex_lock_as(m, "sync.Mutex.Lock");
    goc__race_acquire(m); /* unlock -> lock */
    GOC__KEEP_FRAME();
}

bool goc_mutex_trylock(goc_mutex *m)
{
    goc__sync_enter();
    uint32_t old = state_load(m);
    /* A woken waiter may be about to compete: we may still beat it, as in
     * Go; a handed-over (STARVING) mutex is the first waiter's. */
    if (old & (LOCKED | STARVING))
        return false;
    if (!cas(m, &old, old | LOCKED))
        return false;
    goc__race_acquire(m);
    return true;
}

/* The unlock of a contended mutex.  new: the state right after the add
 * that released it. */
static void unlock_slow(goc_mutex *m, uint32_t new)
{
    if (goc__unlikely(!((new + LOCKED) & LOCKED)))
        goc__fatal("sync: unlock of unlocked mutex");
    if (new & STARVING) {
        /* Hand it to the first waiter: nobody else may take it, so the
         * mutex is in use until that waiter has it. */
        goc__semrelease(&m->sema, 1);
        return;
    }
    /* Normal mode: wake one waiter, unless none is queued or one is
     * awake already (WOKEN: a woken waiter or a spinner will compete). */
    if ((new >> WAITER_SHIFT) == 0 || (new & WOKEN))
        return;
    /* One try at claiming the wake-up.  If the state changed, the first
     * change to an unlocked mutex is a lock: its holder's unlock decides
     * about waking, so we are done (and must not read the state again:
     * that goroutine may have locked, unlocked and freed the mutex by
     * now).  relaxed: the add above released; the semaphore orders the
     * wake-up. */
    if (__atomic_compare_exchange_n(&m->state, &new, (new - WAITER) | WOKEN,
                                    false, __ATOMIC_RELAXED,
                                    __ATOMIC_RELAXED))
        goc__semrelease(&m->sema, 1);
}

void goc_mutex_unlock(goc_mutex *m)
{
    goc__sync_enter();
    goc__race_release(m);
    /* release: pairs with the acquire CAS (or add) of the next locker. */
    uint32_t new = __atomic_sub_fetch(&m->state, LOCKED, __ATOMIC_RELEASE);
    if (goc__unlikely(new != 0))
        unlock_slow(m, new);
}
