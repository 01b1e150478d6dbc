/* SPDX-License-Identifier: MIT */
/*
 * port_scanner.c - the tour: a port scanner.  A pool of workers takes
 * ports from a channel and dials each one with a timeout; main collects
 * the results.  So that the answer is known in advance, the program first
 * opens a few listeners of its own in the range it scans, and checks that
 * the ports found open are exactly those (exit status 1 if not).  One more
 * listener never answers (its accept queue is full, so the system drops
 * new connection requests): only the dial timeout tells it apart.  The Go
 * it mirrors:
 *
 *     ports := make(chan int)
 *     results := make(chan result, len(portList))
 *     for w := 0; w < workers; w++ {
 *         go func() {
 *             for p := range ports {
 *                 addr := fmt.Sprintf("127.0.0.1:%d", p)
 *                 conn, err := net.DialTimeout("tcp", addr, timeout)
 *                 if err == nil {
 *                     conn.Close()
 *                 }
 *                 results <- result{p, err}
 *             }
 *         }()
 *     }
 *     for _, p := range portList {
 *         ports <- p
 *     }
 *     close(ports)
 *     for range portList {
 *         r := <-results // open, refused, or timed out
 *     }
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <goc.h>

#include "must.h"

#define MS GOC_MILLISECOND
#define WORKERS 4
#define DIAL_TIMEOUT (200 * MS)
#define BLOCK 16 /* ports scanned */
/* Where the ports come from: below 32768, the start of Linux's usual range
 * for the local ports of outgoing connections, so that no dial of the
 * scan can be given the very port it dials (a TCP "self-connect"). */
#define FIRST_PORT 20000
#define LAST_PORT 32767

/* What a dial says about a port. */
enum { OPEN, REFUSED, TIMED_OUT, OTHER };

/* The ports of the block that stay open, and the one that never answers,
 * as offsets from its first port. */
static const int open_offsets[] = {2, 7, 11};
#define N_OPEN (int)(sizeof open_offsets / sizeof open_offsets[0])
#define STALLED_OFFSET 13

/* ------------------------------------------------------------------------
 * The scan.
 * ------------------------------------------------------------------------ */

struct result {
    int port;
    int state; /* OPEN, REFUSED, TIMED_OUT or OTHER */
    int err;   /* the dial's error */
};

struct scan {
    goc_chan *ports;   /* chan int: the work */
    goc_chan *results; /* chan struct result, one per port */
};

/* Dial port on 127.0.0.1, giving up after timeout (net.DialTimeout).
 * Returns: the connection, or the dial's error. */
static int dial_port(int port, int64_t timeout)
{
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    goc_ctx *ctx = goc_ctx_with_timeout(NULL, timeout);
    int fd = goc_tcp_dial(addr, ctx);
    goc_ctx_release(ctx);
    return fd;
}

static struct result probe(int port)
{
    int fd = dial_port(port, DIAL_TIMEOUT);
    struct result r = {port, OTHER, fd < 0 ? fd : 0};
    if (fd >= 0) {
        r.state = OPEN;
        MUST(goc_close(fd));
    } else if (fd == -ECONNREFUSED) {
        r.state = REFUSED; /* nobody listens: the system said so at once */
    } else if (fd == GOC_ETIMEDOUT) {
        r.state = TIMED_OUT; /* no answer at all */
    }
    return r;
}

static void worker(void *arg)
{
    struct scan *s = arg;
    int port;
    while (goc_chan_recv(s->ports, &port) == 0) { /* until ports is closed */
        struct result r = probe(port);
        MUST(goc_chan_send(s->results, &r));
    }
}

/* ------------------------------------------------------------------------
 * The known answer: listeners of our own.
 * ------------------------------------------------------------------------ */

/* Listen on each of the BLOCK ports from base.  If one is taken, somebody
 * else listens there and the answer would not be known: close what was
 * opened and return false.  The listener at STALLED_OFFSET gets a backlog
 * of 1: two waiting connections fill its accept queue. */
static bool claim(int base, int fds[BLOCK])
{
    for (int i = 0; i < BLOCK; i++) {
        char addr[32];
        snprintf(addr, sizeof addr, "127.0.0.1:%d", base + i);
        fds[i] = goc_tcp_listen(addr, i == STALLED_OFFSET ? 1 : 0);
        if (fds[i] < 0) {
            while (--i >= 0)
                MUST(goc_close(fds[i]));
            return false;
        }
    }
    return true;
}

/* Fill the accept queue of the listener on port: connect, and never
 * accept, until a connection request goes unanswered.  fillers[] keeps
 * the connections (the queue must stay full) for the caller to close.
 * Returns: how many it took, or -1 if max did not fill it. */
static int stall(int port, int fillers[], int max)
{
    for (int n = 0; n < max; n++) {
        int fd = dial_port(port, DIAL_TIMEOUT);
        if (fd == GOC_ETIMEDOUT)
            return n;
        fillers[n] = MUST_OK(fd);
    }
    return -1;
}

