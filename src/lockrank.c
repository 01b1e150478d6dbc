/* SPDX-License-Identifier: MIT */
/*
 * lockrank.c - the lock-rank checker (GOC_DEBUG >= 2): each thread keeps a
 * stack of the locks it holds, and every acquisition is checked against
 * it by the rules of lockrank.h.  The stack is thread-local, so the
 * checker itself needs no lock and adds no synchronization (TSan sees
 * nothing new).  Locks may be released out of order (the park callbacks
 * do), so a release removes its entry wherever it is.
 */
#include "internal.h"

#if GOC_DEBUG >= 2

#include <stdint.h>

/* Deep enough for select's channels (goc_select's case count) on top of
 * the deepest nesting of the others. */
#define HELD_MAX 256

typedef struct held {
    const void *lock;
    unsigned rank;
} held;

static __thread held heldv[HELD_MAX];
static __thread int nheld;
static __thread bool dying; /* reporting a violation: check no more */

static const char *const rank_name[GOC__RANK_COUNT] = {
    [GOC__RANK_NONE] = "none (rank not set)",
    [GOC__RANK_DUMP] = "dump",
    [GOC__RANK_TIMER] = "timer mu",
    [GOC__RANK_CTX] = "context mu",
    [GOC__RANK_CHAN] = "chan lock",
    [GOC__RANK_GTIMER] = "goroutine timer mu",
    [GOC__RANK_SEMQ] = "sema queue",
    [GOC__RANK_PD] = "poll descriptor",
    [GOC__RANK_SCHED] = "sched lock",
    [GOC__RANK_STACK] = "stack pool lock",
    [GOC__RANK_TIMERS] = "timer heap lock",
    [GOC__RANK_GPOOL] = "goroutine pool lock",
};

static const char *name(unsigned rank)
{
    return rank < GOC__RANK_COUNT ? rank_name[rank] : "invalid";
}

__attribute__((noreturn, cold)) static void die(const char *what,
                                                const void *lock,
                                                unsigned rank,
                                                const held *h)
{
    dying = true;
    if (h)
        goc__fatal("lock rank: %s: taking %p (rank %u, %s) holding %p "
                   "(rank %u, %s)",
                   what, lock, rank, name(rank), h->lock, h->rank,
                   name(h->rank));
    goc__fatal("lock rank: %s: %p (rank %u, %s)", what, lock, rank,
               name(rank));
}

/* Returns: true if lock (rank) may be taken while h is held. */
static bool allowed(const held *h, const void *lock, unsigned rank)
{
    if (h->rank == GOC__RANK_DUMP)
        return true;
    if (h->rank < rank)
        return true;
    if (h->rank != rank)
        return false;
    if (rank == GOC__RANK_CTX)
        return true; /* parent before child: not checkable by address */
    if (rank == GOC__RANK_CHAN)
        return (uintptr_t)h->lock < (uintptr_t)lock;
    return false;
}

void goc__lockrank_acquire(const void *lock, unsigned rank, bool try)
{
    if (dying)
        return;
    if (rank == GOC__RANK_NONE || rank >= GOC__RANK_COUNT)
        die("lock without a rank", lock, rank, NULL);
    if (!try && rank != GOC__RANK_DUMP)
        for (int i = 0; i < nheld; i++)
            if (!allowed(&heldv[i], lock, rank))
                die(heldv[i].lock == lock ? "taken twice" : "out of order",
                    lock, rank, &heldv[i]);
    if (nheld == HELD_MAX)
        die("too many locks held", lock, rank, NULL);
    heldv[nheld++] = (held){lock, rank};
}

void goc__lockrank_release(const void *lock)
{
    if (dying)
        return;
    for (int i = nheld - 1; i >= 0; i--) {
        if (heldv[i].lock == lock) {
            for (int j = i; j + 1 < nheld; j++)
                heldv[j] = heldv[j + 1];
            nheld--;
            return;
        }
    }
    dying = true;
    goc__fatal("lock rank: %p released by a thread that does not hold it",
               lock);
}

bool goc__lockrank_held(const void *lock)
{
    if (dying)
        return true;
    for (int i = 0; i < nheld; i++)
        if (heldv[i].lock == lock)
            return true;
    return false;
}

int goc__lockrank_nheld(void)
{
    return dying ? 0 : nheld;
}

#else
typedef int goc__lockrank_unused; /* ISO C: no empty unit */
#endif /* GOC_DEBUG >= 2 */
