/* SPDX-License-Identifier: MIT */
/*
 * runtime.h - the scheduler's data structures: G, M, P and sched, with their
 * states, invariants and who may touch each field.  Functions are declared
 * in each floor's header (lock.h, stack.h, goroutine.h, proc.h, runq.h,
 * park.h, ...; internal.h includes them all).  The design (why it is
 * shaped this way, the lock order, what later subsystems hook into) is
 * docs/design/scheduler.md; the floors, docs/design/layering.md.
 *
 * Glossary (Go's vocabulary):
 *   G  a goroutine: a header (goroutine.c) and a stack slot (stack.c).
 *   M  an OS thread.  Each M has a g0 context: its own thread stack, on which
 *      the scheduler loop runs.  Goroutines switch to g0 to park, yield or
 *      exit, and g0 switches to the next G; a park that just readied a peer
 *      may switch straight to it (goc__park, park.c), and the peer then
 *      finishes the park, so "after the switch" below holds either way.
 *   P  a processor token: an M must hold a P to run goroutines.  There are
 *      GOMAXPROCS Ps; each has a local run queue and caches.
 *
 * Lock order: the rank table in lockrank.h, checked at GOC_DEBUG >= 2.
 * A channel's lock is never held across goc__ready, a spawn or a park:
 * wakers unlock first, and a parking goroutine's lock is released by the
 * unlock callback after the switch.  Everything else is a single-owner
 * field or an atomic with its ordering written beside it.
 */
#ifndef GOC_RUNTIME_H
#define GOC_RUNTIME_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "check.h"
#include "goc.h"
#include "lockrank.h"

typedef struct goc__g goc__g;
typedef struct goc__m goc__m;
typedef struct goc__p goc__p;

#define GOC__CACHE_LINE 64

/* ------------------------------------------------------------------------
 * Low-level locks (lock_futex.c)
 * ------------------------------------------------------------------------ */

/* M-level mutex on a futex word: 0 unlocked, 1 locked, 2 locked with
 * sleepers.  Held only for short, non-blocking critical sections. */
typedef struct goc__mutex {
    _Atomic uint32_t key;
#if GOC_DEBUG >= 2
    uint32_t rank; /* lockrank.h; set before the lock is shared */
#endif
} goc__mutex;

/* Spin lock for the shortest sections (a channel's): unlock is a plain
 * release store, where goc__mutex needs an exchange to learn whether to
 * wake a sleeper.  Waiters spin, then nap on a futex with a timeout that
 * nobody ends early (lock_futex.c): only for sections that never block,
 * call out or take long. */
typedef struct goc__spinlock {
    _Atomic uint32_t key; /* 0 free, 1 held */
#if GOC_DEBUG >= 2
    uint32_t rank; /* lockrank.h; set before the lock is shared */
#endif
} goc__spinlock;

/* A lock's rank is set once, before the lock is shared: by the static
 * initializer or by an init call.  Release builds have no rank field. */
#if GOC_DEBUG >= 2
#define GOC__MUTEX_INIT(r) {.key = 0, .rank = (r)}
#define goc__lock_setrank(l, r) ((l)->rank = (r))
#else
#define GOC__MUTEX_INIT(r) {.key = 0}
#define goc__lock_setrank(l, r) ((void)0)
#endif

/* One-shot event: notesleep waits until notewakeup.  Clear before reuse.
 * Waking an already-woken note is harmless (the exit path relies on it). */
typedef struct goc__note {
    _Atomic uint32_t key;
} goc__note;

/* ------------------------------------------------------------------------
 * Timers (timer.c)
 * ------------------------------------------------------------------------ */

typedef struct goc__timer goc__timer;

/* What a timer does when it fires.  Runs on the M that runs the P's due
 * timers (holding some P), with t->mu held, so goc__timer_del can wait
 * for it: it may ready goroutines, send without blocking, spawn, take
 * channel and context locks; never park.
 * Returns: GOC__TIMER_KEEP, or GOC__TIMER_GONE when f has released t->mu
 * and freed t itself (a one-shot timer that owns its memory). */
