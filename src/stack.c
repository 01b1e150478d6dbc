/* SPDX-License-Identifier: MIT */
/*
 * stack.c - goroutine stack slots: carved from large slabs, one guard page
 * each, cached per P, pages returned to the OS past a high-water mark.
 * Design: docs/design/scheduler.md, "Stacks".
 *
 * A slot is [guard page][stack ..............]; a slot is named by its base
 * address (the guard page).  The goroutine header (goc__g) is not in the
 * slot: headers are small and dense (goroutine.c), so the scheduler's
 * queues and status words never touch a stack page, and a goroutine that
 * has not run yet has no slot at all (it takes one at its first run).
 * Slabs are single mappings of many slots (about 64 MiB), so a million
 * goroutines need a few thousand mappings, far below vm.max_map_count.
 * The guard page is made with MADV_GUARD_INSTALL (Linux 6.13), which does
 * not split the mapping; on older kernels (and under qemu-user)
 * mprotect(PROT_NONE) does, and once guards would take more than their
 * share of vm.max_map_count (mprotect_guard_budget) the slots carved
 * after them go without one (warned about once).  A
 * slab starts a page directory of its own and gets all its guards before
 * any of its slots runs (slab_new says why); a class's later slabs (a
 * storm) span the directory.  Where guards cannot come in batches, each
 * slot gets its own as it is carved.  In a spawn storm a refill's fresh
 * slots get their top pages populated in one process_madvise, after the
 * pool's lock is let go (refill_populate).
 *
 * Invariants:
 *   every carved slot is on exactly one of: a P's scache, a class's free
 *   array, or held by a live G (g->stack_slot), or (under TSan only)
 *   freed for good, counted in its slab's nfreed;
 *   a scache entry is tagged GOC__SLOT_COLD (stack.h) iff a refill carved
 *   it and no goroutine has run on it since; the tag lives only there
 *   (stripped when the slot leaves the cache: alloc, spill);
 *   slabs[0 .. nslabs) and each slab's slots [0 .. ncarved) only grow
 *   during a run, but for the slabs retired under TSan;
 *   ncold <= nfree; free[i] was pushed no later than free[i + 1] (a LIFO
 *   keeps push order), so the bottom holds the slots idle longest;
 *   nfree <= nslots <= capfree for a class, so a push never allocates;
 *   a slab's slots [0, nguarded) have their guard pages, the carved ones
 *   among the rest got theirs when carved; with madvise's guards a slab
 *   becomes cur with every guard installed (unless an install failed); a
 *   class's next slab (a storm's, guard_ahead) is in pool.slabs with
 *   nothing carved; at most one refill at a time installs guards of a
 *   slab without pool.lock (guarding), of slots past nguarded, which it
 *   moves past them once they are in, unless it is already further.
 *   Past STACK_WARM_MAX warm slots, those idle for more than
 *   STACK_IDLE_NS have their pages returned, by sysmon in the background
 *   (goc__stack_scavenge, paced: a budget of CPU time per pass), never by
 *   an exiting goroutine's thread.  Only
 *   memory that stayed unused goes back: a producer/consumer flow whose
 *   pool swings by thousands of slots would otherwise pay madvise, TLB
 *   shootdowns and page faults on every swing (measured: half of
 *   spawn_yield's time, before this rule).
 *   ncold < floor <= nfree when floor != 0: the scavenger's slots
 *   free[ncold .. floor) are not popped while it returns their pages
 *   without pool.lock (from a copy of their bases: the array itself may
 *   move meanwhile, class_reserve).
 * Under TSan a slot's addresses serve one goroutine only.  TSan
 * remembers the accesses of the goroutine that died on a slot (its
 * shadow) and the synchronisation objects it made there (its meta map:
 * the waiter records of channels, say), and the next goroutine on those
 * addresses would not be ordered after it.  The one public way to make
 * TSan forget both is munmap (a fresh mapping over a range resets the
 * shadow only, and TSan's annotation for new memory does nothing), and
 * unmapping part of a slab leaves a hole that the kernel may fill with
 * anything.  So under TSan slots are always carved, never pushed back;
 * a slab counts its freed slots, and when all of them are freed it is
 * unmapped whole and forgotten (slab_retire_slot).  A dead goroutine's
 * stack pages stay until then.  Mapping fresh pages over each freed stack
 * instead cost a TLB shootdown per goroutine, a third of a spawn's time,
 * and left the meta map's objects behind (docs/performance.md, "Spawn
 * under TSan").  pool.slabs is sorted by address under TSan, for
 * slab_of.
 * Locking: pool.lock protects classes[] and slab creation (and, under
 * TSan, retirement); it is a leaf
 * (sched.lock < pool.lock).  A P's scache belongs to the M holding the P.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "goc.h"
#include "internal.h"

#ifdef GOC_HAVE_ASAN
#include <sanitizer/asan_interface.h>
#endif
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define GOC_HAVE_VALGRIND 1
#endif

#define SLAB_BYTES ((size_t)64 << 20)
/* What one page-directory page maps (x86-64 and arm64, 4 KiB pages): the
 * span of a storm's slabs (slab_new). */
#define PD_BYTES ((size_t)1 << 30)
#define MAX_SLABS (1u << 16)
#define MAX_CLASSES 16
#define STACK_WARM_MAX 256         /* free slots always kept resident */
#define STACK_IDLE_NS 1000000000   /* a free slot idle this long may go */
#define STACK_DEFAULT (256 * 1024) /* SPEC §4 */
#define STACK_MIN (16 * 1024)
#define STACK_MAX GOC_STACK_SIZE_MAX

/* Ranges per process_madvise call (the kernel takes up to UIO_MAXIOV). */
#define MADVISE_BATCH 256

enum { GUARD_UNKNOWN, GUARD_MADVISE, GUARD_MPROTECT, GUARD_NONE };

