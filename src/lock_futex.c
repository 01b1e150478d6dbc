/* SPDX-License-Identifier: MIT */
/*
 * lock_futex.c - the runtime's own mutex and one-shot notes, on Linux
 * futexes (Go's lock_futex.go, in our words).  Neither touches the
 * scheduler, so both work on g0, on goroutines and on plain threads; they
 * block the thread, which is why runtime code holds them only briefly.
 *
 * goc__mutex key: 0 unlocked, 1 locked, 2 locked and someone may sleep.
 * goc__note key:  0 clear, 1 woken.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

static void futex_wait(_Atomic uint32_t *addr, uint32_t val)
{
    /* Spurious returns (EINTR, EAGAIN when *addr != val) are fine: every
     * caller loops on its own condition, and there is no time to keep. */
    syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

/* A nap of at most ns while *addr == val, for a caller that looks again
 * whatever ended it: a signal (EINTR) only makes the nap shorter. */
static void futex_nap(_Atomic uint32_t *addr, uint32_t val, int64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
    syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, &ts, NULL, 0);
}

/* Sleep while *addr == val until deadline (goc__nanotime's clock).  An
 * interrupted wait (EINTR: a signal handler ran, SA_RESTART or not) is
 * made again for the time that remains, so the deadline is kept exactly:
 * neither early nor pushed back by a storm of signals.
 * Returns: false once the deadline has passed; true when woken or when
 * *addr changed (maybe spuriously: the caller looks at its condition). */
static bool futex_wait_until(_Atomic uint32_t *addr, uint32_t val,
                             int64_t deadline)
{
    for (;;) {
        int64_t ns = deadline - goc__nanotime();
        if (ns <= 0)
            return false;
        struct timespec ts = {(time_t)(ns / 1000000000),
                              (long)(ns % 1000000000)};
        if (syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, &ts, NULL,
                    0) == 0 ||
            errno == EAGAIN)
            return true;
        if (errno == ETIMEDOUT)
            return false;
        /* EINTR: again, for the rest of the time */
    }
}

static void futex_wake(_Atomic uint32_t *addr, int n)
{
    syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

/* The fast paths are inline (lock.h); these are the rest. */
void goc__lock_slow(goc__mutex *l)
{
    uint32_t c;
    /* Spin briefly (Go: 4 x 30 pauses, then one yield): the sections are
     * short, so the holder usually releases before a futex round trip. */
    for (int i = 0; i < 4; i++) {
        for (int k = 0; k < 30; k++)
            goc__cpu_relax();
        c = 0;
        /* acquire; pairs with the release exchange in goc__unlock */
        if (atomic_compare_exchange_weak_explicit(&l->key, &c, 1,
                                                  memory_order_acquire,
                                                  memory_order_relaxed))
            return;
    }
    sched_yield();
    /* Mark "sleepers" and sleep until we take it in that state. */
    while (atomic_exchange_explicit(&l->key, 2, memory_order_acquire) != 0)
        futex_wait(&l->key, 2);
}

void goc__unlock_wake(goc__mutex *l)
{
    futex_wake(&l->key, 1);
}

/* A held spin lock: spin a little (the sections are tens of
 * nanoseconds), then back off in futex naps of LOCK_NAP_NS: the unlock is
 * a plain store and wakes nobody, so each nap ends by its timeout.  Naps
 * happen only when another thread takes the lock again and again, as two
 * Ps hammering one channel do; one of them then mostly sleeps, its
 * goroutines are stolen by the other, and that one runs at the speed of a
 * single P with no cache line bouncing between the cores.  prodcons (8
 * goroutines, one channel, 2 Ps): 15 Mops/s with the threads spinning at
 * each other, 67 with the naps (and 35 with goc__mutex, whose sleeps the
 * unlocker must end with a futex wake).  The spin length and nap were
 * chosen on that benchmark: 16 pauses and 20 us beat 32-128 pauses, with or
 * without sched_yield, and 50 us naps. */
#define LOCK_SPIN_PAUSES 16
#define LOCK_NAP_NS 20000

static bool spin_try(goc__spinlock *l)
{
    uint32_t c = 0;
    /* acquire; pairs with the release store in goc__spin_unlock */
    return atomic_load_explicit(&l->key, memory_order_relaxed) == 0 &&
           atomic_compare_exchange_weak_explicit(&l->key, &c, 1,
                                                 memory_order_acquire,
                                                 memory_order_relaxed);
}

void goc__spin_lock_slow(goc__spinlock *l)
{
    for (int i = 0; i < LOCK_SPIN_PAUSES; i++) {
        goc__cpu_relax();
        if (spin_try(l))
            return;
    }
    while (!spin_try(l))
        futex_nap(&l->key, 1, LOCK_NAP_NS);
}

void goc__noteclear(goc__note *n)
{
    atomic_store_explicit(&n->key, 0, memory_order_relaxed);
}

void goc__notewakeup(goc__note *n)
{
    /* release: what the waker wrote before (m->nextp, sched.exiting) is
     * visible to the sleeper; pairs with the acquire load in notesleep. */
    atomic_store_explicit(&n->key, 1, memory_order_release);
    futex_wake(&n->key, INT_MAX);
}

void goc__notesleep(goc__note *n)
{
    while (atomic_load_explicit(&n->key, memory_order_acquire) == 0)
        futex_wait(&n->key, 0);
}

bool goc__notetsleep(goc__note *n, int64_t ns)
{
    if (ns <= 0)
        return atomic_load_explicit(&n->key, memory_order_acquire) != 0;
    int64_t now = goc__nanotime();
    /* A timer at the end of the clock asks for nearly INT64_MAX. */
    int64_t deadline = ns > INT64_MAX - now ? INT64_MAX : now + ns;
    while (atomic_load_explicit(&n->key, memory_order_acquire) == 0)
        if (!futex_wait_until(&n->key, 0, deadline))
            return atomic_load_explicit(&n->key, memory_order_acquire) != 0;
    return true;
}