typedef int (*goc__timerf)(goc__timer *t, void *arg, int64_t now);
enum { GOC__TIMER_KEEP = 0, GOC__TIMER_GONE = 1 };

/* Invariants: p != NULL <=> the timer is in p's heap at heap[idx];
 * when, p and idx change only with both mu and that heap's lock held, so
 * either lock is enough to read them.  Lock order: mu, then the heap. */
struct goc__timer {
    goc__mutex mu;
    int32_t idx;        /* position in p's heap */
    goc__p *p;          /* the heap holding it, or NULL */
    int64_t when;       /* goc__nanotime() deadline while in a heap */
    int64_t period;     /* > 0: re-armed after each firing (tickers) */
    goc__timerf f;      /* set when armed; mu */
    void *arg;
    void (*abandon)(goc__timer *t); /* at teardown, if still armed: free
                                       what the timer owns (or NULL) */
};

typedef struct goc__timer_ent {
    int64_t when;
    goc__timer *t;
} goc__timer_ent;

/* A P's timers: a 4-ary min-heap on when (Go's).  Any M may add to it,
 * delete from it or run its due timers (a P whose goroutine runs for long
 * still has its timers run by others), so it has its own lock, a leaf
 * below every timer's mu.  first is heap[0].when or 0 when empty, written
 * under the lock and read without it (seq_cst: see goc__timers_kick). */
typedef struct goc__timers {
    goc__mutex lock;
    uint32_t len, cap;
    goc__timer_ent *heap;      /* its own mapping, grown with mremap
                                  (goc__pages_grow, os.h) */
    _Atomic int64_t first;
} goc__timers;

/* ------------------------------------------------------------------------
 * G: a goroutine
 * ------------------------------------------------------------------------ */

/* G states.  Transitions:
 *   FREE/DEAD -> RUNNABLE        spawn (goroutine.c), owner: the spawner
 *   RUNNABLE  -> RUNNING         execute, by the M that dequeued it
 *   RUNNING   -> RUNNABLE        yield (after the switch to g0)
 *   RUNNING   -> WAITING         park (after the switch to g0)
 *   WAITING   -> RUNNABLE        ready, by its one waker
 *   RUNNING   -> DEAD            exit (after the switch to g0)
 * Every transition has a single writer (whoever holds the G, by the
 * ownership rule below), so all are plain release stores, checked against
 * the state they leave.  The dump reads statuses and walks the stacks of
 * Gs that are not RUNNING; RUNNABLE -> RUNNING waits while the dump holds
 * that G (goc__gstatus_run, debug.c), so a stack is never walked while it
 * runs.
 * Who owns the stack: RUNNING - the M in g->m; RUNNABLE - whoever holds the
 * G in a queue; WAITING - whoever will ready it; DEAD/FREE - the stack pool.
 */
enum {
    GOC__GFREE = 0,
    GOC__GRUNNABLE = 1,
    GOC__GRUNNING = 2,
    GOC__GWAITING = 3,
    GOC__GDEAD = 4,
};

/* What a G asks its M's g0 (or, on the direct path, the G it switches
 * to) to do once it is off its stack (m->after). */
enum {
    GOC__AFTER_NONE = 0,
    GOC__AFTER_YIELD, /* requeue on the global queue (goc_yield) */
    GOC__AFTER_PREEMPT, /* requeue at the tail of the P's ring */
    GOC__AFTER_PARK,  /* -> WAITING, then run m->unlockf */
    GOC__AFTER_EXIT,  /* -> DEAD, free the slot */
};

/* Called on g0 after a parking G is off its stack.  Returns false to
 * abort the park (the G runs again at once), as Go's gopark unlockf. */
typedef bool (*goc__unlockf)(goc__g *g, void *arg);