struct slab {
    char *base;
    size_t slot_size;
    uint32_t nguarded;        /* slots [0, nguarded) got their guard pages
                                 ahead of use (a storm's slabs: slab_new);
                                 the others get theirs when carved */
    bool guarding;            /* a refill installs guards of the slots
                                 from nguarded on without pool.lock
                                 (guard_ahead); pool.lock */
    uint32_t nslots;
    uint32_t ncarved;         /* slots carved so far; pool.lock */
    uint32_t nfreed;          /* TSan: slots freed for good; pool.lock */
    unsigned *vg_ids;         /* valgrind stack ids, when under valgrind */
};

/* A free slot (its base) and when it was pushed (coarse ns). */
struct free_slot {
    char *slot;
    int64_t since;
};

struct stack_class {
    size_t slot_size;
    struct slab *cur;  /* slab being carved */
    struct slab *next; /* in a storm, the slab that follows cur, its guards
                          installed a part per refill (guard_ahead) */
    struct free_slot *free; /* LIFO of free slots; its own mapping
                               (goc__pages_grow) */
    uint32_t nfree, capfree;
    uint32_t nslots;   /* slots in the class's slabs: capfree >= nslots,
                          so a push never allocates (class_reserve) */
    uint32_t ncold;    /* free[0 .. ncold) have had their pages returned */
    uint32_t floor;    /* free[ncold .. floor): taken by the scavenger
                          (goc__stack_scavenge), their pages being
                          returned without the lock; nothing pops below
                          floor (0 when it is not running) */
};

static struct {
    goc__mutex lock;
    struct slab *slabs[MAX_SLABS];
    uint32_t nslabs;
    struct stack_class classes[MAX_CLASSES];
    int nclasses;
    int guard_mode;
    /* mprotect guards this run may still install (-1: not counted yet;
     * mprotect_guard_budget) */
    int64_t guard_budget;
    uint64_t carved;   /* slots carved this run */
    int pidfd;         /* ours, for process_madvise (0: not yet; -1: none) */
    /* process_madvise's ranges: here, not on the stack of the goroutine
     * that happens to refill, whose top page they would overflow */
    struct iovec iov[MADVISE_BATCH];
} pool = {.lock = GOC__MUTEX_INIT(GOC__RANK_STACK)};

/* The most CPU time one scavenger pass took this run, or has taken so far
 * (written by sysmon: goc__stack_scavenge). */
static _Atomic int64_t scavenge_longest;

/* Slots carved in a run past which a refill populates the new slots' top
 * pages: a program that spawns a few goroutines does not commit a page
 * for each slot of its first refill. */
#define STACK_STORM 256
#ifdef GOC_HAVE_TSAN
#define STACK_RETIRE_SLABS true /* slabs are unmapped whole (see the top) */
#else
#define STACK_RETIRE_SLABS false
#endif

static bool under_valgrind(void)
{
#ifdef GOC_HAVE_VALGRIND
    return RUNNING_ON_VALGRIND;
#else
    return false;
#endif
}

static size_t round_page(size_t n)
{
    size_t ps = goc__pagesize();
    return (n + ps - 1) & ~(ps - 1);
}

size_t goc__stack_slot_default;

size_t goc__stack_slot_for(size_t stack_size)
{
    if (stack_size == 0)
        return goc__stack_slot_default;
    if (stack_size > STACK_MAX)
        return 0;
    if (stack_size < STACK_MIN)
        stack_size = STACK_MIN;
    return round_page(stack_size) + goc__pagesize();
}

void goc__stack_init(void)
{
    memset(&pool, 0, sizeof pool);
    goc__lock_setrank(&pool.lock, GOC__RANK_STACK);
    int64_t v = goc__env.stack_size;
    size_t def = STACK_DEFAULT;
    if (v > 0 && (uint64_t)v <= STACK_MAX)
        def = (size_t)v;
    goc__stack_slot_default = goc__stack_slot_for(def); /* def > 0 */
    pool.guard_budget = -1;
    atomic_store_explicit(&scavenge_longest, 0, memory_order_relaxed);
    if (goc__env.stack_guard_mprotect)
        pool.guard_mode = GUARD_MPROTECT;
}

/* Requires: pool.lock.  Returns: whether c has a free slot to pop (not
 * one the scavenger holds). */
static bool pool_has_free(const struct stack_class *c)
{
    GOC_ASSERT_HELD(&pool.lock);
    return c->nfree > c->floor;
}

#if GOC_DEBUG >= 3
/* Requires: pool.lock.  Returns: true if c's counts add up: ncold <=
 * nfree <= capfree, and floor between ncold and nfree when set; no slab
 * of c's size carved past its end; no more free slots than carved ones
 * of that size; the newest free slot is one of them, at a slot boundary;
 * and room in the free list for every slot of the class's slabs.  O(slabs), not O(free slots): it runs on every slow
 * path. */
static bool class_is_valid(const struct stack_class *c)
{
    if (c->ncold > c->nfree || c->nfree > c->capfree ||
        c->nslots > c->capfree ||
        (c->floor != 0 && (c->floor < c->ncold || c->floor > c->nfree)))
        return false;
    /* Not one the scavenger holds: it sorts those without the lock. */
    const char *top = pool_has_free(c) ? c->free[c->nfree - 1].slot : NULL;
    bool top_found = top == NULL;
    uint64_t carved = 0;
    for (uint32_t i = 0; i < pool.nslabs; i++) {
        const struct slab *s = pool.slabs[i];
        if (s->slot_size != c->slot_size)
            continue;
        if (s->ncarved > s->nslots)
            return false;
        carved += s->ncarved;
        if (top != NULL && top >= s->base &&
            top < s->base + (size_t)s->ncarved * s->slot_size &&
            (size_t)(top - s->base) % s->slot_size == 0)
            top_found = true;
    }
    return carved >= c->nfree && top_found;
}
#endif

/* Requires: pool.lock.  Returns: the class for slot_size, or NULL when the
 * table is full. */
