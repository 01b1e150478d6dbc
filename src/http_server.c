/* SPDX-License-Identifier: MIT */
/*
 * http_server.c - the HTTP/1.1 server of goc/http.h: one goroutine per
 * connection reading requests in order (pipelining-safe), calling the
 * handler, writing the response.  Design: docs/design/http.md.
 *
 * Ownership and lifetime:
 *   - The server owns its connections (the list s->conns under s->mu).
 *     A connection's goroutine owns its descriptor and its buffers; it
 *     unlinks the connection under s->mu, then closes the descriptor and
 *     frees the rest.  So while a connection is linked its descriptor is
 *     open, and shutdown and close, holding s->mu, end a connection with
 *     shutdown(2) on it: its reads see the end of stream and its writes
 *     fail, and its own goroutine then closes it.  Nobody else closes a
 *     connection's descriptor: a number closed twice could be someone
 *     else's by then.  (Cancelling a ctx that every read passes would do
 *     too, but a cancellable ctx costs every park a watch: 2% of the
 *     server's CPU under load.)
 *   - Contexts: s->base, cancelled by goc_http_close, is the parent of
 *     the deadline ctxs of the timeouts and of the requests' ctxs.
 *     s->accept_ctx, cancelled by shutdown and close, ends goc_accept.
 *   - A goroutine that closes a channel another one waits on before
 *     freeing it (s->drained, s->serve_done, c->watch_done) holds a
 *     reference across the close.
 *
 * Graceful shutdown and the connection states (c->state, atomic):
 *     IDLE -> ACTIVE    the connection, when a request's first byte is in
 *     ACTIVE -> IDLE    the connection, after answering
 *     IDLE -> CLOSING   goc_http_shutdown, which then shuts its socket down
 * Shutdown sets s->shutting, then tries IDLE -> CLOSING on each
 * connection; a connection stores IDLE, then reads s->shutting (both
 * sequentially consistent, so one of the two sees the other).  So an idle
 * connection is either closed by shutdown or sees the flag and ends
 * itself; an active one finishes its request, answers it with
 * "Connection: close", and ends.  s->drained is closed once the server
 * is shutting with no connection left: by shutdown itself when there is
 * none, else by the connection that unlinks the last one (shutting is
 * set under s->mu, and connections link and unlink under it, so exactly
 * one of the two sees the count reach 0 while shutting).  Shutdown and
 * free wait on it.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "check.h"
#include "http_conn.h"
#include "os.h"

#define WBUF 4096                      /* the body buffer of a response */
#define BODY_DRAIN_MAX (256 * 1024)         /* unread body read and dropped */

enum { CONN_IDLE, CONN_ACTIVE, CONN_CLOSING };

/* How a response's body is delimited, once its head is sent. */
enum framing { FRAME_LENGTH, FRAME_CHUNKED, FRAME_CLOSE };

struct goc_http_rw {
    struct goc__http_conn *c;
    int status;              /* 0 until goc_http_write_header or a write */
    bool head_sent;
    bool is_head;            /* a response to HEAD: the body is dropped */
    bool no_body;            /* 1xx, 204, 304: no body allowed */
    bool has_clen;           /* the handler set Content-Length */
    bool has_ctype;
    bool close_after;        /* end the connection after this response */
    enum framing framing;
    uint64_t clen;           /* the handler's Content-Length */
    uint64_t written;        /* body bytes taken so far */
    int err;                 /* a sticky write error */
    char *hdr;               /* the handler's fields: "Name: value\r\n"... */
    size_t hdr_len, hdr_cap;
    size_t body_len;         /* bytes in body[] not sent yet */
    char body[WBUF];
};

struct goc__http_conn {
    goc_http_server *srv;
    struct goc__http_conn *prev, *next; /* s->conns, under s->mu */
    _Atomic int state;
    goc_ctx *read_ctx;     /* this request's read deadline, or NULL */
    goc_ctx *write_ctx;    /* this response's write deadline, or NULL */
    goc_ctx *req_ctx;      /* the handler's, made on demand */
    goc_chan *watch_done;  /* closed by the watcher when it ends */
    bool watch_wanted;     /* start watching when the body is read */
    bool sent_continue;    /* "100 Continue" sent for this request */
    goc__http_rd rd;
    goc__http_head head;
    goc__http_field *fields;
    goc_http_request req;
    char *out;             /* a response head being built */
    size_t out_cap;
    int64_t date_sec;
    char date[30];
    char remote[GOC_ADDR_MAX];
    goc_http_rw rw;
};