/* Who waits, as a wait queue records it: a goroutine (parked, woken by
 * goc__ready), or a plain thread (g NULL: asleep on *note, woken by
 * notewakeup).  Channels, select and the sync wait queue all block and
 * wake through these three, so "goroutine or plain thread" is decided in
 * one place.  The record lives in the waiter's own structure. */
typedef struct goc__parker {
    goc__g *g;        /* the goroutine to ready, or NULL */
    goc__note *note;  /* else the plain thread's note */
} goc__parker;

typedef struct goc__waiter goc__waiter;
typedef struct goc__selstate goc__selstate; /* chan.h */

/* A goroutine (or plain thread) blocked on one channel: for a plain send
 * or receive one record, for a select one per case.  A goroutine's plain
 * send or receive uses the record in its header (goc__g.chanwait, but
 * under TSan: chan.c, chan_block); a select's records and a plain
 * thread's live on the caller's stack, which stays put while it waits.
 * Its protocol is chan.h's.
 * Invariants (under the channel's lock):
 *   queued <=> the record is on c's recvq or sendq;
 *   success is written by the party that dequeues it, before the wake.
 */
struct goc__waiter {
    goc__waiter *next, *prev; /* c->recvq or c->sendq; c->lock */
    goc_chan *c;
    goc__parker who;          /* the goroutine, or the plain thread */
    void *elem;               /* where to copy to (recv) or from (send) */
    goc__selstate *sel;       /* NULL unless part of a select */
    int case_index;           /* in the select's cases */
    bool queued;
    bool success;             /* true: a value moved; false: closed */
    bool owns_ref;            /* it holds a reference of c while it waits
                                 (goc_chan_send_release): counted by
                                 goc__chan_abandoned */
#ifdef GOC_HAVE_TSAN
    size_t race_size;         /* c's element size, for after the wake */
#endif
};

/* The goroutine header: one of a dense chunk (goroutine.c), reused after
 * the goroutine dies.  Spawn writes its first cache line only: the
 * header's other fields are left at their spawn values by the release
 * that freed it (and were zero in a new chunk).  In a spawn storm at 2 Ps
 * a header goes from the P that runs and frees it to the P that spawns
 * with it, and back: one line travels each way, not four.
 * Invariants:
 *   not RUNNING: sp == NULL <=> it has never run; then it holds no slot
 *   (stack_slot, stack_lo, stack_hi are NULL); once it has run, it holds
 *   the slot stack_slot of slot_size bytes, and
 *   stack_slot + page == stack_lo < stack_hi == stack_slot + slot_size;
 *   status == RUNNING  <=>  g->m != NULL && g->m->curg == g
 *   goid > 0 for every spawned G; unique within a run
 *   FREE or DEAD => every field after the first line is zero (NULL),
 *   except timer (disarmed), chanwait (stale) and, under GOC_DEBUG >= 2,
 *   nexec
 */
struct goc__g {
    /* ---- the first line: set by spawn, immutable after it but status */
    _Alignas(GOC__CACHE_LINE)
    _Atomic uint32_t status;   /* GOC__G*; see transitions above */
    bool system;               /* goc's own goroutine (not counted, not
                                  dumped) */
    bool is_main;              /* goroutine 1 */
    void (*fn)(void *);        /* entry */
    void *arg;
    int64_t goid;
    int64_t parent_goid;       /* creator's id, 0 if a plain thread */
    uintptr_t gopc;            /* return address of the goc_go call */
    const char *name;          /* goc_spawn_opts.name or NULL */
    size_t slot_size;          /* stack class (stack.c) */