static struct stack_class *class_for(size_t slot_size)
{
    GOC_ASSERT_HELD(&pool.lock);
    for (int i = 0; i < pool.nclasses; i++)
        if (pool.classes[i].slot_size == slot_size) {
            GOC_ASSERT_EXPENSIVE(class_is_valid(&pool.classes[i]));
            return &pool.classes[i];
        }
    if (pool.nclasses == MAX_CLASSES)
        return NULL;
    struct stack_class *c = &pool.classes[pool.nclasses++];
    memset(c, 0, sizeof *c);
    c->slot_size = slot_size;
    return c;
}

/* qemu-user answers madvise advice it does not implement, such as
 * MADV_GUARD_INSTALL, with success.  So the first guard is checked once:
 * the kernel must refuse to copy from a guard page (EFAULT). */
static bool guard_is_real(const char *p)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return false;
    ssize_t n;
    while ((n = write(fds[1], p, 1)) < 0 && errno == EINTR) {
    }
    int err = errno;
    close(fds[0]);
    close(fds[1]);
    return n < 0 && err == EFAULT;
}

/* How many mprotect guards a run may install: each splits its slab's
 * mapping in two more, and vm.max_map_count (65,530 by default) bounds
 * the mappings of the whole process.  Guards up to the limit left the
 * program no mapping to spare: at ~32k live goroutines the next slab, a
 * header chunk, malloc's next arena or a thread's stack could not be
 * mapped, and goc_go failed with GOC_ENOMEM on every kernel before 6.13
 * (Debian 12's 6.1 among them).  So a quarter of the limit beyond what
 * is mapped now stays for everything else (a half under TSan, whose
 * goroutines hold a mapping per two); at the default that is some 24,000
 * guarded stacks, and stacks carved after them go without.
 * Requires: pool.lock.  Returns: the budget, >= 0. */
static int64_t mprotect_guard_budget(void)
{
    GOC_ASSERT_HELD(&pool.lock);
    long max = goc__file_long("/proc/sys/vm/max_map_count");
    long used = goc__file_count("/proc/self/maps", '\n');
    if (max <= 0)
        max = 65530; /* the kernel's default */
#ifdef GOC_HAVE_TSAN
    long reserve = max / 2;
#else
    long reserve = max / 4;
#endif
    long room = max - (used > 0 ? used : 0) - reserve;
    return room > 0 ? room / 2 : 0;
}

static void guard_page(char *p)
{
    size_t ps = goc__pagesize();
    if (pool.guard_mode == GUARD_UNKNOWN || pool.guard_mode == GUARD_MADVISE) {
        if (madvise(p, ps, MADV_GUARD_INSTALL) == 0 &&
            (pool.guard_mode == GUARD_MADVISE || guard_is_real(p))) {
            pool.guard_mode = GUARD_MADVISE;
            return;
        }
        /* EINVAL: a kernel before 6.13; or an emulator that fakes it (an
         * mprotect over a no-op guard just works) */
        pool.guard_mode = GUARD_MPROTECT;
    }
    if (pool.guard_mode == GUARD_MPROTECT) {
        if (pool.guard_budget < 0)
            pool.guard_budget = mprotect_guard_budget();
        if (pool.guard_budget > 0 && mprotect(p, ps, PROT_NONE) == 0) {
            pool.guard_budget--; /* a slot guarded twice counts twice */
            return;
        }
        /* The budget spent, or ENOMEM from the kernel.  Running on without
         * guards beats refusing to spawn; say so once. */
        pool.guard_mode = GUARD_NONE;
        goc__printf(2, "goc: stack guard pages would use up "
                       "vm.max_map_count (%ld): stacks carved from now on "
                       "have no guard page (raise the limit, or run Linux "
                       "6.13 or later)\n",
                    goc__file_long("/proc/sys/vm/max_map_count"));
    }
}

/* stack.h */
bool goc__stack_guards_madvise(void)
{
    goc__lock(&pool.lock);
    if (pool.guard_mode == GUARD_UNKNOWN) {
        /* The run's first guard decides the mode (guard_page): install
         * one on a page of its own (with mprotect's, it spends one guard
         * of the budget). */
        size_t ps = goc__pagesize();
        char *p = mmap(NULL, ps, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p != MAP_FAILED) {
            guard_page(p);
            munmap(p, ps);
        }
    }
    bool yes = pool.guard_mode == GUARD_MADVISE;
    goc__unlock(&pool.lock);
    return yes;
}

/* Requires: pool.lock; nslabs < MAX_SLABS.  Under TSan pool.slabs is
 * kept sorted by address (see the top). */
static void slab_insert(struct slab *s)
{
    GOC_ASSERT_HELD(&pool.lock);
    uint32_t i = pool.nslabs;
#ifdef GOC_HAVE_TSAN
    while (i > 0 && pool.slabs[i - 1]->base > s->base) {
        pool.slabs[i] = pool.slabs[i - 1];
        i--;
    }
#endif
    pool.slabs[i] = s;
    /* release: the slab's fields, for goc__stack_slab_find */
    __atomic_store_n(&pool.nslabs, pool.nslabs + 1, __ATOMIC_RELEASE);
}

static struct slab *slab_new(struct stack_class *c);
static void slab_guard_rest(struct slab *s);

/* Requires: pool.lock.  Returns: a new slot of class c, or NULL; with
 * *guarded false it has no guard page yet (carve and refill_fresh add
 * it). */
static char *carve_bare(struct stack_class *c, bool *guarded)
{
    GOC_ASSERT_HELD(&pool.lock);
    struct slab *s = c->cur;
    if (s == NULL || s->ncarved == s->nslots) {
        if (c->next != NULL) {
            s = c->next;
            c->next = NULL;
        } else {
            if (pool.nslabs == MAX_SLABS || (s = slab_new(c)) == NULL)
                return NULL;
            slab_insert(s);
        }
        slab_guard_rest(s);
        c->cur = s;
    }
    uint32_t i = s->ncarved++;
    *guarded = i < s->nguarded;
    char *slot = s->base + (size_t)i * s->slot_size;
    pool.carved++;
#ifdef GOC_HAVE_VALGRIND
    if (s->vg_ids != NULL)
        s->vg_ids[i] = VALGRIND_STACK_REGISTER(slot + goc__pagesize(),
                                               slot + s->slot_size);
#endif
    return slot;
}

