/* SPDX-License-Identifier: MIT */
/*
 * echo_server.c - the tour: an echo server that drops idle clients, and
 * three clients in the same program.  Each read of the server gets its own
 * deadline (a context with a timeout): a client that says nothing for
 * IDLE is dropped.  A client that is done sending half-closes the
 * connection (goc_close_write): the server's read returns 0, end of
 * stream, while the client can still read the rest of the answer.  The Go
 * it mirrors:
 *
 *     func echo(conn net.Conn) {
 *         defer conn.Close()
 *         buf := make([]byte, 512)
 *         for {
 *             conn.SetReadDeadline(time.Now().Add(idle))
 *             n, err := conn.Read(buf)
 *             if err != nil {
 *                 return // io.EOF: the client is done; a timeout: idle
 *             }
 *             conn.Write(buf[:n])
 *         }
 *     }
 *
 *     // a client that sends everything, then reads everything back
 *     conn.Write(data)
 *     conn.(*net.TCPConn).CloseWrite()
 *     echoed, _ := io.ReadAll(conn)
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <goc.h>

#include "must.h"

#define MS GOC_MILLISECOND
#define IDLE (250 * MS) /* the server drops a client silent for this long */
/* No client call waits longer than this: a bug shows as an error. */
#define CLIENT_TIMEOUT (5 * GOC_SECOND)

/* ------------------------------------------------------------------------
 * The server.
 * ------------------------------------------------------------------------ */

static atomic_int ended_by_eof;  /* connections the client half-closed */
static atomic_int ended_by_idle; /* connections dropped for silence */
static atomic_int ended_by_error;
static goc_wg connections;

/* Echo until the client half-closes, goes quiet for IDLE, or fails. */
static void echo(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[512];
    ssize_t n;
    do {
        /* A fresh deadline for every read, SetReadDeadline in a loop; the
         * echo's write shares it, so a client that stops reading cannot
         * hold the goroutine either. */
        goc_ctx *ctx = goc_ctx_with_timeout(NULL, IDLE);
        n = goc_read(fd, buf, sizeof buf, ctx);
        if (n > 0)
            n = goc_write(fd, buf, (size_t)n, ctx);
        goc_ctx_release(ctx);
    } while (n > 0);
    if (n == 0)
        atomic_fetch_add(&ended_by_eof, 1);
    else if (n == GOC_ETIMEDOUT)
        atomic_fetch_add(&ended_by_idle, 1);
    else
        atomic_fetch_add(&ended_by_error, 1);
    MUST(goc_close(fd));
}

static void accept_loop(void *arg)
{
    int listener = (int)(intptr_t)arg, fd;
    while ((fd = goc_accept(listener, NULL)) >= 0) /* until main closes it */
        MUST(goc_wg_go(&connections, echo, (void *)(intptr_t)fd));
    MUST_BE(fd, GOC_ECLOSED);
}

/* ------------------------------------------------------------------------
 * The clients.  Each writes what it saw into its own report, which main
 * prints in order once they are done: the output does not depend on who
 * finished first.
 * ------------------------------------------------------------------------ */

static char server_addr[GOC_ADDR_MAX];

struct client {
    const char *name;
    void (*talk)(struct client *c, int fd, goc_ctx *ctx);
    char report[256];
    bool ok;
};

/* Record c's report, and whether it is what the tour expects. */
static void say(struct client *c, bool ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->report, sizeof c->report, fmt, ap);
    va_end(ap);
    c->ok = ok;
}

/* Read exactly n bytes (io.ReadFull): TCP may deliver them in pieces.
 * Returns: n, 0 if the stream ended first, or an error. */
static ssize_t read_full(int fd, char *buf, size_t n, goc_ctx *ctx)
{
    for (size_t len = 0; len < n;) {
        ssize_t got = goc_read(fd, buf + len, n - len, ctx);
        if (got <= 0)
            return got;
        len += (size_t)got;
    }
    return (ssize_t)n;
}

/* Read until end of stream (io.ReadAll).
 * Returns: the bytes read, or an error. */
static ssize_t read_all(int fd, char *buf, size_t cap, goc_ctx *ctx)
{
    size_t len = 0;
    for (;;) {
        ssize_t n = goc_read(fd, buf + len, cap - len, ctx);
        if (n <= 0)
            return n == 0 ? (ssize_t)len : n;
        len += (size_t)n;
        if (len == cap)
            return GOC_EINVAL; /* more than the client ever sent */
    }
}

/* alice talks in turns: a line, its echo, three times; then she
 * half-closes, and her next read sees the end of stream of the server's
 * close. */
