/* SPDX-License-Identifier: MIT */
/*
 * goc.h - Go's concurrency model for C: the one header users include.
 *
 * Goroutines run on an M:N work-stealing scheduler (G-M-P, as in the Go
 * runtime).  Every call that can fail returns an int: 0 (or a count) on
 * success, a negative GOC_E* code on failure (include/goc/errno.h).  Nothing
 * here reports through errno: a goroutine may resume on another thread.
 *
 * Constructors (every call that returns a pointer to a new object) return
 * NULL on failure instead.  To tell a bad argument from a lack of memory,
 * goc uses a precondition table, not a hidden error code: each
 * constructor lists the arguments it refuses, as ranges against the
 * GOC_*_MAX constants below, so a caller can check them before the call.
 * Arguments are checked before anything is allocated (an out-of-range
 * size never reaches malloc or mmap), so a NULL for arguments inside the
 * documented ranges means out of memory (or, where a constructor says
 * so, that no run is in progress).  Calls that return an int report an
 * out-of-range argument as GOC_EINVAL.
 *
 * Comment vocabulary (so docs can be generated): a summary sentence, then
 * Blocks:, Returns:, Errors:, and notes on threads and ownership.
 * The design lives in docs/design/scheduler.md.
 */
#ifndef GOC_H
#define GOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h> /* ssize_t */

#include "goc/errno.h"
#include "goc/version.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define GOC_EXTERN __attribute__((visibility("default")))
#define GOC_NORETURN __attribute__((noreturn))
#else
#define GOC_EXTERN
#define GOC_NORETURN
#endif

/* GOC_NODISCARD marks the calls whose result reports a failure the caller
 * must handle: spawns, channel operations, selects, waits that a ctx can
 * end, try-locks and every constructor.  Dropping such a result is how a
 * Go panic (a send on a closed channel: GOC_ECLOSED) gets lost in C, so
 * the compiler warns.  To drop one on purpose, cast it away:
 *     (void)goc_chan_send(c, &v);     C23, C++17, and clang in any mode
 *     (void)!goc_chan_send(c, &v);    everywhere, also gcc in C11/C17
 *                                     and g++ before C++17
 * gcc's warn_unused_result, its only spelling before C23 and C++17,
 * ignores a plain (void) cast by design; the `!` makes the result used.
 * Defining GOC_NODISCARD (empty) before including goc.h turns it off. */
#ifndef GOC_NODISCARD
#if defined(__cplusplus) && __cplusplus >= 201703L
#define GOC_NODISCARD [[nodiscard]]
#elif !defined(__cplusplus) && defined(__STDC_VERSION__) &&               \
    __STDC_VERSION__ > 201710L && defined(__has_c_attribute)
#if __has_c_attribute(nodiscard)
#define GOC_NODISCARD [[nodiscard]]
#endif
#endif
#endif
#if !defined(GOC_NODISCARD) && defined(__GNUC__)
#define GOC_NODISCARD __attribute__((warn_unused_result))
#elif !defined(GOC_NODISCARD)
#define GOC_NODISCARD
#endif

/* ------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------ */

/* Human-readable text for a GOC_E* code (or any -errno).
 * Returns: a static string; "unknown error" for codes goc does not know. */
GOC_EXTERN const char *goc_strerror(int code);

/* The symbolic name of a code, e.g. "GOC_EINVAL"; for another -errno the
 * errno name ("ECONNREFUSED"); "GOC_E?" when unknown. */
GOC_EXTERN const char *goc_err_name(int code);

/* The library's version as GOC_VERSION_HEX and as "major.minor.patch". */
GOC_EXTERN unsigned goc_version(void);
GOC_EXTERN const char *goc_version_string(void);

/* ------------------------------------------------------------------------
 * Runtime
 * ------------------------------------------------------------------------ */

/* The largest stack goc_go_opts accepts (1 GiB); larger: GOC_EINVAL. */
#define GOC_STACK_SIZE_MAX ((size_t)1 << 30)

/* Options for goc_go_opts.  Zero-initialise and set what you need. */
typedef struct goc_spawn_opts {
    size_t stack_size; /* bytes; 0 = default (256 KiB or GOC_STACK_SIZE);
                          rounded up to whole pages, at least 16 KiB, at
                          most GOC_STACK_SIZE_MAX */
    const char *name;  /* shown in goroutine dumps; not copied: it must
                          outlive the goroutine (a string literal is ideal) */
} goc_spawn_opts;

/* Start the runtime and run main_fn(arg) as goroutine 1 on the calling
 * thread and up to GOMAXPROCS-1 more.  Returns when main_fn returns; the
 * other goroutines are abandoned, as in Go, and every thread, stack and
 * goroutine the run owned is freed before goc_run returns.
 * Blocks: until main_fn returns.
 * Returns: 0.
 * Errors: GOC_EINVAL  main_fn is NULL.
 *         GOC_EBUSY   a run is already in progress (goc_run does not nest).
 *         GOC_ENOMEM  the runtime could not allocate its first goroutine.
 * Abandoned goroutines must be parked (or finish) for goc_run to return:
 * one that never reaches a scheduling point keeps its thread busy.
 * Environment, read when the library loads and again here, not during the
 * run: GOMAXPROCS, GOC_STACK_SIZE, GOC_STACK_GUARD=mprotect,
 * GOC_TRACEBACK=none|crash, GOC_DEBUG_SIGNALS (report faults that are not
 * a stack overflow before passing them on); see README.md. */
GOC_NODISCARD GOC_EXTERN int goc_run(void (*main_fn)(void *), void *arg);

/* `go fn(arg)`: start a goroutine.  It runs soon, maybe on another thread.
 * Callable from goroutines and, during a run, from plain threads.
 * A goroutine takes its stack when it first runs, so one that has not run
 * yet costs a small header only.  Should stacks run out between the spawn
 * and the first run, it waits for a goroutine that has one to exit; a run
 * in which no goroutine can get a stack for a whole second ends with
 * "fatal error: out of memory: cannot allocate a goroutine stack".
 * A goroutine that has spawned 256 goroutines in a row without blocking or
 * yielding yields once, so the spawned get to run, and finish, while it
 * goes on (sooner than the 10 ms preemption would make it yield).
 * Returns: 0.
 * Errors: GOC_EINVAL  fn is NULL, or stack_size over GOC_STACK_SIZE_MAX.
 *         GOC_ENOMEM  no stack could be mapped at the time of the call, or
 *                     no memory for the goroutine's header.
 *         GOC_EPERM   no run is in progress. */
GOC_NODISCARD GOC_EXTERN int goc_go(void (*fn)(void *), void *arg);
GOC_NODISCARD
GOC_EXTERN int goc_go_opts(const goc_spawn_opts *o, void (*fn)(void *),
                           void *arg);

/* runtime.Gosched: let other goroutines run; this one stays runnable.
 * On a plain thread it yields the thread (sched_yield). */
GOC_EXTERN void goc_yield(void);

