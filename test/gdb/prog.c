/* SPDX-License-Identifier: MIT */
/*
 * prog.c - goroutines in known states for the gdb extension's test
 * (check.sh): parked on a channel receive, on a mutex and in a sleep, one
 * that has never run, and the main goroutine, which stops in
 * test_gdb_here() where gdb has its breakpoint.
 *
 * One P, so the goroutine spawned last cannot run before the breakpoint;
 * main waits until goc's own dump (goc_stack) shows the three others
 * parked with their wait reasons, then stops.  The one race left is
 * sysmon's: a P whose goroutine has not come back to the scheduler for
 * 20 ms while work waits (the sleeper's timer is work) gets a P lent
 * beside it (sysmon.c, lend), and a lent P could run the last goroutine.
 * A dump is slow enough for that, so main then yields for a while
 * (switching: not stuck), and sysmon takes the P back; what is left is
 * gdb taking over 20 ms to stop every thread at the breakpoint.  The last
 * goroutine records in gdb_never_ran_started that it ran after all, and
 * check.sh tries such a run again.  Each goroutine records its id for
 * gdb ("eval" with the *_goid variables).
 * The lines check.sh looks for carry a GDB_LINE_ comment.  Each blocking
 * call is followed by a compiler barrier, so that an optimising build does
 * not turn it into a tail call and lose the caller's frame.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "goc.h"

#define BARRIER() __asm__ volatile("" ::: "memory")

int64_t gdb_receiver_goid, gdb_locker_goid, gdb_sleeper_goid;
volatile int gdb_never_ran_started;
static goc_chan *never; /* nobody sends on it */
static goc_mutex mu;    /* main holds it */

__attribute__((noinline)) void test_gdb_here(void)
{
    BARRIER();
}

__attribute__((noinline)) static void gdb_receiver(void *arg)
{
    (void)arg;
    int v;
    gdb_receiver_goid = goc_id();
    if (goc_chan_recv(never, &v) != 0) /* GDB_LINE_RECV */
        abort();
    BARRIER();
}

__attribute__((noinline)) static void gdb_locker(void *arg)
{
    (void)arg;
    gdb_locker_goid = goc_id();
    goc_mutex_lock(&mu); /* GDB_LINE_LOCK */
    BARRIER();
    goc_mutex_unlock(&mu);
}

__attribute__((noinline)) static void gdb_sleeper(void *arg)
{
    (void)arg;
    gdb_sleeper_goid = goc_id();
    goc_sleep(3600 * 1000000000LL); /* GDB_LINE_SLEEP */
    BARRIER();
}

__attribute__((noinline)) static void gdb_never_ran(void *arg)
{
    (void)arg;
    int v;
    gdb_never_ran_started = 1; /* main's breakpoint should have come first */
    if (goc_chan_recv(never, &v) != 0)
        abort();
}

/* Are the three parked, as goc's own dump tells? */
static bool all_parked(void)
{
    static char buf[1 << 16];
    goc_stack(buf, sizeof buf, true);
    return strstr(buf, "[chan receive]:") != NULL &&
           strstr(buf, "[sync.Mutex.Lock]:") != NULL &&
           strstr(buf, "[sleep] \"sleeper\":") != NULL;
}

__attribute__((noinline)) static void gdb_main(void *arg)
{
    (void)arg;
    never = goc_chan_make(sizeof(int), 0);
    goc_mutex_lock(&mu);
    goc_spawn_opts sleeper = {.name = "sleeper"};
    if (never == NULL || goc_go(gdb_receiver, NULL) != 0 ||
        goc_go(gdb_locker, NULL) != 0 ||
        goc_go_opts(&sleeper, gdb_sleeper, NULL) != 0)
        abort();
    int64_t deadline = goc_now() + 60 * 1000000000LL;
    while (!all_parked()) {
        if (goc_now() > deadline) {
            fprintf(stderr, "prog: the goroutines did not park\n");
            exit(1);
        }
        goc_yield();
    }
    /* A dump takes a while (it reads the line tables): sysmon may have
     * lent a P meanwhile.  Switching often for longer than sysmon takes
     * to notice (10 ms) has it take the P back. */
    for (int64_t until = goc_now() + 50 * 1000000LL; goc_now() < until;)
        goc_yield();
    if (goc_go(gdb_never_ran, NULL) != 0)
        abort();
    test_gdb_here(); /* GDB_LINE_HERE */
    BARRIER();
    exit(0);
}

int main(void)
{
    goc_maxprocs(1);
    return goc_run(gdb_main, NULL);
}
