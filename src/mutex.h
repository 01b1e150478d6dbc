/* SPDX-License-Identifier: MIT */
/*
 * mutex.h - goc_mutex's state word and its inline lock fast path, beside
 * the slow half in mutex.c; rwmutex.c inlines it for its writers.
 */
#ifndef GOC_MUTEX_H
#define GOC_MUTEX_H

#include <stdint.h>

#include "sema.h"

/* goc_mutex's state word (mutex.c): bit 0 locked, bit 1 woken, bit 2
 * starving, the number of waiters from bit 3 up. */
enum {
    GOC__MUTEX_LOCKED = 1u,
    GOC__MUTEX_WOKEN = 2u,
    GOC__MUTEX_STARVING = 4u,
    GOC__MUTEX_WAITER_SHIFT = 3,
};

/* goc_mutex_lock, with the wait reason of the caller (the rwmutex's
 * writers wait on a mutex too).  May park: yes. */
void goc__mutex_lock_slow(goc_mutex *m, const char *reason);
static inline void goc__mutex_lock_as(goc_mutex *m, const char *reason)
{
    /* Take it if it is free, waiters or not (unless it is being handed
     * to one: starving).  A load first, then one CAS: with waiters the
     * word is rarely 0, and a CAS that expects 0 would fail and cost a
     * second one.  relaxed load: a guess; acquire CAS: pairs with the
     * release add of goc_mutex_unlock, so the critical section before the
     * unlock happens before ours. */
    uint32_t old = __atomic_load_n(&m->state, __ATOMIC_RELAXED);
    if (goc__likely(!(old & (GOC__MUTEX_LOCKED | GOC__MUTEX_STARVING))) &&
        __atomic_compare_exchange_n(&m->state, &old,
                                    old | GOC__MUTEX_LOCKED, false,
                                    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        return;
    goc__mutex_lock_slow(m, reason);
}

#endif /* GOC_MUTEX_H */