    /* ---- zero at spawn; reset by the release (goroutine.c) */
    uint32_t lockcount;        /* goc_lock_os_thread depth; owner G only */
    uint32_t spawnstreak;      /* goroutines spawned since it last parked
                                  or yielded (goroutine.c); owner G */
    void *sp;                  /* saved context (arch.h); valid when not
                                  RUNNING; written by the switch; NULL
                                  until the first run (and while running
                                  on a predecessor's stack, until the
                                  first switch away: goc__g_exit_into) */
    const char *waitreason;    /* set by park before WAITING; read by the
                                  dump while it holds g (debug.c) */
    int64_t waitsince;         /* goc__coarse.now when it last parked;
                                  written by park before WAITING, read by
                                  the dump's ", N minutes" as waitreason */
    const void *waitobj;       /* what it waits on, by waitreason: the
                                  goc_chan of "chan send"/"chan receive",
                                  the sync object of "sync.*" and
                                  "semacquire"; set before the park by
                                  those waits only (goc__g_waiting_on) */
    goc__m *m;                 /* M running it; owner M only */
    goc__m *lockedm;           /* M it is wired to; owner G, read by the M
                                  that dequeues it */
    char *stack_slot;          /* slot base (its guard page), from the
                                  first run on */
    char *stack_lo;            /* usable stack [stack_lo, stack_hi), from
                                  the first run on */
    char *stack_hi;
    void *tsan_fiber;          /* TSan fiber of this goroutine, if TSan */
    void *async_ctx;           /* the ucontext_t where asynchronous
                                  preemption stopped it, while it waits
                                  RUNNABLE on its thread (preempt.c); the
                                  dump walks from it; owner: that thread */
#ifdef GOC_HAVE_ASAN
    void *asan_fake;           /* ASan's fake stack (use-after-return) of
                                  this goroutine while it is switched out;
                                  NULL while it runs and once it is dead
                                  (goroutine.c) */
#endif
#if GOC_DEBUG >= 2
    _Atomic uint32_t nexec;    /* times made RUNNING: the dump checks that
                                  it does not move while it walks g */
#endif
    goc__timer timer;          /* goc_sleep and goc_select_until: armed
                                  only while the G waits, disarmed before
                                  its call returns (timer.c) */
    goc__waiter chanwait;      /* its plain channel send or receive, while
                                  it blocks in one (chan.c, chan_block):
                                  dense, so that waking the waiters of a
                                  channel walks headers, not one stack
                                  page per waiter; written in full by each
                                  wait, stale between waits */
};
_Static_assert(offsetof(struct goc__g, lockcount) == GOC__CACHE_LINE,
               "spawn writes one line of a header");

/* ------------------------------------------------------------------------
 * P: a processor
 * ------------------------------------------------------------------------ */

#define GOC__RUNQ_SIZE 256   /* Go's local run queue length */
/* Every GOC__GLOBAL_EVERY-th scheduling tick a P takes its next G from the
 * global queue first, so that Gs readying each other through the local
 * queue cannot starve it (Go's 61: prime, so it does not fall into step
 * with a program's own periods). */
#define GOC__GLOBAL_EVERY 61
/* One slot of sched.allp per possible P. */
#define GOC__ALLP_MAX 1024
_Static_assert(GOC__ALLP_MAX == GOC_MAXPROCS_MAX,
               "sched.allp holds GOC_MAXPROCS_MAX Ps");
/* Every GOC__TIMER_LOOK_EVERY-th look for work a P also looks at the other
 * Ps' timers (one load per P: cheap, but not on every look).  A power of
 * two: the test is a mask. */
#define GOC__TIMER_LOOK_EVERY 8
_Static_assert((GOC__TIMER_LOOK_EVERY & (GOC__TIMER_LOOK_EVERY - 1)) == 0,
               "GOC__TIMER_LOOK_EVERY must be a power of two");
#define GOC__GFREE_MAX 64    /* spill dead Gs to the pool past this (gfput) */
#define GOC__GFREE_REFILL 32
#define GOC__SCACHE_MAX 64   /* the same for free stack slots */
#define GOC__SCACHE_REFILL 32
#define GOC__GOID_BATCH 16   /* goids taken from sched.goidgen at a time */

