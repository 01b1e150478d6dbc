/* SPDX-License-Identifier: MIT */
/*
 * blocking_call.c - the tour: a call that blocks its thread, declared with
 * goc_blocking_begin/goc_blocking_end, while other goroutines go on
 * running.  With GOMAXPROCS=1 there is one P: a goroutine that sits in a
 * blocking read(2) holds it, and nothing else could run (as the spinning
 * main of gomaxprocs1.c showed).  Declared, the read gives the P up for
 * its duration: goc's monitor hands it to another thread, and the ticker
 * goroutine ticks on while main waits in the kernel.  Go declares every
 * system call and cgo call itself (entersyscall/exitsyscall); in C, goc
 * cannot see a read(2), a sleep(3) or a library's synchronous query, so
 * the program says so.  (An undeclared call is caught too, later: after
 * 10 ms the monitor lends a P beside the stuck one.)  The Go it mirrors:
 *
 *     runtime.GOMAXPROCS(1)
 *     go func() { // the ticker
 *         for range time.Tick(10 * time.Millisecond) {
 *             ticks.Add(1)
 *         }
 *     }()
 *     go func() { // the other end of the pipe, 100 ms later
 *         time.Sleep(100 * time.Millisecond)
 *         w.Write([]byte{1})
 *     }()
 *     syscall.Read(r, buf) // the runtime's entersyscall/exitsyscall
 *
 * Then main returns with a goroutine still blocked in a read that nothing
 * will ever end.  As in Go, that does not keep the program alive: goc_run
 * returns, and the thread stuck in the call is left to the process, which
 * exits.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

#include <goc.h>

#include "must.h"

#define MS GOC_MILLISECOND
#define TICK (10 * MS)
#define CALL (100 * MS) /* how long main's read(2) waits for its byte */

static atomic_long ticks;
static goc_chan *done; /* closed when the ticker must stop */
static goc_wg ticker_wg;

static void ticker_loop(void *arg)
{
    (void)arg;
    goc_ticker *tk = goc_ticker_new(TICK);
    goc_case cs[2] = {GOC_RECV_CASE(goc_ticker_chan(tk), NULL),
                      GOC_RECV_CASE(done, NULL)};
    int i;
    while ((i = goc_select(cs, 2)) == 0)
        atomic_fetch_add(&ticks, 1);
    MUST_BE(i, 1); /* done was closed */
    goc_ticker_free(tk);
}

/* Write one byte into the pipe after CALL: the end of main's read. */
static void writer(void *arg)
{
    int fd = (int)(intptr_t)arg;
    goc_sleep(CALL);
    MUST_BE((int)write(fd, "x", 1), 1); /* a pipe with room: at once */
}

/* A goroutine that blocks in a read nobody will answer. */
static atomic_bool stuck_started;

static void stuck(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char b;
    atomic_store(&stuck_started, true);
    goc_blocking_begin();
    ssize_t n = read(fd, &b, 1); /* never returns: nobody writes */
    goc_blocking_end();
    fprintf(stderr, "unexpected: the read returned %zd\n", n);
}

static void tour(void *arg)
{
    bool *ok = arg;
    int p[2], q[2];
    MUST(pipe(p));
    MUST(pipe(q));
    done = goc_chan_make(0, 0);

    printf("1. GOMAXPROCS=%d; a ticker goroutine ticks every %lld ms, and "
           "main reads\n   a byte from a pipe with read(2): it comes "
           "%lld ms later\n", goc_maxprocs(0), (long long)(TICK / MS),
           (long long)(CALL / MS));
    MUST(goc_wg_go(&ticker_wg, ticker_loop, NULL));
    MUST(goc_go(writer, (void *)(intptr_t)p[1]));
    long before = atomic_load(&ticks);
    int64_t t0 = goc_now();
    char b;
    goc_blocking_begin(); /* from here to the end: call nothing of goc's */
    ssize_t n = read(p[0], &b, 1);
    goc_blocking_end();
    long during = atomic_load(&ticks) - before;
    int64_t took = goc_now() - t0;
    MUST_BE((int)n, 1);
    MUST(goc_chan_close(done));
    goc_wg_wait(&ticker_wg);
    goc_chan_release(done);
    /* Expect about CALL / TICK ticks; a busy machine may lose a few. */
    *ok = during >= CALL / TICK / 2 && took >= CALL - MS;
    printf("   the read took %s %lld ms, and the ticker ticked %ld times "
           "meanwhile:\n   the only P went on running goroutines while "
           "main's thread waited\n", took >= CALL - MS ? "at least" : "only",
           (long long)(CALL / MS), during);

    printf("2. a goroutine blocks in a read(2) that nobody will answer, "
           "and main returns\n");
    MUST(goc_go(stuck, (void *)(intptr_t)q[0]));
    while (!atomic_load(&stuck_started))
        goc_sleep(MS);
    goc_sleep(10 * MS); /* time enough to be inside read(2) */
}

int main(void)
{
    bool ok = false;
    goc_maxprocs(1); /* the value the run starts with */
    int rc = goc_run(tour, &ok);
    printf("   goc_run returned %d: the thread stuck in read(2) is left to "
           "the process,\n   which exits now, as a Go program does\n", rc);
    printf("\nsummary: %s\n", ok && rc == 0 ? "ok" : "FAILED");
    return ok && rc == 0 ? 0 : 1;
}
