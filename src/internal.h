/* SPDX-License-Identifier: MIT */
/*
 * internal.h - every floor of the runtime at once, for the files that use
 * many: each floor's header (its slow halves' prototypes and its inline
 * fast paths, beside its .c file), lowest first, then the prototypes of
 * the files that have no header of their own (timer.c, symtab.c,
 * debug.c), grouped by file.  Types are in runtime.h; the floors and the
 * rule that every arrow points down are docs/design/layering.md.
 */
#ifndef GOC_INTERNAL_H
#define GOC_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "env.h"
#include "error.h"
#include "goc.h"
#include "runtime.h"

/* The floors below, each with its inline fast paths (lowest first). */
#include "lock.h"
#include "os.h"
#include "stack.h"
#include "goroutine.h"
#include "runq.h"
#include "proc.h"
#include "park.h"
#include "sigurg.h"

/* ---- spawn.c ---- */
/* goc_go for the runtime's own use (AfterFuncs): never yields, so it may
 * be called holding runtime locks.  pc: shown as the creator in dumps.
 * Returns: 0, GOC_ENOMEM, or GOC_EPERM (no run, or the run is ending). */
int goc__spawn(void (*fn)(void *), void *arg, uintptr_t pc);

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
/* Set the GOMAXPROCS the next run starts with (0: the default) without
 * reading it; returns the previous setting (run.c, for synctest.c). */
int goc__maxprocs_next_swap(int n);
bool goc__timers_pending(void);
/* A timer earlier than before was armed at when: wake the sleeper. */
void goc__timers_kick(int64_t when);
void goc__timers_teardown(goc__p *p); /* abandon p's timers; free heap */

/* ---- sysmon.c ---- */
int goc__sysmon_start(void); /* at the start of a run: 0 or -errno */
void goc__sysmon_stop(void); /* at its end, once exiting is set */
/* SIGQUIT's handler: send the signal on to sysmon, which dumps.
 * Returns: false on sysmon itself, outside a run, or when sysmon's thread
 * blocks SIGQUIT (dump here). */
bool goc__sysmon_forward_quit(void);
/* In a signal handler: is this sysmon, caught in one of its sleeps? */
bool goc__sysmon_quit_safe_here(void);

/* ---- leakcheck.c ---- */
/* The goroutines that wait for ever on abandoned channels, with their
 * dumps, to fd (GOCDEBUG=leakreport=1 at main's return).
 * Returns: how many. */
int goc__leak_report(int fd);

/* ---- srclines.c: file and line of a code address, through libdw when
 * the process can load it.  A dump brackets its lookups with open and
 * close (open: NULL when there are no lines to be had, or another dump
 * holds the session) ---- */
void *goc__srclines_open(void);
/* false: unknown.  *file lives until the next find or the close. */
bool goc__srclines_find(void *session, uintptr_t pc, const char **file,
                        int *line);
void goc__srclines_close(void *session);
/* This thread runs a signal handler of goc's that dumps: libdw_ok when
 * it may still use libdw (sysmon caught resting), else goc__srclines_open
 * gives none.  The handler does not return (the dump ends the process). */
void goc__srclines_in_handler(bool libdw_ok);
/* Where a CFI unwind starts: pc, sp and the callee-saved registers
 * (GOC__UREGS, runtime.h).  resumes: pc is where a parked goroutine
 * resumes (a return address), not an interrupted instruction. */
typedef struct goc__uregs {
    uintptr_t pc, sp;
    uintptr_t r[GOC__UREGS];
    bool resumes;
} goc__uregs;
/* The memory an unwind may read: a goroutine's stack [lo, hi), read from
 * copy (a copy of those bytes) unless copy is NULL. */
typedef struct goc__umem {
    uintptr_t lo, hi;
    const void *copy;
} goc__umem;
/* Unwind a goroutine with CFI from regs, reading nothing outside mem,
 * until stop(pc) (its entry) or max frames: each frame's code address
 * (inside the call) into pcs.
 * Returns: how many (0: no unwinder, or no frame could be found). */
int goc__srclines_unwind(void *session, const goc__uregs *regs,
                         const goc__umem *mem, bool (*stop)(uintptr_t pc),
                         uintptr_t *pcs, int max);

/* ---- symtab.c ---- */
const char *goc__symtab_lookup(const char *path, uintptr_t base, uintptr_t pc);
/* Build the table of the program's own code (the user text: what the
 * main executable holds of it, not goc's nor any library's), for
 * asynchronous preemption.  Once per process, outside signal handlers;
 * idempotent and thread-safe.  Returns: 0, or a negative code when it
 * cannot tell (-ENOEXEC: stripped or static executable; -errno; GOC_ENOMEM),
 * and then asynchronous preemption must stay off. */
int goc__user_text_init(void);
/* Is pc in the user text?  false before goc__user_text_init succeeded.
 * Async-signal-safe: no lock, no allocation. */
bool goc__pc_in_user_text(uintptr_t pc);
/* Does an STT_FILE symbol name one of goc's translation units? (tests) */
bool goc__symtab_is_goc_unit(const char *file);
/* Does a unit of the executable's own (not goc's) define a function named
 * with one of the NULL-terminated prefixes?  1, 0, or negative: cannot
 * tell (stripped). */
int goc__symtab_exe_has_unit_func(const char *const prefixes[]);

/* ---- sanitizer.c ---- */
/* Dies on a sanitizer goc lacks; warns once when a sanitized goc's program
 * is not instrumented or runs another compiler's runtime. */
void goc__sanitizer_check(void);

/* ---- debug.c ---- */
void goc__dump_all(int fd, goc__g *self);
/* goc_stack(all) in a buffer of its own (malloc'd, NUL-terminated, *len
 * bytes), grown to at most max bytes (*truncated: it needed more).
 * Returns: NULL when out of memory. */
char *goc__dump_text(size_t max, size_t *len, bool *truncated);

/* ---- debug_serve.c (test hooks) ---- */
/* Each connection's deadline (ns) for servers started from now on. */
extern int64_t goc__debug_serve_timeout;
/* The servers' goroutines that have not finished. */
int goc__debug_serve_live(void);

#endif /* GOC_INTERNAL_H */