/* A preemption point for a hot loop that calls nothing else of goc:
 *
 *     for (size_t i = 0; i < n; i++) {
 *         sum += f(v[i]);
 *         goc_checkpoint();
 *     }
 *
 * Go preempts a goroutine that has kept its P for 10 ms; goc does so at
 * its next goc call (every call checks), and goc_checkpoint is the
 * cheapest such call: one relaxed load of a process-wide word that is 0
 * unless some P is overdue, and a call only then.  The goroutine whose P
 * is overdue yields (as goc_yield); any other goes on at once.  Safe
 * anywhere: on a plain thread, in a blocking section, outside a run it
 * does nothing.  Code that never reaches a goc call is not stuck for
 * ever either: see "Fairness and preemption" in the README. */
extern GOC_EXTERN uint32_t goc__preempt_pending; /* not API: the word */
GOC_EXTERN void goc__preempt_slow(void);          /* not API: the call */
#define goc_checkpoint()                                                   \
    do {                                                                   \
        if (__builtin_expect(__atomic_load_n(&goc__preempt_pending,        \
                                             __ATOMIC_RELAXED) != 0, 0))   \
            goc__preempt_slow();                                           \
    } while (0)

/* runtime.Goexit: end the calling goroutine.  In the main goroutine the
 * others run on; when none is left the program dies with
 * "fatal error: no goroutines (main called goc_exit) - deadlock!" (status 2).
 * Outside a goroutine it is a fatal error. */
GOC_EXTERN GOC_NORETURN void goc_exit(void);

/* runtime.GOMAXPROCS: set the number of Ps to n (any n >= 1, capped at
 * GOC_MAXPROCS_MAX); n <= 0 only queries.  Before goc_run it sets the value
 * the next run starts with.  Returns: the previous value. */
#define GOC_MAXPROCS_MAX 1024
GOC_EXTERN int goc_maxprocs(int n);

/* runtime.NumGoroutine: live user goroutines (goc's own are not counted);
 * 0 outside a run. */
GOC_EXTERN int goc_num_goroutine(void);

/* The calling goroutine's id (main is 1); 0 on a thread that is not running
 * a goroutine.  Ids are unique within a run. */
GOC_EXTERN int64_t goc_id(void);

/* runtime.LockOSThread / UnlockOSThread: wire the calling goroutine to its
 * current thread; no other goroutine runs on that thread until as many
 * unlocks as locks have been made.  A goroutine that exits while locked
 * takes its thread with it, as in Go.  No-ops on a plain thread. */
GOC_EXTERN void goc_lock_os_thread(void);
GOC_EXTERN void goc_unlock_os_thread(void);

/* ------------------------------------------------------------------------
 * Channels
 *
 * A goc_chan is Go's `chan T` for a T of elem_size bytes, copied in and out.
 * NULL is Go's nil channel: sends and receives block forever, and in a
 * select its cases are never ready.  Channels are reference counted:
 * goc_chan_make returns one reference; whoever may still call an operation
 * on the channel holds one.  One guarantee makes Go's idioms work without
 * extra retains: once a receive has observed a value or the close, the
 * call that sent it (or closed it) no longer touches the channel; once a
 * send has been taken by a receiver, the receiver's call no longer touches
 * it.  So a parent may make a channel, hand it to children that send once
 * and exit, receive their values and release it right after the last
 * receive.  All operations also work from plain threads (they block the
 * thread).
 * ------------------------------------------------------------------------ */

typedef struct goc_chan goc_chan;

/* The ranges goc_chan_make accepts.  As Go's makechan: an element of at
 * most 64 KiB - 1, a capacity that is a non-negative int (Go's "makechan:
 * size out of range"), and a buffer far below what any allocator (also
 * a sanitizer's) can give. */
#define GOC_CHAN_ELEM_MAX ((size_t)65535)
#define GOC_CHAN_CAP_MAX ((size_t)PTRDIFF_MAX)
#if UINTPTR_MAX > 0xffffffffu
#define GOC_CHAN_BUF_MAX ((size_t)1 << 39)
#else
#define GOC_CHAN_BUF_MAX ((size_t)1 << 30)
#endif

/* make(chan T, cap).  elem_size 0 makes a signal channel (chan struct{}).
 * Returns: the channel, or NULL: without allocating when elem_size is over
 * GOC_CHAN_ELEM_MAX, cap over GOC_CHAN_CAP_MAX, or elem_size * cap over
 * GOC_CHAN_BUF_MAX; otherwise only when out of memory. */
GOC_NODISCARD GOC_EXTERN goc_chan *goc_chan_make(size_t elem_size, size_t cap);
GOC_EXTERN void goc_chan_retain(goc_chan *c);
/* Drop a reference; the last one frees the channel (and any buffered
 * values).  NULL is ignored. */
GOC_EXTERN void goc_chan_release(goc_chan *c);

/* c <- *elem.  Blocks until a receiver takes it or the buffer has room.
 * Returns: 0.
 * Errors: GOC_ECLOSED  the channel is closed (also if closed while blocked:
 *                      the value was not sent).
 *         GOC_EINVAL   elem is NULL and elem_size is not 0. */
GOC_NODISCARD GOC_EXTERN int goc_chan_send(goc_chan *c, const void *elem);
/* *elem = <-c.  elem may be NULL (the value is dropped).
 * Returns: 0 with a value.
 * Errors: GOC_ECLOSED  closed and drained; *elem is zero-filled. */
GOC_NODISCARD GOC_EXTERN int goc_chan_recv(goc_chan *c, void *elem);
/* goc_chan_send, then goc_chan_release(c), as one call: the send holds
 * the caller's reference while it waits, and drops it however it ends.
 * For the goroutine whose last use of a channel is one send (Go's
 * `go func() { ch <- result }()`): should everybody else let go of the
 * channel, goc knows that the send waits for ever, and dumps mark the
 * goroutine "(leaked)" (goc_leakcheck).  Returns and errors: as
 * goc_chan_send. */
GOC_NODISCARD GOC_EXTERN int goc_chan_send_release(goc_chan *c,
                                                 const void *elem);
/* The same without blocking: GOC_EAGAIN when the operation would block.
 * On a closed channel they return GOC_ECLOSED, never GOC_EAGAIN. */
GOC_NODISCARD GOC_EXTERN int goc_chan_try_send(goc_chan *c, const void *elem);
GOC_NODISCARD GOC_EXTERN int goc_chan_try_recv(goc_chan *c, void *elem);
/* close(c): receivers drain buffered values, then get GOC_ECLOSED; blocked
 * senders wake with GOC_ECLOSED.
 * Errors: GOC_ECLOSED already closed; GOC_EINVAL c is NULL. */
GOC_NODISCARD GOC_EXTERN int goc_chan_close(goc_chan *c);
/* len(c) and cap(c); 0 for NULL. */
GOC_EXTERN size_t goc_chan_len(goc_chan *c);
GOC_EXTERN size_t goc_chan_cap(goc_chan *c);

/* ------------------------------------------------------------------------
 * Select
 * ------------------------------------------------------------------------ */

enum { GOC_SEND = 1, GOC_RECV = 2 };