/* Requires: pool.lock.  Returns: a new slot of class c, or NULL. */
static char *carve(struct stack_class *c)
{
    bool guarded;
    char *slot = carve_bare(c, &guarded);
    if (slot != NULL && !guarded)
        guard_page(slot);
    return slot;
}

/* process_madvise(advice) over pool.iov[0 .. k): one system call for all
 * of them (Linux 6.13 takes the guard and populate advice there).
 * Requires: pool.lock.  Returns: true if all were done. */
static bool madvise_iov(uint32_t k, int advice)
{
    GOC_ASSERT_HELD(&pool.lock);
    if (under_valgrind())
        return false; /* it does not know process_madvise: it would say so */
    return goc__process_madvise(&pool.pidfd, pool.iov, k, advice);
}

/* Install the guard pages of the slots v[0 .. n) (their bases).
 * Requires: pool.lock.  Returns: true if all were done. */
static bool guard_many(char *const *v, uint32_t n)
{
    GOC_ASSERT_HELD(&pool.lock);
    for (uint32_t done = 0; done < n;) {
        uint32_t k = n - done < MADVISE_BATCH ? n - done : MADVISE_BATCH;
        for (uint32_t i = 0; i < k; i++) {
            pool.iov[i].iov_base = v[done + i];
            pool.iov[i].iov_len = goc__pagesize();
        }
        if (!madvise_iov(k, MADV_GUARD_INSTALL))
            return false;
        done += k;
    }
    return true;
}

/* The guard pages of s's slots [lo, lo + n), as process_madvise's ranges
 * v[0 .. n). */
static void guard_ranges(struct iovec *v, const struct slab *s, uint32_t lo,
                         uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        v[i].iov_base = s->base + (size_t)(lo + i) * s->slot_size;
        v[i].iov_len = goc__pagesize();
    }
}

/* Install the guard pages of s's next k slots (from nguarded on), before
 * any of them is used; nguarded moves past those installed. */
static void slab_guard(struct slab *s, uint32_t k)
{
    GOC_ASSERT_HELD(&pool.lock);
    uint32_t end = s->nguarded + k < s->nslots ? s->nguarded + k : s->nslots;
    while (s->nguarded < end) {
        uint32_t n = end - s->nguarded < MADVISE_BATCH ? end - s->nguarded
                                                       : MADVISE_BATCH;
        guard_ranges(pool.iov, s, s->nguarded, n);
        if (!madvise_iov(n, MADV_GUARD_INSTALL))
            return; /* the rest get theirs when carved */
        s->nguarded += n;
    }
}

/* s becomes the slab being carved: install every guard page it lacks
 * now, before any of its slots runs (slab_new says why), once the guard
 * mode is known: the first guard of a run decides it (guard_page), and
 * only madvise's guards come in batches.  Where they do not, each slot
 * gets its guard when carved (carve, refill_fresh).
 * Requires: pool.lock; nothing of s carved. */
static void slab_guard_rest(struct slab *s)
{
    GOC_ASSERT_HELD(&pool.lock);
    if (s->nguarded == 0 && pool.guard_mode == GUARD_UNKNOWN) {
        guard_page(s->base);
        s->nguarded = 1;
    }
    if (pool.guard_mode == GUARD_MADVISE)
        slab_guard(s, s->nslots - s->nguarded);
}

/* Does s span a page directory (a storm's slab, see slab_new)? */
static bool storm_slab(const struct stack_class *c, const struct slab *s)
{
    return s->nslots * c->slot_size > SLAB_BYTES;
}

/* Whether c's next slab may span a page directory: not its first slab,
 * and guards by madvise (not under TSan, which retires slabs whole, nor
 * valgrind, which does not know process_madvise). */
static bool storm_ok(const struct stack_class *c)
{
    return c->cur != NULL && pool.guard_mode == GUARD_MADVISE &&
           !under_valgrind() && !STACK_RETIRE_SLABS &&
           c->slot_size <= PD_BYTES / 64;
}

/* A range of a storm's next slab whose guard pages a refill installs
 * once it has let pool.lock go (guard_ahead, guard_job_run). */
struct guard_job {
    struct slab *s; /* NULL: none */
    uint32_t lo, hi;
    int pidfd;      /* for process_madvise */
};

/* In a storm, claim part of the next slab's guard pages at each refill,
 * so that it is all guarded by the time cur runs out; the refill installs
 * them after it lets pool.lock go (guard_job_run).  Installing a slab's
 * 4033 at once held the lock for 1-2.5 ms, and every P that needed a
 * stack meanwhile (timers benchmark: the woken sleepers) waited; a
 * refill's share held it ~23 us (~0.7 us a guard), 72-83 ms per 100k
 * goroutines spawned, in which the other P of two waited 31-39 ms.  The
 * next slab is in another page directory, where nothing runs yet, so the
 * installs cost the goroutines of cur nothing (slab_new).  If cur runs
 * out while a claim is being installed, the next slab becomes cur with
 * the claimed range installed again under the lock (slab_guard_rest: an
 * install over a guard is harmless), so no slot of it runs unguarded.
 * Requires: pool.lock.  Returns: in *job the range claimed, if any. */
