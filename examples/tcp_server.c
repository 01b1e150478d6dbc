/* SPDX-License-Identifier: MIT */
/*
 * tcp_server.c - the tour: a concurrent TCP server, one goroutine per
 * connection, and in the same program 100 clients that call it at once.
 * A connection's goroutine reads one line, upper-cases it and answers with
 * a greeting and a visitor number.  Closing the listener is the shutdown:
 * it wakes the accept loop with GOC_ECLOSED.  The Go it mirrors:
 *
 *     ln, _ := net.Listen("tcp", "127.0.0.1:0")
 *     go func() {
 *         for {
 *             conn, err := ln.Accept()
 *             if err != nil {
 *                 return // net.ErrClosed: the listener was closed
 *             }
 *             go handle(conn)
 *         }
 *     }()
 *     var wg sync.WaitGroup
 *     for i := 1; i <= 100; i++ {
 *         wg.Go(func() { ask(ln.Addr().String(), i) })
 *     }
 *     wg.Wait()
 *     ln.Close()
 */
#include <ctype.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <goc.h>

#include "must.h"

#define CLIENTS 100
#define LINE_LEN 128
/* Every connection, on either side, must be over by then: a lost wake-up
 * would show as an error here, not as a program that never ends. */
#define CONN_TIMEOUT (5 * GOC_SECOND)

/* ------------------------------------------------------------------------
 * Both sides speak in lines.
 * ------------------------------------------------------------------------ */

/* Read one line ending in '\n' into buf, NUL-terminated without the '\n'.
 * Each side sends one line and then waits for the other, so nothing after
 * the '\n' can arrive in the same read and get lost.
 * Returns: the line's length, GOC_EOF if the peer closed first, or the
 * goc_read error. */
static ssize_t read_line(int fd, char *buf, size_t cap, goc_ctx *ctx)
{
    size_t len = 0;
    while (len < cap - 1) {
        ssize_t n = goc_read(fd, buf + len, cap - 1 - len, ctx);
        if (n == 0)
            return GOC_EOF;
        if (n < 0)
            return n;
        len += (size_t)n;
        if (buf[len - 1] == '\n') {
            buf[len - 1] = '\0';
            return (ssize_t)(len - 1);
        }
    }
    return GOC_EINVAL; /* a line longer than the protocol allows */
}

/* Write the NUL-terminated s (goc_write writes all of it or fails). */
static ssize_t write_str(int fd, const char *s, goc_ctx *ctx)
{
    return goc_write(fd, s, strlen(s), ctx);
}

/* ------------------------------------------------------------------------
 * The server.
 * ------------------------------------------------------------------------ */

static atomic_int visitors;  /* the last visitor number handed out */
static atomic_int failures;  /* connections the server could not serve */
static goc_wg connections;   /* one per connection goroutine */

/* A connection's goroutine: one request, one answer, then close. */
static void handle(void *arg)
{
    int fd = (int)(intptr_t)arg;
    goc_ctx *ctx = goc_ctx_with_timeout(NULL, CONN_TIMEOUT);
    char line[LINE_LEN], reply[2 * LINE_LEN];
    ssize_t rc = read_line(fd, line, sizeof line, ctx);
    if (rc >= 0) {
        for (char *c = line; *c != '\0'; c++)
            *c = (char)toupper((unsigned char)*c);
        int visitor = atomic_fetch_add(&visitors, 1) + 1;
        snprintf(reply, sizeof reply, "HELLO, %s! YOU ARE VISITOR %d\n", line,
                 visitor);
        rc = write_str(fd, reply, ctx);
    }
    if (rc < 0)
        atomic_fetch_add(&failures, 1);
    goc_ctx_release(ctx);
    MUST(goc_close(fd));
}

struct server {
    int listener;
    int accept_err;      /* why the accept loop ended */
    goc_chan *stopped;   /* closed when the accept loop has ended */
};

static void accept_loop(void *arg)
{
    struct server *s = arg;
    for (;;) {
        int fd = goc_accept(s->listener, NULL);
        if (fd < 0) {
            s->accept_err = fd; /* GOC_ECLOSED once main closes it */
            break;
        }
        MUST(goc_wg_go(&connections, handle, (void *)(intptr_t)fd));
    }
    MUST(goc_chan_close(s->stopped));
}