/* One case of a select: op GOC_SEND sends *elem, GOC_RECV receives into
 * elem (may be NULL).  After the select, err of the chosen case is 0 or
 * GOC_ECLOSED (received from a closed channel: elem zero-filled; or the
 * channel of a send case is closed).  A NULL chan disables the case. */
typedef struct goc_case {
    goc_chan *chan;
    int op;
    void *elem;
    int err;
} goc_case;

#define GOC_RECV_CASE(ch, ptr) \
    ((goc_case){.chan = (ch), .op = GOC_RECV, .elem = (void *)(ptr), .err = 0})
#define GOC_SEND_CASE(ch, ptr) \
    ((goc_case){.chan = (ch), .op = GOC_SEND, .elem = (void *)(ptr), .err = 0})

/* select { case ...: }: block until one case can proceed, do it, and
 * return its index.  When several are ready the choice is uniformly
 * random.  n == 0 blocks forever (`select {}`); cases may then be NULL.
 * Errors: GOC_EINVAL  bad op, or n over 65536.
 *         GOC_ENOMEM  no memory for the bookkeeping of a large select. */
GOC_NODISCARD GOC_EXTERN int goc_select(goc_case *cases, size_t n);
/* select with a `default:` branch: GOC_EAGAIN when no case is ready. */
GOC_NODISCARD GOC_EXTERN int goc_select_try(goc_case *cases, size_t n);
/* select with `case <-time.After(...)`: as goc_select, but give up at
 * deadline (absolute, on goc_now()'s clock) and return GOC_ETIMEDOUT.  A
 * deadline already past polls the cases once; n == 0 just waits for the
 * deadline.  Allocates nothing for the timeout.
 * Errors: as goc_select, plus GOC_ETIMEDOUT. */
GOC_NODISCARD
GOC_EXTERN int goc_select_until(goc_case *cases, size_t n, int64_t deadline);

/* ------------------------------------------------------------------------
 * Time
 *
 * Timers live in the scheduler (a heap per P, no timer thread).  Every
 * duration and time is int64_t nanoseconds; times are on goc_now()'s
 * monotonic clock.
 * ------------------------------------------------------------------------ */

#define GOC_NANOSECOND ((int64_t)1)
#define GOC_MICROSECOND ((int64_t)1000)
#define GOC_MILLISECOND ((int64_t)1000000)
#define GOC_SECOND ((int64_t)1000000000)

typedef struct goc_timer goc_timer;
typedef struct goc_ticker goc_ticker;

/* Monotonic nanoseconds (CLOCK_MONOTONIC): for deadlines and intervals. */
GOC_EXTERN int64_t goc_now(void);

/* time.Sleep: park the goroutine for at least ns (wait reason "sleep");
 * ns <= 0 returns at once.  On a plain thread it sleeps the thread (and,
 * like a channel call, makes the thread count as a possible waker for
 * deadlock detection). */
GOC_EXTERN void goc_sleep(int64_t ns);

/* Every duration may be any int64_t: a negative one is 0, and a deadline
 * past the end of the clock (goc_now() + ns overflowing) is never. */

/* time.After: a channel of int64_t that receives goc_now() once, ns from
 * now (capacity 1, as Go's before 1.23).  The caller owns the channel and
 * releases it, also before it fires: the timer holds its own reference.
 * Returns: NULL outside a run or on ENOMEM. */
GOC_NODISCARD GOC_EXTERN goc_chan *goc_after(int64_t ns);

/* time.NewTimer: goc_now() is sent on goc_timer_chan(t) ns from now.  The
 * channel belongs to the timer (valid until goc_timer_free; never release
 * it).  Returns: NULL outside a run or on ENOMEM. */
GOC_NODISCARD GOC_EXTERN goc_timer *goc_timer_new(int64_t ns);
/* time.AfterFunc: fn(arg) runs in a goroutine of its own ns from now.
 * goc_timer_chan of such a timer is NULL. */
GOC_NODISCARD
GOC_EXTERN goc_timer *goc_after_func(int64_t ns, void (*fn)(void *),
                                     void *arg);
GOC_EXTERN goc_chan *goc_timer_chan(goc_timer *t);
/* Timer.Stop: true if this call stopped t before it fired (as in Go 1.19,
 * a value sent before the stop stays in the channel).  Once it returns,
 * t's firing is not in progress: an AfterFunc's goroutine has been
 * started or never will be. */
GOC_EXTERN bool goc_timer_stop(goc_timer *t);
/* Timer.Reset: re-arm t to fire ns from now.  Returns: true if it was
 * still armed. */
GOC_EXTERN bool goc_timer_reset(goc_timer *t, int64_t ns);
/* Stop t and free it with its channel. */
GOC_EXTERN void goc_timer_free(goc_timer *t);

/* time.NewTicker: goc_now() on goc_ticker_chan(t) every period ns (a tick
 * the reader has not taken is dropped, as in Go).  NULL if period <= 0,
 * outside a run, or on ENOMEM. */
GOC_NODISCARD GOC_EXTERN goc_ticker *goc_ticker_new(int64_t period);
GOC_EXTERN goc_chan *goc_ticker_chan(goc_ticker *t);
/* Ticker.Reset: the next tick period from now, then every period. */
GOC_EXTERN void goc_ticker_reset(goc_ticker *t, int64_t period);
/* Ticker.Stop: no more ticks (the channel stays open, as in Go). */
GOC_EXTERN void goc_ticker_stop(goc_ticker *t);
GOC_EXTERN void goc_ticker_free(goc_ticker *t);

/* ------------------------------------------------------------------------
 * Context (Go's context package)
 *
 * Cancellation is a select on goc_ctx_done(ctx), as in Go.  Contexts are
 * reference counted: a constructor returns one reference, which its
 * holder drops with goc_ctx_release (Go's `defer cancel()` is
 * goc_ctx_cancel + goc_ctx_release).  A child keeps its parent alive, so
 * a parent may be released before its children.
 * ------------------------------------------------------------------------ */

typedef struct goc_ctx goc_ctx;
typedef struct goc_ctx_afterfunc goc_ctx_afterfunc;

/* context.Background(): never canceled, no values, no deadline; static
 * (releasing it does nothing).  A NULL parent means it, too. */
GOC_EXTERN goc_ctx *goc_ctx_background(void);
/* context.WithCancel.  A child of a canceled parent is born canceled.
 * Returns: NULL only when out of memory. */
GOC_NODISCARD GOC_EXTERN goc_ctx *goc_ctx_with_cancel(goc_ctx *parent);
/* context.WithDeadline (deadline on goc_now()'s clock; the earlier of it
 * and the parent's wins; a past one is canceled at once with
 * GOC_ETIMEDOUT) and context.WithTimeout (deadline ns from now). */
GOC_NODISCARD
GOC_EXTERN goc_ctx *goc_ctx_with_deadline(goc_ctx *parent, int64_t deadline);
GOC_NODISCARD
GOC_EXTERN goc_ctx *goc_ctx_with_timeout(goc_ctx *parent, int64_t ns);
/* context.WithValue: key is compared by address (use the address of a
 * static object of yours).  Returns: NULL if key is NULL or on ENOMEM. */