enum {
    GOC__PIDLE = 0,  /* on sched.pidle, no M */
    GOC__PRUNNING,   /* held by an M, or promised to one: taken from
                        sched.pidle, to be acquired after the lock */
    GOC__PDEAD,      /* id >= GOMAXPROCS: unused until GOMAXPROCS grows */
    GOC__PSYSCALL,   /* its M is in a blocking call (goc_blocking_begin)
                        and has let go of it: m == NULL; whoever CASes it
                        away (the M coming back, or sysmon) owns it */
};

/* Invariants:
 *   0 <= runqtail - runqhead <= GOC__RUNQ_SIZE  (uint32 arithmetic)
 *   status == PIDLE => the P is on sched.pidle, its run queue and runnext
 *                      are empty, and m == NULL
 *   only the M holding the P pushes to its run queue (runqtail) and writes
 *   runnext except by CAS; thieves only CAS runqhead and runnext.
 */
struct goc__p {
    int32_t id;                       /* index in sched.allp; immutable */
    _Atomic uint32_t status;          /* GOC__P*; sched.lock for changes,
                                         read racily by stealers */
    goc__m *m;                        /* holder; owner M, or sched.lock */
    goc__p *link;                     /* next on sched.pidle; sched.lock */
    bool global_next;                 /* a preemption asks find_runnable
                                         to serve the global queue first;
                                         owner M (proc.c) */
    uint32_t timercheck;              /* looks for work; every 8th also
                                         checks other Ps' timers; owner M */
    uint32_t ngfree;                  /* dead headers in gfree; owner M */
    uint32_t nscache;                 /* free slots in scache; owner M */
    goc__g *gfree[GOC__GFREE_MAX];    /* dead headers, LIFO; owner M */
    char *scache[GOC__SCACHE_MAX];    /* free default-size stack slots,
                                         LIFO (the top is the warmest),
                                         each tagged GOC__SLOT_COLD if it
                                         is carved and has never run a
                                         goroutine (stack.h); owner M */
    struct iovec stack_iov[GOC__SCACHE_REFILL]; /* a refill's top pages to
                                         populate, after the stack pool's
                                         lock is let go (stack.c); owner
                                         M */
    /* For sysmon, which reads them every few ms: on a line that only the
     * owner writes, not the first one, which stealers read all the time
     * (status): runtick is written at every switch. */
    _Atomic uint32_t runtick;         /* goroutines switched to on it;
                                         owner M writes, sysmon reads */
    _Atomic uint32_t schedtick;       /* time slices begun on it: executes
                                         that did not inherit the slice
                                         (goc__p_new_slice); owner M
                                         writes, sysmon reads (relaxed) */
    _Atomic uint32_t preempt;         /* 1: this slice is over (sysmon saw
                                         schedtick stand for 10 ms); the
                                         goroutine yields at its next goc
                                         call.  sysmon sets it, the owner
                                         clears it (proc.h); counted
                                         in goc__preempt_pending */
    _Atomic(goc__g *) asyncg;         /* PSYSCALL because asynchronous
                                         preemption parked this goroutine
                                         with its thread (preempt.c): for
                                         sysmon to queue; the handler
                                         writes, sysmon takes (exchange) */
    _Atomic uint32_t syscalltick;     /* blocking calls begun on it; owner
                                         M writes, sysmon reads (relaxed) */
    _Atomic int32_t mclock;           /* CPU-time clock (clockid_t) and */
    _Atomic int32_t mtid;             /* kernel thread id of its latest M
                                         (acquirep), for sysmon */
    int64_t goidnext, goidend;        /* goid batch [next, end); owner M */
    _Atomic int64_t ngoroutine;       /* user goroutines spawned minus
                                         exited on this P (may be < 0);
                                         only the owner M writes, with
                                         relaxed stores; goc_num_goroutine
                                         sums every P's (goroutine.c) */

    goc__timers timers;               /* timer.c; its own lock */

