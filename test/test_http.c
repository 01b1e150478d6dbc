/* SPDX-License-Identifier: MIT */
/*
 * test_http.c - the HTTP/1.1 server and client (goc/http.h): framing,
 * keep-alive, pipelining, limits, 100-continue, timeouts, the request
 * ctx, graceful shutdown, and the client's pool.  Raw sockets play the
 * misbehaving peers.  Ordering is by channels, never by sleeps; the
 * timeouts under test are short and only bounded from below loosely.
 */
#include <goc/http.h>

#include "test_net.h"

/* ---- a server on a goroutine ---- */

struct srv {
    goc_http_server *s;
    char addr[GOC_ADDR_MAX];
    char url[GOC_ADDR_MAX + 16];
    goc_chan *done; /* int: goc_http_serve's result */
};

static void serve_run(void *arg)
{
    struct srv *v = arg;
    int l = listen_local(v->addr, 0);
    ASSERT_OK(goc_chan_send(v->done, &l)); /* the address is known */
    int r = goc_http_serve(v->s, l);
    ASSERT_OK(goc_chan_send(v->done, &r));
}

static void srv_start(struct srv *v, goc_http_server_opts *o)
{
    int err;
    v->s = goc_http_server_new(o, &err);
    ASSERT(v->s != NULL);
    v->done = goc_chan_make(sizeof(int), 1);
    ASSERT_OK(goc_go(serve_run, v));
    int l;
    ASSERT_OK(goc_chan_recv(v->done, &l));
    snprintf(v->url, sizeof v->url, "http://%s", v->addr);
}

/* Shut down gracefully and free; serve must return GOC_ECLOSED. */
static void srv_stop(struct srv *v)
{
    ASSERT_OK(goc_http_shutdown(v->s, NULL));
    int r;
    ASSERT_OK(goc_chan_recv(v->done, &r));
    ASSERT_ERR(r, GOC_ECLOSED);
    goc_http_server_free(v->s);
    goc_chan_release(v->done);
}