/* ------------------------------------------------------------------------
 * The clients.
 * ------------------------------------------------------------------------ */

static char server_addr[GOC_ADDR_MAX];

struct client {
    int id;
    int visitor; /* the number in the answer */
    int err;     /* 0, or what went wrong */
};

static void client(void *arg)
{
    struct client *c = arg;
    goc_ctx *ctx = goc_ctx_with_timeout(NULL, CONN_TIMEOUT);
    int fd = goc_tcp_dial(server_addr, ctx);
    if (fd < 0) {
        c->err = fd;
        goto out;
    }
    char msg[LINE_LEN], reply[2 * LINE_LEN], want[2 * LINE_LEN];
    snprintf(msg, sizeof msg, "client %d\n", c->id);
    ssize_t rc = write_str(fd, msg, ctx);
    if (rc >= 0)
        rc = read_line(fd, reply, sizeof reply, ctx);
    if (rc < 0) {
        c->err = (int)rc;
    } else {
        /* The answer must be ours: our line, upper-cased, and a number. */
        const char *v = strrchr(reply, ' ');
        c->visitor = v != NULL ? atoi(v + 1) : 0;
        snprintf(want, sizeof want, "HELLO, CLIENT %d! YOU ARE VISITOR %d",
                 c->id, c->visitor);
        if (strcmp(reply, want) != 0)
            c->err = GOC_EINVAL;
    }
    MUST(goc_close(fd));
out:
    goc_ctx_release(ctx);
}

/* ------------------------------------------------------------------------
 * The program: start the server, call it 100 times at once, shut it down.
 * ------------------------------------------------------------------------ */

/* Every client got an answer, and the numbers were 1..CLIENTS, once each. */
static bool check(const struct client *cl)
{
    bool seen[CLIENTS + 1] = {false}, ok = true;
    for (int i = 0; i < CLIENTS; i++) {
        int v = cl[i].visitor;
        if (cl[i].err != 0) {
            printf("  client %d: %s\n", cl[i].id, goc_strerror(cl[i].err));
            ok = false;
        } else if (v < 1 || v > CLIENTS || seen[v]) {
            printf("  client %d: visitor number %d again\n", cl[i].id, v);
            ok = false;
        } else {
            seen[v] = true;
        }
    }
    return ok;
}

static void tour(void *arg)
{
    bool *ok = arg;
    static struct server s;
    static struct client cl[CLIENTS];

    s.listener = MUST_OK(goc_tcp_listen("127.0.0.1:0", 0));
    MUST_OK(goc_local_addr(s.listener, server_addr, sizeof server_addr));
    s.stopped = goc_chan_make(0, 0);
    MUST(goc_go(accept_loop, &s));
    printf("1. the server listens on 127.0.0.1:0 (the system picks a free "
           "port)\n   and accepts in a goroutine, a new goroutine for each "
           "connection\n");

    printf("2. %d clients call it at once, a goroutine each\n", CLIENTS);
    goc_wg clients = GOC_WG_INIT;
    for (int i = 0; i < CLIENTS; i++) {
        cl[i] = (struct client){.id = i + 1};
        MUST(goc_wg_go(&clients, client, &cl[i]));
    }
    goc_wg_wait(&clients);
    *ok = check(cl);
    printf("   client 1 sent \"client 1\" and heard \"HELLO, CLIENT 1! YOU "
           "ARE VISITOR n\",\n   n being its place in the order of arrival; "
           "every client checked its answer\n");

    printf("3. shutdown: main closes the listener, which wakes the accept "
           "loop\n");
    MUST(goc_close(s.listener));
    MUST_BE(goc_chan_recv(s.stopped, NULL), GOC_ECLOSED);
    goc_wg_wait(&connections); /* the handlers still finishing */
    printf("   goc_accept returned %s and the loop ended\n",
           goc_err_name(s.accept_err));
    if (s.accept_err != GOC_ECLOSED || atomic_load(&failures) != 0)
        *ok = false;
    goc_chan_release(s.stopped);

    printf("\nsummary: %d connections served, visitor numbers 1..%d each "
           "handed out once: %s\n",
           atomic_load(&visitors), CLIENTS, *ok ? "ok" : "FAILED");
}

int main(void)
{
    bool ok = false;
    if (goc_run(tour, &ok) != 0)
        return 1;
    return ok ? 0 : 1;
}