    _Alignas(GOC__CACHE_LINE)
    _Atomic uint32_t runqhead;        /* consumers CAS (release); pairs with
                                         the acquire load in runqput */
    _Atomic uint32_t runqtail;        /* owner stores (release); pairs with
                                         the acquire load of stealers */
    _Atomic(goc__g *) runnext;        /* owner writes; thieves CAS */
    _Atomic(goc__g *) runq[GOC__RUNQ_SIZE]; /* slots are relaxed atomics:
                                         a thief may read a slot the owner
                                         rewrites, then lose its CAS */
};
_Static_assert(offsetof(struct goc__p, runtick) >= GOC__CACHE_LINE,
               "runtick shares no line with status, which stealers read");

/* ------------------------------------------------------------------------
 * M: a thread
 * ------------------------------------------------------------------------ */

/* The callee-saved registers a CFI unwind starts from, besides pc and sp
 * (x86-64: rbx rbp r12 r13 r14 r15; arm64: x19..x30). */
#if defined(__aarch64__)
#define GOC__UREGS 12
#else
#define GOC__UREGS 6
#endif
/* Where a SIGURG interrupted an M's thread (sigurg.c): the registers a
 * frame-pointer walk or a CFI unwind starts from, and the G the M was
 * running then. */
typedef struct goc__sigctx {
    uintptr_t pc;              /* the interrupted instruction */
    uintptr_t sp;
    uintptr_t fp;              /* frame pointer (rbp, x29) */
    uintptr_t lr;              /* arm64: link register (x30); else 0 */
    uintptr_t r[GOC__UREGS];   /* callee-saved registers (above) */
    goc__g *g;                 /* m->curg then: NULL on g0 or between
                                  goroutines; may be running on g0's
                                  stack still (check sp) */
} goc__sigctx;

struct goc__m {
    int64_t id;                /* immutable; the first M is 0, sysmon's
                                  record -1 */
    pthread_t thread;          /* immutable after start */
    int tid;                   /* kernel thread id, for tests and dumps */
    int32_t cpuclock;          /* the thread's CPU-time clock (clockid_t),
                                  for sysmon; immutable after start */
    void *g0_sp;               /* g0's saved context while a G runs */
    goc__g *curg;              /* G running on this M; owner M; read
                                  racily by dump (then re-checked) */
    goc__p *p;                 /* attached P; owner M */
    _Atomic(goc__p *) oldp;    /* the P it let go of in a blocking call
                                  (PSYSCALL), to take back, or NULL; the
                                  owner M writes, teardown reads (relaxed:
                                  a hint not to wait for this M) */
    goc__p *nextp;             /* P handed over by startm; written before
                                  notewakeup(park), read after notesleep */
    goc__note park;            /* idle/locked Ms sleep here */
    bool spinning;             /* counted in sched.nmspinning; owner M */
    int64_t spin_since;        /* when this spinner began to linger, or 0
                                  (proc.c, spin_linger); owner M */
    bool exited;               /* thread has left its loop; sched.lock */
    int64_t exitcpu;           /* its CPU time when the run ended, or -1;
                                  the thread of goc_run (run.c) */
    bool detached;             /* it left mid-run (its locked G exited)
                                  and detached itself: teardown must not
                                  join it; sched.lock */
    goc__m *schedlink;         /* next on sched.midle; sched.lock */
    goc__m *alllink;           /* next on sched.allm; immutable once linked */
    goc__g *lockedg;           /* G wired here (goc_lock_os_thread) */
    goc__g *handoff;           /* a G that parked or exited by switching
                                  straight to the next G (the direct
                                  path of goc__park and goc__goexit);
                                  the G that resumes next on this M
                                  finishes that park or exit, as m->after
                                  says (after_resume); owner M */

    /* The request a G leaves for g0 when it switches away (see AFTER_*). */
    int after;
    goc__unlockf unlockf;
    void *unlock_arg;

