/* SPDX-License-Identifier: MIT */
/* aggregator: an HTTP front whose handler asks three backends at once and
 * answers with their combined bodies, the shape of the tour's
 * examples/http_aggregator.c under load.  All four servers run in this
 * process on goc's HTTP layer; the front's calls go through one
 * goc_http_client that keeps up to 256 idle connections per backend, so
 * that under load every call reuses a connection.  The twin is
 * bench/go/aggregator (net/http, an http.Client whose Transport keeps as
 * many); wrk drives the front of both (bench/run.sh, row aggregator_c100).
 *
 *   bench_aggregator [-addr 127.0.0.1:0] [-life 120]
 *
 * Each front request: a context of 1 s under the request's own, a
 * goroutine per backend (goc_wg_go) doing a GET and reading the body, a
 * wait for the three, then one 200 response
 *     {"users":{...},"orders":{...},"prices":{...}}
 * or a 502 naming the first failure (wrk counts it as an error).  The
 * backends answer a fixed JSON body at once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <goc.h>
#include <goc/http.h>

#include "bench.h"
#include "bench_net.h"

#define NBACK 3
#define BODY_MAX 256

static const char *const names[NBACK] = {"users", "orders", "prices"};
static const char *const bodies[NBACK] = {
    "{\"service\":\"users\",\"items\":[{\"id\":1,\"name\":\"ada\"},{\"id\":2,\"name\":\"grace\"}]}",
    "{\"service\":\"orders\",\"items\":[{\"id\":7,\"user\":1,\"total\":42}]}",
    "{\"service\":\"prices\",\"items\":[{\"sku\":\"go\",\"cents\":1999}]}",
};

static char urls[NBACK][GOC_ADDR_MAX + 16];
static goc_http_client *client;

static void fail(const char *what, int rc)
{
    fprintf(stderr, "aggregator: %s: %s\n", what, goc_strerror(rc));
    exit(1);
}

/* ------------------------------------------------------------------------
 * The backends: a fixed body each (arg is its index).
 * ------------------------------------------------------------------------ */

static void backend(goc_http_rw *w, goc_http_request *r, void *arg)
{
    (void)r;
    const char *body = bodies[(intptr_t)arg];
    (void)goc_http_reply(w, 200, "application/json", body, strlen(body));
}

/* ------------------------------------------------------------------------
 * The front: fan out, wait for all three under one deadline, combine.
 * ------------------------------------------------------------------------ */

struct call {
    const char *url;
    goc_ctx *ctx;
    char body[BODY_MAX];
    ssize_t len; /* the body's length, or the error */
};

static void call_backend(void *arg)
{
    struct call *c = arg;
    goc_http_response resp;
    int rc = goc_http_get(client, c->url, c->ctx, &resp);
    if (rc != 0) {
        c->len = rc;
        return;
    }
    c->len = goc_http_response_read_all(&resp, c->body, sizeof c->body);
    if (c->len >= 0 && resp.status != 200)
        c->len = GOC_EPROTO;
    goc_http_response_close(&resp);
}

static void front(goc_http_rw *w, goc_http_request *r, void *arg)
{
    (void)arg;
    goc_ctx *ctx = goc_ctx_with_timeout(goc_http_request_ctx(r), GOC_SECOND);
    if (ctx == NULL) {
        (void)goc_http_reply(w, 500, "text/plain", "no memory\n", 10);
        return;
    }
    struct call calls[NBACK];
    goc_wg wg = GOC_WG_INIT;
    for (int i = 0; i < NBACK; i++) {
        calls[i] = (struct call){.url = urls[i], .ctx = ctx};
        if (goc_wg_go(&wg, call_backend, &calls[i]) != 0)
            calls[i].len = GOC_ENOMEM;
    }
    goc_wg_wait(&wg);
    goc_ctx_cancel(ctx);
    goc_ctx_release(ctx);

    char out[NBACK * (BODY_MAX + 16) + 8];
    size_t n = 0;
    out[n++] = '{';
    for (int i = 0; i < NBACK; i++) {
        if (calls[i].len < 0) {
            int len = snprintf(out, sizeof out, "%s: %s\n", names[i],
                               goc_err_name((int)calls[i].len));
            (void)goc_http_reply(w, 502, "text/plain", out, (size_t)len);
            return;
        }
        n += (size_t)snprintf(out + n, sizeof out - n, "%s\"%s\":%.*s",
                              i > 0 ? "," : "", names[i], (int)calls[i].len,
                              calls[i].body);
    }
    out[n++] = '}';
    (void)goc_http_reply(w, 200, "application/json", out, n);
}

/* ------------------------------------------------------------------------
 * The process: three backends, the front, and the life bound.
 * ------------------------------------------------------------------------ */

struct serving {
    goc_http_server *srv;
    int fd;
};

static void serve(void *arg)
{
    struct serving *s = arg;
    int rc = goc_http_serve(s->srv, s->fd);
    if (rc != GOC_ECLOSED)
        fail("serve", rc);
}

/* A server for handler(arg) listening on addr, served by a goroutine. */
static int start(struct serving *s, const char *addr,
                 goc_http_handler *handler, void *arg)
{
    int err = 0;
    goc_http_server_opts o = {.handler = handler, .arg = arg};
    s->srv = goc_http_server_new(&o, &err);
    if (s->srv == NULL)
        fail("server", err);
    s->fd = goc_tcp_listen(addr, 0);
    if (s->fd < 0)
        fail(addr, s->fd);
    BENCH_MUST(goc_go(serve, s));
    return s->fd;
}

static const char *addr;
static long life_s;

static void bench_main(void *arg)
{
    (void)arg;
    static struct serving back[NBACK], fr;
    goc_http_client_opts co = {.max_idle_per_host = 256};
    client = goc_http_client_new(&co);
    if (client == NULL)
        fail("client", GOC_ENOMEM);
    for (int i = 0; i < NBACK; i++) {
        char a[GOC_ADDR_MAX];
        int fd = start(&back[i], "127.0.0.1:0", backend, (void *)(intptr_t)i);
        int rc = goc_local_addr(fd, a, sizeof a);
        if (rc < 0)
            fail("local address", rc);
        snprintf(urls[i], sizeof urls[i], "http://%s/", a);
    }
    bench_print_addr(start(&fr, addr, front, NULL));
    goc_sleep(life_s * GOC_SECOND);
    fprintf(stderr, "aggregator: life bound of %ld s reached\n", life_s);
    exit(0);
}

int main(int argc, char **argv)
{
    addr = bench_str_flag(argc, argv, "addr", "127.0.0.1:0");
    life_s = bench_flag(argc, argv, "life", 120);
    bench_raise_nofile();
    return goc_run(bench_main, NULL) == 0 ? 0 : 1;
}
