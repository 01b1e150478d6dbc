/* SPDX-License-Identifier: MIT */
/*
 * http_client.c - the HTTP/1.1 client of goc/http.h: a request written
 * on a pooled or new connection, the response's head parsed into the
 * connection's buffer, its body read by the caller through the same
 * reader as the server's (http_conn.c).  Design: docs/design/http.md.
 *
 * The pool: a client keeps idle connections (cl->idle, under cl->mu), at
 * most max_idle_per_host per "host:port".  A connection is either in the
 * pool or owned by exactly one response (from goc_http_do to
 * goc_http_response_close); only the owner does I/O on it.  A pooled
 * connection the server has closed meanwhile is found out before use
 * (a non-blocking peek sees its end of stream) or by the first write or
 * read failing before any response byte came: then the request goes again
 * once on a new connection, as Go's Transport does for requests it can
 * replay.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "http_conn.h"
#include "os.h"

#define KEY_MAX 300                   /* "host:port" */
#define DEFAULT_IDLE_PER_HOST 2
#define INLINE_BODY 4096              /* bodies sent in the head's write */

struct goc__http_cconn {
    goc_http_client *cl;           /* NULL: not pooled */
    struct goc__http_cconn *next;  /* cl->idle, under cl->mu */
    char key[KEY_MAX];
    goc__http_rd rd;
    goc__http_head head;
    goc__http_field *fields;
    size_t max_fields;
    goc_ctx *ctx;                  /* the exchange's (a reference) */
    bool own_ctx;                  /* made for the client's timeout */
    char *out;                     /* the request being built */
    size_t out_len, out_cap;
};

struct goc_http_client {
    goc_http_client_opts o;
    goc_mutex mu;
    struct goc__http_cconn *idle; /* under mu */
};

goc_http_client *goc_http_client_new(const goc_http_client_opts *opts)
{
    goc_http_client *cl = calloc(1, sizeof *cl);
    if (cl == NULL)
        return NULL;
    if (opts != NULL)
        cl->o = *opts;
    if (cl->o.max_idle_per_host == 0)
        cl->o.max_idle_per_host = DEFAULT_IDLE_PER_HOST;
    if (cl->o.max_header_bytes == 0)
        cl->o.max_header_bytes = GOC__HTTP_MAX_HEADER;
    if (cl->o.max_fields == 0)
        cl->o.max_fields = GOC__HTTP_MAX_FIELDS;
    return cl;
}

static void cconn_free(struct goc__http_cconn *c)
{
    (void)goc_close(c->rd.fd);
    goc__http_rd_free(&c->rd);
    free(c->fields);
    free(c->out);
    free(c);
}

void goc_http_client_free(goc_http_client *cl)
{
    if (cl == NULL)
        return;
    goc_mutex_lock(&cl->mu);
    struct goc__http_cconn *c = cl->idle;
    cl->idle = NULL;
    goc_mutex_unlock(&cl->mu);
    while (c != NULL) {
        struct goc__http_cconn *next = c->next;
        cconn_free(c);
        c = next;
    }
    free(cl);
}

/* ---- the URL ---- */

struct url {
    char dial[KEY_MAX];  /* "host:port" to dial, the pool's key */
    char host[KEY_MAX];  /* the Host field: the authority as written */
    const char *path;    /* "/..." up to a '#' */
    size_t path_len;
};

/* Returns: 0, GOC_EINVAL, or -EPROTONOSUPPORT (not http). */
static int url_parse(const char *url, struct url *u)
{
    if (url == NULL)
        return GOC_EINVAL;
    if (strncasecmp(url, "http://", 7) != 0)
        return strstr(url, "://") != NULL ? -EPROTONOSUPPORT : GOC_EINVAL;
    const char *a = url + 7;
    size_t an = strcspn(a, "/?#");
    if (an == 0 || an >= KEY_MAX - 4 || memchr(a, '@', an) != NULL)
        return GOC_EINVAL;
    for (size_t i = 0; i < an; i++)
        if ((unsigned char)a[i] <= ' ' || a[i] == 0x7f)
            return GOC_EINVAL;
    memcpy(u->host, a, an);
    u->host[an] = '\0';
    /* A port is a ':' after the host (after the ']' of an IPv6 one). */
    const char *close = memchr(a, ']', an);
    const char *colon = memchr(close != NULL ? close : a, ':',
                               an - (size_t)((close != NULL ? close : a) - a));
    snprintf(u->dial, sizeof u->dial, colon != NULL ? "%s" : "%s:80",
             u->host);
    u->path = a + an;
    u->path_len = strcspn(u->path, "#");
    for (size_t i = 0; i < u->path_len; i++)
        if ((unsigned char)u->path[i] <= ' ' || u->path[i] == 0x7f)
            return GOC_EINVAL;
    return 0;
}