    uint64_t rand;             /* goc__fastrand state (steal order, select
                                  poll order); owner M */
    int64_t stackwait_since;   /* first failed stack allocation of a
                                  back-off in progress, or 0; owner M */
    int32_t stackwait_fails;   /* failures since the last sleep; owner M */

    /* Sanitizers and signals. */
    void *tsan_g0_fiber;       /* TSan fiber of the thread itself */
    void *g0_stack_lo;         /* the thread's stack, for ASan */
    size_t g0_stack_size;
    void *altstack;            /* sigaltstack for the overflow handler */

    /* SIGURG requests (sigurg.c, sigurg.h). */
    _Atomic uint32_t sigreq;   /* GOC__SIGREQ_* bits: any thread ORs bits
                                  in (release) before it signals; the
                                  M's handler takes them all with an
                                  exchange (acquire) */
    _Atomic uint32_t sigdump;  /* the dump handshake, sigurg.c: the
                                  dumper stores ASKED; the handler CASes
                                  ASKED -> HELD (release) once sigctx is
                                  written; the dumper (or the handler,
                                  tired of waiting) CASes HELD -> IDLE */
    goc__sigctx sigctx;        /* written by the M's handler before its
                                  CAS to HELD; read by the dumper after
                                  its acquire load of HELD */
};

/* ------------------------------------------------------------------------
 * sched: global scheduler state (proc.c)
 * ------------------------------------------------------------------------ */

struct goc__sched {
    goc__mutex lock;

    /* Protected by lock. */
    goc__g **grunq;              /* global run queue: a ring of grunqcap
                                    (a power of 2, or 0) slots; the Gs are
                                    grunq[(grunqhead + i) % grunqcap] for
                                    i < runqsize.  An array, not a list
                                    through the Gs: taking a batch reads
                                    one contiguous run instead of a cache
                                    miss per G (a list made spawn_yield
                                    1.55x and skynet 1.23x slower) */
    uint32_t grunqcap, grunqhead;
    goc__p *pidle;               /* idle Ps, via p->link */
    goc__m *midle;               /* idle Ms, via m->schedlink */
    int32_t nmidle;              /* Ms on midle */
    int32_t nmidlelocked;        /* Ms asleep waiting for their locked G */
    int32_t mcount;              /* Ms started and not exited */
    int32_t nextern;             /* plain threads that have used goc in
                                    this run: each may wake a goroutine at
                                    any time, so checkdead counts them as
                                    running (Go's extra M for cgo) */
    uint64_t epoch;              /* run number, to know a thread's first
                                    goc call of a run */
    int64_t mnext;               /* next M id */
    goc__m *allm;                /* every M of the run, for teardown */
    bool main_goexited;          /* main called goc_exit */

    /* Atomics. */
    _Atomic int32_t runqsize;    /* written under lock; read racily as a
                                    hint (relaxed) */
    _Atomic int32_t npidle;      /* written under lock; seq_cst reads in
                                    wakep pair with the publish-then-check
                                    in the spin-down path */
    _Atomic int32_t nmspinning;  /* seq_cst: see "Spinning" in the design */
    _Atomic int32_t gomaxprocs;  /* current number of Ps; writes under lock */
    _Atomic int32_t nallp;       /* Ps allocated (allp grows, never shrinks
                                    within a run); writes under lock */
    /* Release-store under lock when created; acquire loads by stealers. */
    _Atomic(goc__p *) allp[GOC__ALLP_MAX];
    _Atomic int64_t goidgen;     /* last goid handed out */
    _Atomic int32_t ngoroutine;  /* user goroutines spawned by plain
                                    threads; the rest is counted per P */
    _Atomic bool running;        /* a run is in progress and set up (set
                                    once the main goroutine is queued) */
    _Atomic bool exiting;        /* main returned: Ms leave their loops;
                                    set under lock, read anywhere */

