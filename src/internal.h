/* SPDX-License-Identifier: MIT */
/*
 * internal.h - cross-file functions of the runtime (goc__*), grouped by the
 * file that defines them.  Types are in runtime.h.
 */
#ifndef GOC_INTERNAL_H
#define GOC_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "goc.h"
#include "runtime.h"

/* ---- lock_futex.c ---- */
void goc__lock_slow(goc__mutex *l);
void goc__unlock_wake(goc__mutex *l);

/* Take l: one CAS when it is free, else spin briefly, then sleep. */
static inline void goc__lock(goc__mutex *l)
{
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
    uint32_t c = 0;
    /* acquire; pairs with the release store in goc__spin_unlock */
    if (goc__likely(atomic_compare_exchange_strong_explicit(
            &l->key, &c, 1, memory_order_acquire, memory_order_relaxed)))
        return;
    goc__spin_lock_slow(l);
}

static inline void goc__spin_unlock(goc__spinlock *l)
{
    /* release; pairs with the acquire CAS in goc__spin_lock */
    atomic_store_explicit(&l->key, 0, memory_order_release);
}

/* Take l only if it is free.  Returns: true if taken. */
static inline bool goc__trylock(goc__mutex *l)
{
    uint32_t c = 0;
    /* acquire; pairs with the release exchange in goc__unlock */
    return atomic_compare_exchange_strong_explicit(
        &l->key, &c, 1, memory_order_acquire, memory_order_relaxed);
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

/* ---- os_linux.c ---- */
int goc__ncpu(void);                 /* affinity mask and cgroup quota */
int64_t goc__nanotime(void);         /* CLOCK_MONOTONIC */
int goc__gettid(void);
/* The page size, read once (relaxed: every thread computes the same). */
extern _Atomic size_t goc__page_size;
size_t goc__pagesize_init(void);
static inline size_t goc__pagesize(void)
{
    size_t ps = atomic_load_explicit(&goc__page_size, memory_order_relaxed);
    return goc__likely(ps != 0) ? ps : goc__pagesize_init();
}
int goc__thread_start(goc__m *m, void *(*fn)(void *)); /* 0 or -errno */
void goc__thread_stack(void **lo, size_t *size); /* calling thread's */
int goc__signals_install(void);      /* SIGSEGV overflow handler */
void goc__signals_restore(void);
int goc__altstack_init(goc__m *m);   /* per-M sigaltstack */
void goc__altstack_free(goc__m *m);
int goc__env_int(const char *name, int64_t *out); /* 0 if set and valid */
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

/* ---- stack.c ---- */
/* Slot bytes for the default stack size; set by goc__stack_init, before
 * any goroutine exists, and constant during a run. */
extern size_t goc__stack_slot_default;
size_t goc__stack_slot_for(size_t stack_size); /* 0: too large */
/* Slow paths of the three below: a class other than the default, no P,
 * or p's cache empty (alloc, available) or full (free). */
char *goc__stack_alloc_slow(goc__p *p, size_t slot_size);
void goc__stack_free_slow(goc__p *p, char *slot, size_t slot_size);
bool goc__stack_available_slow(goc__p *p, size_t slot_size);
/* A slot (its base) of slot_size bytes, or NULL; p may be NULL.  The
 * default class comes from p's cache (its top: the warmest). */
static inline char *goc__stack_alloc(goc__p *p, size_t slot_size)
{
    if (goc__likely(p != NULL && slot_size == goc__stack_slot_default &&
                    p->nscache > 0))
        return p->scache[--p->nscache];
    return goc__stack_alloc_slow(p, slot_size);
}
static inline void goc__stack_free(goc__p *p, char *slot, size_t slot_size)
{
    if (goc__likely(p != NULL && slot_size == goc__stack_slot_default &&
                    p->nscache < GOC__SCACHE_MAX)) {
        p->scache[p->nscache++] = slot;
        return;
    }
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
void goc__stack_init(void);
void goc__stack_teardown(void);

/* ---- goroutine.c ---- */
int goc__newproc(size_t slot_size, const char *name, void (*fn)(void *),
                 void *arg, uintptr_t pc, bool system, goc__g **out);
/* First run of g (g->sp == NULL), now RUNNING on the M holding p: take
 * the warmest free slot and build the first context there.
 * Returns: false if no slot could be had (g is left as it was). */
bool goc__g_start(goc__p *p, goc__g *g);
void goc__g_flush_cache(goc__p *p);  /* P's dead headers back to the pool */
/* goc_go for the runtime's own use (AfterFuncs): never yields, so it may
 * be called holding runtime locks.  pc: shown as the creator in dumps.
 * Returns: 0, GOC_ENOMEM, or GOC_EPERM (no run, or the run is ending). */
int goc__spawn(void (*fn)(void *), void *arg, uintptr_t pc);
/* Every header ever carved in this run: fn(g, arg) for each; lock-free,
 * read each g's status (acquire) before trusting its fields. */
void goc__g_each(void (*fn)(goc__g *g, void *arg), void *arg);
void goc__g_teardown(void);          /* free every header */
void goc__switch_to_g0(goc__m *m, goc__g *g, bool dying);
void goc__switch_to_g(goc__m *m, goc__g *g);
/* G to G on one M, skipping g0 (goc__park's direct path). */
void goc__switch_g_to_g(goc__g *from, goc__g *to, bool dying);
void goc__g_release(goc__m *m, goc__g *g); /* after exit, off its stack */
/* Exit g into next, which takes g's stack (goroutine.c). */
__attribute__((noreturn)) void goc__g_exit_into(goc__g *g, goc__g *next);
void goc__g_abandon(goc__g *g, void *arg); /* teardown of a live G */
void goc__gstatus_bad(goc__g *g, uint32_t want); /* fatal */
/* A dump is reading some goroutine's stack (debug.c). */
extern _Atomic bool goc__dumping;
void goc__dump_wait(goc__g *g);      /* until the dump is done with g */

/* RUNNABLE -> RUNNING, by the M that took g from a queue (g is in one
 * queue at most, so that M is the only writer).  A plain store, then the
 * check against a dump reading g's stack: the store comes before the load
 * of goc__dumping (an asymmetric fence: the dump pays for it with a
 * membarrier), so either the dump sees RUNNING and leaves the stack alone,
 * or we see the dump and wait until it is done with g (debug.c).
 * release: publishes what the spawner wrote (goid, fn...) to a dump that
 * reads RUNNING, as the CAS did before; plain on x86. */
static inline void goc__gstatus_run(goc__g *g)
{
    if (goc__unlikely(atomic_load_explicit(&g->status, memory_order_relaxed) !=
                      GOC__GRUNNABLE))
        goc__gstatus_bad(g, GOC__GRUNNABLE);
    atomic_store_explicit(&g->status, GOC__GRUNNING, memory_order_release);
    goc__fence_light();
    /* acquire: a dump that has ended (or moved on, see goc__dump_wait)
     * read g's stack before we run on it; pairs with its release stores. */
    if (goc__unlikely(atomic_load_explicit(&goc__dumping,
                                           memory_order_acquire)))
        goc__dump_wait(g);
#if GOC_DEBUG >= 2
    atomic_fetch_add_explicit(&g->nexec, 1, memory_order_seq_cst);
#endif
}

/* WAITING -> RUNNABLE, by the one goroutine or thread entitled to wake g
 * (the one that took it off a wait queue, or won its select's claim).  g
 * stays off its stack, so the dump does not care: a checked plain store.
 * release: pairs with the dump's acquire load. */
static inline void goc__gstatus_ready(goc__g *g)
{
    if (goc__unlikely(atomic_load_explicit(&g->status, memory_order_relaxed) !=
                      GOC__GWAITING))
        goc__gstatus_bad(g, GOC__GWAITING);
    atomic_store_explicit(&g->status, GOC__GRUNNABLE, memory_order_release);
}

/* RUNNING -> to, by g's own M once g is off its stack.  Nobody else
 * writes a running G's status.  release: g's saved context and wait
 * reason travel to the dump's acquire load (and to whoever takes g next,
 * though queues and wait-queue locks carry their own ordering). */
static inline void goc__gstatus_leave_running(goc__g *g, uint32_t to)
{
    GOC_ASSERT_INTERNAL(atomic_load_explicit(&g->status,
                                             memory_order_relaxed) ==
                        GOC__GRUNNING);
    atomic_store_explicit(&g->status, to, memory_order_release);
}

/* ---- proc.c ---- */
/* The calling thread's M, or NULL on a plain thread.
 *
 * A goroutine may resume on another thread after any park, so neither the
 * value nor the address of a thread-local may be kept across one; C
 * compilers assume a function runs on one thread, and do keep the thread
 * pointer in a register across calls (ClickHouse/silk#66).  So the load
 * is an asm statement that reads the thread pointer itself: volatile (never
 * merged with another, never dropped) with a memory clobber (never moved
 * across a call or a memory access).  Initial-exec TLS: the static TLS
 * block, reached through the GOT entry the linker fills in (or relaxes to
 * a constant in an executable); libgoc.so is not meant for a late
 * dlopen.  Other architectures call a noinline function doing the same. */
extern __thread goc__m *goc__tls_m
    __attribute__((tls_model("initial-exec"), visibility("hidden")));
#if defined(__x86_64__) && !defined(GOC_GETM_CALL)
static inline goc__m *goc__getm(void)
{
    goc__m *m;
    __asm__ __volatile__("movq goc__tls_m@gottpoff(%%rip), %0\n\t"
                         "movq %%fs:(%0), %0"
                         : "=r"(m)
                         :
                         : "memory");
    return m;
}
#elif defined(__aarch64__) && !defined(GOC_GETM_CALL)
static inline goc__m *goc__getm(void)
{
    goc__m *m;
    uintptr_t tp;
    __asm__ __volatile__("adrp %0, :gottprel:goc__tls_m\n\t"
                         "ldr %0, [%0, #:gottprel_lo12:goc__tls_m]\n\t"
                         "mrs %1, tpidr_el0\n\t"
                         "ldr %0, [%1, %0]"
                         : "=&r"(m), "=&r"(tp)
                         :
                         : "memory");
    return m;
}
#else
goc__m *goc__getm(void); /* noinline */
#endif

/* 32 random bits from m's generator (xorshift64*): cheap, good enough for
 * a steal order or a select's poll order.  Only on: m's thread. */
static inline uint32_t goc__fastrand(goc__m *m)
{
    uint64_t x = m->rand;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    m->rand = x;
    return (uint32_t)((x * 0x2545F4914F6CDD1DULL) >> 32);
}
goc__g *goc__getg(void);             /* current G or NULL */
void goc__mcall(int after);          /* switch to g0 with a request */
/* The current goroutine ends (its fn returned, or goc_exit). */
__attribute__((noreturn)) void goc__goexit(void);
/* First thing a goroutine does whenever it resumes: finish the park of a
 * goroutine that switched straight to it. */
void goc__after_resume(void);
/* Park the current goroutine: it becomes WAITING with `reason`; after the
 * switch, g0 calls unlockf(g, arg) (if not NULL); false resumes it at once.
 * May park: yes.  Only on: a goroutine. */
void goc__park(goc__unlockf unlockf, void *arg, const char *reason);
/* The same, for a caller that has read m = goc__getm() since it last
 * parked (saves the thread-local read on hot paths). */
void goc__park_m(goc__m *m, goc__unlockf unlockf, void *arg,
                 const char *reason);
/* Make a WAITING G runnable: into the caller's runnext when the caller is a
 * goroutine, else into the global queue; wakes an idle P if any.
 * Only on: any thread.  May park: no. */
void goc__ready(goc__g *g);
/* goc__ready_m and goc__runq_put_wake: inline, after the run queues. */
void goc__globrunqput(goc__g *g); /* takes sched.lock */
/* wakep's slow half: count a spinner (the caller won nmspinning 0 -> 1)
 * and start an M for it on an idle P. */
void goc__startm_spinning(void);
/* A plain (non-M) thread calls into goc: during a run, count it for
 * checkdead from now on (once per run).  Only on: a plain thread. */
void goc__extern_thread(void);
extern _Atomic uint64_t goc__sched_epoch;
void goc__wakep(void);
int goc__run(void (*main_fn)(void *), void *arg);

/* ---- runq.c ---- */
/* Move half the ring plus g to the global queue (the ring is full). */
void goc__runq_put_slow(goc__p *p, goc__g *g);

/* Append g to p's ring if it has room.  Only on: the M holding p. */
static inline bool goc__runq_ring_put(goc__p *p, goc__g *g)
{
    /* acquire: pairs with the release CAS of consumers, so the slot we are
     * about to reuse has been read by whoever claimed it. */
    uint32_t h = atomic_load_explicit(&p->runqhead, memory_order_acquire);
    uint32_t t = atomic_load_explicit(&p->runqtail, memory_order_relaxed);
    if (t - h >= GOC__RUNQ_SIZE)
        return false;
    /* A relaxed atomic slot: a losing thief may be reading it. */
    atomic_store_explicit(&p->runq[t % GOC__RUNQ_SIZE], g,
                          memory_order_relaxed);
    /* release: publishes the slot; pairs with the acquire loads of
     * runqtail in runq_grab. */
    atomic_store_explicit(&p->runqtail, t + 1, memory_order_release);
    return true;
}

/* Put g on p's queue; into runnext when next is set, kicking the old
 * runnext to the tail.  A full ring spills half of itself to the global
 * queue (taking sched.lock), so the caller must not hold sched.lock.
 * Only on: the M holding p. */
static inline void goc__runq_put(goc__p *p, goc__g *g, bool next)
{
    if (next) {
        /* acq_rel: the new G's fields travel to a thief that CASes it
         * out; the old one's fields come to us.  (The order against an M
         * going idle is goc__wakep_after's fence.) */
        g = atomic_exchange_explicit(&p->runnext, g, memory_order_acq_rel);
        if (g == NULL)
            return;
    }
    if (!goc__runq_ring_put(p, g))
        goc__runq_put_slow(p, g);
}

/* runq_put(p, g, true), with a plain store into an empty runnext (ready
 * and spawn).  Only on: the M holding p. */
static inline void goc__runq_put_next_light(goc__p *p, goc__g *g)
{
    /* An empty runnext is written by nobody but us: thieves only CAS a G
     * out of it.  So when it is empty a plain store is enough (release:
     * the G's fields travel to whoever takes it); only a full one needs
     * the exchange, which also races a thief for the old G. */
    if (atomic_load_explicit(&p->runnext, memory_order_relaxed) == NULL) {
        atomic_store_explicit(&p->runnext, g, memory_order_release);
        return;
    }
    goc__runq_put(p, g, true);
}

/* p's runnext, if any.  Only on: the M holding p (thieves CAS too). */
static inline goc__g *goc__runq_take_runnext(goc__p *p)
{
    goc__g *next = atomic_load_explicit(&p->runnext, memory_order_relaxed);
    /* acquire: pairs with the release store or the acq_rel exchange that
     * put it there. */
    if (next != NULL &&
        atomic_compare_exchange_strong_explicit(&p->runnext, &next, NULL,
                                                memory_order_acquire,
                                                memory_order_relaxed))
        return next;
    return NULL;
}

/* runnext alone, if the runnext streak allows it (inherits the slice).
 *
 * Two goroutines that ready each other through runnext would keep the
 * ring and the global queue waiting for ever: Go breaks such a pair with
 * its 10 ms preemption, which goc does not have yet.  So after
 * GOC__RUNNEXT_STREAK inherited runs in a row the ring head goes first
 * (goc__runq_get), and the G taken does not inherit: schedtick moves, and
 * every 61st tick serves the global queue.  Only on: the M holding p. */
static inline goc__g *goc__runq_take_next(goc__p *p)
{
    if (p->nextstreak >= GOC__RUNNEXT_STREAK)
        return NULL;
    goc__g *g = goc__runq_take_runnext(p);
    if (g != NULL)
        p->nextstreak++;
    return g;
}
/* The ring head, if any.  Only on: the M holding p (thieves CAS too). */
static inline goc__g *goc__runq_take_head(goc__p *p)
{
    for (;;) {
        uint32_t h = atomic_load_explicit(&p->runqhead, memory_order_acquire);
        uint32_t t = atomic_load_explicit(&p->runqtail, memory_order_relaxed);
        if (t == h)
            return NULL;
        goc__g *g = atomic_load_explicit(&p->runq[h % GOC__RUNQ_SIZE],
                                         memory_order_relaxed);
        /* release: pairs with the acquire load of runqhead in put. */
        if (atomic_compare_exchange_weak_explicit(&p->runqhead, &h, h + 1,
                                                  memory_order_release,
                                                  memory_order_relaxed))
            return g;
    }
}

/* Take the next G: runnext first (*inherit = true: it shares the time
 * slice of the G that readied it; the streak rule is goc__runq_take_next's),
 * then the ring head.  Only on: the M holding p. */
static inline goc__g *goc__runq_get(goc__p *p, bool *inherit)
{
    goc__g *g;
    if ((g = goc__runq_take_next(p)) != NULL) {
        *inherit = true;
        return g;
    }
    p->nextstreak = 0;
    *inherit = false;
    if ((g = goc__runq_take_head(p)) != NULL)
        return g;
    return goc__runq_take_runnext(p);
}
bool goc__runq_empty(goc__p *p);
/* Steal half of victim's ring into p and return one G; with stealnext and
 * an empty ring, victim's runnext (after a back-off).  *churn is set when
 * that runnext was run by the victim during the back-off, and another
 * readied in its place.  Only on: the M holding p. */
goc__g *goc__runq_steal(goc__p *p, goc__p *victim, bool stealnext, bool *churn);
goc__g *goc__globrunq_get(goc__p *p, int32_t max); /* Requires: lock */
void goc__globrunq_put_locked(goc__g *g);          /* Requires: lock */
void goc__globrunq_put_batch(goc__g **v, int32_t n); /* takes lock */
void goc__globrunq_free(void);                      /* teardown */

/* ---- making work: ready, spawn (proc.c's wake-up protocol) ---- */

/* Start a spinning M if a P is idle and nobody spins.  The caller has just
 * made work visible; that write must come before our loads of npidle and
 * nmspinning, against the spin-down path's decrement of nmspinning and its
 * rechecks (proc.c, any_work): the light side of an asymmetric fence,
 * whose heavy side the spinner pays as it gives up.  holds_p: the caller
 * holds a P (with GOMAXPROCS 1, nobody to wake). */
static inline __attribute__((always_inline)) void
goc__wakep_after(bool holds_p)
{
    if (holds_p &&
        atomic_load_explicit(&goc__sched.gomaxprocs, memory_order_relaxed) ==
            1)
        return;
    goc__fence_light();
    if (atomic_load_explicit(&goc__sched.npidle, memory_order_seq_cst) == 0)
        return;
    int32_t zero = 0;
    if (atomic_load_explicit(&goc__sched.nmspinning, memory_order_seq_cst) !=
            0 ||
        !atomic_compare_exchange_strong_explicit(&goc__sched.nmspinning,
                                                 &zero, 1,
                                                 memory_order_seq_cst,
                                                 memory_order_relaxed))
        return;
    goc__startm_spinning();
}

/* Queue a RUNNABLE g (new or just readied) as ready does: m's runnext, or
 * the global queue without a P; then wake an idle P if any.  m is the
 * caller's (goc__getm()). */
static inline __attribute__((always_inline)) void
goc__runq_put_wake(goc__m *m, goc__g *g)
{
    if (goc__likely(m != NULL && m->p != NULL)) {
        goc__runq_put_next_light(m->p, g);
        goc__wakep_after(true);
        return;
    }
    if (m == NULL)
        goc__extern_thread();
    goc__globrunqput(g);
    goc__wakep_after(false);
}

/* goc__ready with m = goc__getm() (NULL on a plain thread). */
static inline __attribute__((always_inline)) void goc__ready_m(goc__m *m,
                                                               goc__g *g)
{
    goc__gstatus_ready(g);
    goc__runq_put_wake(m, g);
}

/* ---- timer.c ---- */
/* Arm (or re-arm) t to call f(t, arg, now) at when (goc__nanotime()), then
 * every period ns if period > 0.  Returns: true if t was armed already. */
bool goc__timer_arm(goc__timer *t, goc__timerf f, void *arg, int64_t when,
                    int64_t period);
/* The same without waking the timer sleeper: *kick is a deadline to pass
 * to goc__timers_kick once the caller's locks are released (or 0). */
bool goc__timer_arm_nokick(goc__timer *t, goc__timerf f, void *arg,
                           int64_t when, int64_t period, int64_t *kick);
/* Disarm t, waiting for a firing in progress.  Returns: true if t was
 * armed (this call stopped it).  May block: briefly, on t->mu. */
bool goc__timer_del(goc__timer *t);
/* Run p's timers due at now.  Only on: an M holding a P (any P).
 * Returns: how many fired. */
int goc__timers_run(goc__p *p, int64_t now);
/* The earliest deadline over every P's heap, or 0 if none is armed. */
int64_t goc__timers_next(void);
bool goc__timers_pending(void);
/* A timer earlier than before was armed at when: wake the sleeper. */
void goc__timers_kick(int64_t when);
void goc__timers_teardown(goc__p *p); /* abandon p's timers; free heap */

/* ---- symtab.c ---- */
const char *goc__symtab_lookup(const char *path, uintptr_t base, uintptr_t pc);

/* ---- sanitizer.c ---- */
void goc__sanitizer_check(void); /* dies on a sanitizer goc lacks */

/* ---- debug.c ---- */
void goc__checkdead(void);           /* Requires: sched.lock */
void goc__dump_all(int fd, goc__g *self);
__attribute__((noreturn)) void goc__fatal(const char *fmt, ...);
/* A fatal signal: the message as is (no "fatal error: "), dump, exit 2. */
__attribute__((noreturn)) void goc__fatal_signal(const char *fmt, ...);
void goc__printf(int fd, const char *fmt, ...);

#endif /* GOC_INTERNAL_H */