/* ---- the request ---- */

static int req_put(struct goc__http_cconn *c, const void *p, size_t n)
{
    if (goc__http_reserve(&c->out, &c->out_cap, c->out_len + n) != 0)
        return GOC_ENOMEM;
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
    return 0;
}

static int req_str(struct goc__http_cconn *c, const char *s)
{
    return req_put(c, s, strlen(s));
}

static bool is_token(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s != '\0'; s++)
        if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f ||
            strchr("()<>@,;:\\\"/[]?={}", *s) != NULL)
            return false;
    return true;
}

/* Check the caller's header lines: "Name: value", a token name, no CR,
 * LF or NUL.  Returns: 0 or GOC_EINVAL; *host: one of them is Host. */
static int check_headers(const char *const *h, bool *host)
{
    *host = false;
    for (; h != NULL && *h != NULL; h++) {
        const char *colon = strchr(*h, ':');
        if (colon == NULL || colon == *h || strpbrk(*h, "\r\n") != NULL)
            return GOC_EINVAL;
        for (const char *p = *h; p < colon; p++)
            if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
                return GOC_EINVAL;
        if (colon - *h == 4 && strncasecmp(*h, "host", 4) == 0)
            *host = true;
    }
    return 0;
}

/* Build and write the request.  Returns: 0 or an error. */
static int send_request(struct goc__http_cconn *c,
                        const goc_http_client_req *req, const char *method,
                        const struct url *u, bool user_host, goc_ctx *ctx)
{
    char line[64];
    c->out_len = 0;
    int err = req_str(c, method);
    err |= req_put(c, " ", 1);
    if (u->path_len == 0 || u->path[0] != '/')
        err |= req_put(c, "/", 1);
    err |= req_put(c, u->path, u->path_len);
    err |= req_str(c, " HTTP/1.1\r\n");
    if (!user_host) {
        err |= req_str(c, "Host: ");
        err |= req_str(c, u->host);
        err |= req_str(c, "\r\n");
    }
    err |= req_str(c, "User-Agent: goc\r\n");
    for (const char *const *h = req->headers; h != NULL && *h != NULL; h++) {
        err |= req_str(c, *h);
        err |= req_str(c, "\r\n");
    }
    bool post_like = strcmp(method, "POST") == 0 ||
                     strcmp(method, "PUT") == 0 ||
                     strcmp(method, "PATCH") == 0;
    if (req->body_fn != NULL) {
        err |= req_str(c, "Transfer-Encoding: chunked\r\n");
    } else if (req->body_len > 0 || post_like) {
        snprintf(line, sizeof line, "Content-Length: %zu\r\n", req->body_len);
        err |= req_str(c, line);
    }
    if (c->cl == NULL)
        err |= req_str(c, "Connection: close\r\n");
    err |= req_put(c, "\r\n", 2);
    bool inline_body = req->body_fn == NULL && req->body_len <= INLINE_BODY;
    if (inline_body && req->body_len > 0)
        err |= req_put(c, req->body, req->body_len);
    if (err != 0)
        return GOC_ENOMEM;
    ssize_t r = goc_write(c->rd.fd, c->out, c->out_len, ctx);
    if (r >= 0 && !inline_body && req->body_fn == NULL)
        r = goc_write(c->rd.fd, req->body, req->body_len, ctx);
    if (r < 0 || req->body_fn == NULL)
        return r < 0 ? (int)r : 0;
    /* Chunks: "%08zx\r\n", the data, "\r\n"; a zero-size one ends it. */
    char chunk[10 + 4096 + 2];
    for (;;) {
        ssize_t n = req->body_fn(req->body_arg, chunk + 10, 4096);
        if (n < 0)
            return (int)n;
        char hex[24];
        snprintf(hex, sizeof hex, "%08zx\r\n", (size_t)n); /* n <= 4096 */
        memcpy(chunk, hex, 10);
        memcpy(chunk + 10 + n, "\r\n", 2);
        if ((r = goc_write(c->rd.fd, chunk, 10 + (size_t)n + 2, ctx)) < 0)
            return (int)r;
        if (n == 0)
            return 0;
    }
}

