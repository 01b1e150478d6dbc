/* SPDX-License-Identifier: MIT */
/* httphello through goc's HTTP server: the same fixed "Hello, World!"
 * answer as bench_httphello.c, but served by goc_http_server (the parser,
 * keep-alive, the response writer), as a program would write it.  Its twin
 * is bench/go/httphello_nethttp, the same server on Go's net/http; wrk is
 * the load of both (bench/run.sh, rows httphello_http_*).
 *
 *   bench_httphello_http [-addr 127.0.0.1:0] [-life 120]
 *
 * Prints the address it listens on as its first line (bench_net.h), then
 * serves until -life seconds have passed and exits. */
#include <stdio.h>
#include <stdlib.h>

#include <goc.h>
#include <goc/http.h>

#include "bench.h"
#include "bench_net.h"

static const char *addr;
static long life_s;

static void hello(goc_http_rw *w, goc_http_request *r, void *arg)
{
    (void)r;
    (void)arg;
    static const char body[] = "Hello, World!";
    (void)goc_http_reply(w, 200, "text/plain", body, sizeof body - 1);
}

struct serving {
    goc_http_server *srv;
    int fd;
};

static void serve(void *arg)
{
    struct serving *s = arg;
    int rc = goc_http_serve(s->srv, s->fd);
    if (rc != GOC_ECLOSED) {
        fprintf(stderr, "serve: %s\n", goc_strerror(rc));
        exit(1);
    }
}

static void bench_main(void *arg)
{
    (void)arg;
    int err = 0;
    goc_http_server_opts o = {.handler = hello};
    static struct serving s;
    s.srv = goc_http_server_new(&o, &err);
    if (s.srv == NULL) {
        fprintf(stderr, "server: %s\n", goc_strerror(err));
        exit(1);
    }
    s.fd = goc_tcp_listen(addr, 0);
    if (s.fd < 0) {
        fprintf(stderr, "listen %s: %s\n", addr, goc_strerror(s.fd));
        exit(1);
    }
    bench_print_addr(s.fd);
    BENCH_MUST(goc_go(serve, &s));
    goc_sleep(life_s * GOC_SECOND);
    fprintf(stderr, "httphello_http: life bound of %ld s reached\n", life_s);
    exit(0);
}

int main(int argc, char **argv)
{
    addr = bench_str_flag(argc, argv, "addr", "127.0.0.1:0");
    life_s = bench_flag(argc, argv, "life", 120);
    bench_raise_nofile();
    return goc_run(bench_main, NULL) == 0 ? 0 : 1;
}
