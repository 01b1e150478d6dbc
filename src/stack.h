/* SPDX-License-Identifier: MIT */
/*
 * stack.h - goroutine stacks (stack.c): the per-P cache's inline fast
 * paths beside their slow halves.
 */
#ifndef GOC_STACK_H
#define GOC_STACK_H

#include <stdbool.h>
#include <stddef.h>

#include "runtime.h"

/* Slot bytes for the default stack size; set by goc__stack_init, before
 * any goroutine exists, and constant during a run. */
extern size_t goc__stack_slot_default;
size_t goc__stack_slot_for(size_t stack_size); /* 0: too large */
/* Slow paths of the three below: a class other than the default, no P,
 * or p's cache empty (alloc, available) or full (free). */
char *goc__stack_alloc_slow(goc__p *p, size_t slot_size);
void goc__stack_free_slow(goc__p *p, char *slot, size_t slot_size);
bool goc__stack_available_slow(goc__p *p, size_t slot_size);
/* A slot in a P's cache that has never run a goroutine: a fresh carve,
 * whose pages the first goroutine on it writes for the first time (on a
 * VM with shadow page tables that write costs ~8 us even when the page is
 * populated).  A tag in the low bit of its (page-aligned) base. */
#define GOC__SLOT_COLD ((uintptr_t)1)
static inline char *goc__slot_untag(char *tagged)
{
    return (char *)((uintptr_t)tagged & ~GOC__SLOT_COLD);
}

/* A slot (its base) of slot_size bytes, or NULL; p may be NULL.  The
 * default class comes from p's cache (its top: the warmest). */
static inline char *goc__stack_alloc(goc__p *p, size_t slot_size)
{
    if (goc__likely(p != NULL && slot_size == goc__stack_slot_default &&
                    p->nscache > 0))
        return goc__slot_untag(p->scache[--p->nscache]);
    return goc__stack_alloc_slow(p, slot_size);
}

/* Would goc__stack_alloc(p, slot_size) be slow now: take the pool's lock
 * (p's cache empty, or another class) or hand out a cold slot?  A
 * parking goroutine that still holds its lock asks (park.c). */
static inline bool goc__stack_alloc_is_slow(const goc__p *p,
                                            size_t slot_size)
{
    return slot_size != goc__stack_slot_default || p->nscache == 0 ||
           ((uintptr_t)p->scache[p->nscache - 1] & GOC__SLOT_COLD) != 0;
}
/* Under TSan every free takes the slow path: a slot serves one goroutine
 * only (stack.c). */
static inline void goc__stack_free(goc__p *p, char *slot, size_t slot_size)
{
#ifndef GOC_HAVE_TSAN
    if (goc__likely(p != NULL && slot_size == goc__stack_slot_default &&
                    p->nscache < GOC__SCACHE_MAX)) {
        p->scache[p->nscache++] = slot;
        return;
    }
#endif
    goc__stack_free_slow(p, slot, slot_size);
}
/* Could a slot of slot_size be had now (carving if need be)?  Binds
 * nothing: spawn asks, so that goc_go can say GOC_ENOMEM while the slot
 * itself is taken only at the first run. */
static inline bool goc__stack_available(goc__p *p, size_t slot_size)
{
    if (goc__likely(p != NULL && slot_size == goc__stack_slot_default &&
                    p->nscache > 0))
        return true;
    return goc__stack_available_slow(p, slot_size);
}
void goc__stack_flush_cache(goc__p *p); /* P's cache back to the pool */
/* Return the pages of the free slots that stayed idle for a second,
 * beyond the 256 kept warm (madvise without the pool's lock held): Go's
 * background scavenger, run by sysmon, so that no goroutine's exit pays
 * for it.  Paced as Go's is: the pass stops once it has used budget_ns of
 * its thread's CPU time (give or take a batch of 64 slots), and the
 * next pass goes on from there.  Unpaced, returning the stacks of a
 * million goroutines that had exited was one pass of 1.3 s, in which
 * sysmon preempted, polled and lent nothing.
 * Only on: sysmon's thread. */
void goc__stack_scavenge(int64_t budget_ns);
/* The most CPU time one goc__stack_scavenge pass took this run (tests). */
int64_t goc__stack_scavenge_longest(void);
/* Whether this run's guard pages are madvise's (MADV_GUARD_INSTALL, Linux
 * 6.13), which compaction needs: it removes a compacted stack's guard and
 * installs it again.  Decided now if no guard was installed yet, with a
 * page of its own; GOC_STACK_GUARD=mprotect says no. */
bool goc__stack_guards_madvise(void);
/* How many fresh slots' top pages refills have populated ahead of their
 * first run, in this process (tests). */
uint64_t goc__stack_populated(void);
/* The pool's size, in bytes, read at the call (a slow path, for the
 * debug endpoint, debug_serve.c: no counter on the hot paths).  mapped:
 * the address space of every slab; carved: the slots handed out so far,
 * guard pages included (each is, or was, a goroutine's stack, or waits in
 * a cache); free: the carved slots in the pool's free lists (not the Ps'
 * caches); released: the stack pages of free slots returned to the OS;
 * resident: the pages of carved slots in memory now (mincore(2), outside
 * the pool's lock: a snapshot). */
typedef struct goc__stack_stats {
    uint64_t mapped, carved, free, released, resident;
} goc__stack_stats;
void goc__stack_stats_read(goc__stack_stats *st);
/* The slab holding address p, for the stack thread (compact.c): without
 * the pool's lock (slabs are only added during a run, each published
 * with its fields), so not under TSan, which retires slabs.  Only slabs
 * whose guard pages are madvise's (MADV_GUARD_INSTALL) are told.
 * Returns: true and *out filled, or false. */
typedef struct goc__stack_slab_info {
    char *base;
    size_t slot_size;
    uint32_t nslots;
} goc__stack_slab_info;
bool goc__stack_slab_find(const char *p, goc__stack_slab_info *out);
void goc__stack_init(void);
void goc__stack_teardown(void);

#endif /* GOC_STACK_H */
