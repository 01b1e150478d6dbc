/* SPDX-License-Identifier: MIT */
/*
 * once.c - goc_once, Go's sync.Once: a done flag for the fast path and a
 * mutex that the one running fn holds, so concurrent callers wait for it.
 * Design: docs/design/sync.md.
 *
 * Invariants: done == 1 => fn has returned (and done never goes back).
 * Locking: done is written under m, read without it (acquire).
 */
#include "race.h"
#include "sema.h"

/* The slow path, in the runtime text so that dumps hide it with the other
 * frames between the public call and the park (CONTRIBUTING.md). */
GOC__RUNTIME_TEXT
static void once_slow(goc_once *o, void (*fn)(void *), void *arg)
{
    goc_mutex_lock(&o->m);
    /* relaxed: written only under m, which we hold. */
    if (__atomic_load_n(&o->done, __ATOMIC_RELAXED) == 0) {
        if (fn != NULL)
            fn(arg);
        goc__race_release(o); /* the function -> every do that returns */
        /* release: pairs with the acquire load in goc_once_do, so a
         * caller that sees done sees what fn wrote. */
        __atomic_store_n(&o->done, 1, __ATOMIC_RELEASE);
    }
    goc_mutex_unlock(&o->m);
}

void goc_once_do(goc_once *o, void (*fn)(void *), void *arg)
{
    /* acquire: pairs with the release store after fn. */
    if (goc__likely(__atomic_load_n(&o->done, __ATOMIC_ACQUIRE) != 0)) {
        goc__race_acquire(o);
        return;
    }
    once_slow(o, fn, arg);
    goc__race_acquire(o);
}