GOC_NODISCARD
GOC_EXTERN goc_ctx *goc_ctx_with_value(goc_ctx *parent, const void *key,
                                       void *value);
/* cancel(): idempotent; cancels every descendant before it returns.  On a
 * background or value-only context it does nothing.  c must be alive at
 * the call, no longer: whoever waits for the cancel may release c as
 * soon as it sees it (the cancel holds a reference of its own until it
 * returns). */
GOC_EXTERN void goc_ctx_cancel(goc_ctx *c);
/* context.WithCancelCause's cancel(cause): as goc_ctx_cancel, recording
 * cause (any int; 0 means GOC_ECANCELED) for goc_ctx_cause. */
GOC_EXTERN void goc_ctx_cancel_cause(goc_ctx *c, int cause);
/* Done(): a channel closed on cancellation, owned by the context (valid
 * until its release; never release it yourself).  NULL (never ready in a
 * select) when nothing above c can be canceled. */
GOC_EXTERN goc_chan *goc_ctx_done(goc_ctx *c);
/* Err(): 0, GOC_ECANCELED, or GOC_ETIMEDOUT (its or an ancestor's
 * deadline passed). */
GOC_EXTERN int goc_ctx_err(goc_ctx *c);
/* context.Cause: the cause of the cancellation (the first one wins; a
 * child canceled through its parent gets the parent's), the error itself
 * if none was given, 0 while not canceled. */
GOC_EXTERN int goc_ctx_cause(goc_ctx *c);
/* Deadline(): the deadline on goc_now()'s clock, or 0 if none. */
GOC_EXTERN int64_t goc_ctx_deadline(goc_ctx *c);
/* Value(key): the value of the nearest context with key, or NULL. */
GOC_EXTERN void *goc_ctx_value(goc_ctx *c, const void *key);
/* Take another reference; drop one.  The last release frees the context
 * (it cancels nothing of others: children live on, held by their own
 * references). */
GOC_EXTERN void goc_ctx_retain(goc_ctx *c);
GOC_EXTERN void goc_ctx_release(goc_ctx *c);
/* context.AfterFunc: once c is canceled, fn(arg) runs in a goroutine of
 * its own (at once if c is canceled already; never if c cannot be).
 * Returns: a registration for goc_ctx_after_func_stop, or NULL on
 * ENOMEM (or fn NULL). */
GOC_NODISCARD
GOC_EXTERN goc_ctx_afterfunc *goc_ctx_after_func(goc_ctx *c,
                                                 void (*fn)(void *),
                                                 void *arg);
/* stop(): true if this call kept fn from being started.  Frees the
 * registration: call it exactly once for each goc_ctx_after_func, before
 * or after fn ran. */
GOC_EXTERN bool goc_ctx_after_func_stop(goc_ctx_afterfunc *f);

/* ------------------------------------------------------------------------
 * Sync (Go's sync package, and x/sync/semaphore)
 *
 * Every type is ready to use zero-initialised, like Go's zero values:
 *     goc_mutex mu = {0};        or   static goc_mutex mu = GOC_MUTEX_INIT;
 * Locking and waiting block the calling goroutine, never its thread; on a
 * plain thread (not a goroutine) the same calls block the thread, and from
 * its first sync call in a run the thread counts as a possible waker for
 * deadlock detection (as for channels).  The fields are goc's: do not read
 * or write them, and do not copy an object once it is in use.  Object
 * pointers must not be NULL.  An object may be freed (or go out of scope)
 * once no call on it is in progress or can still start; in particular the
 * last goroutine to lock and unlock a mutex, or the goroutine whose
 * goc_wg_wait returned, may free it at once (the goroutine that woke it
 * has finished touching it).
 * Misuse is fatal, as in Go: "fatal error: sync: ..." with a goroutine
 * dump, exit status 2.  Design: docs/design/sync.md.
 * ------------------------------------------------------------------------ */

/* Internal: a wait queue (src/sema.c).  Zero is an empty, unlocked queue. */
typedef struct goc__sema {
    uint32_t lock;  /* futex word of the queue's lock */
    uint32_t count; /* wake-ups given before their waiter queued */
    void *head;     /* first waiter (a ring of them) */
} goc__sema;

#ifdef __cplusplus
#define GOC__ZERO_INIT {}
#else
#define GOC__ZERO_INIT {0}
#endif

/* sync.Mutex.  Not tied to a goroutine: any goroutine (or thread) may
 * unlock a mutex that another one locked.  Fair in Go's way: a waiter that
 * has waited more than 1 ms switches the mutex to starvation mode, where
 * each unlock hands it straight to the longest waiter. */
typedef struct goc_mutex {
    uint32_t state; /* locked, woken and starving bits; waiter count */
    goc__sema sema;
} goc_mutex;
#define GOC_MUTEX_INIT GOC__ZERO_INIT

/* Lock m.  Blocks until it is free (a short spin first, when another P is
 * running its holder).  May block. */
GOC_EXTERN void goc_mutex_lock(goc_mutex *m);
/* Unlock m, waking a waiter if there is one.
 * Fatal: "sync: unlock of unlocked mutex" when m is not locked. */
GOC_EXTERN void goc_mutex_unlock(goc_mutex *m);
/* Lock m if that needs no waiting.  Returns: true if it is now locked by
 * the caller; false if it was locked (or being handed to a waiter). */
GOC_NODISCARD GOC_EXTERN bool goc_mutex_trylock(goc_mutex *m);

/* sync.RWMutex: any number of readers, or one writer.  A writer waiting in
 * goc_rwmutex_lock keeps new readers out (they wait for it), so a steady
 * stream of readers cannot starve writers.  As in Go, a goroutine must not
 * take a read lock it already holds again while a writer may be waiting
 * (that deadlocks). */
typedef struct goc_rwmutex {
    goc_mutex w;           /* held by the writer, or the next one */
    goc__sema writer_sema; /* the writer waits here for readers to leave */
    goc__sema reader_sema; /* readers wait here for the writer */
    int32_t readers;       /* readers in or waiting; -2^30 while a writer
                              is pending */
    int32_t departing;     /* readers the pending writer still waits for */
} goc_rwmutex;
#define GOC_RWMUTEX_INIT GOC__ZERO_INIT

/* Lock for writing: waits until no reader or writer holds rw.
 * May block. */
GOC_EXTERN void goc_rwmutex_lock(goc_rwmutex *rw);
/* Unlock for writing; waiting readers all get in.
 * Fatal: "sync: Unlock of unlocked RWMutex". */
GOC_EXTERN void goc_rwmutex_unlock(goc_rwmutex *rw);
/* Lock for reading: waits while a writer holds rw or is waiting for it.
 * May block. */
GOC_EXTERN void goc_rwmutex_rlock(goc_rwmutex *rw);
/* Unlock for reading; the last reader out lets a waiting writer in.
 * Fatal: "sync: RUnlock of unlocked RWMutex". */
GOC_EXTERN void goc_rwmutex_runlock(goc_rwmutex *rw);
/* Lock for writing / reading if that needs no waiting.
 * Returns: true if the lock is now held. */
