/* SPDX-License-Identifier: MIT */
/*
 * goroutine.c - the G lifecycle: headers, spawn, first run, the switches
 * between a G and its M's g0 (with every sanitizer told about each one),
 * exit and release.  Design: docs/design/scheduler.md, "Goroutines" and
 * "Sanitizers".
 *
 * Headers (struct goc__g) are carved in chunks of G_CHUNK and never freed
 * during a run (Go's allgs): a dead header goes to its P's gfree cache,
 * then to the pool's free list, and is reused by the next spawn.  They
 * are dense (a few per cache line pair) so that the run queues and status
 * words the scheduler touches stay in few pages.  Chunks are mappings of
 * their own, but for those past the first G_SMALL_CHUNKS where the kernel
 * gives transparent huge pages (goc__huge_pages_on): those are carved
 * from arenas of one huge page each (goc__pages_map_huge), which a VM
 * maps in one fault where a chunk's 20 small pages took 20 (spawn + park
 * of 100k: -5% at 1 P, -4% at 2; skynet -10%; docs/performance.md).
 * Without huge pages an arena would be 512 small pages faulted in at once
 * under gpool.lock.  A program that never has more than G_SMALL_CHUNKS *
 * G_CHUNK goroutines at once never maps an arena.
 * Invariants:
 *   every header of a published chunk is FREE, DEAD, or a live G's;
 *   a FREE or DEAD header is on exactly one of: a P's gfree, gpool.free;
 *   chunks[0 .. nchunks) only grow during a run, and each published
 *   chunk's G_CHUNK headers are initialised (FREE) before it is
 *   published: goc__g_each walks them without the lock;
 *   chunk_in_arena(i) => chunk i lies in the arena that starts at chunk
 *   i - (i - G_SMALL_CHUNKS) % ARENA_CHUNKS, right after chunk i - 1
 *   unless it starts it.
 * Locking: gpool.lock protects the free list and chunk creation; it is a
 * leaf (taken with nothing else, or under sched.lock by checkdead's walk,
 * which does not take it).  A P's gfree belongs to the M holding the P.
 *
 * A G takes its stack slot only when it first runs (g->sp is NULL until
 * then): the top of the running P's slot cache, the slot a goroutine just
 * left, whose pages are still in the CPU caches (goc__g_start).  So a
 * backlog of goroutines that have not run yet costs headers only, and
 * never a guard page or a page fault.  Spawn checks that a slot could be
 * had (goc__stack_available), so goc_go still says GOC_ENOMEM when stacks
 * cannot be mapped; if the memory runs out between the spawn and the first
 * run, the G waits for a slot (proc.c, start_or_wait).
 *
 * All sanitizer fiber calls live here, next to the only four switches
 * (G to g0, g0 to G, G to G for a park or exit that hands the M straight
 * to the next G, and an exiting G's stack restarted for a G that has
 * never run, goc__g_exit_into):
 *   ASan: __sanitizer_start_switch_fiber before, ..._finish_ after, on the
 *         stack that resumes; a dying G passes NULL so its fake stack goes;
 *         a G switched out keeps its fake stack in g->asan_fake, freed at
 *         teardown if the G never resumes.
 *   TSan: one fiber per goroutine, created at spawn by the spawner (so
 *         the new fiber starts after everything its creator did: go ->
 *         start) and named "goroutine N", destroyed after the G's last
 *         switch; __tsan_switch_to_fiber before each switch with no_sync:
 *         goroutines that share a thread are not ordered by sharing it
 *         (docs/design/race.md).  A stack's addresses serve one G only
 *         (stack.c), and an exiting G does not hand its stack to the next
 *         one under TSan (goc__g_exit_into).
 *   valgrind: stacks are registered when their slot is carved (stack.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#include "arch.h"
#include "goc.h"
#include "internal.h"

#ifdef GOC_HAVE_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#ifdef GOC_HAVE_TSAN
#include <sanitizer/tsan_interface.h>
#endif
#include "race.h"

void goc__gstatus_bad(goc__g *g, uint32_t want)
{
    uint32_t s = atomic_load_explicit(&g->status, memory_order_relaxed);
    goc__fatal("runtime: %s of goroutine %lld in state %u",
               want == GOC__GWAITING ? "ready" : "execute", (long long)g->goid,
               s);
}

/* ---- headers: chunks, the pool, per-P caches ---- */