struct goc_http_server {
    goc_http_server_opts o;
    goc_mutex mu;
    struct goc__http_conn *conns; /* under mu */
    size_t nconns;                /* under mu */
    bool serving;                 /* goc_http_serve was called; under mu */
    _Atomic bool shutting;        /* shutdown or close began */
    goc_ctx *base;
    goc_ctx *accept_ctx;
    goc_chan *drained;            /* closed once shutting with no
                                     connection left (under mu) */
    goc_chan *serve_done;         /* closed when goc_http_serve returns */
};

/* ---- the response ---- */

/* Append s[0..n) to c->out at *len, growing it.  Returns: 0 or ENOMEM. */
static int head_put(struct goc__http_conn *c, size_t *len, const char *s,
                   size_t n)
{
    if (n == 0)
        return 0;
    if (goc__http_reserve(&c->out, &c->out_cap, *len + n) != 0)
        return GOC_ENOMEM;
    memcpy(c->out + *len, s, n);
    *len += n;
    return 0;
}

/* Append a chunk's size line: n in hex, CRLF. */
static int head_chunk_size(struct goc__http_conn *c, size_t *len, size_t n)
{
    char d[2 * sizeof n + 2], *p = d + sizeof d;
    *--p = '\n';
    *--p = '\r';
    do
        *--p = "0123456789abcdef"[n & 15];
    while ((n >>= 4) != 0);
    return head_put(c, len, p, (size_t)(d + sizeof d - p));
}

/* Write c->out[0..len) then, if n, p[0..n).  Returns: 0 or the error
 * (sticky in w->err). */
static int send_out(goc_http_rw *w, size_t len, const void *p, size_t n)
{
    struct goc__http_conn *c = w->c;
    if (n > 0 && n <= c->out_cap - len) {
        memcpy(c->out + len, p, n); /* one write for both */
        len += n;
        n = 0;
    }
    ssize_t r = len > 0 ? goc_write(c->rd.fd, c->out, len, c->write_ctx) : 0;
    if (r >= 0 && n > 0)
        r = goc_write(c->rd.fd, p, n, c->write_ctx);
    if (r < 0) {
        w->err = (int)r;
        w->close_after = true;
        return (int)r;
    }
    return 0;
}

/* Append v in decimal. */
static int head_u64(struct goc__http_conn *c, size_t *len, uint64_t v)
{
    char d[24], *p = d + sizeof d;
    do
        *--p = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    return head_put(c, len, p, (size_t)(d + sizeof d - p));
}

/* Build the head for framing f into c->out (the length of a
 * FRAME_LENGTH body in clen).  No printf: it was 2% of the server's CPU.
 * Returns: its length, or GOC_ENOMEM. */
static ssize_t build_head(goc_http_rw *w, enum framing f, uint64_t clen)
{
    struct goc__http_conn *c = w->c;
    size_t len = 0;
    int err = 0;
    const char *reason = goc_http_status_text(w->status);
    err |= head_put(c, &len, "HTTP/1.1 ", 9);
    err |= head_u64(c, &len, (uint64_t)w->status);
    err |= head_put(c, &len, " ", 1);
    err |= head_put(c, &len, reason[0] != '\0' ? reason : "status",
                   reason[0] != '\0' ? strlen(reason) : 6);
    err |= head_put(c, &len, "\r\nDate: ", 8);
    err |= head_put(c, &len, goc__http_date(c->date, &c->date_sec), 29);
    err |= head_put(c, &len, "\r\n", 2);
    err |= head_put(c, &len, w->hdr, w->hdr_len);
    if (!w->no_body) {
        if (!w->has_ctype && w->written > 0)
            err |= head_put(c, &len,
                           "Content-Type: text/plain; charset=utf-8\r\n", 41);
        if (f == FRAME_LENGTH && !w->has_clen) {
            err |= head_put(c, &len, "Content-Length: ", 16);
            err |= head_u64(c, &len, clen);
            err |= head_put(c, &len, "\r\n", 2);
        } else if (f == FRAME_CHUNKED) {
            err |= head_put(c, &len, "Transfer-Encoding: chunked\r\n", 28);
        }
    }
    if (w->close_after)
        err |= head_put(c, &len, "Connection: close\r\n", 19);
    else if (c->head.minor == 0)
        err |= head_put(c, &len, "Connection: keep-alive\r\n", 24);
    err |= head_put(c, &len, "\r\n", 2);
    return err != 0 ? GOC_ENOMEM : (ssize_t)len;
}