    /* The timer sleeper: at most one idle M sleeps on timer_note until
     * the earliest timer of any P (timer_until); the others sleep without
     * a timeout.  Whoever adds an earlier timer kicks it (timer.c).  It is
     * not on midle, so checkdead counts it as running: no deadlock is
     * reported while a timer is pending. */
    _Atomic(goc__m *) timerm;    /* seq_cst: see goc__timers_kick */
    _Atomic int64_t timer_until; /* its deadline; 0 while none sleeps */
    goc__note timer_note;
    /* The sleeper sleeps in the poller (netpoll.h) rather than on
     * timer_note: a kick must break the poll.  seq_cst, as timerm. */
    _Atomic bool timer_via_poll;
    _Atomic int64_t lastpoll;    /* when the poller was last polled */

    /* sysmon (sysmon.c).  While every P is idle it sleeps on sysmon_note
     * (sysmon_wait set) until the next timer, 100 ms at most; a blocking
     * call that begins wakes it (goc__sysmon_wake), and the run's end. */
    _Atomic bool sysmon_wait;
    goc__note sysmon_note;
    int32_t lentprocs;           /* Ps that sysmon added to gomaxprocs for
                                    goroutines blocked in undeclared calls
                                    (run.c, goc__procs_lend); lock */
    goc__note run_done;          /* goc_run's thread sleeps on it until
                                    the run ends (begin_exit) */
};

extern struct goc__sched goc__sched;

/* A clock in goc__nanotime's ns that sysmon moves on about once a second
 * (sysmon.c): what a park stamps g->waitsince with, at the cost of one
 * load of a line that is written once a second, where goc__nanotime
 * would cost a clock read on every park.  Behind by up to
 * GOC__COARSE_EVERY_NS, plus sysmon's deep sleep (100 ms) when idle.
 * relaxed on both sides: a clock reading, nothing travels with it. */
#define GOC__COARSE_EVERY_NS ((int64_t)1000 * 1000 * 1000)
extern struct goc__coarse {
    _Alignas(GOC__CACHE_LINE) _Atomic int64_t now;
    char pad[GOC__CACHE_LINE - sizeof(int64_t)];
} goc__coarse;

/* A synctest bubble (synctest.c, docs/design/synctest.md): a run that is
 * one bubble, on one P, with a virtual clock and seeded choices.  `on` is
 * set before the run starts and cleared after it: constant while any
 * goroutine runs, read relaxed anywhere (one load on the paths that ask).
 * The generator, yields_left and the trace belong to whoever holds the
 * bubble's one P; waiter is under sched.lock; vclock moves only while
 * every goroutine is blocked (proc.c, bubble_idle), read anywhere. */
extern struct goc__bubble {
    _Alignas(GOC__CACHE_LINE) _Atomic bool on;
    _Atomic int64_t vclock;  /* goc__clock() inside the bubble */
    uint64_t seed;
    uint64_t rand;           /* the choices' generator (xorshift) */
    int32_t yields_left;     /* extra yields at goc calls still allowed */
    uint32_t yield_odds;     /* a goc call yields with odds 1 in this */
    goc__g *waiter;          /* in goc_synctest_wait; sched.lock */
    int64_t last_goid;       /* the goroutine last seen in a goc call */
    uint64_t trace_hash;     /* FNV-1a of the goids switched to, in order */
    uint64_t switches;       /* how many switches */
    int result;              /* GOC_EDEADLK once a deadlock ended it */
} goc__bubble;

/* The clock of goc_now, timers, sleeps and deadlines: CLOCK_MONOTONIC,
 * or the bubble's virtual clock, which only moves when every goroutine
 * waits (then straight to the next timer). */
int64_t goc__nanotime(void); /* os.h */
static inline int64_t goc__clock(void)
{
    if (goc__unlikely(atomic_load_explicit(&goc__bubble.on,
                                           memory_order_relaxed)))
        return atomic_load_explicit(&goc__bubble.vclock,
                                    memory_order_relaxed);
    return goc__nanotime();
}

#endif /* GOC_RUNTIME_H */