GOC_NODISCARD GOC_EXTERN bool goc_rwmutex_trylock(goc_rwmutex *rw);
GOC_NODISCARD GOC_EXTERN bool goc_rwmutex_tryrlock(goc_rwmutex *rw);

/* sync.WaitGroup: wait for a collection of goroutines to finish.  Reusable
 * once goc_wg_wait has returned to every waiter: Adds of the next round
 * must come after that, as in Go. */
typedef struct goc_wg {
    uint64_t state; /* counter (high 32 bits), waiters (low 32) */
    goc__sema sema;
} goc_wg;
#define GOC_WG_INIT GOC__ZERO_INIT

/* Add delta (may be negative) to the counter; at zero every waiter wakes.
 * Call goc_wg_add with a positive delta before starting what it counts.
 * The counter is 32 bits, as in Go.
 * Fatal: "sync: negative WaitGroup counter" (also when it passes 2^31 - 1),
 * "sync: WaitGroup delta out of range" (|delta| >= 2^31),
 * "sync: WaitGroup misuse: Add called concurrently with Wait". */
GOC_EXTERN void goc_wg_add(goc_wg *wg, int64_t delta);
/* goc_wg_add(wg, -1). */
GOC_EXTERN void goc_wg_done(goc_wg *wg);
/* Wait until the counter is zero.  May block.
 * Fatal: "sync: WaitGroup is reused before previous Wait has returned". */
GOC_EXTERN void goc_wg_wait(goc_wg *wg);
/* goc_wg_add(wg, 1), then `go fn(arg)` in a goroutine that calls
 * goc_wg_done(wg) when fn returns (Go 1.25's WaitGroup.Go).
 * Returns: 0.
 * Errors: those of goc_go (GOC_EINVAL, GOC_ENOMEM, GOC_EPERM); then nothing
 *         was started and the counter is as it was. */
GOC_NODISCARD
GOC_EXTERN int goc_wg_go(goc_wg *wg, void (*fn)(void *), void *arg);

/* sync.Once. */
typedef struct goc_once {
    uint32_t done; /* fn has returned */
    goc_mutex m;   /* held while fn runs */
} goc_once;
#define GOC_ONCE_INIT GOC__ZERO_INIT

/* Call fn(arg) if no goc_once_do on o has called it yet.  Only one call
 * runs fn; every other call (concurrent or later) returns only after fn
 * has returned, and sees what fn wrote.  fn must not call goc_once_do on
 * the same o (it would wait for itself, as in Go).  A NULL fn counts as a
 * function that does nothing.  May block. */
GOC_EXTERN void goc_once_do(goc_once *o, void (*fn)(void *), void *arg);

/* sync.Cond, with the mutex passed to each wait instead of stored. */
typedef struct goc_cond {
    goc__sema sema; /* the waiters, in arrival order */
} goc_cond;
#define GOC_COND_INIT GOC__ZERO_INIT

/* Atomically unlock m (which the caller holds) and wait for a signal or
 * broadcast; lock m again before returning.  As in Go, wait in a loop
 * that re-checks the condition.  May block.
 * Fatal: "sync: unlock of unlocked mutex" if m is not locked. */
GOC_EXTERN void goc_cond_wait(goc_cond *c, goc_mutex *m);
/* Wake the longest-waiting goroutine, if any (FIFO).  Holding the mutex
 * is allowed, not required. */
GOC_EXTERN void goc_cond_signal(goc_cond *c);
/* Wake every goroutine waiting at the time of the call (not the ones that
 * start waiting afterwards). */
GOC_EXTERN void goc_cond_broadcast(goc_cond *c);

/* A weighted semaphore (golang.org/x/sync/semaphore.Weighted): size units;
 * acquiring n waits until n are free.  Waiters are served strictly in
 * arrival order, so a large request is not starved by small ones (a small
 * one behind it waits too).  The zero value has size 0: call goc_sem_init
 * before use. */
typedef struct goc_sem {
    int64_t size;   /* units in all; set by goc_sem_init */
    int64_t cur;    /* units held */
    goc__sema sema; /* the waiters, in arrival order */
} goc_sem;
#define GOC_SEM_INIT GOC__ZERO_INIT

/* Make s a semaphore of size units, none held (size < 0 counts as 0).
 * Not while s is in use. */
GOC_EXTERN void goc_sem_init(goc_sem *s, int64_t size);
/* Acquire n units, waiting until they are free and every earlier waiter
 * is served, or until ctx is done (NULL: never).  May block.  A ctx that
 * is done already fails the call even if the units are free; units
 * granted while ctx became done are kept, and the call succeeds (both as
 * x/sync).  n > size can never be satisfied: the call waits until ctx is
 * done, which for a NULL ctx is for ever (the goroutine is then
 * "semacquire" in dumps and counts towards a global deadlock).  Waiting
 * with a cancelable ctx, the goroutine shows as "select".
 * Returns: 0.
 * Errors: GOC_EINVAL     n < 0.
 *         GOC_ECANCELED  ctx was canceled;  GOC_ETIMEDOUT  its deadline
 *                        passed.
 *         GOC_ENOMEM     no memory to wait with a ctx. */
GOC_NODISCARD
GOC_EXTERN int goc_sem_acquire(goc_sem *s, int64_t n, goc_ctx *ctx);
/* Acquire n units if they are free and nobody is waiting.
 * Returns: true on success; false otherwise (also for n < 0). */
GOC_NODISCARD GOC_EXTERN bool goc_sem_try_acquire(goc_sem *s, int64_t n);
/* Release n units and let the waiters at the front in, as far as they fit.
 * Fatal: "semaphore: released more than held" (also for n < 0). */
GOC_EXTERN void goc_sem_release(goc_sem *s, int64_t n);

/* errgroup (golang.org/x/sync/errgroup): run functions in goroutines,
 * wait for them all, keep the first error. */
typedef struct goc_group goc_group;
/* errgroup.WithContext(parent) with SetLimit(limit) (limit <= 0: no
 * limit).  Returns: NULL on ENOMEM. */
GOC_NODISCARD GOC_EXTERN goc_group *goc_group_new(goc_ctx *parent, int limit);
/* The group's context (owned by the group, valid until goc_group_free):
 * canceled when a function first returns non-zero, and when
 * goc_group_wait returns. */
GOC_EXTERN goc_ctx *goc_group_ctx(goc_group *g);
/* g.Go(f): run fn(goc_group_ctx(g), arg) in a goroutine; fn's non-zero
 * result is an error.  At the limit, blocks until a running fn returns.
 * Returns: 0, or goc_go's error (then fn does not run). */
GOC_NODISCARD
GOC_EXTERN int goc_group_go(goc_group *g, int (*fn)(goc_ctx *ctx, void *arg),
                            void *arg);
/* g.Wait(): wait for every fn; cancel the context.
 * Returns: the first non-zero result of an fn, or 0. */
GOC_NODISCARD GOC_EXTERN int goc_group_wait(goc_group *g);
GOC_EXTERN void goc_group_free(goc_group *g);