static void alice(struct client *c, int fd, goc_ctx *ctx)
{
    static const char *const lines[] = {"one\n", "two\n", "three\n"};
    for (int i = 0; i < 3; i++) {
        size_t len = strlen(lines[i]);
        char back[16];
        ssize_t n = goc_write(fd, lines[i], len, ctx);
        if (n >= 0)
            n = read_full(fd, back, len, ctx);
        if (n != (ssize_t)len || memcmp(back, lines[i], len) != 0) {
            say(c, false, "echo %d: %s", i + 1,
                n < 0 ? goc_strerror((int)n) : "WRONG");
            return;
        }
    }
    MUST(goc_close_write(fd));
    char back[8];
    ssize_t n = goc_read(fd, back, sizeof back, ctx);
    say(c, n == 0, "3 lines echoed in turn; half-closed; her next read "
                   "returned %zd", n);
}

/* bob sends everything at once, half-closes to say "that is all", and
 * reads the echo until end of stream: no length prefix needed. */
static void bob(struct client *c, int fd, goc_ctx *ctx)
{
    static const char data[] = "a line\nanother line\nthe last line\n";
    char back[sizeof data];
    MUST_BE(goc_write(fd, data, sizeof data - 1, ctx), (int)sizeof data - 1);
    MUST(goc_close_write(fd));
    ssize_t n = read_all(fd, back, sizeof back, ctx);
    bool ok = n == (ssize_t)sizeof data - 1 && memcmp(back, data, n) == 0;
    say(c, ok, "sent %zu bytes, half-closed, read %zd back until end of "
               "stream: %s", sizeof data - 1, n, ok ? "the same" : "WRONG");
}

/* carol says hello, hears it back, then goes quiet and waits: the server's
 * idle deadline ends the connection, and her read returns 0. */
static void carol(struct client *c, int fd, goc_ctx *ctx)
{
    char back[8];
    MUST_BE(goc_write(fd, "hello\n", 6, ctx), 6);
    MUST_BE(read_full(fd, back, 6, ctx), 6);
    int64_t t0 = goc_now();
    ssize_t n = goc_read(fd, back, sizeof back, ctx);
    int64_t waited = goc_now() - t0;
    /* The server's clock started a moment before hers: allow some slack. */
    bool ok = n == 0 && waited > IDLE / 2 && waited < CLIENT_TIMEOUT;
    say(c, ok, "said hello, then nothing; her read returned %zd after "
               "~%lld ms: dropped", n, (long long)(IDLE / MS));
}

static void client(void *arg)
{
    struct client *c = arg;
    goc_ctx *ctx = goc_ctx_with_timeout(NULL, CLIENT_TIMEOUT);
    int fd = goc_tcp_dial(server_addr, ctx);
    if (fd < 0) {
        say(c, false, "dial: %s", goc_strerror(fd));
    } else {
        c->talk(c, fd, ctx);
        MUST(goc_close(fd));
    }
    goc_ctx_release(ctx);
}

/* ------------------------------------------------------------------------
 * The program.
 * ------------------------------------------------------------------------ */

static void tour(void *arg)
{
    bool *ok = arg;
    int listener = MUST_OK(goc_tcp_listen("127.0.0.1:0", 0));
    MUST_OK(goc_local_addr(listener, server_addr, sizeof server_addr));
    MUST(goc_go(accept_loop, (void *)(intptr_t)listener));
    printf("an echo server that drops a client silent for %lld ms, and "
           "three clients at once:\n", (long long)(IDLE / MS));

    static struct client clients[] = {
        {.name = "alice", .talk = alice},
        {.name = "bob", .talk = bob},
        {.name = "carol", .talk = carol},
    };
    enum { N = sizeof clients / sizeof clients[0] };
    goc_wg wg = GOC_WG_INIT;
    for (int i = 0; i < N; i++)
        MUST(goc_wg_go(&wg, client, &clients[i]));
    goc_wg_wait(&wg);
    *ok = true;
    for (int i = 0; i < N; i++) {
        printf("  %-6s%s\n", clients[i].name, clients[i].report);
        *ok = *ok && clients[i].ok;
    }

    MUST(goc_close(listener));
    goc_wg_wait(&connections);
    int eof = atomic_load(&ended_by_eof), idle = atomic_load(&ended_by_idle);
    int bad = atomic_load(&ended_by_error);
    printf("the server: %d connections ended by the client's half-close "
           "(read returned 0),\n  %d dropped when a read's deadline passed "
           "(GOC_ETIMEDOUT), %d failed\n", eof, idle, bad);
    *ok = *ok && eof == 2 && idle == 1 && bad == 0;
    printf("\nsummary: %s\n", *ok ? "ok" : "FAILED");
}

int main(void)
{
    bool ok = false;
    if (goc_run(tour, &ok) != 0)
        return 1;
    return ok ? 0 : 1;
}
