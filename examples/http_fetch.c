/* SPDX-License-Identifier: MIT */
/*
 * http_fetch.c - the tour: fetching five HTTP endpoints one after the
 * other, then all at once (a goroutine each and a WaitGroup), then with an
 * errgroup (goc_group), which also gives up on the rest at the first
 * failure.  The endpoints are real HTTP servers in this program
 * (goc_http_server on 127.0.0.1:0), each answering after its own latency;
 * the fetches are goc_http_get calls over one goc_http_client.  The Go it
 * mirrors:
 *
 *     for _, u := range urls {               // sequential: latencies add up
 *         fetch(ctx, u)
 *     }
 *     var wg sync.WaitGroup                   // concurrent: the slowest counts
 *     for _, u := range urls {
 *         wg.Go(func() { fetch(ctx, u) })
 *     }
 *     wg.Wait()
 *     g, gctx := errgroup.WithContext(ctx)    // errgroup: first error wins
 *     for _, u := range urls {
 *         g.Go(func() error { return fetch(gctx, u) })
 *     }
 *     err := g.Wait()
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <goc.h>
#include <goc/http.h>

#include "must.h"

#define MS GOC_MILLISECOND
#define BODY_MAX 128

/* ------------------------------------------------------------------------
 * The endpoints: a server each, answering after its latency.
 * ------------------------------------------------------------------------ */

struct endpoint {
    const char *name;
    int64_t latency;
    goc_http_server *srv;
    char url[GOC_ADDR_MAX + 32];
};

static struct endpoint endpoints[] = {
    {.name = "users", .latency = 80 * MS},
    {.name = "orders", .latency = 120 * MS},
    {.name = "prices", .latency = 60 * MS},
    {.name = "stock", .latency = 100 * MS},
    {.name = "reviews", .latency = 140 * MS},
};
#define N (sizeof endpoints / sizeof endpoints[0])

/* The handler: wait out the latency, unless the client goes away first
 * (its request ctx is done), then answer.  "/fail" answers 503 after the
 * latency instead. */
static void handler(goc_http_rw *w, goc_http_request *r, void *arg)
{
    struct endpoint *e = arg;
    goc_case cs[1] = {GOC_RECV_CASE(goc_ctx_done(goc_http_request_ctx(r)),
                                    NULL)};
    if (goc_select_until(cs, 1, goc_now() + e->latency) != GOC_ETIMEDOUT)
        return; /* the client hung up: nobody to answer */
    if (goc_http_str_eq(r->path, "/fail")) {
        (void)goc_http_reply(w, 503, "text/plain", "overloaded\n", 11);
        return;
    }
    (void)goc_http_printf(w, "{\"%s\":\"ok\",\"latency_ms\":%lld}", e->name,
                          (long long)(e->latency / MS));
}

struct serving {
    goc_http_server *srv;
    int fd;
};

/* srv.Serve(ln): until the shutdown at the end. */
static void serve(void *arg)
{
    struct serving *s = arg;
    MUST_BE(goc_http_serve(s->srv, s->fd), GOC_ECLOSED);
}

/* ------------------------------------------------------------------------
 * The client side.
 * ------------------------------------------------------------------------ */

static goc_http_client *client;

/* GET url under ctx and read the body.
 * Returns: 0 for a 200, the HTTP status for another one, or the call's
 * (negative) error: GOC_ECANCELED when ctx was canceled. */
static int fetch(goc_ctx *ctx, const char *url)
{
    goc_http_response resp;
    int rc = goc_http_get(client, url, ctx, &resp);
    if (rc != 0)
        return rc;
    char body[BODY_MAX];
    ssize_t n = goc_http_response_read_all(&resp, body, sizeof body);
    rc = n < 0 ? (int)n : resp.status == 200 ? 0 : resp.status;
    goc_http_response_close(&resp);
    return rc;
}

/* How a fetch ended, in words. */
static const char *outcome(int rc, char *buf, size_t len)
{
    if (rc == 0)
        snprintf(buf, len, "200");
    else if (rc > 0)
        snprintf(buf, len, "HTTP %d", rc);
    else
        snprintf(buf, len, "%s", goc_err_name(rc));
    return buf;
}

struct job {
    const char *url;
    int err;
};

static void fetch_job(void *arg)
{
    struct job *j = arg;
    j->err = fetch(NULL, j->url);
}

/* An errgroup function: the group's ctx, a job; non-zero fails the group. */
static int group_fetch(goc_ctx *ctx, void *arg)
{
    struct job *j = arg;
    j->err = fetch(ctx, j->url);
    return j->err;
}

static int64_t ms_since(int64_t t0)
{
    return (goc_now() - t0) / MS;
}

/* ------------------------------------------------------------------------
 * The tour.
 * ------------------------------------------------------------------------ */

/* Start a server per endpoint, each listening on a port of its own. */
static void start_servers(struct serving *sv, goc_wg *servers)
{
    for (size_t i = 0; i < N; i++) {
        struct endpoint *e = &endpoints[i];
        int err = 0;
        goc_http_server_opts o = {.handler = handler, .arg = e};
        e->srv = goc_http_server_new(&o, &err);
        if (e->srv == NULL)
            MUST(err);
        int fd = MUST_OK(goc_tcp_listen("127.0.0.1:0", 0));
        char addr[GOC_ADDR_MAX];
        MUST_OK(goc_local_addr(fd, addr, sizeof addr));
        snprintf(e->url, sizeof e->url, "http://%s/", addr);
        sv[i] = (struct serving){e->srv, fd};
        MUST(goc_wg_go(servers, serve, &sv[i]));
    }
}