/* ------------------------------------------------------------------------
 * Network and blocking calls (Go's net package and its runtime netpoller)
 *
 * A goroutine that reads, writes, accepts or dials parks until the
 * descriptor is ready, and its thread runs other goroutines meanwhile:
 * one goroutine per connection is the model, as in Go.  The descriptors
 * are plain ints; goc owns every descriptor it returns or that passed
 * through goc_fd_wrap (or a first goc_read/goc_write/goc_fd_wait) until
 * goc_close (or goc_fd_forget): it made the descriptor non-blocking and
 * registered it with the poller.  Closing such a descriptor with close(2)
 * instead is a bug goc cannot see (a later descriptor with the same number
 * would inherit the registration).
 *
 * ctx (NULL: none) bounds each call: a ctx that is done, or becomes done
 * while the call waits, ends it with GOC_ETIMEDOUT (its deadline passed)
 * or GOC_ECANCELED (goc_ctx_err's code); a ctx already done fails the
 * call before it tries the operation, as Go's deadlines do.
 * goc_close wakes every goroutine parked on the descriptor with
 * GOC_ECLOSED; the descriptor number is released (close(2)) once the last
 * call on it has returned, so it cannot be reused under a waiting call.
 * Kernel failures come back as -errno (-ECONNREFUSED, -ECONNRESET,
 * -EPIPE, ...).  Writing to a broken connection or pipe returns -EPIPE;
 * SIGPIPE is never raised by these calls.
 * Addresses follow Go's net.Dial: "127.0.0.1:8080", "[::1]:0",
 * "localhost:http" (names and service names are looked up by getaddrinfo
 * in a blocking section: never on a scheduler thread's P, at most
 * min(500, RLIMIT_NOFILE - 30) lookups at once), ":8080" (listen: every
 * address, IPv6 and IPv4; dial: the local system).
 * These calls also work on plain threads (not goroutines): they block the
 * thread, as the channel calls do.  Design: docs/design/netpoll.md.
 * ------------------------------------------------------------------------ */

#define GOC_READ 1  /* goc_fd_wait: readable (or hung up, or an error) */
#define GOC_WRITE 2 /* goc_fd_wait: writable (or an error) */
/* The longest address goc_local_addr and goc_remote_addr write, with the
 * NUL ("[ipv6%zone]:65535" or a Unix socket path). */
#define GOC_ADDR_MAX 112

/* Listen on a TCP address (Go's net.Listen("tcp", addr)).  The socket
 * gets SO_REUSEADDR; backlog <= 0 means the system's maximum (somaxconn).
 * Port 0 picks a free port: read it back with goc_local_addr.
 * Returns: the listening descriptor.
 * Errors: GOC_EINVAL  addr is NULL or not "host:port"; -EADDRINUSE,
 *         -EACCES, ...; a name that does not resolve: -ENOENT. */
GOC_NODISCARD GOC_EXTERN int goc_tcp_listen(const char *addr, int backlog);
/* Connect to a TCP address (net.Dialer.DialContext), trying each address
 * the name resolves to in order.  The connection gets TCP_NODELAY.
 * Returns: the connected descriptor.
 * Errors: GOC_EINVAL (bad addr), -ECONNREFUSED, -ENETUNREACH, ...,
 *         -ENOENT (no such host), GOC_ETIMEDOUT / GOC_ECANCELED (ctx). */
GOC_NODISCARD GOC_EXTERN int goc_tcp_dial(const char *addr, goc_ctx *ctx);
/* Listen on / connect to a Unix stream socket at path (a path starting
 * with '@' names an abstract socket).  goc_unix_listen removes nothing: a
 * stale socket file gives -EADDRINUSE, as in Go.
 * Errors: GOC_EINVAL (path NULL, empty or too long), -errno, ctx's. */
GOC_NODISCARD GOC_EXTERN int goc_unix_listen(const char *path, int backlog);
GOC_NODISCARD GOC_EXTERN int goc_unix_dial(const char *path, goc_ctx *ctx);
/* Accept a connection (TCP connections get TCP_NODELAY).  Out of
 * descriptors (EMFILE, ENFILE), it backs off (5 ms doubling to 1 s) and
 * retries until one is free or ctx is done, instead of failing or spinning.
 * Returns: the new descriptor.
 * Errors: GOC_ECLOSED (listener closed), ctx's, -errno. */
GOC_NODISCARD GOC_EXTERN int goc_accept(int listen_fd, goc_ctx *ctx);
/* Read up to n bytes, waiting until some are there.
 * Returns: the number read (> 0), or 0 at end of stream (the peer closed
 * or shut down its writing side) or for n == 0.
 * Errors: GOC_ECLOSED, GOC_ETIMEDOUT, GOC_ECANCELED, -ECONNRESET, ... */
GOC_NODISCARD GOC_EXTERN ssize_t goc_read(int fd, void *buf, size_t n,
                                          goc_ctx *ctx);
/* Write all n bytes, waiting for room as often as needed.
 * Returns: n.  Errors: as goc_read, plus -EPIPE; on an error, how much of
 * buf was sent is unknown (as for Go's Write on a failed connection). */
GOC_NODISCARD GOC_EXTERN ssize_t goc_write(int fd, const void *buf, size_t n,
                                           goc_ctx *ctx);
/* Wait until fd is ready for `events` (GOC_READ, GOC_WRITE or both): for
 * C libraries that do their own non-blocking I/O (libpq, c-ares, ...).
 * Returns at once if fd is ready now; may report readiness that a
 * non-blocking call then finds gone (EAGAIN): call it again.
 * Returns: the events that are ready (> 0).
 * Errors: GOC_EINVAL (events), GOC_ECLOSED, ctx's, -errno. */
GOC_NODISCARD GOC_EXTERN int goc_fd_wait(int fd, int events, goc_ctx *ctx);
/* Close fd: every goroutine parked on it wakes with GOC_ECLOSED, calls
 * that start later fail with GOC_ECLOSED, and close(2) runs once the last
 * call in progress has returned.  On a descriptor goc does not own it is
 * close(2).
 * Returns: 0.  Errors: -EBADF (not open), GOC_ECLOSED (closed already). */
GOC_EXTERN int goc_close(int fd);
/* Half-close (Go's TCPConn.CloseWrite): the peer reads end of stream;
 * reading goes on.  Errors: -errno (-ENOTCONN, ...). */
GOC_EXTERN int goc_close_write(int fd);
/* Adopt a descriptor the program already has (a pipe, a socketpair, one
 * from another library): make it non-blocking and register it.  Regular
 * files, which cannot be polled, are read and written in a blocking
 * section instead.  Wrapping a descriptor goc owns already is harmless.
 * Errors: -EBADF, GOC_EINVAL (fd over the poller's limit of 2^24). */
GOC_EXTERN int goc_fd_wrap(int fd);
/* Give fd back without closing it (before a library closes it itself):
 * parked goroutines wake with GOC_ECLOSED, the registration is removed,
 * and the descriptor is left non-blocking.
 * Errors: -EBADF (goc does not own fd). */