#define G_CHUNK 256
#define MAX_CHUNKS (1u << 16) /* 16M goroutines */
#define GFREE_ARRAY_MIN (64u * 1024) /* pool's first free array: 512 KiB */
#define G_CHUNK_BYTES (G_CHUNK * sizeof(goc__g))
#define G_SMALL_CHUNKS 8 /* mapped one by one: 2048 goroutines, 640 KiB */
#define ARENA_CHUNKS (GOC__HUGE_BYTES / G_CHUNK_BYTES) /* 25 in Release */
_Static_assert(ARENA_CHUNKS >= 1, "a header chunk fits in a huge page");

/* The pool's free headers are an array of pointers, not a list threaded
 * through the headers: a P refilling or spilling its cache copies
 * GOC__GFREE_REFILL pointers under the lock instead of chasing as many
 * header lines, which the spawner's P and the P that ran (and freed) the
 * goroutines pass back and forth (spawn at 2 Ps spent 5% waiting for
 * this lock while its holder took cache misses). */
static struct {
    goc__mutex lock;
    goc__g **free;                        /* LIFO; lock */
    uint32_t nfree, capfree;              /* capfree >= headers carved; lock */
    _Atomic(goc__g *) chunks[MAX_CHUNKS]; /* release-stored under lock */
    _Atomic uint32_t nchunks;         /* release-stored after chunks[i] */
} gpool = {.lock = GOC__MUTEX_INIT(GOC__RANK_GPOOL)};

/* Is chunk i carved from a huge-page arena? */
static bool chunk_in_arena(uint32_t i)
{
    return i >= G_SMALL_CHUNKS && goc__huge_pages_on();
}

/* Chunk n, the next, when chunk_in_arena(n): the first of a new arena, or
 * the one after chunk n - 1 in its arena (whose tail too short for a
 * chunk stays unused: 48 KiB of 2 MiB in Release).
 * Requires: gpool.lock.
 * Returns: zeroed memory for it, or NULL when out of memory. */
static goc__g *arena_chunk(uint32_t n)
{
    GOC_ASSERT_HELD(&gpool.lock);
    if ((n - G_SMALL_CHUNKS) % ARENA_CHUNKS == 0)
        return goc__pages_map_huge();
    return atomic_load_explicit(&gpool.chunks[n - 1], memory_order_relaxed) +
           G_CHUNK;
}

/* Requires: gpool.lock.  Returns: false when out of memory. */
static bool chunk_new(void)
{
    GOC_ASSERT_HELD(&gpool.lock);
    uint32_t n = atomic_load_explicit(&gpool.nchunks, memory_order_relaxed);
    if (n == MAX_CHUNKS)
        return false;
    /* Room for every header there is: a free header always fits.  It
     * starts with room for GFREE_ARRAY_MIN (untouched pages cost no
     * memory) and grows by doubling, so that few runs reallocate it. */
    uint32_t nhdr = (n + 1) * G_CHUNK;
    if (!goc__pages_grow((void **)&gpool.free, &gpool.capfree,
                         sizeof *gpool.free,
                         nhdr > GFREE_ARRAY_MIN ? nhdr : GFREE_ARRAY_MIN))
        return false;
    /* Touch the entries the chunk's headers will take once they are all
     * free: faulted in now, in the spawn storm, not when they exit, under
     * gpool.lock (see slab_new in stack.c).  Out of [nfree, capfree). */
    memset(&gpool.free[nhdr - G_CHUNK], 0, G_CHUNK * sizeof *gpool.free);
    /* Zero (status FREE) and mapped in by one call, not a fault a page:
     * 100k goroutines spawned and parked took 9,149 page faults with
     * chunks from malloc, 1,338 with those populated (glibc's heap growth
     * still faulted), 953 with a mapping of its own per chunk; each step
     * took skynet down (docs/performance.md).  Past the first few chunks,
     * a huge page's share (arena_chunk). */
    goc__g *c = chunk_in_arena(n) ? arena_chunk(n)
                                  : goc__pages_map(G_CHUNK_BYTES);
    if (c == NULL)
        return false;
    for (int i = 0; i < G_CHUNK; i++)
        goc__lock_setrank(&c[i].timer.mu, GOC__RANK_GTIMER);
    for (int i = G_CHUNK - 1; i >= 0; i--)
        gpool.free[gpool.nfree++] = &c[i];
    /* release: the zeroed headers are visible to lock-free walkers; pairs
     * with the acquire loads in goc__g_each. */
    atomic_store_explicit(&gpool.chunks[n], c, memory_order_release);
    atomic_store_explicit(&gpool.nchunks, n + 1, memory_order_release);
    return true;
}