static void guard_ahead(struct stack_class *c, struct guard_job *job)
{
    GOC_ASSERT_HELD(&pool.lock);
    struct slab *cur = c->cur;
    if (cur == NULL || !storm_slab(c, cur))
        return;
    if (c->next == NULL) {
        if (pool.nslabs == MAX_SLABS || (c->next = slab_new(c)) == NULL)
            return;
        slab_insert(c->next);
    }
    struct slab *n = c->next;
    uint32_t refills = (cur->nslots - cur->ncarved) / GOC__SCACHE_REFILL + 1;
    uint32_t left = n->nslots - n->nguarded;
    if (left == 0 || n->guarding)
        return; /* done, or another refill's claim is not in yet */
    uint32_t k = (left + refills - 1) / refills;
    if (k > GOC__SCACHE_REFILL)
        k = GOC__SCACHE_REFILL; /* a P's ranges; the rest come later */
    int pidfd = goc__pidfd_self(&pool.pidfd);
    if (pidfd < 0)
        return;
    n->guarding = true;
    *job = (struct guard_job){n, n->nguarded, n->nguarded + k, pidfd};
}

/* Install the guard pages guard_ahead claimed, in one system call (the
 * ranges in p), then move the slab's nguarded past them.
 * Requires: the M holding p; not pool.lock. */
static void guard_job_run(goc__p *p, const struct guard_job *job)
{
    struct slab *s = job->s;
    guard_ranges(p->stack_iov, s, job->lo, job->hi - job->lo);
    int pidfd = job->pidfd;
    bool ok = goc__process_madvise(&pidfd, p->stack_iov, job->hi - job->lo,
                                   MADV_GUARD_INSTALL);
    goc__lock(&pool.lock);
    /* slab_guard_rest may have gone past them meanwhile (s became cur) */
    if (ok && s->nguarded < job->hi)
        s->nguarded = job->hi;
    s->guarding = false;
    goc__unlock(&pool.lock);
}

/* Make room in c's free list for cap slots, so that pushing a slot never
 * allocates: the arrays grow when slots are carved, during a storm of
 * spawns, not when the goroutines exit (where growing them cost a
 * realloc, its copy and its page faults: an eighth of joining 100k), and
 * with mremap (goc__pages_grow: no copy under pool.lock).
 * Requires: pool.lock.  Returns: false when out of memory. */
static bool class_reserve(struct stack_class *c, uint32_t cap)
{
    GOC_ASSERT_HELD(&pool.lock);
    return goc__pages_grow((void **)&c->free, &c->capfree, sizeof *c->free,
                           cap);
}

/* A new slab for class c, at the start of a page directory of its own:
 * the first of a class is SLAB_BYTES; later ones (a storm: c has used up
 * a slab) span the directory.  Every slab gets all its guard pages before
 * any of its slots runs: the first when it becomes cur (slab_guard_rest),
 * a storm's while the slab before is carved (guard_ahead), the rest when
 * it becomes cur.  Why: on a VM with shadow page tables, guard installs
 * that add page-table pages under a directory where goroutines already
 * ran (a few in a row, with no fault under it between) make the host drop
 * its copy of that directory, and the next touch of every page under it
 * costs ~1.1 us instead of ~0.07; 100k goroutines parked on slabs guarded
 * a refill at a time took 1.2 us each to wake, and 200 on the first slab
 * 1.4 us (docs/design/scheduler.md, "Stacks").  The directory of its own
 * keeps the first slab's installs from costing other memory the same.
 * Under valgrind, which knows no process_madvise (each slot gets its
 * guard as it is carved), and under TSan, which maps and resets shadow
 * for every range mapped or unmapped (a gigabyte for each slab made,
 * since slabs are retired whole), the first slab is mapped where the
 * kernel likes.
 * Requires: pool.lock.  Returns: the slab, not yet inserted, or NULL. */
