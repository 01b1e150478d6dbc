/* SPDX-License-Identifier: MIT */
/*
 * park.h - parking and readying goroutines (park.c); the inline
 * goc__ready_m is in runq.h, beside the queues it puts the G on.
 */
#ifndef GOC_PARK_H
#define GOC_PARK_H

#include <stdbool.h>

#include "runtime.h"

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

#endif /* GOC_PARK_H */
