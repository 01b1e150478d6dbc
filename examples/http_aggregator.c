/* SPDX-License-Identifier: MIT */
/*
 * http_aggregator.c - the tour: an HTTP handler that calls three internal
 * APIs at once under one deadline and answers with what came back in
 * time.  Two backends answer within it; the third is slow, so the
 * handler answers with partial results, that call marked as timed out.
 * The slow call does not linger: the deadline cancels it, its goroutine
 * ends, its connection is closed, and the slow backend's handler sees its
 * own request ctx done because its client hung up.  Everything runs in
 * this program: three backends and the front (goc_http_server), and main
 * as the front's client.  The Go it mirrors:
 *
 *     func front(w http.ResponseWriter, r *http.Request) {
 *         ctx, cancel := context.WithTimeout(r.Context(), 200*time.Millisecond)
 *         defer cancel()
 *         results := make([]result, len(backends))
 *         var wg sync.WaitGroup
 *         for i, b := range backends {
 *             wg.Go(func() { results[i] = call(ctx, b) })
 *         }
 *         wg.Wait()
 *         writeJSON(w, results) // a timed-out call: {"error": "timed out"}
 *     }
 *
 *     func backend(w http.ResponseWriter, r *http.Request) {
 *         select {
 *         case <-time.After(latency):
 *             w.Write(body)
 *         case <-r.Context().Done(): // the caller gave up
 *         }
 *     }
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <goc.h>
#include <goc/http.h>

#include "must.h"

#define MS GOC_MILLISECOND
#define DEADLINE (200 * MS) /* the front's budget for its three calls */
#define BODY_MAX 256

/* ------------------------------------------------------------------------
 * The backends: each answers its body after its latency, unless the
 * caller goes away first.
 * ------------------------------------------------------------------------ */

struct backend {
    const char *name;
    int64_t latency;
    const char *body;
    goc_http_server *srv;
    int fd;
    char url[GOC_ADDR_MAX + 16];
};

static struct backend backends[] = {
    {.name = "users", .latency = 30 * MS,
     .body = "{\"id\": 1, \"name\": \"ada\"}"},
    {.name = "orders", .latency = 60 * MS,
     .body = "[{\"id\": 7, \"total\": 42}]"},
    {.name = "recommendations", .latency = 2 * GOC_SECOND,
     .body = "[\"goc\", \"go\"]"},
};
#define N (sizeof backends / sizeof backends[0])

/* What a backend's handler saw when its caller left: milliseconds after
 * the request came, and the request ctx's error.  Capacity N: a handler
 * never blocks on it. */
struct hangup {
    int64_t after_ms;
    int err;
};
static goc_chan *hangups;

static void backend(goc_http_rw *w, goc_http_request *r, void *arg)
{
    struct backend *b = arg;
    int64_t t0 = goc_now();
    goc_ctx *ctx = goc_http_request_ctx(r);
    goc_case cs[1] = {GOC_RECV_CASE(goc_ctx_done(ctx), NULL)};
    if (goc_select_until(cs, 1, t0 + b->latency) == GOC_ETIMEDOUT) {
        (void)goc_http_reply(w, 200, "application/json", b->body,
                             strlen(b->body));
        return;
    }
    struct hangup h = {(goc_now() - t0) / MS, goc_ctx_err(ctx)};
    MUST(goc_chan_try_send(hangups, &h));
}

/* ------------------------------------------------------------------------
 * The front: fan out, wait for the three under one deadline, answer.
 * ------------------------------------------------------------------------ */

static goc_http_client *backend_client; /* the front's, for its calls */

struct call {
    const struct backend *b;
    goc_ctx *ctx;
    char body[BODY_MAX];
    ssize_t len; /* the body's length, or the error */
    int64_t took_ms;
};

static void call_backend(void *arg)
{
    struct call *c = arg;
    int64_t t0 = goc_now();
    goc_http_response resp;
    int rc = goc_http_get(backend_client, c->b->url, c->ctx, &resp);
    if (rc == 0) {
        c->len = goc_http_response_read_all(&resp, c->body, sizeof c->body);
        if (c->len >= 0 && resp.status != 200)
            c->len = GOC_EPROTO;
        goc_http_response_close(&resp);
    } else {
        c->len = rc;
    }
    c->took_ms = (goc_now() - t0) / MS;
}

