/* SPDX-License-Identifier: MIT */
/*
 * goc.h - Go's concurrency model for C: the one header users include.
 *
 * Goroutines run on an M:N work-stealing scheduler (G-M-P, as in the Go
 * runtime).  Every call that can fail returns an int: 0 (or a count) on
 * success, a negative GOC_E* code on failure (include/goc/errno.h).  Nothing
 * here reports through errno: a goroutine may resume on another thread.
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

#include "goc/errno.h"
#include "goc/version.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define GOC_EXTERN __attribute__((visibility("default")))
#define GOC_NODISCARD __attribute__((warn_unused_result))
#define GOC_NORETURN __attribute__((noreturn))
#else
#define GOC_EXTERN
#define GOC_NODISCARD
#define GOC_NORETURN
#endif

/* ------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------ */

/* Human-readable text for a GOC_E* code (or any -errno).
 * Returns: a static string; "unknown error" for codes goc does not know. */
GOC_EXTERN const char *goc_strerror(int code);

/* The symbolic name of a code, e.g. "GOC_EINVAL"; "GOC_E?" when unknown. */
GOC_EXTERN const char *goc_err_name(int code);

/* The library's version as GOC_VERSION_HEX and as "major.minor.patch". */
GOC_EXTERN unsigned goc_version(void);
GOC_EXTERN const char *goc_version_string(void);

/* ------------------------------------------------------------------------
 * Runtime
 * ------------------------------------------------------------------------ */

/* Options for goc_go_opts.  Zero-initialise and set what you need. */
typedef struct goc_spawn_opts {
    size_t stack_size; /* bytes; 0 = default (256 KiB or GOC_STACK_SIZE);
                          rounded up to whole pages, at least 16 KiB */
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
 * one that never reaches a scheduling point keeps its thread busy. */
GOC_EXTERN int goc_run(void (*main_fn)(void *), void *arg);

/* `go fn(arg)`: start a goroutine.  It runs soon, maybe on another thread.
 * Callable from goroutines and, during a run, from plain threads.
 * Returns: 0.
 * Errors: GOC_EINVAL  fn is NULL, or a stack size too large to map.
 *         GOC_ENOMEM  no memory for the goroutine's stack.
 *         GOC_EPERM   no run is in progress. */
GOC_EXTERN int goc_go(void (*fn)(void *), void *arg);
GOC_EXTERN int goc_go_opts(const goc_spawn_opts *o, void (*fn)(void *),
                           void *arg);

/* runtime.Gosched: let other goroutines run; this one stays runnable.
 * On a plain thread it yields the thread (sched_yield). */
GOC_EXTERN void goc_yield(void);

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
 * Debugging
 * ------------------------------------------------------------------------ */

/* Write every goroutine to fd in Go's format:
 *     goroutine 7 [chan receive]:
 *     worker(...)
 *             ./prog +0x1234
 *     created by main_fn in goroutine 1
 *             ./prog +0x1180
 * Frames are walked through frame pointers: build with
 * -fno-omit-frame-pointer (and link with -rdynamic for names); each frame's
 * "+0x..." is its offset in its module, for `addr2line -f -e module 0x...`.
 * A goroutine running on another thread shows
 * "goroutine running on other thread; stack unavailable". */
GOC_EXTERN void goc_dump(int fd);

/* runtime.Stack: format the calling goroutine (all = false) or every
 * goroutine (all = true) into buf, NUL-terminated when len > 0.
 * Returns: the number of bytes written, without the NUL. */
GOC_EXTERN size_t goc_stack(char *buf, size_t len, bool all);

#ifdef __cplusplus
}
#endif

#endif /* GOC_H */