/* Before the head goes: the status, and a shutdown.  At the handler's
 * end (done), also what the request's unread body means for the
 * connection: answering without reading a body the client was told to
 * wait for, or one too long to drop, ends it.  (Not before: a streaming
 * handler may read the body after a flush.) */
static void before_head(goc_http_rw *w, bool done)
{
    struct goc__http_conn *c = w->c;
    if (w->status == 0)
        w->status = 200;
    if (atomic_load(&c->srv->shutting))
        w->close_after = true;
    if (done && !c->rd.body_done && !w->close_after) {
        if (c->head.expect_continue && !c->sent_continue)
            w->close_after = true;
        else if (!goc__http_rd_drain(&c->rd, BODY_DRAIN_MAX, c->read_ctx))
            w->close_after = true;
    }
}

/* Send the head for a response that goes on after it (a flush, or a body
 * over the buffer), with the buffered body. */
static int start_stream(goc_http_rw *w)
{
    before_head(w, false);
    struct goc__http_conn *c = w->c;
    if (w->has_clen || w->no_body || w->is_head)
        w->framing = FRAME_LENGTH;
    else if (c->head.minor >= 1)
        w->framing = FRAME_CHUNKED;
    else {
        w->framing = FRAME_CLOSE;
        w->close_after = true;
    }
    ssize_t len = build_head(w, w->framing, w->clen);
    if (len < 0)
        return w->err = (int)len;
    w->head_sent = true;
    size_t n = w->body_len;
    w->body_len = 0;
    if (n > 0 && w->framing == FRAME_CHUNKED) {
        size_t l = (size_t)len;
        if (head_chunk_size(c, &l, n) != 0 ||
            head_put(c, &l, w->body, n) != 0 || head_put(c, &l, "\r\n", 2) != 0)
            return w->err = GOC_ENOMEM;
        return send_out(w, l, NULL, 0);
    }
    return send_out(w, (size_t)len, w->body, n);
}

/* Send p[0..n) of body after the head (as a chunk when chunked). */
static int send_body(goc_http_rw *w, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    if (w->framing != FRAME_CHUNKED)
        return send_out(w, 0, p, n);
    size_t l = 0;
    if (head_chunk_size(w->c, &l, n) != 0)
        return w->err = GOC_ENOMEM;
    int err = send_out(w, l, p, n);
    return err != 0 ? err : send_out(w, 0, "\r\n", 2);
}

int goc_http_header_set(goc_http_rw *w, const char *name, const char *value)
{
    if (w->head_sent)
        return GOC_EBUSY;
    size_t nn = strlen(name), vn = strlen(value);
    if (nn == 0 || strpbrk(name, "\r\n:") != NULL ||
        strpbrk(value, "\r\n") != NULL)
        return GOC_EINVAL;
    /* Replace a field of that name: drop its line. */
    for (size_t i = 0; i < w->hdr_len;) {
        char *line = w->hdr + i;
        char *end = memchr(line, '\n', w->hdr_len - i) + 1;
        if (strncasecmp(line, name, nn) == 0 && line[nn] == ':') {
            memmove(line, end, (size_t)(w->hdr + w->hdr_len - end));
            w->hdr_len -= (size_t)(end - line);
        } else {
            i += (size_t)(end - line);
        }
    }
    if (strcasecmp(name, "Content-Length") == 0) {
        char *e;
        unsigned long long v = strtoull(value, &e, 10);
        if (value[0] < '0' || value[0] > '9' || *e != '\0')
            return GOC_EINVAL;
        w->has_clen = true;
        w->clen = v;
    } else if (strcasecmp(name, "Content-Type") == 0) {
        w->has_ctype = true;
    } else if (strcasecmp(name, "Connection") == 0 &&
               strcasecmp(value, "close") == 0) {
        w->close_after = true;
        return 0; /* the server writes it */
    } else if (strcasecmp(name, "Transfer-Encoding") == 0 ||
               strcasecmp(name, "Date") == 0) {
        return 0; /* the server's own */
    }
    size_t need = w->hdr_len + nn + vn + 4;
    if (goc__http_reserve(&w->hdr, &w->hdr_cap, need) != 0)
        return GOC_ENOMEM;
    char *p = w->hdr + w->hdr_len;
    memcpy(p, name, nn);
    memcpy(p + nn, ": ", 2);
    memcpy(p + nn + 2, value, vn);
    memcpy(p + nn + 2 + vn, "\r\n", 2);
    w->hdr_len = need;
    return 0;
}