GOC_EXTERN int goc_fd_forget(int fd);
/* The socket's own and its peer's address, in Go's form
 * ("127.0.0.1:43512", "[::1]:8080", a Unix path), NUL-terminated in buf
 * (len >= GOC_ADDR_MAX always suffices).
 * Returns: the length without the NUL.
 * Errors: GOC_EINVAL (buf too small), -errno (-ENOTCONN, -ENOTSOCK). */
GOC_EXTERN int goc_local_addr(int fd, char *buf, size_t len);
GOC_EXTERN int goc_remote_addr(int fd, char *buf, size_t len);

/* Around a call that may block its thread (a blocking read(2), sleep(3),
 * a library's synchronous query): the caller's P is handed to another
 * thread if the call takes long (Go's entersyscall/exitsyscall), so the
 * other goroutines go on running.  A short call costs two atomic
 * operations and creates no thread.  Between the two, call nothing of
 * goc's.  On a plain thread both do nothing.  Pairs do not nest. */
GOC_EXTERN void goc_blocking_begin(void);
GOC_EXTERN void goc_blocking_end(void);

/* ------------------------------------------------------------------------
 * Debugging
 * ------------------------------------------------------------------------ */

/* Write every goroutine to fd in Go's format:
 *     goroutine 7 [chan receive, 3 minutes]:
 *     goc_chan_recv(0x55d0c2a4e2a0: cap 0, len 0)
 *             ./prog +0x1234
 *     worker(...)
 *             /src/app.c:42 +0x11f0
 *     created by main_fn in goroutine 1
 *             /src/app.c:57 +0x1180
 * A waiting goroutine shows how long it has waited once that is a minute
 * or more (measured to about a second) and, in the goc call it waits in,
 * what it waits on: a channel's address, capacity and length, a sync
 * object's address.  goc's internal frames are left out unless
 * GOC_TRACEBACK=system (or crash).  A parked goroutine is unwound with
 * the modules' CFI (.eh_frame) when elfutils' libdw.so.1 can be loaded,
 * else through frame pointers, as are running ones; build with
 * -fno-omit-frame-pointer -fno-optimize-sibling-calls (the CMake package
 * and goc.pc add them; a function that ends in a call that parks loses
 * its frame to a sibling call; names come from the symbol table, so do
 * not strip the program).  A frame's second line is
 * file:line when elfutils' libdw.so.1 can be loaded and the code has line
 * tables (-g), else the module; its "+0x..." is the offset in the module,
 * for `addr2line -f -e module 0x...`.
 * A goroutine running on another thread is shown where that thread is:
 * goc stops it for a moment with a SIGURG (its handler is installed during
 * goc_run; a SIGURG that is not goc's goes to the program's previous
 * handler).  If the thread does not answer within 100 ms (SIGURG blocked,
 * or some sanitizers), the goroutine shows
 * "goroutine running on other thread; stack unavailable". */
GOC_EXTERN void goc_dump(int fd);

/* runtime.Stack: format the calling goroutine (all = false) or every
 * goroutine (all = true) into buf, NUL-terminated when len > 0.  A NULL
 * buf counts as len 0.
 * Returns: the number of bytes written, without the NUL. */
GOC_EXTERN size_t goc_stack(char *buf, size_t len, bool all);

/* goleak's VerifyNone, for the end of a test: every goroutine still alive,
 * but the caller and those the options ignore, is a leak.  Goroutines on
 * their way out get up to wait_ns to finish (the check is repeated with a
 * growing pause), so a test that has closed its channels need not wait
 * for its goroutines first.  Each leak is written to fd in the dump's
 * format, after a line "goc_leakcheck: N goroutines leaked:"; one that
 * waits for ever on a channel nobody can reach any more shows
 * "(leaked)" after its wait reason (goc_chan_send_release).
 * Returns: the number of leaked goroutines (0: none), or GOC_ENOMEM.
 * Outside a run: 0. */
typedef struct goc_leak_opts {
    /* NULL-terminated function names: a goroutine with a frame of one of
     * them is not a leak (goleak's IgnoreAnyFunction). */
    const char *const *ignore_funcs;
    /* Goroutine ids that are not leaks: those alive before the test, from
     * goc_goroutine_ids (goleak's IgnoreCurrent). */
    const int64_t *ignore_ids;
    size_t nignore_ids;
    int64_t wait_ns; /* how long leaks may take to exit; 0: one second */
    int fd;          /* where the leaks go; 0: stderr, -1: nowhere */
} goc_leak_opts;
GOC_EXTERN int goc_leakcheck(const goc_leak_opts *o); /* o may be NULL */

/* The ids of the live goroutines (not goc's own), at most n of them into
 * ids (which may be NULL when n is 0).
 * Returns: how many there are (more than n: call again, larger). */
GOC_EXTERN size_t goc_goroutine_ids(int64_t *ids, size_t n);

/* Serve the runtime's state over HTTP on a TCP address, for curl and a
 * browser (Go's net/http/pprof and expvar; opt-in, and only what is
 * asked for here):
 *     /debug/                     an HTML index of the pages below
 *     /debug/goroutines?debug=1   goroutines grouped by identical stacks,
 *                                 the largest group first, in the text of
 *                                 Go's goroutine profile (without debug,
 *                                 or debug=0, the same: goc has no binary
 *                                 profile)
 *     /debug/goroutines?debug=2   every goroutine, as goc_dump prints them
 *     /debug/vars                 runtime counters, one JSON object
 * (/debug/pprof/ and /debug/pprof/goroutine are aliases.)  GET and HEAD
 * only; each connection gets one response, then is closed, and must be
 * done within 30 s; a Host header that is neither an address nor
 * localhost gets 403 (DNS rebinding).  Whoever can connect sees every goroutine's stack:
 * listen on loopback ("127.0.0.1:6060"), never on a public address.
 * The server's goroutines are goc's own: goc_num_goroutine, dumps and
 * deadlock detection do not count them (while it listens, a deadlock of
 * the other goroutines is not reported, as with any listener).  The
 * address is listened on before the call returns; then a goroutine
 * serves it until goc_debug_serve_stop, or until the run ends (a server
 * still running then is abandoned with its goroutines, its socket open
 * until the process exits).  Callable from goroutines and plain threads
 * during a run.  Formats and limits: docs/design/debug_serve.md.
 * Returns: the listening descriptor (goc_local_addr tells the port when
 *          addr's is 0), to pass to goc_debug_serve_stop.
 * Errors: GOC_EINVAL  addr is NULL or not "host:port".
 *         GOC_EPERM   no run is in progress.
 *         GOC_ENOMEM  out of memory.
 *         -EADDRINUSE, -EACCES, -ENOENT, ...: goc_tcp_listen's. */
GOC_NODISCARD GOC_EXTERN int goc_debug_serve(const char *addr);
/* Stop the server listening on fd: close the listener, end every
 * connection in progress, and wait until the server's goroutines are done
 * with it.  May block (briefly).
 * Returns: 0.
 * Errors: GOC_EINVAL  fd is not the descriptor of a server that this
 *                     run started and that is not stopped yet. */
GOC_EXTERN int goc_debug_serve_stop(int fd);