static struct slab *slab_new(struct stack_class *c)
{
    GOC_ASSERT_HELD(&pool.lock);
    struct slab *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    bool storm = storm_ok(c);
    s->slot_size = c->slot_size;
    s->nslots = (uint32_t)((storm ? PD_BYTES : SLAB_BYTES) / c->slot_size);
    if (s->nslots == 0)
        s->nslots = 1;
    size_t len = (size_t)s->nslots * s->slot_size;
    if (!class_reserve(c, c->nslots + s->nslots)) {
        free(s);
        return NULL;
    }
    /* Touch the free-list entries these slots will take once they are
     * all free: their pages are faulted in now, in the storm that carves
     * the slab, and not when its goroutines exit, under pool.lock (a
     * fault there costs ~12 us on a VM, and the other Ps' exits queue
     * behind it: 400 faults and the futex waits behind them were a sixth
     * of joining 100k).  Out of [nfree, capfree): no entry in use.
     * Mapped in by one call first (16 pages for a storm's slab). */
    goc__pages_populate(c->free + c->nslots, s->nslots * sizeof *c->free);
    memset(c->free + c->nslots, 0, s->nslots * sizeof *c->free);
    if (storm || (!under_valgrind() && !STACK_RETIRE_SLABS)) {
        s->base = goc__pages_map_aligned(len, PD_BYTES);
    } else {
        s->base = mmap(NULL, len, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (s->base == MAP_FAILED)
            s->base = NULL;
    }
    if (s->base == NULL) {
        free(s);
        return NULL;
    }
    /* Never a huge page: with transparent huge pages "always" (the
     * kernel's setting, not ours) a fault or a populate in a 2 MiB block
     * of the slab with no page table yet maps all of it, the stack pages
     * of eight slots.  Where guards are installed ahead every block has
     * its page table first; where they come per slot (mprotect guards:
     * kernels before 6.13, valgrind, TSan) a refill's populate found such
     * blocks, and 20k parked goroutines took 12.5 KiB each, not 4.4
     * (docs/design/scheduler.md, "Stacks").  A hint: the kernel may not
     * know it. */
    (void)madvise(s->base, len, MADV_NOHUGEPAGE);
#ifdef GOC_HAVE_VALGRIND
    if (RUNNING_ON_VALGRIND)
        s->vg_ids = calloc(s->nslots, sizeof *s->vg_ids);
#endif
    c->nslots += s->nslots;
    return s;
}

/* A refill carved n fresh slots, of which bare[0 .. nbare) have no guard
 * page yet (their slab's could not be installed ahead: see
 * slab_guard_rest): their guard pages in one system call where guards are
 * madvise's (a madvise each otherwise: 11% of a storm of spawns).  The
 * guard mode is known by now: the slab's first carve decided it.
 * Requires: pool.lock; n <= GOC__SCACHE_REFILL.
 * Returns: the descriptor with which to populate their top pages
 * (refill_populate), or -1 when they are not to be: only in a storm (past
 * STACK_STORM slots carved), and not under valgrind, which does not know
 * process_madvise. */
static int refill_fresh(char *const *bare, uint32_t n, uint32_t nbare)
{
    GOC_ASSERT_HELD(&pool.lock);
    if (n == 0)
        return -1;
    GOC_ASSERT(pool.guard_mode != GUARD_UNKNOWN);
    if (pool.guard_mode != GUARD_MADVISE || !guard_many(bare, nbare))
        for (uint32_t i = 0; i < nbare; i++)
            guard_page(bare[i]); /* installing one twice is harmless */
    if (pool.carved <= STACK_STORM || under_valgrind())
        return -1;
    return goc__pidfd_self(&pool.pidfd);
}

/* How a refill populates its fresh slots' top pages (refill_populate):
 * in one process_madvise, or where the kernel refuses that advice there
 * (before 6.13: Debian 12's 6.1) with a madvise a page, or not at all
 * where it knows no MADV_POPULATE_WRITE (before 5.14).  Learnt at the
 * first refused call; relaxed: every P that learns it stores the same. */
enum { POPULATE_BATCH, POPULATE_PAGE, POPULATE_NONE };
static _Atomic int populate_how;
/* Top pages populated so far (goc__stack_populated). */
static _Atomic uint64_t populated;

/* The fresh slots v[0 .. n) of p's refill get their top pages populated
 * in one system call (pidfd from refill_fresh), instead of a page fault
 * at each first run (a fault costs a trap, ~15 us in this VM: the larger
 * part of a spawn).  Without pool.lock: the slots are p's alone now, in
 * its cache, and the call takes ~4.5 us a page here, ~150 us a refill,
 * which any other P that needed the lock meanwhile (a refill, a spill)
 * waited out.  The ranges live in p (not on the stack of the goroutine
 * that happens to refill, whose top page 512 bytes more could overflow).
 * Requires: the M holding p; n <= GOC__SCACHE_REFILL. */
static void refill_populate(goc__p *p, char *const *v, uint32_t n, int pidfd)
{
    size_t ps = goc__pagesize();
    for (uint32_t i = 0; i < n; i++) {
        p->stack_iov[i].iov_base = v[i] + goc__stack_slot_default - ps;
        p->stack_iov[i].iov_len = ps;
    }
    int how0 = atomic_load_explicit(&populate_how, memory_order_relaxed);
    int how = how0;
    uint32_t done = 0;
    if (how == POPULATE_BATCH) {
        errno = 0;
        if (goc__process_madvise(&pidfd, p->stack_iov, n,
                                 MADV_POPULATE_WRITE))
            done = n;
        else if (errno == EINVAL)
            how = POPULATE_PAGE; /* a kernel before 6.13 */
    }
    for (uint32_t i = 0; how == POPULATE_PAGE && i < n; i++) {
        if (madvise(p->stack_iov[i].iov_base, ps, MADV_POPULATE_WRITE) == 0)
            done++;
        else if (errno == EINVAL)
            how = POPULATE_NONE; /* before 5.14: the first runs fault */
    }
    if (how != how0)
        atomic_store_explicit(&populate_how, how, memory_order_relaxed);
    atomic_fetch_add_explicit(&populated, done, memory_order_relaxed);
}

uint64_t goc__stack_populated(void)
{
    return atomic_load_explicit(&populated, memory_order_relaxed);
}

/* Requires: pool.lock. */
static char *pool_pop(struct stack_class *c)
{
    GOC_ASSERT_HELD(&pool.lock);
    if (!pool_has_free(c))
        return carve(c);
    char *slot = c->free[--c->nfree].slot;
    if (c->ncold > c->nfree)
        c->ncold = c->nfree;
    return slot;
}

static int cmp_addr(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)*(char *const *)a;
    uintptr_t y = (uintptr_t)*(char *const *)b;
    return x < y ? -1 : x > y;
}

/* Return the stack pages of n free slots of slot_size bytes to the OS.
 * Sorted by address, runs of adjacent slots go in one madvise: the guard
 * pages between them survive MADV_DONTNEED (and a PROT_NONE guard has no
 * pages to lose), and each call costs microseconds here.
 * Requires: the slots are the caller's (the scavenger's, below floor). */
static void discard(char **v, uint32_t n, size_t slot_size)
{
    qsort(v, n, sizeof *v, cmp_addr);
    size_t ps = goc__pagesize();
    for (uint32_t i = 0; i < n;) {
        char *lo = v[i] + ps;
        char *hi = v[i] + slot_size;
        uint32_t j = i + 1;
        while (j < n && v[j] == hi)
            hi = v[j++] + slot_size;
        madvise(lo, (size_t)(hi - lo), MADV_DONTNEED);
        i = j;
    }
}

static int64_t coarse_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Requires: pool.lock.  Nobody uses the slot any more; now is
 * coarse_now(), read once per batch of pushes. */
static void pool_push(struct stack_class *c, char *slot, int64_t now)
{
    GOC_ASSERT_HELD(&pool.lock);
    GOC_ASSERT(c->nfree < c->capfree);
    c->free[c->nfree++] = (struct free_slot){slot, now};
}

/* The slots the scavenger returns at a time (sysmon's alone), the grain of
 * its budget (goc__stack_scavenge): ~0.3 ms of madvise here, now and then
 * 10 (256 at a time made passes of 40 ms against a budget of 10). */
#define SCAVENGE_BATCH 64
static char *scavenged[SCAVENGE_BATCH];