int goc_http_write_header(goc_http_rw *w, int status)
{
    if (w->status != 0 || w->head_sent)
        return GOC_EBUSY;
    if (status < 100 || status > 999)
        return GOC_EINVAL;
    w->status = status;
    w->no_body = status < 200 || status == 204 || status == 304;
    return 0;
}

ssize_t goc_http_write(goc_http_rw *w, const void *buf, size_t n)
{
    if (w->err != 0)
        return w->err;
    if (w->status == 0)
        w->status = 200;
    if (n == 0)
        return 0;
    if (w->no_body)
        return GOC_EINVAL;
    if (w->has_clen && w->written + n > w->clen)
        return GOC_E2BIG;
    w->written += n;
    if (w->is_head)
        return (ssize_t)n;
    if (w->body_len + n <= WBUF) {
        memcpy(w->body + w->body_len, buf, n);
        w->body_len += n;
        return (ssize_t)n;
    }
    int err = 0;
    if (!w->head_sent)
        err = start_stream(w);
    else if (w->body_len > 0) {
        err = send_body(w, w->body, w->body_len);
        w->body_len = 0;
    }
    if (err == 0) {
        if (n <= WBUF) {
            memcpy(w->body, buf, n);
            w->body_len = n;
        } else {
            err = send_body(w, buf, n);
        }
    }
    return err != 0 ? err : (ssize_t)n;
}

ssize_t goc_http_printf(goc_http_rw *w, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return GOC_EINVAL;
    if ((size_t)n < sizeof tmp)
        return goc_http_write(w, tmp, (size_t)n);
    char *big = malloc((size_t)n + 1);
    if (big == NULL)
        return GOC_ENOMEM;
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    ssize_t r = goc_http_write(w, big, (size_t)n);
    free(big);
    return r;
}

int goc_http_flush(goc_http_rw *w)
{
    if (w->err != 0)
        return w->err;
    if (!w->head_sent)
        return start_stream(w);
    int err = send_body(w, w->body, w->body_len);
    w->body_len = 0;
    return err;
}

int goc_http_reply(goc_http_rw *w, int status, const char *content_type,
                   const void *body, size_t n)
{
    if (w->head_sent)
        return GOC_EBUSY;
    w->status = 0;
    int err = goc_http_write_header(w, status);
    if (err == 0 && content_type != NULL)
        err = goc_http_header_set(w, "Content-Type", content_type);
    if (err == 0 && n > 0) {
        ssize_t r = goc_http_write(w, body, n);
        err = r < 0 ? (int)r : 0;
    }
    return err;
}

/* After the handler: send what is left.  A body shorter than the
 * Content-Length the handler set ends the connection (the client would
 * wait for the rest). */
static void finish_response(goc_http_rw *w)
{
    if (w->err != 0)
        return;
    if (!w->head_sent) {
        before_head(w, true);
        uint64_t len = w->has_clen ? w->clen : w->written;
        if (w->has_clen && w->written < w->clen && !w->is_head)
            w->close_after = true;
        ssize_t hl = build_head(w, FRAME_LENGTH, len);
        if (hl < 0) {
            w->err = (int)hl;
            return;
        }
        w->head_sent = true;
        (void)send_out(w, (size_t)hl, w->body, w->body_len);
        w->body_len = 0;
        return;
    }
    if (w->body_len > 0 && send_body(w, w->body, w->body_len) != 0)
        return;
    w->body_len = 0;
    if (w->framing == FRAME_CHUNKED)
        (void)send_out(w, 0, "0\r\n\r\n", 5);
    else if (w->framing == FRAME_LENGTH && w->written < w->clen &&
             !w->is_head)
        w->close_after = true;
}