/* Refill p's cache (or, without a P, take one header).
 * Returns: a free header, or NULL when out of memory. */
goc__g *goc__g_alloc_slow(goc__p *p)
{
    goc__lock(&gpool.lock);
    if (gpool.nfree == 0 && !chunk_new()) {
        goc__unlock(&gpool.lock);
        return NULL;
    }
    goc__g *g = gpool.free[--gpool.nfree];
    if (p != NULL) {
        uint32_t k = GOC__GFREE_REFILL - p->ngfree;
        if (k > gpool.nfree)
            (void)chunk_new(); /* short of memory: a smaller refill */
        if (k > gpool.nfree)
            k = gpool.nfree;
        gpool.nfree -= k;
        memcpy(&p->gfree[p->ngfree], &gpool.free[gpool.nfree],
               k * sizeof *p->gfree);
        p->ngfree += k;
    }
    goc__unlock(&gpool.lock);
    return g;
}

/* Move p's cached headers above keep to the pool. */
static void gfree_spill(goc__p *p, uint32_t keep)
{
    goc__lock(&gpool.lock);
    uint32_t k = p->ngfree - keep;
    memcpy(&gpool.free[gpool.nfree], &p->gfree[keep], k * sizeof *p->gfree);
    gpool.nfree += k;
    p->ngfree = keep;
    goc__unlock(&gpool.lock);
}

static void g_free(goc__p *p, goc__g *g)
{
    if (goc__likely(p != NULL)) {
        if (goc__unlikely(p->ngfree == GOC__GFREE_MAX))
            gfree_spill(p, GOC__GFREE_REFILL);
        p->gfree[p->ngfree++] = g;
        return;
    }
    goc__lock(&gpool.lock);
    gpool.free[gpool.nfree++] = g;
    goc__unlock(&gpool.lock);
}

void goc__g_flush_cache(goc__p *p)
{
    if (p->ngfree > 0)
        gfree_spill(p, 0);
}

void goc__g_each(void (*fn)(goc__g *g, void *arg), void *arg)
{
    uint32_t n = atomic_load_explicit(&gpool.nchunks, memory_order_acquire);
    for (uint32_t i = 0; i < n; i++) {
        goc__g *c = atomic_load_explicit(&gpool.chunks[i],
                                         memory_order_acquire);
        for (int j = 0; j < G_CHUNK; j++)
            fn(&c[j], arg);
    }
}

goc__g *goc__g_at(uint64_t i)
{
    uint32_t n = atomic_load_explicit(&gpool.nchunks, memory_order_acquire);
    if (i / G_CHUNK >= n)
        return NULL;
    goc__g *c = atomic_load_explicit(&gpool.chunks[i / G_CHUNK],
                                     memory_order_acquire);
    return &c[i % G_CHUNK];
}

/* ---- what a debugger reads (the gdb extension, src/goc-gdb.py) ---- */

/* The extension lists goroutines and walks their stacks from memory alone
 * (a core file has no code to call), and goc is usually built without
 * debug info, so DWARF cannot tell it where the headers are or how they
 * are laid out: this table does, in words the extension reads by position
 * (GDB_INFO_FIELDS there; bump version when they change).  Only numbers
 * and addresses: the addresses are relocated at load time, so the page
 * holding them is written, and a core file keeps it.  The extension finds
 * the table by its symbol (hidden: a local symbol in the linked module,
 * gone only if the module is stripped).  Nothing here runs. */
