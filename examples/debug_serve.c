/* SPDX-License-Identifier: MIT */
/*
 * debug_serve.c - the tour: a program's goroutines over HTTP with
 * goc_debug_serve.  A few workers wait on a queue and a "leaked" sender
 * is stuck for ever; the program fetches its own /debug/goroutines?debug=1
 * (the goroutines grouped by stack) and /debug/vars, prints them, and
 * stops the server.
 *
 *     ./debug_serve                  one look, then exit
 *     ./debug_serve 127.0.0.1:6060 60   serve for 60 s: try
 *         curl 'http://127.0.0.1:6060/debug/goroutines?debug=2'
 *     or open http://127.0.0.1:6060/debug/ in a browser.
 * Listen on loopback only: whoever can connect sees every stack.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <goc.h>

#include "must.h"

static void worker(void *arg)
{
    int job;
    while (goc_chan_recv(arg, &job) == 0) {
    }
}

static void leaked_sender(void *arg)
{
    int v = 1;
    (void)!goc_chan_send(arg, &v); /* nobody ever receives */
}

/* GET path from addr; print the response's body. */
static void fetch(const char *addr, const char *path)
{
    goc_ctx *ctx = goc_ctx_with_timeout(NULL, 10 * GOC_SECOND);
    int fd = MUST_OK(goc_tcp_dial(addr, ctx));
    char req[256];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n",
                     path, addr);
    MUST_OK(goc_write(fd, req, (size_t)n, ctx));
    static char resp[1 << 16];
    size_t len = 0;
    ssize_t r;
    while (len < sizeof resp - 1 &&
           (r = goc_read(fd, resp + len, sizeof resp - 1 - len, ctx)) > 0)
        len += (size_t)r;
    resp[len] = '\0';
    goc_close(fd);
    goc_ctx_release(ctx);
    const char *body = strstr(resp, "\r\n\r\n");
    printf("$ curl 'http://%s%s'\n%s\n", addr, path, body ? body + 4 : resp);
}

struct args {
    const char *addr;
    long seconds;
};

static void tour(void *arg)
{
    struct args *a = arg;
    goc_chan *jobs = goc_chan_make(sizeof(int), 0);
    goc_chan *nobody = goc_chan_make(sizeof(int), 0);
    for (int i = 0; i < 3; i++)
        MUST(goc_go(worker, jobs));
    MUST(goc_go(leaked_sender, nobody));
    goc_sleep(10 * GOC_MILLISECOND); /* let them reach their channels */

    int srv = MUST_OK(goc_debug_serve(a->addr));
    char addr[GOC_ADDR_MAX];
    MUST_OK(goc_local_addr(srv, addr, sizeof addr));
    printf("debug_serve: serving http://%s/debug/ (%d goroutines)\n\n", addr,
           goc_num_goroutine());
    fetch(addr, "/debug/goroutines?debug=1");
    fetch(addr, "/debug/vars");
    if (a->seconds > 0) {
        printf("debug_serve: serving for %ld s more\n", a->seconds);
        fflush(stdout);
        goc_sleep(a->seconds * GOC_SECOND);
    }
    MUST(goc_debug_serve_stop(srv));
    MUST(goc_chan_close(jobs));
    goc_chan_release(jobs);
    printf("debug_serve: stopped\n");
}

int main(int argc, char **argv)
{
    struct args a = {argc > 1 ? argv[1] : "127.0.0.1:0",
                     argc > 2 ? atol(argv[2]) : 0};
    MUST(goc_run(tour, &a));
    return 0;
}