/* An error status for a request that could not be read; the connection
 * ends after it. */
static void reply_error(struct goc__http_conn *c, int status)
{
    goc_http_rw *w = &c->rw;
    w->c = c;
    w->status = status;
    w->no_body = w->is_head = false;
    w->close_after = true;
    w->hdr_len = 0;
    w->has_ctype = w->has_clen = false;
    const char *text = goc_http_status_text(status);
    size_t n = strlen(text);
    w->written = n + 1;
    ssize_t hl = build_head(w, FRAME_LENGTH, n + 1);
    if (hl < 0)
        return;
    size_t len = (size_t)hl;
    if (head_put(c, &len, text, n) == 0 && head_put(c, &len, "\n", 1) == 0)
        (void)!goc_write(c->rd.fd, c->out, len, c->write_ctx);
}

/* ---- the request ---- */

/* Watch for the client's departure while the handler runs (Go's
 * backgroundRead): the connection has nothing more to read for this
 * request, so readable means the client closed (or sent the next
 * request: then it is still there, and watching ends). */
static void watch_main(void *arg)
{
    struct goc__http_conn *c = arg;
    for (;;) {
        if (goc_fd_wait(c->rd.fd, GOC_READ, c->req_ctx) < 0)
            break; /* the handler is done (or the connection closed) */
        char b;
        ssize_t r = goc__sys_recv(c->rd.fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
        if (r > 0)
            break;
        if (r != -EAGAIN) {
            goc_ctx_cancel(c->req_ctx); /* end of stream or reset */
            break;
        }
    }
    goc_chan *done = c->watch_done;
    goc_chan_retain(done); /* the connection may free it once closed */
    (void)!goc_chan_close(done);
    goc_chan_release(done);
}

static void watch_start(struct goc__http_conn *c)
{
    c->watch_wanted = false;
    if (goc__http_rd_buffered(&c->rd))
        return; /* pipelined: the next request is here, and so is the client */
    c->watch_done = goc_chan_make(0, 0);
    if (c->watch_done != NULL && goc_go(watch_main, c) != 0) {
        goc_chan_release(c->watch_done);
        c->watch_done = NULL;
    }
}

goc_ctx *goc_http_request_ctx(goc_http_request *r)
{
    struct goc__http_conn *c = r->conn_;
    if (c->req_ctx == NULL) {
        goc_ctx *parent = c->write_ctx != NULL ? c->write_ctx : c->srv->base;
        c->req_ctx = goc_ctx_with_cancel(parent);
        if (c->req_ctx == NULL)
            return parent; /* out of memory: the connection's */
        if (c->rd.body_done)
            watch_start(c);
        else
            c->watch_wanted = true;
    }
    return c->req_ctx;
}

ssize_t goc_http_body_read(goc_http_request *r, void *buf, size_t n)
{
    struct goc__http_conn *c = r->conn_;
    if (c->head.expect_continue && !c->sent_continue && !c->rd.body_done &&
        !c->rw.head_sent) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        c->sent_continue = true;
        ssize_t w = goc_write(c->rd.fd, cont, sizeof cont - 1, c->write_ctx);
        if (w < 0)
            return w;
    }
    ssize_t got = goc__http_rd_body(&c->rd, buf, n, c->read_ctx);
    if (c->rd.body_done && c->watch_wanted)
        watch_start(c);
    return got;
}

static ssize_t body_read(void *r, void *buf, size_t n)
{
    return goc_http_body_read(r, buf, n);
}

ssize_t goc_http_body_read_all(goc_http_request *r, void *buf, size_t cap)
{
    return goc__http_read_all(body_read, r, buf, cap);
}

static int parse_request(const char *buf, size_t len, goc__http_head *h,
                         void *arg)
{
    (void)arg;
    return goc__http_parse_request(buf, len, h);
}

/* The head's first byte is in: idle to active, unless shutdown closed
 * the connection meanwhile. */
static int become_active(void *arg)
{
    struct goc__http_conn *c = arg;
    int idle = CONN_IDLE;
    return atomic_compare_exchange_strong(&c->state, &idle, CONN_ACTIVE)
               ? 0
               : GOC_ECLOSED;
}