/* Requires: pool.lock.  Take up to SCAVENGE_BATCH of the warm free slots
 * of c that have been idle longest, for STACK_IDLE_NS or more, keeping
 * STACK_WARM_MAX of them: free[ncold .. floor), floor set when there are
 * any, their bases copied to scavenged[] (the array itself may move,
 * class_reserve, once the lock is let go).  Returns: how many. */
static uint32_t scavenge_take(struct stack_class *c, int64_t now)
{
    GOC_ASSERT_HELD(&pool.lock);
    GOC_ASSERT(c->floor == 0); /* only sysmon takes, one batch at a time */
    if (c->nfree - c->ncold <= STACK_WARM_MAX)
        return 0;
    uint32_t end = c->nfree - STACK_WARM_MAX;
    uint32_t n = 0;
    while (c->ncold + n < end && n < SCAVENGE_BATCH &&
           c->free[c->ncold + n].since <= now - STACK_IDLE_NS) {
        scavenged[n] = c->free[c->ncold + n].slot;
        n++;
    }
    if (n > 0)
        c->floor = c->ncold + n;
    return n;
}

static int64_t thread_cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* stack.h.  The budget is CPU time, checked after each batch: a pass
 * that the machine's load stretches in wall time takes no more slots. */
void goc__stack_scavenge(int64_t budget_ns)
{
    int64_t now = coarse_now();
    int64_t cpu0 = thread_cpu_now();
    bool more = false; /* the budget is spent */
    goc__lock(&pool.lock);
    for (int i = 0; i < pool.nclasses && !more; i++) {
        struct stack_class *c = &pool.classes[i];
        uint32_t n;
        while (!more && (n = scavenge_take(c, now)) > 0) {
            goc__unlock(&pool.lock);
            discard(scavenged, n, c->slot_size);
            goc__lock(&pool.lock);
            c->ncold = c->floor; /* the cold part has no order */
            c->floor = 0;
            int64_t spent = thread_cpu_now() - cpu0;
            /* After each batch, so that a pass still going counts too. */
            if (spent > atomic_load_explicit(&scavenge_longest,
                                             memory_order_relaxed))
                atomic_store_explicit(&scavenge_longest, spent,
                                      memory_order_relaxed);
            more = spent >= budget_ns;
        }
    }
    goc__unlock(&pool.lock);
}

int64_t goc__stack_scavenge_longest(void)
{
    return atomic_load_explicit(&scavenge_longest, memory_order_relaxed);
}

/* Move p's cached slots down to keep of them to the pool.
 * Requires: pool.lock. */
static void scache_spill(goc__p *p, uint32_t keep)
{
    GOC_ASSERT_HELD(&pool.lock);
    struct stack_class *c = class_for(goc__stack_slot_default);
    int64_t now = coarse_now();
    while (p->nscache > keep)
        pool_push(c, goc__slot_untag(p->scache[--p->nscache]), now);
}

/* Refill p's empty cache from the pool (carving when it runs dry).
 * Returns: false when not one slot could be had. */
__attribute__((noinline)) static bool scache_refill(goc__p *p)
{
    goc__lock(&pool.lock);
    struct stack_class *c = class_for(goc__stack_slot_default);
    char *fresh[GOC__SCACHE_REFILL], *bare[GOC__SCACHE_REFILL];
    uint32_t nfresh = 0, nbare = 0;
    while (c != NULL && p->nscache < GOC__SCACHE_REFILL) {
        bool carved = !pool_has_free(c), guarded = true;
        char *s = carved ? carve_bare(c, &guarded) : pool_pop(c);
        if (s == NULL)
            break;
        if (carved)
            fresh[nfresh++] = s;
        if (!guarded)
            bare[nbare++] = s;
        p->scache[p->nscache++] =
            carved ? (char *)((uintptr_t)s | GOC__SLOT_COLD) : s;
    }
    int pidfd = refill_fresh(bare, nfresh, nbare);
    struct guard_job job = {0};
    if (nfresh > 0)
        guard_ahead(c, &job);
    goc__unlock(&pool.lock);
    if (job.s != NULL)
        guard_job_run(p, &job);
    if (pidfd >= 0)
        refill_populate(p, fresh, nfresh, pidfd);
    return p->nscache > 0;
}

char *goc__stack_alloc_slow(goc__p *p, size_t slot_size)
{
    if (p != NULL && slot_size == goc__stack_slot_default)
        return scache_refill(p) ? goc__slot_untag(p->scache[--p->nscache])
                                : NULL;
    char *slot = NULL;
    goc__lock(&pool.lock);
    struct stack_class *c = class_for(slot_size);
    if (c != NULL)
        slot = pool_pop(c);
    goc__unlock(&pool.lock);
    return slot;
}

bool goc__stack_available_slow(goc__p *p, size_t slot_size)
{
    if (p != NULL && slot_size == goc__stack_slot_default)
        return scache_refill(p);
    bool ok = false;
    goc__lock(&pool.lock);
    struct stack_class *c = class_for(slot_size);
    if (c != NULL && pool_has_free(c)) {
        ok = true;
    } else if (c != NULL) {
        char *s = carve(c);
        if (s != NULL) {
            int64_t now = coarse_now();
            pool_push(c, s, now);
            ok = true;
        }
    }
    goc__unlock(&pool.lock);
    return ok;
}

#ifdef GOC_HAVE_TSAN
/* Requires: pool.lock.  Returns: the index in pool.slabs of the slab
 * that holds slot (a binary search: sorted under TSan). */
static uint32_t slab_of(const char *slot)
{
    GOC_ASSERT_HELD(&pool.lock);
    uint32_t lo = 0, hi = pool.nslabs;
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (pool.slabs[mid]->base <= slot)
            lo = mid;
        else
            hi = mid;
    }
    const struct slab *s = pool.nslabs > 0 ? pool.slabs[lo] : NULL;
    if (s == NULL || slot < s->base ||
        slot >= s->base + (size_t)s->nslots * s->slot_size)
        goc__fatal("runtime: a freed stack belongs to no slab");
    return lo;
}

