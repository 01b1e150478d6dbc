/* SPDX-License-Identifier: MIT */
/*
 * lock.h - the runtime's locks, notes and asymmetric fences: the inline
 * fast paths beside their slow halves in lock_futex.c (the fences' slow
 * half, membarrier, is in os_linux.c).  The lowest floor above switch/arch:
 * it includes nothing of the runtime but its types.
 */
#ifndef GOC_LOCK_H
#define GOC_LOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime.h"

void goc__lock_slow(goc__mutex *l);
void goc__unlock_wake(goc__mutex *l);

/* Take l: one CAS when it is free, else spin briefly, then sleep. */
static inline void goc__lock(goc__mutex *l)
{
    GOC__LOCKRANK_ACQUIRE(l, l->rank);
    uint32_t c = 0;
    /* acquire; pairs with the release exchange in goc__unlock */
    if (goc__likely(atomic_compare_exchange_strong_explicit(
            &l->key, &c, 1, memory_order_acquire, memory_order_relaxed)))
        return;
    goc__lock_slow(l);
}

void goc__spin_lock_slow(goc__spinlock *l);

static inline void goc__spin_lock(goc__spinlock *l)
{
    GOC__LOCKRANK_ACQUIRE(l, l->rank);
    uint32_t c = 0;
    /* acquire; pairs with the release store in goc__spin_unlock */
    if (goc__likely(atomic_compare_exchange_strong_explicit(
            &l->key, &c, 1, memory_order_acquire, memory_order_relaxed)))
        return;
    goc__spin_lock_slow(l);
}

/* Take l only if it is free.  Returns: true if taken. */
static inline bool goc__spin_trylock(goc__spinlock *l)
{
    uint32_t c = 0;
    /* acquire; pairs with the release store in goc__spin_unlock */
    bool ok = atomic_compare_exchange_strong_explicit(
        &l->key, &c, 1, memory_order_acquire, memory_order_relaxed);
    if (ok)
        GOC__LOCKRANK_TRY(l, l->rank);
    return ok;
}

static inline void goc__spin_unlock(goc__spinlock *l)
{
    GOC__LOCKRANK_RELEASE(l);
    /* release; pairs with the acquire CAS in goc__spin_lock */
    atomic_store_explicit(&l->key, 0, memory_order_release);
}

/* Take l only if it is free.  Returns: true if taken. */
static inline bool goc__trylock(goc__mutex *l)
{
    uint32_t c = 0;
    /* acquire; pairs with the release exchange in goc__unlock */
    bool ok = atomic_compare_exchange_strong_explicit(
        &l->key, &c, 1, memory_order_acquire, memory_order_relaxed);
    if (ok)
        GOC__LOCKRANK_TRY(l, l->rank);
    return ok;
}

/* A pause in a spin loop. */
static inline void goc__cpu_relax(void)
{
#if defined(__x86_64__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#endif
}

static inline void goc__unlock(goc__mutex *l)
{
    GOC__LOCKRANK_RELEASE(l);
    /* release; pairs with the acquire in goc__lock */
    if (goc__unlikely(atomic_exchange_explicit(&l->key, 0,
                                               memory_order_release) == 2))
        goc__unlock_wake(l);
}
void goc__noteclear(goc__note *n);
void goc__notewakeup(goc__note *n);
void goc__notesleep(goc__note *n);
/* notesleep for at most ns nanoseconds.  Returns: true if woken, false
 * when the time ran out first. */
bool goc__notetsleep(goc__note *n, int64_t ns);

/* ---- fences (os_linux.c) ---- */
/* Asymmetric fences (membarrier): a hot path that must order a store
 * before a later load against a rare path pays only a compiler barrier
 * (goc__fence_light), and the rare path pays an IPI to every CPU running
 * one of our threads (goc__fence_heavy), after which each of them has
 * passed a full fence.  Either the light side's load sees what the heavy
 * side stored before its fence, or the heavy side sees the light side's
 * store.  Without membarrier, both sides are seq_cst fences. */
/* Set once by goc__membarrier_init, never cleared; relaxed: a plain
 * thread may dump while the first run starts. */
extern _Atomic bool goc__membarrier_ok;
void goc__membarrier_init(void);     /* at the start of every run */
void goc__fence_heavy(void);
static inline void goc__fence_light(void)
{
    if (goc__likely(atomic_load_explicit(&goc__membarrier_ok,
                                         memory_order_relaxed)))
        atomic_signal_fence(memory_order_seq_cst);
    else
        atomic_thread_fence(memory_order_seq_cst);
}

#endif /* GOC_LOCK_H */
