/* SPDX-License-Identifier: MIT */
/*
 * compact.h - the stacks of long-parked goroutines, compacted (compact.c,
 * docs/design/parked-stacks.md).  Opt-in: GOCDEBUG=compactstacks=1.
 */
#ifndef GOC_COMPACT_H
#define GOC_COMPACT_H

#include "goc.h"

/* Start the stack thread if the run asked for compaction and the process
 * can have it (full userfaultfd, no sanitizer, not under valgrind); say
 * why not otherwise (goc_compact_stats_read).  Only on: the thread
 * starting a run, after goc__stack_init, before any goroutine runs. */
void goc__compact_start(void);
/* Stop the stack thread and free what it holds.  Only once no M runs (a
 * thread in a page fault of a compacted stack waits for the stack
 * thread): teardown, after the Ms are joined, before the slabs go. */
void goc__compact_stop(void);
/* The run is abandoned with Ms still running: the stack thread stays, for
 * them, and the process keeps it. */
void goc__compact_abandon(void);
/* Microseconds the stack thread sleeps before and after a batch's
 * write-protect: a knob for tests only. */
extern _Atomic uint32_t goc__compact_test_pause_us;

#endif /* GOC_COMPACT_H */