#define GDB_INFO_VERSION 1
#define GDB_INFO_WORDS 35
#define GDB_G(f) offsetof(goc__g, f)
#define GDB_M(f) offsetof(goc__m, f)
#if defined(__x86_64__)
#define GDB_UC_PC offsetof(ucontext_t, uc_mcontext.gregs[REG_RIP])
#define GDB_UC_FP offsetof(ucontext_t, uc_mcontext.gregs[REG_RBP])
#elif defined(__aarch64__)
#define GDB_UC_PC offsetof(ucontext_t, uc_mcontext.pc)
#define GDB_UC_FP offsetof(ucontext_t, uc_mcontext.regs[29])
#endif
GOC__SECTION_BOUNDS(goc_runtime_text);
GOC__SECTION_BOUNDS(goc_entry_text);
#if defined(__has_attribute)
#if __has_attribute(retain)
#define GDB_RETAIN __attribute__((retain)) /* kept under --gc-sections */
#endif
#endif
#ifndef GDB_RETAIN
#define GDB_RETAIN
#endif
__attribute__((used)) GDB_RETAIN const uint64_t goc__gdb_info[] = {
    0x676f632d67646200, /* magic: "goc-gdb" */
    GDB_INFO_VERSION,
    GDB_INFO_WORDS,
    (uint64_t)(uintptr_t)&gpool.chunks[0],
    (uint64_t)(uintptr_t)&gpool.nchunks, /* uint32 */
    G_CHUNK,
    sizeof(goc__g),
    GDB_G(status), /* uint32 */
    GDB_G(system), /* bool */
    GDB_G(is_main), /* bool */
    GDB_G(fn),
    GDB_G(goid),
    GDB_G(parent_goid),
    GDB_G(gopc),
    GDB_G(name),
    GDB_G(sp),
    GDB_G(waitreason),
    GDB_G(stack_lo),
    GDB_G(stack_hi),
    GDB_G(async_ctx),
    GDB_G(lockedm),
    GDB_G(lockcount), /* uint32 */
    (uint64_t)(uintptr_t)&goc__sched.allm,
    GDB_M(tid), /* int */
    GDB_M(curg),
    GDB_M(alllink),
    GOC__CTX_FP_SLOT,
    GOC__CTX_PC_SLOT,
    (uint64_t)(uintptr_t)goc__ctx_entry,
    (uint64_t)(uintptr_t)__start_goc_runtime_text,
    (uint64_t)(uintptr_t)__stop_goc_runtime_text,
    (uint64_t)(uintptr_t)__start_goc_entry_text,
    (uint64_t)(uintptr_t)__stop_goc_entry_text,
    GDB_UC_PC,
    GDB_UC_FP,
};
_Static_assert(sizeof goc__gdb_info == GDB_INFO_WORDS * sizeof(uint64_t),
               "GDB_INFO_WORDS counts the table");
_Static_assert(GOC__GRUNNABLE == 1 && GOC__GRUNNING == 2 &&
                   GOC__GWAITING == 3 && GOC__GDEAD == 4,
               "the gdb extension knows these states");

#ifdef GOC_HAVE_ASAN
/* Free a fake stack that no goroutine will resume with.  ASan frees only
 * the running context's fake stack, at a switch out that passes NULL: so
 * this thread "switches" to its own stack, resuming with fake, then
 * "dies" out of it, and resumes with its own again.  Not instrumented:
 * its frame must not live on the fake stacks it swaps. */
__attribute__((no_sanitize("address"))) static void asan_fake_free(void *fake)
{
    void *lo, *mine = NULL;
    size_t size;
    goc__thread_stack(&lo, &size);
    __sanitizer_start_switch_fiber(&mine, lo, size);
    __sanitizer_finish_switch_fiber(fake, NULL, NULL);
    __sanitizer_start_switch_fiber(NULL, lo, size);
    __sanitizer_finish_switch_fiber(mine, NULL, NULL);
}
#endif

