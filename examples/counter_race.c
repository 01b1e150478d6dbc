/* SPDX-License-Identifier: MIT */
/*
 * counter_race.c - the tour: `counter++` from many goroutines at once is
 * a data race (build with -fsanitize=thread to see TSan report it), and
 * two fixes: an atomic counter, and a goroutine that owns the counter and
 * takes increments from a channel ("share memory by communicating").  The
 * mutex fix comes with goc_mutex (the sync step of the tour).
 */
#include <stdatomic.h>
#include <stdio.h>

#include <goc.h>

#define G 8
#define N 10000

static long racy;
static atomic_long atomic_counter;
static goc_chan *incr, *done;

static void racy_worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < N; i++) {
        long v = racy; /* read, add, write: increments get lost */
        if (i % 64 == 0)
            goc_yield(); /* widen the window, as a busy program would */
        racy = v + 1;
    }
    goc_chan_send(done, NULL);
}

static void atomic_worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < N; i++)
        atomic_fetch_add(&atomic_counter, 1);
    goc_chan_send(done, NULL);
}

static void channel_worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < N; i++)
        goc_chan_send(incr, NULL);
    goc_chan_send(done, NULL);
}

static long owned; /* touched only by owner() */
static void owner(void *arg)
{
    goc_chan *result = arg;
    while (goc_chan_recv(incr, NULL) == 0)
        owned++;
    goc_chan_send(result, &owned);
}

static void run(void (*fn)(void *))
{
    for (int g = 0; g < G; g++)
        goc_go(fn, NULL);
    for (int g = 0; g < G; g++)
        goc_chan_recv(done, NULL);
}

static void tour(void *arg)
{
    (void)arg;
    done = goc_chan_make(0, 0);
    run(racy_worker);
    printf("counter++ from %d goroutines:   %ld (want %d; lost updates%s)\n",
           G, racy, G * N, racy == G * N ? " happened not to show" : "");
    run(atomic_worker);
    printf("fix 1, atomic_fetch_add:        %ld\n", atomic_load(&atomic_counter));
    incr = goc_chan_make(0, 64);
    goc_chan *result = goc_chan_make(sizeof(long), 0);
    goc_go(owner, result);
    run(channel_worker);
    goc_chan_close(incr); /* the owner sees the end and reports */
    long total;
    goc_chan_recv(result, &total);
    printf("fix 2, one owner + a channel:   %ld\n", total);
    goc_chan_release(incr);
    goc_chan_release(result);
    goc_chan_release(done);
}

int main(void)
{
    return goc_run(tour, NULL) == 0 ? 0 : 1;
}