static int in_flight; /* goroutines counted while the calls ran */

static void front(goc_http_rw *w, goc_http_request *r, void *arg)
{
    (void)arg;
    int64_t t0 = goc_now();
    goc_ctx *ctx = goc_ctx_with_timeout(goc_http_request_ctx(r), DEADLINE);
    if (ctx == NULL) {
        (void)goc_http_reply(w, 503, "text/plain", "out of memory\n", 14);
        return;
    }
    struct call calls[N];
    goc_wg wg = GOC_WG_INIT;
    for (size_t i = 0; i < N; i++) {
        calls[i] = (struct call){.b = &backends[i], .ctx = ctx};
        MUST(goc_wg_go(&wg, call_backend, &calls[i]));
    }
    in_flight = goc_num_goroutine();
    goc_wg_wait(&wg); /* every call is over: done or given up */
    goc_ctx_cancel(ctx);
    goc_ctx_release(ctx);

    bool partial = false;
    MUST(goc_http_header_set(w, "Content-Type", "application/json"));
    (void)goc_http_printf(w, "{\n");
    for (size_t i = 0; i < N; i++) {
        const struct call *c = &calls[i];
        (void)goc_http_printf(w, "  \"%s\": {\"took_ms\": %lld, ", c->b->name,
                              (long long)c->took_ms);
        if (c->len >= 0) {
            (void)goc_http_printf(w, "\"data\": %.*s},\n", (int)c->len,
                                  c->body);
        } else {
            partial = true;
            (void)goc_http_printf(w, "\"error\": \"%s\"},\n",
                                  c->len == GOC_ETIMEDOUT
                                      ? "timed out"
                                      : goc_err_name((int)c->len));
        }
    }
    (void)goc_http_printf(w, "  \"partial\": %s,\n  \"took_ms\": %lld\n}\n",
                          partial ? "true" : "false",
                          (long long)((goc_now() - t0) / MS));
}

/* ------------------------------------------------------------------------
 * Starting and stopping the servers.
 * ------------------------------------------------------------------------ */

struct serving {
    goc_http_server *srv;
    int fd;
};

static void serve(void *arg)
{
    struct serving *s = arg;
    MUST_BE(goc_http_serve(s->srv, s->fd), GOC_ECLOSED);
}

/* A server for handler(arg) on 127.0.0.1:0, served by a goroutine counted
 * in wg; its URL into url. */
static goc_http_server *start(struct serving *s, goc_http_handler *handler,
                              void *arg, char *url, size_t len, goc_wg *wg)
{
    int err = 0;
    goc_http_server_opts o = {.handler = handler, .arg = arg};
    s->srv = goc_http_server_new(&o, &err);
    if (s->srv == NULL)
        MUST(err);
    s->fd = MUST_OK(goc_tcp_listen("127.0.0.1:0", 0));
    char addr[GOC_ADDR_MAX];
    MUST_OK(goc_local_addr(s->fd, addr, sizeof addr));
    snprintf(url, len, "http://%s/", addr);
    MUST(goc_wg_go(wg, serve, s));
    return s->srv;
}

/* Wait (a second at most) until goc_num_goroutine() is want. */
static bool settle(int want)
{
    int64_t end = goc_now() + GOC_SECOND;
    while (goc_num_goroutine() != want && goc_now() < end)
        goc_sleep(5 * MS);
    return goc_num_goroutine() == want;
}

/* How often needle occurs in hay. */
static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

/* ------------------------------------------------------------------------
 * The tour.
 * ------------------------------------------------------------------------ */