static void request_fill(struct goc__http_conn *c)
{
    goc_http_request *r = &c->req;
    const goc__http_head *h = &c->head;
    r->method = h->method;
    r->target = h->target;
    const char *q = memchr(h->target.p, '?', h->target.n);
    r->path = h->target;
    r->query = (goc_http_str){h->target.p + h->target.n, 0};
    if (q != NULL) {
        r->path.n = (size_t)(q - h->target.p);
        r->query = (goc_http_str){q + 1, h->target.n - r->path.n - 1};
    }
    r->proto_minor = h->minor;
    r->fields = h->fields;
    r->nfields = h->nfields;
    r->content_length = h->body == GOC__HTTP_BODY_CHUNKED ? -1
                        : h->body == GOC__HTTP_BODY_LENGTH
                            ? (int64_t)h->content_length
                            : 0;
    r->remote_addr = c->remote;
    r->conn_ = c;
}

static void rw_reset(struct goc__http_conn *c)
{
    goc_http_rw *w = &c->rw;
    w->c = c;
    w->status = 0;
    w->head_sent = w->no_body = w->has_clen = w->has_ctype = false;
    w->is_head = goc_http_str_eq(c->head.method, "HEAD");
    w->close_after = !c->head.keep_alive;
    w->framing = FRAME_LENGTH;
    w->clen = w->written = 0;
    w->err = 0;
    w->hdr_len = 0;
    w->body_len = 0;
}

/* A deadline ctx for a timeout (under s->base), or NULL for none (or
 * out of memory: the timeout is then not enforced). */
static goc_ctx *deadline_ctx(struct goc__http_conn *c, int64_t timeout,
                             int64_t from)
{
    if (timeout <= 0)
        return NULL;
    return goc_ctx_with_deadline(c->srv->base, from + timeout);
}

static void ctx_drop(goc_ctx **x)
{
    if (*x != NULL) {
        goc_ctx_cancel(*x);
        goc_ctx_release(*x);
        *x = NULL;
    }
}

/* Serve the request whose head is in c->head.
 * Returns: true when the connection may carry another request. */
static bool serve_one(struct goc__http_conn *c, int64_t started)
{
    goc_http_server *s = c->srv;
    const goc_http_server_opts *o = &s->o;
    request_fill(c);
    rw_reset(c);
    c->sent_continue = false;
    c->watch_wanted = false;
    c->write_ctx = deadline_ctx(c, o->write_timeout, goc_now());
    if (o->max_body_bytes != 0 && c->head.body == GOC__HTTP_BODY_LENGTH &&
        c->head.content_length > o->max_body_bytes) {
        reply_error(c, 413);
        ctx_drop(&c->write_ctx);
        ctx_drop(&c->read_ctx);
        return false;
    }
    if (o->read_timeout > 0 && c->read_ctx == NULL)
        c->read_ctx = deadline_ctx(c, o->read_timeout, started);
    goc__http_rd_body_start(&c->rd, &c->head, o->max_body_bytes);

    o->handler(&c->rw, &c->req, o->arg);

    if (c->req_ctx != NULL) {
        goc_ctx_cancel(c->req_ctx); /* ends the watcher's wait */
        if (c->watch_done != NULL) {
            (void)!goc_chan_recv(c->watch_done, NULL);
            goc_chan_release(c->watch_done);
            c->watch_done = NULL;
        }
        goc_ctx_release(c->req_ctx);
        c->req_ctx = NULL;
    }
    goc_http_rw *w = &c->rw;
    if (c->rd.body_err == GOC_E2BIG && !w->head_sent && w->written == 0)
        reply_error(c, 413);
    else
        finish_response(w);
    bool again = !w->close_after && w->err == 0 && c->rd.body_err == 0;
    if (again && !c->rd.body_done)
        again = goc__http_rd_drain(&c->rd, BODY_DRAIN_MAX, c->read_ctx);
    ctx_drop(&c->write_ctx);
    ctx_drop(&c->read_ctx);
    return again;
}

/* A status for a head the parser refused (its -status), else 0. */
static int refusal_status(int r)
{
    return r == -400 || r == -431 || r == -501 || r == -505 ? -r : 0;
}

/* Unlink c; the last connection out of a shutting server closes
 * s->drained. */