/* Only when no goroutine runs (every M joined): free the headers, and the
 * fake stacks of the goroutines abandoned when main returned. */
void goc__g_teardown(void)
{
    uint32_t n = atomic_load_explicit(&gpool.nchunks, memory_order_relaxed);
#ifdef GOC_HAVE_ASAN
    for (uint32_t i = 0; i < n; i++) {
        goc__g *c = atomic_load_explicit(&gpool.chunks[i],
                                         memory_order_relaxed);
        for (int j = 0; j < G_CHUNK; j++)
            if (c[j].asan_fake != NULL)
                asan_fake_free(c[j].asan_fake);
    }
#endif
    for (uint32_t i = 0; i < n;) { /* an arena at its first chunk */
        bool arena = chunk_in_arena(i);
        goc__pages_unmap(
            atomic_load_explicit(&gpool.chunks[i], memory_order_relaxed),
            arena ? GOC__HUGE_BYTES : G_CHUNK_BYTES);
        i += arena ? ARENA_CHUNKS : 1;
    }
    atomic_store_explicit(&gpool.nchunks, 0, memory_order_relaxed);
    /* The free array stays for the next run (emptied): a process that
     * runs goc again needs it again, and reallocating it every run
     * mapped fresh memory under ASan's quarantine (sched_teardown counts
     * mappings). */
    gpool.nfree = 0;
    memset(&gpool.lock, 0, sizeof gpool.lock);
    goc__lock_setrank(&gpool.lock, GOC__RANK_GPOOL);
}

/* ---- race detector: the threads of Ms ---- */

#ifdef GOC_HAVE_TSAN
#undef pthread_create

/* Released by each M's thread as it starts (its own TLS address: one per
 * thread), acquired by every goroutine that runs there. */
static __thread char race_thread_started;

struct race_thread {
    void *(*fn)(void *);
    void *arg;
};

static void *race_thread_main(void *p)
{
    struct race_thread t = *(struct race_thread *)p;
    free(p);
    goc__race_release(&race_thread_started);
    return t.fn(t.arg);
}

int goc__race_thread_create(pthread_t *t, const pthread_attr_t *attr,
                            void *(*fn)(void *), void *arg)
{
    struct race_thread *rt = malloc(sizeof *rt);
    if (rt == NULL)
        return ENOMEM;
    rt->fn = fn;
    rt->arg = arg;
    /* Sync hidden: the thread does not start with its creator's history
     * (a goroutine's, when a spawn starts an M), which it would pass on
     * to every goroutine that runs on it. */
    goc__race_ignore_sync_begin();
    int rc = pthread_create(t, attr, race_thread_main, rt);
    goc__race_ignore_sync_end();
    if (rc != 0)
        free(rt);
    return rc;
}

/* A goroutine (re)starts on this thread.  Not inlined: the TLS address
 * must be this thread's, not one computed before a switch. */
__attribute__((noinline)) static void race_on_thread(void)
{
    goc__race_acquire(&race_thread_started);
}
#else
static inline void race_on_thread(void) {}
#endif

/* ---- switches ---- */

/* The one place that switches stacks: tell ASan (the stack we go to) and
 * TSan (the fiber we go to), switch, and finish ASan's bookkeeping once
 * this context runs again.  from is the goroutine switching out (NULL:
 * g0), whose fake stack ASan hands back when it resumes; it is kept in
 * the header, not on the stack, so that teardown can free the fake stacks
 * of goroutines that never resume (goc__g_teardown).  A dying goroutine
 * passes dying so ASan frees its fake stack; it never comes back. */