static void tour(void *arg)
{
    bool *ok = arg;
    hangups = goc_chan_make(sizeof(struct hangup), N);
    static struct serving sv[N + 1];
    static char front_url[GOC_ADDR_MAX + 16];
    goc_wg servers = GOC_WG_INIT;
    for (size_t i = 0; i < N; i++)
        backends[i].srv = start(&sv[i], backend, &backends[i],
                                backends[i].url, sizeof backends[i].url,
                                &servers);
    start(&sv[N], front, NULL, front_url, sizeof front_url, &servers);
    backend_client = goc_http_client_new(NULL);
    goc_http_client *client = goc_http_client_new(NULL);
    if (backend_client == NULL || client == NULL || hangups == NULL)
        MUST(GOC_ENOMEM);
    int baseline = goc_num_goroutine();

    printf("backends: users %lld ms, orders %lld ms, recommendations %lld "
           "ms;\nthe front calls all three at once with a %lld ms "
           "deadline\n",
           (long long)(backends[0].latency / MS),
           (long long)(backends[1].latency / MS),
           (long long)(backends[2].latency / MS), (long long)(DEADLINE / MS));

    printf("1. GET %s\n", front_url);
    goc_ctx *ctx = goc_ctx_with_timeout(NULL, 5 * GOC_SECOND);
    int64_t t0 = goc_now();
    goc_http_response resp;
    MUST(goc_http_get(client, front_url, ctx, &resp));
    static char body[4096];
    ssize_t n = MUST_OK(goc_http_response_read_all(&resp, body,
                                                   sizeof body - 1));
    body[n] = '\0';
    int status = resp.status;
    goc_http_response_close(&resp);
    int64_t took = (goc_now() - t0) / MS;
    goc_ctx_release(ctx);
    printf("   %d %s in %lld ms:\n%s", status, goc_http_status_text(status),
           (long long)took, body);
    /* Partial, as it should be: two answers, one timeout, within about
     * the deadline (and far from the slow backend's 2 s). */
    bool partial = status == 200 && count(body, "\"data\": ") == 2 &&
                   count(body, "\"error\": \"timed out\"") == 1 &&
                   strstr(body, "\"partial\": true") != NULL;
    bool in_time = took * MS >= DEADLINE && took * MS < GOC_SECOND;

    printf("2. the slow call was canceled, and its backend knows it\n");
    struct hangup h = {0, 0};
    goc_case cs[1] = {GOC_RECV_CASE(hangups, &h)};
    bool hung_up = goc_select_until(cs, 1, goc_now() + GOC_SECOND) == 0;
    if (hung_up)
        printf("   the recommendations handler saw its request ctx done "
               "after %lld ms (%s):\n   the front's client hung up, so it "
               "stopped working for nobody\n",
               (long long)h.after_ms, goc_err_name(h.err));
    else
        printf("   the recommendations handler never saw its ctx done\n");

    printf("3. no goroutine is left behind\n");
    /* The clients let go of their kept-alive connections, so the
     * servers' connection goroutines end too. */
    goc_http_client_free(client);
    goc_http_client_free(backend_client);
    bool settled = settle(baseline);
    printf("   goc_num_goroutine: %d before the request, %d while the "
           "three calls ran,\n   %d once it was answered and the clients "
           "closed their connections\n",
           baseline, in_flight, goc_num_goroutine());
    if (!settled)
        goc_dump(1);

    goc_ctx *stop = goc_ctx_with_timeout(NULL, 2 * GOC_SECOND);
    for (size_t i = 0; i <= N; i++)
        MUST(goc_http_shutdown(sv[i].srv, stop));
    goc_wg_wait(&servers);
    for (size_t i = 0; i <= N; i++)
        goc_http_server_free(sv[i].srv);
    goc_ctx_release(stop);
    goc_chan_release(hangups);

    *ok = partial && in_time && hung_up && settled;
    printf("\nsummary: partial answer in %lld ms (deadline %lld ms, slow "
           "backend %lld ms),\nslow call canceled and its backend told: "
           "%s\n",
           (long long)took, (long long)(DEADLINE / MS),
           (long long)(backends[2].latency / MS), *ok ? "ok" : "FAILED");
}

int main(void)
{
    bool ok = false;
    if (goc_run(tour, &ok) != 0)
        return 1;
    return ok ? 0 : 1;
}