/* Claim a block of ports nobody else uses, starting at a place that
 * depends on the process id, so that two copies of the program running at
 * once look at different blocks first.  Then close all but the ones that
 * stay open and the stalled one.  Returns: the first port. */
static int open_listeners(int fds[BLOCK])
{
    int blocks = (LAST_PORT - FIRST_PORT + 1) / BLOCK;
    int start = (int)(getpid() % blocks);
    for (int k = 0; k < 100; k++) {
        int base = FIRST_PORT + (start + k) % blocks * BLOCK;
        if (!claim(base, fds))
            continue;
        for (int i = 0; i < BLOCK; i++) {
            bool keep = i == STALLED_OFFSET;
            for (int j = 0; j < N_OPEN; j++)
                keep = keep || i == open_offsets[j];
            if (!keep) {
                MUST(goc_close(fds[i]));
                fds[i] = -1;
            }
        }
        return base;
    }
    fprintf(stderr, "no free block of %d ports in %d..%d\n", BLOCK,
            FIRST_PORT, LAST_PORT);
    exit(1);
}

/* ------------------------------------------------------------------------
 * The program.
 * ------------------------------------------------------------------------ */

/* Scan the BLOCK ports from base with WORKERS workers; results[i] is the
 * result for port base + i. */
static void scan(int base, struct result results[BLOCK])
{
    struct scan s = {goc_chan_make(sizeof(int), 0),
                     goc_chan_make(sizeof(struct result), BLOCK)};
    for (int w = 0; w < WORKERS; w++)
        MUST(goc_go(worker, &s));
    for (int i = 0; i < BLOCK; i++) {
        int port = base + i;
        MUST(goc_chan_send(s.ports, &port));
    }
    MUST(goc_chan_close(s.ports));
    for (int i = 0; i < BLOCK; i++) {
        struct result r;
        MUST(goc_chan_recv(s.results, &r)); /* in the order they finish */
        results[r.port - base] = r;
    }
    /* The workers have left their loops (every port was handed out and
     * answered) or will at their next receive, which sees the close. */
    goc_chan_release(s.ports);
    goc_chan_release(s.results);
}

/* What the scan must find at base + i. */
static int expected(int i)
{
    for (int j = 0; j < N_OPEN; j++)
        if (i == open_offsets[j])
            return OPEN;
    return i == STALLED_OFFSET ? TIMED_OUT : REFUSED;
}

/* Print the ports found in state, or (list false) how many there are. */
static void print_ports(const char *label, const struct result results[BLOCK],
                        int state, bool list)
{
    int n = 0;
    printf("   %-10s", label);
    for (int i = 0; i < BLOCK; i++) {
        if (results[i].state != state)
            continue;
        if (list)
            printf(" %d", results[i].port);
        n++;
    }
    if (!list)
        printf(" %d ports", n);
    printf("\n");
}

static void tour(void *arg)
{
    bool *ok = arg;
    int fds[BLOCK], fillers[8];
    int base = open_listeners(fds);
    int n_fillers = stall(base + STALLED_OFFSET, fillers, 8);
    if (n_fillers < 0) {
        fprintf(stderr, "8 connections did not fill a backlog of 1\n");
        exit(1);
    }
    printf("1. the program listened on every port of 127.0.0.1:%d..%d, "
           "proof that\n   nobody else does; then it closed all but",
           base, base + BLOCK - 1);
    for (int j = 0; j < N_OPEN; j++)
        printf(" %d", base + open_offsets[j]);
    printf(" and %d,\n   whose accept queue it filled with %d connections "
           "that nobody accepts\n", base + STALLED_OFFSET, n_fillers);

    printf("2. %d workers scan ports %d..%d, with a %lld ms timeout for "
           "each dial:\n", WORKERS, base, base + BLOCK - 1,
           (long long)(DIAL_TIMEOUT / MS));
    struct result results[BLOCK];
    scan(base, results);
    print_ports("open:", results, OPEN, true);
    print_ports("timed out:", results, TIMED_OUT, true);
    print_ports("refused:", results, REFUSED, false);
    *ok = true;
    for (int i = 0; i < BLOCK; i++) {
        if (results[i].state == expected(i))
            continue;
        printf("   port %d: unexpected %s\n", results[i].port,
               results[i].err != 0 ? goc_strerror(results[i].err) : "open");
        *ok = false;
    }

    for (int i = 0; i < BLOCK; i++)
        if (fds[i] >= 0)
            MUST(goc_close(fds[i]));
    for (int i = 0; i < n_fillers; i++)
        MUST(goc_close(fillers[i]));
    printf("\nsummary: the scan found the ports the program opened, and "
           "no other: %s\n", *ok ? "ok" : "FAILED");
}

int main(void)
{
    bool ok = false;
    if (goc_run(tour, &ok) != 0)
        return 1;
    return ok ? 0 : 1;
}