/* Requires: pool.lock.  A slot is freed for good; once all of its slab's
 * are, unmap the slab and forget it (see the top). */
static void slab_retire_slot(char *slot)
{
    GOC_ASSERT_HELD(&pool.lock);
    uint32_t i = slab_of(slot);
    struct slab *s = pool.slabs[i];
    if (++s->nfreed < s->nslots)
        return;
    if (munmap(s->base, (size_t)s->nslots * s->slot_size) != 0)
        goc__fatal("runtime: cannot unmap a slab of freed stacks: %s",
                   strerror(errno));
    for (int k = 0; k < pool.nclasses; k++)
        if (pool.classes[k].cur == s)
            pool.classes[k].cur = NULL;
    pool.nslabs--;
    memmove(&pool.slabs[i], &pool.slabs[i + 1],
            (pool.nslabs - i) * sizeof pool.slabs[0]);
    free(s);
}
#endif

void goc__stack_free_slow(goc__p *p, char *slot, size_t slot_size)
{
#ifdef GOC_HAVE_TSAN
    (void)p; /* every free comes here under TSan (stack.h) */
    (void)slot_size;
    goc__lock(&pool.lock);
    slab_retire_slot(slot);
    goc__unlock(&pool.lock);
#else
    if (p != NULL && slot_size == goc__stack_slot_default) {
        goc__lock(&pool.lock);
        scache_spill(p, GOC__SCACHE_REFILL);
        goc__unlock(&pool.lock);
        p->scache[p->nscache++] = slot;
        return;
    }
    goc__lock(&pool.lock);
    struct stack_class *c = class_for(slot_size);
    pool_push(c, slot, coarse_now());
    goc__unlock(&pool.lock);
#endif
}

void goc__stack_flush_cache(goc__p *p)
{
    if (p->nscache == 0)
        return;
    goc__lock(&pool.lock);
    scache_spill(p, 0);
    goc__unlock(&pool.lock);
}

/* The resident pages of [lo, lo + n), counted by mincore in chunks. */
static uint64_t resident_bytes(char *lo, size_t n)
{
    size_t ps = goc__pagesize();
    unsigned char vec[4096];
    uint64_t r = 0;
    for (size_t off = 0; off < n;) {
        size_t len = n - off;
        if (len > sizeof vec * ps)
            len = sizeof vec * ps;
        /* ENOMEM: unmapped meanwhile (a slab retired under TSan). */
        if (mincore(lo + off, len, vec) == 0)
            for (size_t i = 0; i < len / ps; i++)
                r += vec[i] & 1;
        off += len;
    }
    return r * ps;
}

void goc__stack_stats_read(goc__stack_stats *st)
{
    size_t ps = goc__pagesize();
    memset(st, 0, sizeof *st);
    struct range {
        char *lo;
        size_t n;
    } *v = NULL;
    goc__lock(&pool.lock);
    uint32_t n = pool.nslabs;
    if (n > 0)
        v = malloc(n * sizeof *v); /* NULL: no resident count */
    for (uint32_t i = 0; i < n; i++) {
        const struct slab *s = pool.slabs[i];
        st->mapped += (uint64_t)s->nslots * s->slot_size;
        st->carved += (uint64_t)s->ncarved * s->slot_size;
        if (v != NULL)
            v[i] = (struct range){s->base, (size_t)s->ncarved * s->slot_size};
    }
    for (int i = 0; i < pool.nclasses; i++) {
        const struct stack_class *c = &pool.classes[i];
        st->free += (uint64_t)c->nfree * c->slot_size;
        st->released += (uint64_t)c->ncold * (c->slot_size - ps);
    }
    goc__unlock(&pool.lock);
    /* Slabs stay mapped until the run's teardown (under TSan until their
     * last slot is freed, and then mincore fails on the range). */
    for (uint32_t i = 0; v != NULL && i < n; i++)
        st->resident += resident_bytes(v[i].lo, v[i].n);
    free(v);
}

bool goc__stack_slab_find(const char *p, goc__stack_slab_info *out)
{
    if (__atomic_load_n(&pool.guard_mode, __ATOMIC_RELAXED) != GUARD_MADVISE)
        return false;
    uint32_t n = __atomic_load_n(&pool.nslabs, __ATOMIC_ACQUIRE);
    for (uint32_t i = 0; i < n; i++) {
        const struct slab *s = pool.slabs[i];
        if (p >= s->base && p < s->base + (size_t)s->nslots * s->slot_size) {
            *out = (goc__stack_slab_info){s->base, s->slot_size, s->nslots};
            return true;
        }
    }
    return false;
}

/* Only when no goroutine runs: unmap every slab. */
void goc__stack_teardown(void)
{
    for (uint32_t i = 0; i < pool.nslabs; i++) {
        struct slab *s = pool.slabs[i];
#ifdef GOC_HAVE_VALGRIND
        if (s->vg_ids != NULL) {
            for (uint32_t j = 0; j < s->ncarved; j++)
                VALGRIND_STACK_DEREGISTER(s->vg_ids[j]);
            free(s->vg_ids);
        }
#endif
#ifdef GOC_HAVE_ASAN
        /* The frames of goroutines abandoned when main returned are still
         * poisoned, and ASan keeps shadow across munmap: the next run's
         * slabs, mapped at the same addresses, would trip over them. */
        __asan_unpoison_memory_region(s->base,
                                      (size_t)s->ncarved * s->slot_size);
#endif
        munmap(s->base, (size_t)s->nslots * s->slot_size);
        free(s);
    }
    for (int i = 0; i < pool.nclasses; i++) {
        goc__pages_free(pool.classes[i].free, pool.classes[i].capfree,
                        sizeof *pool.classes[i].free);
    }
    if (pool.pidfd > 0)
        close(pool.pidfd);
    memset(&pool, 0, sizeof pool);
}