static inline __attribute__((always_inline)) void
switch_ctx(void **save, goc__g *from, void *to_sp, void *to_lo,
           size_t to_size, void *to_fiber, bool dying)
{
#ifdef GOC_HAVE_ASAN
    void *g0_fake = NULL;
    void **fake = from != NULL ? &from->asan_fake : &g0_fake;
    __sanitizer_start_switch_fiber(dying ? NULL : fake, to_lo, to_size);
#else
    (void)from;
    (void)to_lo;
    (void)to_size;
    (void)dying;
#endif
#ifdef GOC_HAVE_TSAN
    __tsan_switch_to_fiber(to_fiber, __tsan_switch_to_fiber_no_sync);
#else
    (void)to_fiber;
#endif
    goc__ctx_switch(save, to_sp);
#ifdef GOC_HAVE_ASAN
    __sanitizer_finish_switch_fiber(*fake, NULL, NULL);
    *fake = NULL; /* the thread's now, until the next switch out */
#endif
}

static size_t stack_size_of(goc__g *g)
{
    return (size_t)(g->stack_hi - g->stack_lo);
}

GOC__RUNTIME_TEXT
void goc__switch_to_g0(goc__m *m, goc__g *g, bool dying)
{
    switch_ctx(&g->sp, g, m->g0_sp, m->g0_stack_lo, m->g0_stack_size,
               m->tsan_g0_fiber, dying);
    /* Resumed by some M's g0, or straight by a parking G: maybe on another
     * thread than the one we left. */
    race_on_thread();
    goc__after_resume();
}

void goc__switch_to_g(goc__m *m, goc__g *g)
{
    switch_ctx(&m->g0_sp, NULL, g->sp, g->stack_lo, stack_size_of(g),
               g->tsan_fiber, false);
}

GOC__RUNTIME_TEXT
void goc__switch_g_to_g(goc__g *from, goc__g *to, bool dying)
{
    switch_ctx(&from->sp, from, to->sp, to->stack_lo, stack_size_of(to),
               to->tsan_fiber, dying);
    race_on_thread();
    goc__after_resume(); /* never reached when dying */
}

/* First frame of every goroutine (below).  In the entry text: the dump
 * stops its walk there. */
static void g_main(void *arg);

/* g is exiting and next (RUNNING on g's M, never run, of g's stack class,
 * the M already handed over to it: proc.c) is to run: next takes g's stack
 * and starts at its top, over g's dead frames.  No context is saved and no
 * slot changes hands through the cache; in a spawn storm every child
 * starts on the stack the previous one just left, whose lines are still
 * hot.  next releases g (goc__after_resume), which then has no slot to
 * free. */
GOC__RUNTIME_TEXT
void goc__g_exit_into(goc__g *g, goc__g *next)
{
#ifdef GOC_HAVE_TSAN
    /* Under TSan next gets a slot of its own, and g's goes back through
     * goc__g_release, which resets its shadow: g's frames would otherwise
     * race with next's (they are not ordered).  Out of slots: share, as
     * below (next may then see reports on g's stack variables). */
    if (goc__g_start(goc__getm()->p, next)) {
        __tsan_switch_to_fiber(next->tsan_fiber,
                               __tsan_switch_to_fiber_no_sync);
        goc__ctx_restart(next->stack_hi, g_main, next);
    }
#endif
    next->stack_slot = g->stack_slot;
    next->stack_lo = g->stack_lo;
    next->stack_hi = g->stack_hi;
    g->stack_slot = g->stack_lo = g->stack_hi = NULL;
#ifdef GOC_HAVE_ASAN
    /* g's live frames never return: clear their redzones (all of them lie
     * above this one), and let ASan drop g's fake stack. */
    char *lo = __builtin_frame_address(0);
    __asan_unpoison_memory_region(lo, (size_t)(next->stack_hi - lo));
    __sanitizer_start_switch_fiber(NULL, next->stack_lo, stack_size_of(next));
#endif
#ifdef GOC_HAVE_TSAN
    __tsan_switch_to_fiber(next->tsan_fiber, __tsan_switch_to_fiber_no_sync);
#endif
    goc__ctx_restart(next->stack_hi, g_main, next);
}

