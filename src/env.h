/* SPDX-License-Identifier: MIT */
/*
 * env.h - the environment variables goc reads (env.c), parsed in one place
 * (Go's GODEBUG).
 *
 * Invariants: goc__env is written only by goc__env_read, which runs when
 * the library is loaded and again at the start of every goc_run (before
 * any M exists), so every other reader, signal handlers included, sees a
 * settled struct and never calls getenv.
 */
#ifndef GOC_ENV_H
#define GOC_ENV_H

#include <stdbool.h>
#include <stdint.h>

enum {
    GOC__TRACEBACK_ALL,   /* default: dump every goroutine */
    GOC__TRACEBACK_NONE,  /* GOC_TRACEBACK=none: the first line only */
    GOC__TRACEBACK_CRASH, /* GOC_TRACEBACK=crash: dump with goc's own
                             frames, then abort() (a core file) */
    GOC__TRACEBACK_SYSTEM /* GOC_TRACEBACK=system: dump with goc's own
                             frames (the park and switch path) */
};

struct goc__env {
    int64_t gomaxprocs;  /* GOMAXPROCS; 0 when unset or not an integer */
    int64_t stack_size;  /* GOC_STACK_SIZE in bytes; 0 when unset/invalid */
    bool stack_guard_mprotect; /* GOC_STACK_GUARD=mprotect */
    int traceback;       /* GOC__TRACEBACK_* from GOC_TRACEBACK */
    bool debug_signals;  /* GOC_DEBUG_SIGNALS set: report passed-on faults */
    int64_t max_threads; /* GOC_MAXTHREADS (Go's debug.SetMaxThreads):
                            Ms a run may start; 0 when unset/invalid */
    bool async_preempt;  /* GOCDEBUG holds asyncpreempt=1 (Go's GODEBUG
                            asyncpreemptoff, the other way round: off by
                            default in goc) */
    uint64_t seed;       /* GOC_SEED: a synctest bubble's seed (decimal
                            or 0x hex); 0 when unset or invalid */
    bool compact_stacks; /* GOCDEBUG holds compactstacks=1: compact the
                            stacks of long-parked goroutines (compact.c) */
    int64_t compact_after_ms; /* GOCDEBUG compactafter=MS: how long parked
                            before; -1 when unset or invalid */
    bool leak_report;    /* GOCDEBUG holds leakreport=1: when main returns,
                            report the goroutines leaked (leakcheck.c) */
};

extern struct goc__env goc__env;

/* Parse the environment into goc__env.
 * Only on: a thread that no M or signal handler can race (load time, the
 * start of goc_run, goc_maxprocs before a run). */
void goc__env_read(void);

#endif /* GOC_ENV_H */