/* ------------------------------------------------------------------------
 * Parked-stack compaction (docs/design/parked-stacks.md)
 *
 * With GOCDEBUG=compactstacks=1 a run copies the live top of the stack of
 * every goroutine parked for longer than compactafter (GOCDEBUG
 * compactafter=MS, default 1000) with at most 3 KiB live into dense
 * memory, and gives the stack's pages back to the OS: ~600 B per parked
 * goroutine instead of ~4.4 KiB (a receive's).  Any touch of such a stack (the
 * goroutine waking, a channel peer, a pointer handed out, the kernel in
 * read(2)) waits until it is restored, 15-30 us on a VM.  It needs a full
 * userfaultfd (root, or vm.unprivileged_userfaultfd=1) and Linux 6.13's
 * MADV_GUARD_INSTALL guard pages, and is off under ASan, TSan and
 * valgrind.  Debuggers and core files see a compacted
 * stack's pages as missing; a fork child sees zeros there.
 * ------------------------------------------------------------------------ */
enum {
    GOC_COMPACT_OFF = 0,     /* not asked for */
    GOC_COMPACT_ON = 1,      /* asked for, running */
    GOC_COMPACT_UNAVAILABLE = 2 /* asked for, not possible here: see why */
};
typedef struct goc_compact_stats {
    int state;               /* GOC_COMPACT_* */
    const char *why;         /* UNAVAILABLE: the reason (static) */
    int64_t compacted;       /* goroutines compacted now */
    int64_t copy_bytes;      /* what their copies hold now */
    uint64_t compactions;    /* this run: stacks compacted */
    uint64_t restores;       /* this run: stacks restored */
    uint64_t faults;         /* this run: userfaults answered */
    uint64_t abandoned;      /* this run: candidates left resident at their
                                batch (found running, or the protect
                                failed) */
} goc_compact_stats;
/* The current (or last) run's compaction, read at the call. */
GOC_EXTERN void goc_compact_stats_read(goc_compact_stats *st);

/* ------------------------------------------------------------------------
 * Deterministic tests (Go's testing/synctest, and seeded schedules)
 *
 * goc_synctest(fn, arg) runs fn as the root of a bubble: a run of its own
 * (as goc_run) on one P, where
 *   - time is virtual: goc_now() starts at GOC_SYNCTEST_EPOCH and moves
 *     only when every goroutine is durably blocked, straight to the next
 *     timer (sleeps, goc_after, timers, tickers, ctx deadlines, select
 *     timeouts): an hour of goc_sleep takes no real time;
 *   - durably blocked is waiting on anything of goc's: channels, select,
 *     sleep, mutexes, RWMutexes, conditions, WaitGroups, semaphores,
 *     goc_synctest_wait, a goc_net_pipe end.  A goroutine in a blocking
 *     call, or waiting on another descriptor, is not: the bubble waits
 *     for it in real time, with its clock stopped.  A pthread lock or a
 *     call goc does not know of holds the bubble's one thread;
 *   - every scheduling choice (the run queue's pick, select's order,
 *     extra yields at goc calls) is drawn from a seeded generator: the
 *     same seed replays the same interleaving;
 *   - a deadlock (every goroutine blocked, no timer pending) ends the
 *     bubble with a dump instead of hanging.
 * A failing bubble (fn returns non-zero, a deadlock, goroutines still
 * blocked after fn returned, a fatal error, abort()) prints
 *     goc_synctest: replay with GOC_SEED=<n>
 * and running the program with that variable set replays it.  Design,
 * and how it follows and departs from Go's synctest:
 * docs/design/synctest.md.
 * ------------------------------------------------------------------------ */

/* goc_now() when a bubble starts: 2000-01-01 00:00:00 UTC in ns, as Go's
 * synctest starts its clock there. */
#define GOC_SYNCTEST_EPOCH INT64_C(946684800000000000)

typedef struct goc_synctest_opts {
    uint64_t seed;     /* the schedule's seed; 0: GOC_SEED's, else a new
                          one (printed on failure) */
    int yields;        /* extra yields at goc calls, at most this many per
                          bubble (a PCT-style depth bound); 0: none */
    int yield_odds;    /* a goc call yields with odds 1 in this; 0: 4 */
    bool quiet;        /* goc_synctest_search: drop the children's output
                          (the failing seed is still printed) */
    /* Out: */
    uint64_t seed_used; /* the seed the bubble ran with */
    uint64_t trace;     /* a hash of the order in which goroutines ran */
    uint64_t switches;  /* how many times a goroutine was switched to */
} goc_synctest_opts;

/* synctest.Test: run fn(arg) as the root of a bubble, from outside any
 * run; return once fn has returned and every goroutine it started has
 * exited.  The bubble's GOMAXPROCS is 1 (the next goc_run's setting is
 * kept for it).
 * Returns: fn's result (0: passed), or an error of the bubble.
 * Errors: GOC_EDEADLK  every goroutine blocked with no timer pending,
 *                      before or after fn returned (the dump is printed);
 *         GOC_EBUSY    called inside a run;
 *         GOC_EINVAL   fn is NULL; GOC_ENOMEM. */
GOC_NODISCARD GOC_EXTERN int goc_synctest(int (*fn)(void *arg), void *arg);
/* goc_synctest with options (NULL: none); opts' out fields are set. */
GOC_NODISCARD GOC_EXTERN int goc_synctest_run(goc_synctest_opts *opts,
                                              int (*fn)(void *arg),
                                              void *arg);
/* synctest.Wait: return once every other goroutine of the bubble is
 * durably blocked (or has exited).  Fatal outside a bubble, or while
 * another goroutine waits in it. */
GOC_EXTERN void goc_synctest_wait(void);
/* Run the bubble under seeds opts->seed, opts->seed + 1, ... (n of them;
 * a seed of 0 starts from GOC_SEED's, else from 1), each in a child
 * process (fork) so that a crash is a failure like any other, and stop at
 * the first failure: its seed is in opts->seed_used and printed as
 * GOC_SEED=<n>.  Call it outside any run.
 * Returns: 0 if every seed passed; for the first that failed, 1 (fn
 *          returned non-zero), 2 (a fatal error), GOC_EDEADLK, or
 *          -128 - the signal that killed it (abort(): -134).
 * Errors: GOC_EBUSY (inside a run), GOC_EINVAL, -errno of fork. */
GOC_NODISCARD GOC_EXTERN int goc_synctest_search(goc_synctest_opts *opts,
                                                 int n,
                                                 int (*fn)(void *arg),
                                                 void *arg);
/* An in-memory connected stream pair (Go's net.Pipe): a Unix socket pair
 * that goc owns, whose waits count as durable inside a bubble (the peer
 * is in the process).  Buffered, unlike net.Pipe: a write returns once
 * the kernel's buffer has taken it.  Use it with goc_read, goc_write,
 * goc_close, goc_close_write, as any connection.
 * Returns: 0 with fds[0], fds[1] set.  Errors: GOC_EINVAL, -errno. */
GOC_NODISCARD GOC_EXTERN int goc_net_pipe(int fds[2]);

#ifdef __cplusplus
}
#endif

#endif /* GOC_H */