static void conn_unlink(struct goc__http_conn *c)
{
    goc_http_server *s = c->srv;
    goc_mutex_lock(&s->mu);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    goc_chan *drained = --s->nconns == 0 && atomic_load(&s->shutting)
                            ? s->drained
                            : NULL;
    if (drained != NULL)
        goc_chan_retain(drained); /* s may be freed once it is closed */
    goc_mutex_unlock(&s->mu);
    if (drained != NULL) {
        (void)!goc_chan_close(drained);
        goc_chan_release(drained);
    }
}

static void conn_end(struct goc__http_conn *c)
{
    conn_unlink(c);
    (void)goc_close(c->rd.fd); /* after: shutdown(2) is only for linked */
    goc__http_rd_free(&c->rd);
    free(c->rw.hdr);
    free(c->out);
    free(c->fields);
    free(c);
}

static void http_conn_main(void *arg)
{
    struct goc__http_conn *c = arg;
    goc_http_server *s = c->srv;
    const goc_http_server_opts *o = &s->o;
    if (goc_remote_addr(c->rd.fd, c->remote, sizeof c->remote) < 0)
        c->remote[0] = '\0';
    for (;;) {
        atomic_store(&c->state, CONN_IDLE);
        if (atomic_load(&s->shutting))
            break;
        int64_t idle = o->idle_timeout > 0 ? o->idle_timeout : o->read_timeout;
        if (idle > 0 && !goc__http_rd_buffered(&c->rd)) {
            goc_ctx *ictx = deadline_ctx(c, idle, goc_now());
            int e = goc_fd_wait(c->rd.fd, GOC_READ, ictx);
            ctx_drop(&ictx);
            if (e < 0)
                break;
        }
        int64_t started = goc_now();
        int64_t ht = o->read_header_timeout > 0 ? o->read_header_timeout
                                                : o->read_timeout;
        goc_ctx *hctx = deadline_ctx(c, ht, started);
        c->head.fields = c->fields;
        c->head.maxfields = o->max_fields;
        int r = goc__http_rd_head(&c->rd, parse_request, NULL, &c->head,
                                  o->max_header_bytes, hctx, become_active, c);
        if (o->read_header_timeout > 0 || hctx == NULL)
            ctx_drop(&hctx);
        else
            c->read_ctx = hctx; /* read_timeout covers the body too */
        if (r <= 0) {
            int st = refusal_status(r);
            if (st != 0)
                reply_error(c, st);
            ctx_drop(&c->read_ctx);
            break;
        }
        if (!serve_one(c, started))
            break;
        goc__http_rd_next(&c->rd);
    }
    conn_end(c);
}

/* A connection for fd, linked and started.  Returns: 0 or an error (fd
 * is then the caller's). */
static int conn_start(goc_http_server *s, int fd)
{
    struct goc__http_conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return GOC_ENOMEM;
    c->srv = s;
    c->out_cap = 512;
    c->out = malloc(c->out_cap);
    c->fields = calloc(s->o.max_fields, sizeof *c->fields);
    if (c->out == NULL || c->fields == NULL ||
        goc__http_rd_init(&c->rd, fd) != 0)
        goto fail;
    c->date_sec = -1;
    goc_mutex_lock(&s->mu);
    if (atomic_load(&s->shutting)) {
        goc_mutex_unlock(&s->mu);
        goto fail;
    }
    c->next = s->conns;
    if (s->conns != NULL)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    goc_mutex_unlock(&s->mu);
    if (goc_go(http_conn_main, c) != 0) {
        conn_unlink(c);
        goto fail;
    }
    return 0;
fail:
    goc__http_rd_free(&c->rd);
    free(c->out);
    free(c->fields);
    free(c);
    return GOC_ENOMEM;
}

/* ---- the server ---- */

