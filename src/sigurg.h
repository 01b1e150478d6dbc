/* SPDX-License-Identifier: MIT */
/*
 * sigurg.h - goc's SIGURG: a request to one M's thread, answered by its
 * signal handler in the context the signal interrupted (sigurg.c).  Go
 * uses the same signal for the same reason: programs rarely use it (only
 * for out-of-band socket data, and its default action is to ignore it), so
 * an extra one is harmless.
 *
 * A request is a bit in m->sigreq.  The handler takes every bit with one
 * exchange and serves them in the order of the bits below; a SIGURG that
 * finds no bit was not goc's and goes to the handler the program had
 * before goc installed its own.
 */
#ifndef GOC_SIGURG_H
#define GOC_SIGURG_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime.h"

enum {
    /* Publish the interrupted context and hold the thread there until the
     * dumper lets go (debug.c walks the running goroutine's stack). */
    GOC__SIGREQ_DUMP = 1u << 0,
    /* Park the interrupted goroutine with its thread if it is at a safe
     * point (asynchronous preemption, preempt.c). */
    GOC__SIGREQ_PREEMPT = 1u << 1,
};

/* Install goc's SIGURG handler, keeping the program's to forward to.
 * Called by goc__signals_install (os_linux.c) at the start of a run.
 * Returns: 0 or -errno. */
int goc__sigurg_install(void);
/* Put the program's SIGURG action back (at the end of a run). */
void goc__sigurg_restore(void);

/* Set the bits req in m's request word and signal m's thread.
 * Only on: any thread; m must be an M of the run (Ms are freed only at
 * teardown).  Async-signal-safe.  Returns: 0 or -errno (tgkill's). */
int goc__sigurg_send(goc__m *m, uint32_t req);

/* Ask m's thread for the context a SIGURG interrupts and hold it there:
 * waits at most wait_ns for the answer.  Only the dump's owner asks, one
 * M at a time (debug.c: dumplock).
 * Returns: true with *out filled and m's thread held in its handler
 * (release it with goc__sigurg_dump_release, at once: the handler gives
 * up after GOC__SIGURG_HOLD_NS); false if m is the caller's own M, the
 * signal could not be sent, or no answer came in time (signals blocked,
 * or delayed as TSan and valgrind may).
 * May block: at most wait_ns, on a futex.  Async-signal-safe. */
bool goc__sigurg_dump_hold(goc__m *m, int64_t wait_ns, goc__sigctx *out);
/* Let m's thread go.  Returns: false if its handler had already given up
 * waiting (the thread ran on: what was read of its stack meanwhile may be
 * torn). */
bool goc__sigurg_dump_release(goc__m *m);

/* Who serves a PREEMPT request: called in the handler with the M and the
 * interrupted ucontext_t (preempt.c installs goc__preempt_signal, from a
 * floor above; a hook, as error.c's dump, so the call points down). */
typedef void (*goc__sigurg_preemptf)(goc__m *m, void *uc);
void goc__sigurg_on_preempt(goc__sigurg_preemptf f);

/* The registers a walk starts from, out of an interrupted ucontext_t
 * (g is left as it was).  Async-signal-safe. */
void goc__sigctx_of(const void *uc, goc__sigctx *c);

/* How long a handler holds its thread for a dumper at most. */
#define GOC__SIGURG_HOLD_NS (1000 * 1000 * 1000)

#endif /* GOC_SIGURG_H */