/* ---- connections and the pool ---- */

static struct goc__http_cconn *cconn_new(goc_http_client *cl, int fd,
                                         const char *key)
{
    struct goc__http_cconn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->cl = cl;
    c->max_fields = cl != NULL ? cl->o.max_fields : GOC__HTTP_MAX_FIELDS;
    c->fields = calloc(c->max_fields, sizeof *c->fields);
    if (c->fields == NULL || goc__http_rd_init(&c->rd, fd) != 0) {
        free(c->fields);
        free(c);
        return NULL;
    }
    snprintf(c->key, sizeof c->key, "%s", key);
    return c;
}

/* Has the server ended this idle connection (or sent what it should
 * not have)?  A peek that does not wait. */
static bool cconn_stale(struct goc__http_cconn *c)
{
    if (goc__http_rd_buffered(&c->rd))
        return true;
    char b;
    return goc__sys_recv(c->rd.fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) != -EAGAIN;
}

/* An idle connection to key from the pool, or NULL. */
static struct goc__http_cconn *pool_take(goc_http_client *cl, const char *key)
{
    if (cl == NULL)
        return NULL;
    for (;;) {
        goc_mutex_lock(&cl->mu);
        struct goc__http_cconn **pp = &cl->idle, *c;
        while ((c = *pp) != NULL && strcmp(c->key, key) != 0)
            pp = &c->next;
        if (c != NULL)
            *pp = c->next;
        goc_mutex_unlock(&cl->mu);
        if (c == NULL || !cconn_stale(c))
            return c;
        cconn_free(c);
    }
}

/* Give c back to its client's pool, or close it when the pool has
 * max_idle_per_host for its host already. */
static void pool_put(struct goc__http_cconn *c)
{
    goc_http_client *cl = c->cl;
    int same = 0;
    goc_mutex_lock(&cl->mu);
    for (struct goc__http_cconn *i = cl->idle; i != NULL; i = i->next)
        same += strcmp(i->key, c->key) == 0;
    bool keep = same < cl->o.max_idle_per_host;
    if (keep) {
        c->next = cl->idle;
        cl->idle = c;
    }
    goc_mutex_unlock(&cl->mu);
    if (!keep)
        cconn_free(c);
}

/* ---- the exchange ---- */

struct parse_arg {
    bool head_request;
};

static int parse_response(const char *buf, size_t len, goc__http_head *h,
                          void *arg)
{
    return goc__http_parse_response(buf, len,
                                    ((struct parse_arg *)arg)->head_request, h);
}

/* Read the response head, skipping 1xx interim responses (100 Continue).
 * Returns: 0; GOC_EOF when the connection ended before a byte of it;
 * GOC_EPROTO, GOC_E2BIG, goc_read's. */
static int read_response_head(struct goc__http_cconn *c, bool head_request,
                     size_t max, goc_ctx *ctx)
{
    struct parse_arg pa = {head_request};
    for (;;) {
        c->head.fields = c->fields;
        c->head.maxfields = c->max_fields;
        int r = goc__http_rd_head(&c->rd, parse_response, &pa, &c->head, max,
                                  ctx, NULL, NULL);
        if (r == 0)
            return GOC_EOF;
        if (r == -431)
            return GOC_E2BIG;
        if (r == -400 || r == -501 || r == -505)
            return GOC_EPROTO;
        if (r < 0)
            return r;
        if (c->head.status >= 200 || c->head.status == 101)
            return 0;
        goc__http_rd_next(&c->rd); /* an interim response: the next */
    }
}

/* Could the request go again on a new connection after err on a pooled
 * one?  Only if the server closed it before answering. */
static bool retryable(int err)
{
    return err == GOC_EOF || err == -EPIPE || err == -ECONNRESET;
}