goc_http_server *goc_http_server_new(const goc_http_server_opts *opts,
                                     int *err)
{
    int dummy;
    if (err == NULL)
        err = &dummy;
    if (opts == NULL || opts->handler == NULL) {
        *err = GOC_EINVAL;
        return NULL;
    }
    goc_http_server *s = calloc(1, sizeof *s);
    if (s == NULL) {
        *err = GOC_ENOMEM;
        return NULL;
    }
    s->o = *opts;
    if (s->o.max_header_bytes == 0)
        s->o.max_header_bytes = GOC__HTTP_MAX_HEADER;
    if (s->o.max_fields == 0)
        s->o.max_fields = GOC__HTTP_MAX_FIELDS;
    s->base = goc_ctx_with_cancel(NULL);
    s->accept_ctx = goc_ctx_with_cancel(NULL);
    s->serve_done = goc_chan_make(0, 0);
    s->drained = goc_chan_make(0, 0);
    if (s->base == NULL || s->accept_ctx == NULL || s->serve_done == NULL ||
        s->drained == NULL) {
        goc_ctx_release(s->base); /* each release takes NULL */
        goc_ctx_release(s->accept_ctx);
        goc_chan_release(s->serve_done);
        goc_chan_release(s->drained);
        free(s);
        *err = GOC_ENOMEM;
        return NULL;
    }
    *err = 0;
    return s;
}

int goc_http_serve(goc_http_server *s, int listen_fd)
{
    if (listen_fd < 0)
        return GOC_EINVAL;
    goc_mutex_lock(&s->mu);
    bool again = s->serving;
    s->serving = true;
    goc_mutex_unlock(&s->mu);
    if (again)
        return GOC_EINVAL;
    int ret = GOC_ECLOSED;
    while (!atomic_load(&s->shutting)) {
        int fd = goc_accept(listen_fd, s->accept_ctx);
        if (fd >= 0) {
            if (conn_start(s, fd) != 0)
                (void)goc_close(fd);
            continue;
        }
        if (atomic_load(&s->shutting))
            break;
        if (fd == -ECONNABORTED || fd == -EPROTO || fd == -EPERM)
            continue; /* that connection's trouble, not the listener's */
        ret = fd;
        break;
    }
    (void)goc_close(listen_fd);
    goc_chan *done = s->serve_done;
    goc_chan_retain(done); /* s may be freed once it is closed */
    (void)!goc_chan_close(done);
    goc_chan_release(done);
    return ret;
}

/* Begin shutting down: no more accepting.  graceful: end the idle
 * connections; else every one. */
static void begin_shutdown(goc_http_server *s, bool graceful)
{
    goc_mutex_lock(&s->mu);
    bool first = !atomic_exchange(&s->shutting, true);
    if (first && s->nconns == 0)
        (void)!goc_chan_close(s->drained); /* else the last one out does */
    for (struct goc__http_conn *c = s->conns; c != NULL; c = c->next) {
        int idle = CONN_IDLE;
        if (!graceful || atomic_compare_exchange_strong(&c->state, &idle,
                                                        CONN_CLOSING))
            (void)shutdown(c->rd.fd, SHUT_RDWR); /* open: c is linked */
    }
    goc_mutex_unlock(&s->mu);
    goc_ctx_cancel(s->accept_ctx);
    if (!graceful)
        goc_ctx_cancel(s->base);
}

/* Wait for ch to close or ctx to end.  Returns: 0 or ctx's error. */
static int wait_closed(goc_chan *ch, goc_ctx *ctx)
{
    goc_case cs[2] = {GOC_RECV_CASE(ch, NULL),
                      GOC_RECV_CASE(ctx != NULL ? goc_ctx_done(ctx) : NULL,
                                    NULL)};
    return goc_select(cs, 2) == 0 ? 0 : goc_ctx_err(ctx);
}

static bool was_served(goc_http_server *s)
{
    goc_mutex_lock(&s->mu);
    bool serving = s->serving;
    goc_mutex_unlock(&s->mu);
    return serving;
}

int goc_http_shutdown(goc_http_server *s, goc_ctx *ctx)
{
    begin_shutdown(s, true);
    int err = 0;
    if (was_served(s))
        err = wait_closed(s->serve_done, ctx);
    if (err == 0)
        err = wait_closed(s->drained, ctx);
    if (err != 0)
        goc_http_close(s);
    return err;
}

void goc_http_close(goc_http_server *s)
{
    begin_shutdown(s, false);
}

void goc_http_server_free(goc_http_server *s)
{
    if (s == NULL)
        return;
    goc_http_close(s);
    if (was_served(s))
        (void)!goc_chan_recv(s->serve_done, NULL);
    (void)!goc_chan_recv(s->drained, NULL);
    goc_chan_release(s->drained);
    goc_chan_release(s->serve_done);
    goc_ctx_release(s->accept_ctx);
    goc_ctx_release(s->base);
    free(s);
}