/* Send req on a new raw connection, half-close, read to the end. */
static size_t raw_exchange(const char *addr, const char *req, char *out,
                           size_t cap)
{
    int fd = goc_tcp_dial(addr, NULL);
    ASSERT_FD(fd);
    ASSERT_IO(goc_write(fd, req, strlen(req), NULL), strlen(req));
    size_t got = 0;
    goc_ctx *t = goc_ctx_with_timeout(NULL, 10 * GOC_SECOND);
    for (;;) {
        ASSERT_LT(got, cap - 1);
        ssize_t r = goc_read(fd, out + got, cap - 1 - got, t);
        if (r == 0 || r == -ECONNRESET)
            break;
        ASSERT_GT(r, 0);
        got += (size_t)r;
    }
    out[got] = '\0';
    goc_ctx_release(t);
    ASSERT_OK(goc_close(fd));
    return got;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

/* ---- handlers ---- */

/* Echo: method, path, query and body back, with some fields. */
static void echo(goc_http_rw *w, goc_http_request *r, void *arg)
{
    (void)arg;
    size_t cap = 64 * 1024;
    char *body = malloc(cap);
    ASSERT(body != NULL);
    ssize_t n = goc_http_body_read_all(r, body, cap);
    if (n < 0) {
        (void)goc_http_reply(w, n == GOC_E2BIG ? 413 : 400, NULL, NULL, 0);
        free(body);
        return;
    }
    goc_http_str ua = {"", 0};
    (void)goc_http_field_get(r->fields, r->nfields, "user-agent", &ua);
    ASSERT_OK(goc_http_header_set(w, "X-Remote", r->remote_addr));
    ASSERT_OK(goc_http_header_set(w, "Content-Type", "text/plain"));
    ASSERT_GT(goc_http_printf(w, "%.*s %.*s q=%.*s ua=%.*s len=%zd:", (int)r->method.n,
                    r->method.p, (int)r->path.n, r->path.p, (int)r->query.n,
                    r->query.p, (int)ua.n, ua.p, n), 0);
    ASSERT_IO(goc_http_write(w, body, (size_t)n), n);
    free(body);
}

/* ---- tests ---- */

static void basic_main(void *arg)
{
    (void)arg;
    struct srv v;
    goc_http_server_opts o = {.handler = echo};
    srv_start(&v, &o);
    goc_http_client *cl = goc_http_client_new(NULL);
    char url[256], body[1024], first_remote[64] = "";
    for (int i = 0; i < 3; i++) {
        snprintf(url, sizeof url, "%s/path/%d?x=%d", v.url, i, i);
        goc_http_response resp;
        ASSERT_OK(goc_http_get(cl, url, NULL, &resp));
        ASSERT_EQ(resp.status, 200);
        ASSERT(goc_http_str_eq(resp.reason, "OK"));
        ssize_t n = goc_http_response_read_all(&resp, body, sizeof body - 1);
        ASSERT_GT(n, 0);
        body[n] = '\0';
        char want[128];
        snprintf(want, sizeof want, "GET /path/%d q=x=%d ua=goc len=0:", i,
                 i);
        ASSERT_EQ(strcmp(body, want), 0);
        ASSERT_EQ(resp.content_length, n);
        goc_http_str remote;
        ASSERT(goc_http_field_get(resp.fields, resp.nfields, "x-remote",
                                  &remote));
        /* Kept alive: every request came on the same connection. */
        if (i == 0)
            snprintf(first_remote, sizeof first_remote, "%.*s",
                     (int)remote.n, remote.p);
        else
            ASSERT(goc_http_str_eq(remote, first_remote));
        goc_http_response_close(&resp);
    }
    /* POST with a body, and a chunked body of unknown length. */
    const char *hdrs[] = {"X-Test: 1", NULL};
    goc_http_client_req req = {.method = "POST",
                               .url = v.url,
                               .headers = hdrs,
                               .body = "hello",
                               .body_len = 5};
    goc_http_response resp;
    ASSERT_OK(goc_http_do(cl, &req, NULL, &resp));
    ssize_t n = goc_http_response_read_all(&resp, body, sizeof body - 1);
    ASSERT_GT(n, 0);
    body[n] = '\0';
    ASSERT_EQ(strcmp(body, "POST / q= ua=goc len=5:hello"), 0);
    goc_http_response_close(&resp);
    goc_http_client_free(cl);
    srv_stop(&v);
}

TEST(http_get_post_keepalive)
{
    run_main(basic_main, NULL);
}

/* A body function giving 3 pieces of 3000 bytes: sent chunked. */
static ssize_t pieces(void *arg, void *buf, size_t n)
{
    int *left = arg;
    if (*left == 0)
        return 0;
    (*left)--;
    size_t k = n < 3000 ? n : 3000;
    memset(buf, 'a' + *left, k);
    return (ssize_t)k;
}

/* Streams 20000 bytes without Content-Length: chunked. */
static void stream(goc_http_rw *w, goc_http_request *r, void *arg)
{
    (void)r;
    (void)arg;
    char piece[1000];
    for (int i = 0; i < 20; i++) {
        memset(piece, '0' + i % 10, sizeof piece);
        if (goc_http_write(w, piece, sizeof piece) < 0)
            return; /* the client stopped reading (the GOC_E2BIG case) */
    }
}

static void chunked_main(void *arg)
{
    (void)arg;
    struct srv v;
    goc_http_server_opts o = {.handler = echo};
    srv_start(&v, &o);
    goc_http_client *cl = goc_http_client_new(NULL);
    int left = 3;
    goc_http_client_req req = {
        .method = "PUT", .url = v.url, .body_fn = pieces, .body_arg = &left};
    goc_http_response resp;
    static char body[32768];
    ASSERT_OK(goc_http_do(cl, &req, NULL, &resp));
    ASSERT_EQ(resp.status, 200);
    /* The echo is over the 4 KiB buffer: the server streams it chunked. */
    ASSERT_EQ(resp.content_length, -1);
    ssize_t n = goc_http_response_read_all(&resp, body, sizeof body - 1);
    body[n > 0 ? n : 0] = '\0';
    const char *hdr = "PUT / q= ua=goc len=9000:";
    ASSERT_EQ(n, (ssize_t)strlen(hdr) + 9000);
    ASSERT_EQ(strncmp(body, hdr, strlen(hdr)), 0);
    ASSERT_EQ(body[strlen(hdr)], 'c');
    ASSERT_EQ(body[n - 1], 'a');
    goc_http_response_close(&resp);
    srv_stop(&v);

    goc_http_server_opts o2 = {.handler = stream};
    srv_start(&v, &o2);
    ASSERT_OK(goc_http_get(cl, v.url, NULL, &resp));
    goc_http_str te;
    ASSERT(goc_http_field_get(resp.fields, resp.nfields, "transfer-encoding",
                              &te));
    n = goc_http_response_read_all(&resp, body, sizeof body);
    ASSERT_EQ(n, 20000);
    for (int i = 0; i < 20; i++)
        ASSERT_EQ(body[i * 1000 + 999], '0' + i % 10);
    /* Too small a buffer: GOC_E2BIG. */
    goc_http_response_close(&resp);
    ASSERT_OK(goc_http_get(cl, v.url, NULL, &resp));
    ASSERT_ERR((int)goc_http_response_read_all(&resp, body, 100), GOC_E2BIG);
    goc_http_response_close(&resp);
    goc_http_client_free(cl);
    srv_stop(&v);
}

TEST(http_chunked_both_ways)
{
    run_main(chunked_main, NULL);
}

static void raw_main(void *arg)
{
    (void)arg;
    struct srv v;
    goc_http_server_opts o = {.handler = echo, .max_fields = 8,
                              .max_header_bytes = 1024,
                              .max_body_bytes = 100};
    srv_start(&v, &o);
    static char out[65536];

    /* Pipelined: three requests in one write, answered in order. */
    raw_exchange(v.addr,
                 "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
                 "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nxyz"
                 "GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                 out, sizeof out);
    ASSERT_EQ(count(out, "HTTP/1.1 200 OK"), 3);
    const char *a = strstr(out, "GET /a"), *b = strstr(out, "POST /b"),
               *c = strstr(out, "GET /c");
    ASSERT(a != NULL && b != NULL && c != NULL && a < b && b < c);
    ASSERT_CONTAINS(out, "len=3:xyz");
    ASSERT_CONTAINS(out, "Connection: close");
    ASSERT_CONTAINS(out, "Date: ");

    /* HTTP/1.0: closed after the answer unless keep-alive is asked. */
    raw_exchange(v.addr, "GET /old HTTP/1.0\r\n\r\n", out, sizeof out);
    ASSERT_EQ(count(out, "HTTP/1.1 200 OK"), 1);
    ASSERT_CONTAINS(out, "Connection: close");
    raw_exchange(v.addr,
                 "GET /1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
                 "GET /2 HTTP/1.0\r\n\r\n",
                 out, sizeof out);
    ASSERT_EQ(count(out, "HTTP/1.1 200 OK"), 2);
    ASSERT_CONTAINS(out, "Connection: keep-alive");

    /* HEAD: the length of the GET, no body. */
    raw_exchange(v.addr, "HEAD /h HTTP/1.1\r\nConnection: close\r\n\r\n", out,
                 sizeof out);
    ASSERT_CONTAINS(out, "Content-Length: 21\r\n");
    ASSERT_EQ(strstr(out, "HEAD /h"), NULL);

    /* Smuggling: both framings: 400, and the connection ends. */
    raw_exchange(v.addr,
                 "POST / HTTP/1.1\r\nContent-Length: 5\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                 "GET /smuggled HTTP/1.1\r\n\r\n",
                 out, sizeof out);
    ASSERT_EQ(strncmp(out, "HTTP/1.1 400 Bad Request\r\n", 26), 0);
    ASSERT_EQ(strstr(out, "smuggled"), NULL);
    ASSERT_EQ(count(out, "HTTP/1.1"), 1);

    /* Limits: fields, head size, body size (announced and chunked). */
    raw_exchange(v.addr,
                 "GET / HTTP/1.1\r\na: 1\r\nb: 1\r\nc: 1\r\nd: 1\r\ne: 1\r\n"
                 "f: 1\r\ng: 1\r\nh: 1\r\ni: 1\r\n\r\n",
                 out, sizeof out);
    ASSERT_EQ(strncmp(out, "HTTP/1.1 431 ", 13), 0);
    char big[2048];
    snprintf(big, sizeof big, "GET / HTTP/1.1\r\nX: %01500d\r\n\r\n", 0);
    raw_exchange(v.addr, big, out, sizeof out);
    ASSERT_EQ(strncmp(out, "HTTP/1.1 431 ", 13), 0);
    raw_exchange(v.addr, "POST / HTTP/1.1\r\nContent-Length: 101\r\n\r\n", out,
                 sizeof out);
    ASSERT_EQ(strncmp(out, "HTTP/1.1 413 ", 13), 0);
    raw_exchange(v.addr,
                 "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "64\r\n" /* 100 */
                 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n"
                 "1\r\ny\r\n0\r\n\r\n",
                 out, sizeof out);
    ASSERT_EQ(strncmp(out, "HTTP/1.1 413 ", 13), 0);
    /* Unsupported coding, bad version. */
    raw_exchange(v.addr,
                 "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                 out, sizeof out);
    ASSERT_EQ(strncmp(out, "HTTP/1.1 501 ", 13), 0);
    raw_exchange(v.addr, "GET / HTTP/2.0\r\n\r\n", out, sizeof out);
    ASSERT_EQ(strncmp(out, "HTTP/1.1 505 ", 13), 0);
    srv_stop(&v);
}

TEST(http_server_raw_framing_limits)
{
    run_main(raw_main, NULL);
}

/* ---- 100-continue ---- */

static void ignore_body(goc_http_rw *w, goc_http_request *r, void *arg)
{
    (void)r;
    (void)arg;
    ASSERT_OK(goc_http_reply(w, 403, "text/plain", "no\n", 3));
}

static void continue_main(void *arg)
{
    (void)arg;
    struct srv v;
    goc_http_server_opts o = {.handler = echo};
    srv_start(&v, &o);
    int fd = goc_tcp_dial(v.addr, NULL);
    ASSERT_FD(fd);
    const char *head = "PUT /up HTTP/1.1\r\nContent-Length: 4\r\n"
                       "Expect: 100-continue\r\n\r\n";
    ASSERT_IO(goc_write(fd, head, strlen(head), NULL), strlen(head));
    char buf[512];
    const char *cont = "HTTP/1.1 100 Continue\r\n\r\n";
    ASSERT_IO(read_full(fd, buf, strlen(cont), NULL), strlen(cont));
    ASSERT_EQ(memcmp(buf, cont, strlen(cont)), 0);
    ASSERT_IO(goc_write(fd, "data", 4, NULL), 4);
    ASSERT_OK(goc_close_write(fd));
    size_t got = 0;
    ssize_t r;
    while ((r = goc_read(fd, buf + got, sizeof buf - 1 - got, NULL)) > 0)
        got += (size_t)r;
    buf[got] = '\0';
    ASSERT_CONTAINS(buf, "HTTP/1.1 200 OK");
    ASSERT_CONTAINS(buf, "len=4:data");
    ASSERT_OK(goc_close(fd));
    srv_stop(&v);

    /* A handler that answers without reading: no 100, the final answer,
     * and the connection ends (the client may or may not send it). */
    goc_http_server_opts o2 = {.handler = ignore_body};
    srv_start(&v, &o2);
    static char out[4096];
    raw_exchange(v.addr, head, out, sizeof out);
    ASSERT_EQ(strncmp(out, "HTTP/1.1 403 Forbidden\r\n", 24), 0);
    ASSERT_CONTAINS(out, "Connection: close");
    ASSERT_EQ(strstr(out, "100 Continue"), NULL);
    srv_stop(&v);
}

TEST(http_expect_continue)
{
    run_main(continue_main, NULL);
}

/* ---- the request ctx, and shutdown ---- */

struct gate {
    goc_chan *entered; /* int: a handler started */
    goc_chan *release; /* closed: handlers may return */
    goc_chan *saw;     /* int: the ctx error a handler saw */
};

/* Waits for its ctx (the client going away) or for the gate. */
static void held(goc_http_rw *w, goc_http_request *r, void *arg)
{
    struct gate *g = arg;
    if (!goc_http_str_eq(r->path, "/hold")) {
        ASSERT_OK(goc_http_reply(w, 200, "text/plain", "quick\n", 6));
        return;
    }
    goc_ctx *ctx = goc_http_request_ctx(r);
    int one = 1;
    ASSERT_OK(goc_chan_send(g->entered, &one));
    goc_case cs[2] = {GOC_RECV_CASE(goc_ctx_done(ctx), NULL),
                      GOC_RECV_CASE(g->release, NULL)};
    int i = goc_select(cs, 2);
    int err = i == 0 ? goc_ctx_err(ctx) : 0;
    ASSERT_OK(goc_chan_send(g->saw, &err));
    (void)goc_http_reply(w, 200, "text/plain", "done\n", 5);
}

static void gate_init(struct gate *g)
{
    g->entered = goc_chan_make(sizeof(int), 16);
    g->release = goc_chan_make(0, 0);
    g->saw = goc_chan_make(sizeof(int), 16);
}

static void gate_free(struct gate *g)
{
    goc_chan_release(g->entered);
    goc_chan_release(g->release);
    goc_chan_release(g->saw);
}

/* Start a server whose handler is `held` (on g), and send it a request
 * that stays in the handler.  Returns: the client's descriptor, once the
 * handler has begun. */
static int start_held(struct srv *v, struct gate *g)
{
    gate_init(g);
    goc_http_server_opts o = {.handler = held, .arg = g};
    srv_start(v, &o);
    int fd = goc_tcp_dial(v->addr, NULL);
    ASSERT_FD(fd);
    const char *req = "GET /hold HTTP/1.1\r\n\r\n";
    ASSERT_IO(goc_write(fd, req, strlen(req), NULL), strlen(req));
    int x;
    ASSERT_OK(goc_chan_recv(g->entered, &x));
    return fd;
}

static void ctx_gone_main(void *arg)
{
    (void)arg;
    struct gate g;
    struct srv v;
    int fd = start_held(&v, &g);
    int x;
    ASSERT_OK(goc_close(fd)); /* the client goes away */
    ASSERT_OK(goc_chan_recv(g.saw, &x));
    ASSERT_ERR(x, GOC_ECANCELED);
    srv_stop(&v);
    gate_free(&g);
}

TEST(http_request_ctx_client_gone)
{
    run_main(ctx_gone_main, NULL);
}

struct shut {
    struct srv *v;
    goc_ctx *ctx;
    goc_chan *done; /* int: goc_http_shutdown's result */
};

static void shutdown_main(void *arg)
{
    struct shut *s = arg;
    int r = goc_http_shutdown(s->v->s, s->ctx);
    ASSERT_OK(goc_chan_send(s->done, &r));
}

static void graceful_main(void *arg)
{
    (void)arg;
    struct gate g;
    struct srv v;
    /* One request in flight, one idle kept-alive connection. */
    int busy = start_held(&v, &g);
    int x;
    /* Idle: answered once, and kept alive (accepted: a connection still
     * in the listener's queue would be reset when the listener closes). */
    int idle = goc_tcp_dial(v.addr, NULL);
    ASSERT_FD(idle);
    const char *quick = "GET /quick HTTP/1.1\r\n\r\n";
    ASSERT_IO(goc_write(idle, quick, strlen(quick), NULL), strlen(quick));
    char ans[512];
    ssize_t an = 0;
    while (an < 6 || memcmp(ans + an - 6, "quick\n", 6) != 0) {
        ssize_t k = goc_read(idle, ans + an, sizeof ans - (size_t)an, NULL);
        ASSERT_GT(k, 0);
        an += k;
    }

    struct shut s = {&v, NULL, goc_chan_make(sizeof(int), 1)};
    ASSERT_OK(goc_go(shutdown_main, &s));
    /* The idle connection is closed; new ones are refused. */
    char b;
    ASSERT_IO(goc_read(idle, &b, 1, NULL), 0);
    ASSERT_OK(goc_close(idle));
    ASSERT_OK(goc_chan_recv(v.done, &x));
    ASSERT_ERR(x, GOC_ECLOSED);
    int late = goc_tcp_dial(v.addr, NULL);
    ASSERT_ERR(late, -ECONNREFUSED);
    /* Shutdown waits for the request in flight. */
    ASSERT_ERR(goc_chan_try_recv(s.done, &x), GOC_EAGAIN);
    ASSERT_OK(goc_chan_close(g.release));
    static char out[1024];
    size_t got = 0;
    ssize_t r;
    while ((r = goc_read(busy, out + got, sizeof out - 1 - got, NULL)) > 0)
        got += (size_t)r;
    out[got] = '\0';
    ASSERT_CONTAINS(out, "HTTP/1.1 200 OK");
    ASSERT_CONTAINS(out, "Connection: close");
    ASSERT_CONTAINS(out, "done\n");
    ASSERT_OK(goc_chan_recv(s.done, &x));
    ASSERT_OK(x);
    ASSERT_OK(goc_close(busy));
    goc_http_server_free(v.s);
    goc_chan_release(v.done);
    goc_chan_release(s.done);
    gate_free(&g);
}

TEST(http_graceful_shutdown)
{
    run_main(graceful_main, NULL);
}

static void forced_main(void *arg)
{
    (void)arg;
    struct gate g;
    struct srv v;
    int busy = start_held(&v, &g);
    int x;
    /* The handler never returns by itself: the deadline ends it. */
    goc_ctx *ctx = goc_ctx_with_timeout(NULL, 20 * MS);
    ASSERT_ERR(goc_http_shutdown(v.s, ctx), GOC_ETIMEDOUT);
    ASSERT_OK(goc_chan_recv(g.saw, &x));
    ASSERT_ERR(x, GOC_ECANCELED);
    goc_ctx_release(ctx);
    ASSERT_OK(goc_chan_recv(v.done, &x));
    ASSERT_ERR(x, GOC_ECLOSED);
    goc_http_server_free(v.s);
    goc_chan_release(v.done);
    ASSERT_OK(goc_close(busy));
    gate_free(&g);
}

TEST(http_shutdown_deadline)
{
    run_main(forced_main, NULL);
}

/* ---- timeouts ---- */

static void timeouts_main(void *arg)
{
    (void)arg;
    struct srv v;
    goc_http_server_opts o = {.handler = echo,
                              .read_header_timeout = 50 * MS,
                              .idle_timeout = 50 * MS};
    srv_start(&v, &o);
    /* A head that never ends: the connection is closed. */
    int fd = goc_tcp_dial(v.addr, NULL);
    ASSERT_FD(fd);
    ASSERT_IO(goc_write(fd, "GET / HTTP/1.1\r\n", 16, NULL), 16);
    char buf[256];
    int64_t t0 = goc_now();
    ASSERT_IO(goc_read(fd, buf, sizeof buf, NULL), 0);
    ASSERT_GE(goc_now() - t0, 40 * MS);
    ASSERT_OK(goc_close(fd));
    /* An idle kept-alive connection is closed after idle_timeout; the
     * client's pool finds it gone and dials again. */
    goc_http_client *cl = goc_http_client_new(NULL);
    goc_http_response resp;
    for (int i = 0; i < 2; i++) {
        ASSERT_OK(goc_http_get(cl, v.url, NULL, &resp));
        ASSERT_EQ(resp.status, 200);
        ASSERT_GT(goc_http_response_read_all(&resp, buf, sizeof buf), 0);
        goc_http_response_close(&resp);
        if (i == 0)
            goc_sleep(150 * MS); /* outlast the idle timeout */
    }
    goc_http_client_free(cl);
    srv_stop(&v);
}

TEST(http_server_timeouts)
{
    run_main(timeouts_main, NULL);
}

/* Reads the body (read_timeout) or writes without end (write_timeout),
 * and reports the error it met on the channel in arg. */
static void slow_peer_handler(goc_http_rw *w, goc_http_request *r, void *arg)
{
    goc_chan *errs = arg;
    int err = 0;
    if (goc_http_str_eq(r->path, "/read")) {
        char buf[64];
        ssize_t n;
        while ((n = goc_http_body_read(r, buf, sizeof buf)) > 0) {
        }
        err = (int)n;
    } else {
        static char mib[1 << 20];
        for (int i = 0; i < 256 && err == 0; i++) { /* bounded: 256 MiB */
            ssize_t n = goc_http_write(w, mib, sizeof mib);
            err = n < 0 ? (int)n : 0;
        }
        /* The request ctx shares the write deadline. */
        ASSERT_ERR(goc_ctx_err(goc_http_request_ctx(r)), GOC_ETIMEDOUT);
    }
    ASSERT_OK(goc_chan_send(errs, &err));
}

static void slow_peer_main(void *arg)
{
    (void)arg;
    goc_chan *errs = goc_chan_make(sizeof(int), 2);
    struct srv v;
    goc_http_server_opts o = {.handler = slow_peer_handler,
                              .arg = errs,
                              .read_timeout = 100 * MS,
                              .write_timeout = 100 * MS};
    srv_start(&v, &o);
    /* A body that stops half way. */
    int fd = goc_tcp_dial(v.addr, NULL);
    ASSERT_FD(fd);
    const char *req = "POST /read HTTP/1.1\r\nContent-Length: 10\r\n\r\n12345";
    ASSERT_IO(goc_write(fd, req, strlen(req), NULL), strlen(req));
    int err;
    ASSERT_OK(goc_chan_recv(errs, &err));
    ASSERT_ERR(err, GOC_ETIMEDOUT);
    ASSERT_OK(goc_close(fd));
    /* A client that never reads the answer. */
    fd = goc_tcp_dial(v.addr, NULL);
    ASSERT_FD(fd);
    req = "GET /write HTTP/1.1\r\n\r\n";
    ASSERT_IO(goc_write(fd, req, strlen(req), NULL), strlen(req));
    ASSERT_OK(goc_chan_recv(errs, &err));
    ASSERT_ERR(err, GOC_ETIMEDOUT);
    ASSERT_OK(goc_close(fd));
    srv_stop(&v);
    goc_chan_release(errs);
}

TEST(http_server_read_write_timeouts)
{
    run_main(slow_peer_main, NULL);
}

/* ---- the client against raw servers ---- */

struct rawsrv {
    int l;
    const char *answer; /* written after reading a head */
    goc_chan *done;     /* closed when it is done */
};

static void rawsrv_main(void *arg)
{
    struct rawsrv *r = arg;
    int fd = goc_accept(r->l, NULL);
    ASSERT_FD(fd);
    char buf[2048];
    size_t got = 0;
    while (got < 4 || memcmp(buf + got - 4, "\r\n\r\n", 4) != 0) {
        ssize_t n = goc_read(fd, buf + got, sizeof buf - got, NULL);
        ASSERT_GT(n, 0);
        got += (size_t)n;
    }
    ASSERT_IO(goc_write(fd, r->answer, strlen(r->answer), NULL),
              strlen(r->answer));
    ASSERT_OK(goc_close(fd));
    ASSERT_OK(goc_close(r->l));
    ASSERT_OK(goc_chan_close(r->done));
}

static int raw_get(const char *answer, char *body, size_t cap,
                   goc_http_response *resp, bool head)
{
    char addr[GOC_ADDR_MAX], url[GOC_ADDR_MAX + 8];
    struct rawsrv r = {listen_local(addr, 0), answer, goc_chan_make(0, 0)};
    ASSERT_OK(goc_go(rawsrv_main, &r));
    snprintf(url, sizeof url, "http://%s/", addr);
    goc_http_client_req req = {.method = head ? "HEAD" : "GET", .url = url};
    int err = goc_http_do(NULL, &req, NULL, resp);
    ssize_t n = 0;
    if (err == 0) {
        n = goc_http_response_read_all(resp, body, cap - 1);
        body[n > 0 ? n : 0] = '\0';
        goc_http_response_close(resp);
    }
    ASSERT_ERR(goc_chan_recv(r.done, NULL), GOC_ECLOSED);
    goc_chan_release(r.done);
    return err != 0 ? err : n < 0 ? (int)n : 0;
}

static void client_main(void *arg)
{
    (void)arg;
    char body[256];
    goc_http_response resp;
    /* Read until close, an interim 100 skipped. */
    ASSERT_OK(raw_get("HTTP/1.1 100 Continue\r\n\r\n"
                      "HTTP/1.0 200 OK\r\n\r\nuntil the end",
                      body, sizeof body, &resp, false));
    ASSERT_EQ(resp.status, 200);
    ASSERT_EQ(strcmp(body, "until the end"), 0);
    /* HEAD: no body whatever the length says. */
    ASSERT_OK(raw_get("HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n", body,
                      sizeof body, &resp, true));
    ASSERT_EQ(body[0], '\0');
    /* Short body: the connection ends before Content-Length. */
    ASSERT_ERR(raw_get("HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort",
                       body, sizeof body, &resp, false),
               GOC_EPROTO);
    /* Malformed responses. */
    ASSERT_ERR(raw_get("HTTP/1.1 2x0 OK\r\n\r\n", body, sizeof body, &resp,
                       false),
               GOC_EPROTO);
    ASSERT_ERR(raw_get("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "zz\r\n",
                       body, sizeof body, &resp, false),
               GOC_EPROTO);
    ASSERT_ERR(raw_get("", body, sizeof body, &resp, false), GOC_EPROTO);

    /* Bad requests never reach the network. */
    ASSERT_ERR(goc_http_get(NULL, "https://127.0.0.1/", NULL, &resp),
               -EPROTONOSUPPORT);
    ASSERT_ERR(goc_http_get(NULL, "127.0.0.1/", NULL, &resp), GOC_EINVAL);
    ASSERT_ERR(goc_http_get(NULL, "http:///x", NULL, &resp), GOC_EINVAL);
    ASSERT_ERR(goc_http_get(NULL, "http://a b/", NULL, &resp), GOC_EINVAL);
    const char *inject[] = {"X: a\r\nEvil: 1", NULL};
    goc_http_client_req req = {.url = "http://127.0.0.1:1/", .headers = inject};
    ASSERT_ERR(goc_http_do(NULL, &req, NULL, &resp), GOC_EINVAL);
    req = (goc_http_client_req){.method = "G T", .url = "http://127.0.0.1:1/"};
    ASSERT_ERR(goc_http_do(NULL, &req, NULL, &resp), GOC_EINVAL);
    /* Nobody listening. */
    char addr[GOC_ADDR_MAX], url[GOC_ADDR_MAX + 8];
    int l = listen_local(addr, 0);
    ASSERT_OK(goc_close(l));
    snprintf(url, sizeof url, "http://%s/", addr);
    ASSERT_ERR(goc_http_get(NULL, url, NULL, &resp), -ECONNREFUSED);
}

TEST(http_client_framing_errors)
{
    run_main(client_main, NULL);
}

/* ---- response fields ---- */

static void fields_handler(goc_http_rw *w, goc_http_request *r, void *arg)
{
    (void)r;
    (void)arg;
    ASSERT_ERR(goc_http_header_set(w, "X-Bad", "a\r\nSet-Cookie: x"),
               GOC_EINVAL);
    ASSERT_ERR(goc_http_header_set(w, "", "v"), GOC_EINVAL);
    ASSERT_ERR(goc_http_header_set(w, "X:Y", "v"), GOC_EINVAL);
    ASSERT_OK(goc_http_header_set(w, "X-One", "first"));
    ASSERT_OK(goc_http_header_set(w, "X-Two", "2"));
    ASSERT_OK(goc_http_header_set(w, "x-one", "second"));
    ASSERT_OK(goc_http_header_set(w, "Content-Length", "5"));
    ASSERT_OK(goc_http_write_header(w, 201));
    ASSERT_ERR(goc_http_write_header(w, 500), GOC_EBUSY);
    ASSERT_IO(goc_http_write(w, "12345", 5), 5);
    ASSERT_ERR((int)goc_http_write(w, "6", 1), GOC_E2BIG);
    ASSERT_OK(goc_http_flush(w));
    ASSERT_ERR(goc_http_header_set(w, "X-Late", "1"), GOC_EBUSY);
}

static void fields_main(void *arg)
{
    (void)arg;
    struct srv v;
    goc_http_server_opts o = {.handler = fields_handler};
    srv_start(&v, &o);
    static char out[4096];
    raw_exchange(v.addr, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n", out,
                 sizeof out);
    ASSERT_EQ(strncmp(out, "HTTP/1.1 201 Created\r\n", 22), 0);
    ASSERT_CONTAINS(out, "X-Two: 2\r\n");
    ASSERT_CONTAINS(out, "x-one: second\r\n");
    ASSERT_EQ(strstr(out, "first"), NULL);
    ASSERT_EQ(count(out, "Content-Length"), 1);
    ASSERT_CONTAINS(out, "\r\n\r\n12345");
    ASSERT_EQ(strstr(out, "Set-Cookie"), NULL);
    srv_stop(&v);
}

TEST(http_response_fields)
{
    run_main(fields_main, NULL);
}