int goc_http_do(goc_http_client *cl, const goc_http_client_req *req,
                goc_ctx *ctx, goc_http_response *resp)
{
    memset(resp, 0, sizeof *resp);
    if (req == NULL)
        return GOC_EINVAL;
    const char *method = req->method != NULL ? req->method : "GET";
    struct url u;
    bool user_host;
    int err = url_parse(req->url, &u);
    if (err != 0)
        return err;
    if (!is_token(method) || check_headers(req->headers, &user_host) != 0 ||
        (req->body_len > 0 && req->body == NULL))
        return GOC_EINVAL;

    goc_ctx *ectx = ctx;
    bool own = false;
    if (cl != NULL && cl->o.timeout > 0) {
        ectx = goc_ctx_with_timeout(ctx, cl->o.timeout);
        if (ectx == NULL)
            return GOC_ENOMEM;
        own = true;
    } else if (ctx != NULL) {
        goc_ctx_retain(ctx);
    }
    size_t max = cl != NULL ? cl->o.max_header_bytes : GOC__HTTP_MAX_HEADER;
    bool head_request = strcmp(method, "HEAD") == 0;
    struct goc__http_cconn *c = NULL;
    for (int attempt = 0;; attempt++) {
        c = attempt == 0 ? pool_take(cl, u.dial) : NULL;
        bool reused = c != NULL;
        if (c == NULL) {
            int fd = goc_tcp_dial(u.dial, ectx);
            if (fd < 0) {
                err = fd;
                break;
            }
            c = cconn_new(cl, fd, u.dial);
            if (c == NULL) {
                (void)goc_close(fd);
                err = GOC_ENOMEM;
                break;
            }
        }
        err = send_request(c, req, method, &u, user_host, ectx);
        if (err == 0)
            err = read_response_head(c, head_request, max, ectx);
        if (err == 0)
            break;
        cconn_free(c);
        c = NULL;
        if (!(reused && retryable(err) && req->body_fn == NULL))
            break;
    }
    if (err != 0) {
        if (own)
            goc_ctx_cancel(ectx);
        if (ectx != NULL)
            goc_ctx_release(ectx);
        return err == GOC_EOF ? GOC_EPROTO : err;
    }
    c->ctx = ectx;
    c->own_ctx = own;
    goc__http_rd_body_start(&c->rd, &c->head, 0);
    resp->status = c->head.status;
    resp->reason = c->head.reason;
    resp->proto_minor = c->head.minor;
    resp->fields = c->head.fields;
    resp->nfields = c->head.nfields;
    resp->content_length = c->head.body == GOC__HTTP_BODY_LENGTH
                               ? (int64_t)c->head.content_length
                           : c->head.body == GOC__HTTP_BODY_NONE ? 0
                                                                 : -1;
    resp->conn_ = c;
    return 0;
}

int goc_http_get(goc_http_client *cl, const char *url, goc_ctx *ctx,
                 goc_http_response *resp)
{
    goc_http_client_req req = {.method = "GET", .url = url};
    return goc_http_do(cl, &req, ctx, resp);
}

ssize_t goc_http_response_read(goc_http_response *r, void *buf, size_t n)
{
    struct goc__http_cconn *c = r->conn_;
    if (c == NULL)
        return GOC_EINVAL;
    return goc__http_rd_body(&c->rd, buf, n, c->ctx);
}

static ssize_t response_read(void *r, void *buf, size_t n)
{
    return goc_http_response_read(r, buf, n);
}

ssize_t goc_http_response_read_all(goc_http_response *r, void *buf,
                                   size_t cap)
{
    return goc__http_read_all(response_read, r, buf, cap);
}

void goc_http_response_close(goc_http_response *r)
{
    struct goc__http_cconn *c = r->conn_;
    if (c == NULL)
        return;
    r->conn_ = NULL;
    goc_ctx *ctx = c->ctx;
    bool own = c->own_ctx;
    c->ctx = NULL;
    /* A short rest already received is read; a longer one would have to
     * wait for the server: the connection is closed instead. */
    if (!c->rd.body_done && c->rd.body == GOC__HTTP_BODY_LENGTH &&
        c->rd.left <= c->rd.have - c->rd.off)
        (void)goc__http_rd_drain(&c->rd, c->rd.left, NULL);
    if (c->cl != NULL && c->head.keep_alive && c->rd.body_done &&
        c->rd.body_err == 0 && c->cl->o.max_idle_per_host > 0) {
        goc__http_rd_next(&c->rd);
        pool_put(c);
    } else {
        cconn_free(c);
    }
    if (own)
        goc_ctx_cancel(ctx);
    if (ctx != NULL)
        goc_ctx_release(ctx);
}