/* First frame of every goroutine (entered from goc__ctx_entry). */
GOC__ENTRY_TEXT
static void g_main(void *arg)
{
    goc__g *g = arg;
#ifdef GOC_HAVE_ASAN
    __sanitizer_finish_switch_fiber(NULL, NULL, NULL);
#endif
    race_on_thread();
    goc__after_resume();
    g->fn(g->arg);
    if (goc__unlikely(g->is_main) && goc__env.leak_report)
        goc__leak_report(2); /* GOCDEBUG=leakreport=1: main has returned */
    /* Everything a goroutine did happens before goc_run returns (which
     * waits for main; the others that ended are over by then). */
    goc__race_release(&goc__sched.run_done);
    goc__goexit();
}

int goc__newproc(size_t slot_size, const char *name, void (*fn)(void *),
                 void *arg, uintptr_t pc, bool system, goc__g **out)
{
    return goc__newproc_m(goc__getm(), slot_size, name, fn, arg, pc, system,
                          out);
}

bool goc__g_start(goc__p *p, goc__g *g)
{
    char *slot = goc__stack_alloc(p, g->slot_size);
    if (goc__unlikely(slot == NULL))
        return false;
    g->stack_slot = slot;
    g->stack_lo = slot + goc__pagesize();
    g->stack_hi = slot + g->slot_size;
    g->sp = goc__ctx_make(g->stack_hi, g_main, g);
    return true;
}

/* The G has switched away for the last time.  Only on: an M holding a P
 * (on g0, or on the G that the dying one switched to). */
void goc__g_release(goc__m *m, goc__g *g)
{
    goc__gstatus_leave_running(g, GOC__GDEAD);
    if (!g->system)
        goc__g_count(m->p, -1);
#ifdef GOC_HAVE_TSAN
    __tsan_destroy_fiber(g->tsan_fiber);
#endif
    g->tsan_fiber = NULL;
    if (g->stack_slot != NULL) { /* else its successor took it */
#ifdef GOC_HAVE_ASAN
        /* The frames that were live when g died never returned, so their
         * redzones are still poisoned; the next goroutine on this slot
         * would trip over them.  They all lie above the last saved context
         * (g->sp); below it, the epilogues of the frames that did return
         * unpoisoned theirs. */
        char *lo = g->sp;
        __asan_unpoison_memory_region(lo, (size_t)(g->stack_hi - lo));
#endif
        goc__stack_free(m->p, g->stack_slot, g->slot_size);
    }
    /* Back to what spawn expects (goc__g's invariants). */
    g->lockcount = g->spawnstreak = 0;
    g->sp = NULL;
    g->waitreason = NULL;
    g->waitobj = NULL;
    g->m = g->lockedm = NULL;
    g->stack_slot = g->stack_lo = g->stack_hi = NULL;
    g_free(m->p, g);
}

/* Teardown: a G that was never finished (abandoned when main returned).
 * Its stack goes with its slab; only sanitizer state needs freeing. */
void goc__g_abandon(goc__g *g, void *arg)
{
    (void)arg;
    uint32_t s = atomic_load_explicit(&g->status, memory_order_acquire);
    if (s != GOC__GRUNNABLE && s != GOC__GWAITING)
        return;
#ifdef GOC_HAVE_TSAN
    __tsan_destroy_fiber(g->tsan_fiber);
#endif
    g->tsan_fiber = NULL;
    atomic_store_explicit(&g->status, GOC__GDEAD, memory_order_relaxed);
}

/* ---- public API (spawning is spawn.c's) ---- */

int goc_num_goroutine(void)
{
    if (!atomic_load_explicit(&goc__sched.running, memory_order_acquire))
        return 0;
    int64_t n = atomic_load_explicit(&goc__sched.ngoroutine,
                                     memory_order_relaxed);
    int32_t np = atomic_load_explicit(&goc__sched.nallp,
                                      memory_order_acquire);
    for (int32_t i = 0; i < np; i++) {
        /* acquire: pairs with the release store that published the P. */
        goc__p *p = atomic_load_explicit(&goc__sched.allp[i],
                                         memory_order_acquire);
        n += atomic_load_explicit(&p->ngoroutine, memory_order_relaxed);
    }
    return n > 0 ? (int)n : 0;
}

int64_t goc_id(void)
{
    goc__g *g = goc__getg();
    return g != NULL ? g->goid : 0;
}