/* srv.Shutdown for each, then wait for the serving goroutines. */
static void stop_servers(goc_wg *servers)
{
    goc_ctx *stop = goc_ctx_with_timeout(NULL, 2 * GOC_SECOND);
    for (size_t i = 0; i < N; i++)
        MUST(goc_http_shutdown(endpoints[i].srv, stop));
    goc_wg_wait(servers);
    for (size_t i = 0; i < N; i++)
        goc_http_server_free(endpoints[i].srv);
    goc_ctx_release(stop);
}

/* Run the jobs in an errgroup; returns goc_group_wait's error. */
static int group_run(struct job *jobs)
{
    goc_group *g = goc_group_new(NULL, 0);
    if (g == NULL)
        MUST(GOC_ENOMEM);
    for (size_t i = 0; i < N; i++)
        MUST(goc_group_go(g, group_fetch, &jobs[i]));
    int rc = goc_group_wait(g);
    goc_group_free(g);
    return rc;
}

static void tour(void *arg)
{
    bool *ok = arg;
    static struct serving sv[N];
    goc_wg servers = GOC_WG_INIT;
    start_servers(sv, &servers);
    client = goc_http_client_new(NULL);
    if (client == NULL)
        MUST(GOC_ENOMEM);
    int64_t sum = 0, max = 0;
    for (size_t i = 0; i < N; i++) {
        sum += endpoints[i].latency;
        max = endpoints[i].latency > max ? endpoints[i].latency : max;
    }
    printf("%zu HTTP servers on 127.0.0.1 (goc_http_server), latencies "
           "adding up to %lld ms,\nthe slowest %lld ms\n",
           N, (long long)(sum / MS), (long long)(max / MS));

    char how[32];
    printf("1. sequential: one GET after the other, the latencies add up\n");
    int64_t t0 = goc_now();
    for (size_t i = 0; i < N; i++) {
        int64_t t1 = goc_now();
        int rc = fetch(NULL, endpoints[i].url);
        printf("   %-8s %s in %3lld ms\n", endpoints[i].name,
               outcome(rc, how, sizeof how), (long long)ms_since(t1));
        *ok = *ok && rc == 0;
    }
    int64_t seq = ms_since(t0);
    printf("   %zu fetches in %lld ms\n", N, (long long)seq);

    printf("2. concurrent: a goroutine per GET (goc_wg_go), then "
           "goc_wg_wait;\n   the slowest one counts\n");
    struct job jobs[N];
    goc_wg wg = GOC_WG_INIT;
    t0 = goc_now();
    for (size_t i = 0; i < N; i++) {
        jobs[i] = (struct job){endpoints[i].url, 0};
        MUST(goc_wg_go(&wg, fetch_job, &jobs[i]));
    }
    goc_wg_wait(&wg);
    int64_t conc = ms_since(t0);
    for (size_t i = 0; i < N; i++)
        *ok = *ok && jobs[i].err == 0;
    printf("   %zu fetches in %lld ms: %.1fx faster than sequential\n", N,
           (long long)conc, (double)seq / (double)(conc > 0 ? conc : 1));

    printf("3. errgroup: goc_group_go per GET, goc_group_wait returns the "
           "first error\n");
    for (size_t i = 0; i < N; i++)
        jobs[i] = (struct job){endpoints[i].url, 0};
    t0 = goc_now();
    int rc = group_run(jobs);
    int64_t grp = ms_since(t0);
    *ok = *ok && rc == 0;
    printf("   %zu fetches in %lld ms (%s): %.1fx faster than sequential\n",
           N, (long long)grp, rc == 0 ? "no error" : outcome(rc, how, 32),
           (double)seq / (double)(grp > 0 ? grp : 1));

    const size_t bad = 2; /* "prices", the fastest */
    printf("4. errgroup with a failing endpoint: %s/fail answers 503 after "
           "%lld ms,\n   the group's ctx is canceled, and the slower GETs "
           "give up\n",
           endpoints[bad].name, (long long)(endpoints[bad].latency / MS));
    char failing[sizeof endpoints[bad].url + 8];
    snprintf(failing, sizeof failing, "%sfail", endpoints[bad].url);
    for (size_t i = 0; i < N; i++)
        jobs[i] = (struct job){i == bad ? failing : endpoints[i].url, 0};
    t0 = goc_now();
    rc = group_run(jobs);
    int64_t failed = ms_since(t0);
    int canceled = 0;
    for (size_t i = 0; i < N; i++) {
        printf("   %-8s %s\n", endpoints[i].name,
               outcome(jobs[i].err, how, sizeof how));
        canceled += jobs[i].err == GOC_ECANCELED;
    }
    printf("   goc_group_wait: %s after %lld ms, %d GETs canceled\n",
           outcome(rc, how, sizeof how), (long long)failed, canceled);
    /* The slowest endpoint answers long after the failure: its GET at
     * least must have been canceled. */
    *ok = *ok && rc == 503 && canceled >= 1;

    /* The client lets go of its kept-alive connections; each server
     * waits for what is in progress, then closes. */
    goc_http_client_free(client);
    stop_servers(&servers);

    /* The servers sleep their latencies: concurrent fetches take about the
     * slowest one, sequential ones the sum (here 3.6 times as long).  The
     * bound is loose on purpose: a loaded machine stretches either. */
    bool faster = conc * 10 < seq * 8 && grp * 10 < seq * 8;
    printf("\nsummary: sequential %lld ms (sum of latencies %lld), "
           "concurrent %lld ms,\nerrgroup %lld ms (slowest %lld): %s\n",
           (long long)seq, (long long)(sum / MS), (long long)conc,
           (long long)grp, (long long)(max / MS),
           *ok && faster ? "ok" : "FAILED");
    *ok = *ok && faster;
}

int main(void)
{
    bool ok = true;
    if (goc_run(tour, &ok) != 0)
        return 1;
    return ok ? 0 : 1;
}
