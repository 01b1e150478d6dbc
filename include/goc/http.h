/* SPDX-License-Identifier: MIT */
/*
 * goc/http.h - a small HTTP/1.1 server and client on goc's net layer (Go's
 * net/http, without TLS, HTTP/2 or a router).  Include it after goc.h or
 * alone: it includes goc.h.
 *
 * The server runs one goroutine per connection, as Go's does: a handler
 * is plain blocking code that reads the request and writes the response.
 * The client keeps connections alive per host for reuse.  Both parse with
 * the same bounded parser: heads into spans of a per-connection buffer (no
 * copy, a bounded field count), Content-Length and chunked bodies, and
 * every request-smuggling ambiguity refused.  Design and limits:
 * docs/design/http.md.
 *
 * Strings in requests and responses are spans (goc_http_str: pointer and
 * length, not NUL-terminated) valid until the handler returns (server) or
 * until goc_http_response_close (client).
 */
#ifndef GOC_HTTP_H
#define GOC_HTTP_H

#include "../goc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * Messages
 * ------------------------------------------------------------------------ */

/* A run of bytes, not NUL-terminated.  Print with "%.*s", (int)s.n, s.p. */
typedef struct goc_http_str {
    const char *p;
    size_t n;
} goc_http_str;

/* A header field as it arrived: name as sent (compare without case),
 * value without surrounding whitespace. */
typedef struct goc_http_field {
    goc_http_str name, value;
} goc_http_field;

/* The value of the first field called name (case-insensitive) in
 * fields[0..n), or false. */
GOC_EXTERN bool goc_http_field_get(const goc_http_field *fields, size_t n,
                                   const char *name, goc_http_str *value);
/* Does s equal the NUL-terminated lit exactly? */
GOC_EXTERN bool goc_http_str_eq(goc_http_str s, const char *lit);
/* The reason phrase of a status code ("Not Found"), "" if unknown. */
GOC_EXTERN const char *goc_http_status_text(int status);

/* ------------------------------------------------------------------------
 * Server (net/http's Server, Handler, ResponseWriter)
 * ------------------------------------------------------------------------ */

typedef struct goc_http_server goc_http_server;
/* The response a handler writes (http.ResponseWriter). */
typedef struct goc_http_rw goc_http_rw;

/* A request as the handler sees it.  Every span points into the
 * connection's buffer and is valid until the handler returns. */
typedef struct goc_http_request {
    goc_http_str method;          /* "GET" */
    goc_http_str target;          /* "/search?q=go" as sent */
    goc_http_str path;            /* "/search" */
    goc_http_str query;           /* "q=go" (without the '?'), or empty */
    int proto_minor;              /* HTTP/1.proto_minor: 0 or 1 */
    const goc_http_field *fields;
    size_t nfields;
    int64_t content_length;       /* the body's length, -1 if chunked */
    const char *remote_addr;      /* "127.0.0.1:43512" */
    struct goc__http_conn *conn_; /* private */
} goc_http_request;

/* The request's context (r.Context()): done when the client goes away
 * (its connection ends while the handler runs), when a forced shutdown
 * ends the request, or when the server's write timeout passes.  Made on
 * the first call, so that handlers which never ask pay nothing; watching
 * for the client's departure starts once the body has been read to its
 * end (as in Go).  Owned by the request: do not release it; it is
 * released after the handler returns. */
GOC_EXTERN goc_ctx *goc_http_request_ctx(goc_http_request *r);
/* Read the request body (r.Body.Read); the first read answers
 * "Expect: 100-continue" with a 100 response.
 * Returns: the number of bytes read (> 0), 0 at the body's end.
 * Errors: GOC_E2BIG past the server's max_body_bytes (the server answers
 *         413 if the handler has written nothing), GOC_EPROTO a malformed
 *         chunked body, GOC_ETIMEDOUT (read timeout), -ECONNRESET, ... */
GOC_NODISCARD GOC_EXTERN ssize_t goc_http_body_read(goc_http_request *r,
                                                    void *buf, size_t n);
/* Read the whole body into buf[0..cap).
 * Returns: its length.  Errors: GOC_E2BIG when it does not fit in cap
 * (the rest is unread), and goc_http_body_read's. */
GOC_NODISCARD GOC_EXTERN ssize_t goc_http_body_read_all(goc_http_request *r,
                                                        void *buf, size_t cap);

/* Set a response header field (w.Header().Set), before the first write;
 * a second call with the same name replaces it.  Content-Length set here
 * frames the body (writes past it fail); otherwise the server frames it:
 * Content-Length when the handler's whole body fits in its 4 KiB buffer,
 * else chunked (HTTP/1.1) or until close (HTTP/1.0).
 * Errors: GOC_EINVAL  a CR, LF or NUL in name or value (response
 *                     splitting), or an empty name;
 *         GOC_EBUSY   the head has been sent already;
 *         GOC_ENOMEM. */
GOC_EXTERN int goc_http_header_set(goc_http_rw *w, const char *name,
                                   const char *value);
/* w.WriteHeader(status): the status line (100 <= status <= 999); only the
 * first call counts (later ones return GOC_EBUSY).  Without it, the first
 * write sends 200. */
GOC_EXTERN int goc_http_write_header(goc_http_rw *w, int status);
/* w.Write: append to the body (buffered, sent in 4 KiB pieces).  A
 * response to HEAD drops the bytes but counts them for Content-Length.
 * Returns: n.  Errors: GOC_E2BIG past the Content-Length the handler set,
 *         GOC_EINVAL for a status without a body (1xx, 204, 304),
 *         GOC_ETIMEDOUT (write timeout), -EPIPE, -ECONNRESET, ... */
GOC_EXTERN ssize_t goc_http_write(goc_http_rw *w, const void *buf, size_t n);
/* fmt.Fprintf(w, ...). */
GOC_EXTERN ssize_t goc_http_printf(goc_http_rw *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Send what is buffered now (http.Flusher), the head first. */
GOC_EXTERN int goc_http_flush(goc_http_rw *w);
/* The whole response in one call: status, Content-Type (NULL: none) and
 * body.  Errors: as goc_http_write; GOC_EBUSY if the head has been
 * sent. */
GOC_EXTERN int goc_http_reply(goc_http_rw *w, int status,
                              const char *content_type, const void *body,
                              size_t n);

/* A handler (http.HandlerFunc): runs on the connection's goroutine, one
 * request at a time per connection.  Whatever it has not sent when it
 * returns is sent then; a handler that writes nothing sends 200 with an
 * empty body.  An unread rest of the request body is read and dropped
 * (up to 256 KiB; past that the connection is closed). */
typedef void goc_http_handler(goc_http_rw *w, goc_http_request *r,
                              void *arg);

typedef struct goc_http_server_opts {
    goc_http_handler *handler; /* required */
    void *arg;                 /* handler's last argument */
    /* Timeouts in nanoseconds, 0 for none (Go's Server fields):
     * read_header: from a request's first byte to its head's end;
     * read: from a request's first byte to its body's end;
     * write: from the head's end to the response's end (also the request
     *        ctx's deadline);
     * idle: waiting for the next request on a kept-alive connection
     *       (0: read's). */
    int64_t read_header_timeout, read_timeout, write_timeout, idle_timeout;
    size_t max_header_bytes; /* 0: 64 KiB; a head longer: 431 */
    size_t max_fields;       /* 0: 100; more fields: 431 */
    uint64_t max_body_bytes; /* 0: no limit; a longer body: 413 */
} goc_http_server_opts;

/* A server (http.Server{...}): copies opts.
 * Returns: NULL with *err set: GOC_EINVAL (no handler), GOC_ENOMEM. */
GOC_NODISCARD GOC_EXTERN goc_http_server *
goc_http_server_new(const goc_http_server_opts *opts, int *err);
/* srv.Serve(l): accept connections on listen_fd (goc_tcp_listen's) and
 * serve each on a goroutine of its own, until goc_http_shutdown or
 * goc_http_close.  Owns listen_fd from then on (closes it).  Call it once
 * per server.
 * Returns: GOC_ECLOSED after a shutdown (http.ErrServerClosed).
 * Errors: GOC_EINVAL (bad fd or served already), goc_accept's. */
GOC_EXTERN int goc_http_serve(goc_http_server *s, int listen_fd);
/* srv.Shutdown(ctx): stop accepting, close idle connections, and wait
 * until every request in progress has been answered and its connection
 * closed.  If ctx ends first, the rest are ended as goc_http_close does.
 * Returns: 0, or ctx's error (GOC_ETIMEDOUT, GOC_ECANCELED). */
GOC_EXTERN int goc_http_shutdown(goc_http_server *s, goc_ctx *ctx);
/* srv.Close(): stop accepting, cancel every request's ctx and close every
 * connection now. */
GOC_EXTERN void goc_http_close(goc_http_server *s);
/* Free the server: closes it as goc_http_close if that was not done, and
 * waits until its connection goroutines have ended (handlers that ignore
 * their ctx delay this). */
GOC_EXTERN void goc_http_server_free(goc_http_server *s);

/* ------------------------------------------------------------------------
 * Client (net/http's Client, Transport, Response)
 * ------------------------------------------------------------------------ */

typedef struct goc_http_client goc_http_client;

typedef struct goc_http_client_opts {
    int64_t timeout;          /* ns for a whole exchange, body included
                                 (Client.Timeout); 0: none */
    int max_idle_per_host;    /* kept-alive connections kept per host;
                                 0: 2 (Go's default); < 0: none */
    size_t max_header_bytes;  /* 0: 64 KiB */
    size_t max_fields;        /* 0: 100 */
} goc_http_client_opts;

/* A request to send.  url: "http://host[:port]/path?query" (no https).
 * A body of unknown length is sent chunked: instead of body, set body_fn,
 * which goc calls as body_fn(body_arg, buf, n) until it returns 0 (the
 * end) or a negative error (the request fails with it). */
typedef struct goc_http_client_req {
    const char *method;       /* NULL: "GET" */
    const char *url;
    const char *const *headers; /* "Name: value" strings, NULL-terminated;
                                   NULL: none */
    const void *body;         /* sent with Content-Length */
    size_t body_len;
    ssize_t (*body_fn)(void *body_arg, void *buf, size_t n); /* or this */
    void *body_arg;
} goc_http_client_req;

/* A response being read.  Spans are valid until goc_http_response_close. */
typedef struct goc_http_response {
    int status;
    goc_http_str reason;
    int proto_minor;
    const goc_http_field *fields;
    size_t nfields;
    int64_t content_length;       /* -1: chunked or until close */
    struct goc__http_cconn *conn_; /* private */
} goc_http_response;

/* A client with a pool of kept-alive connections (http.Client).  opts
 * NULL: the defaults.  Returns: NULL on ENOMEM. */
GOC_NODISCARD GOC_EXTERN goc_http_client *
goc_http_client_new(const goc_http_client_opts *opts);
/* Close its idle connections and free it (no request may be in flight). */
GOC_EXTERN void goc_http_client_free(goc_http_client *c);

/* client.Do(req): send req and read the response's head into *resp; read
 * the body with goc_http_response_read, then call
 * goc_http_response_close.  c NULL: a connection for this request only.
 * ctx (NULL: none) bounds the whole exchange, body reading included.  A
 * kept-alive connection that turns out closed by the server before any
 * response byte came is replaced once, for requests without body_fn.
 * Returns: 0 (whatever the status: 404 is a response, not an error).
 * Errors: GOC_EINVAL  bad url or method, a CR/LF in a header;
 *         -EPROTONOSUPPORT  a scheme other than http;
 *         GOC_EPROTO  a malformed response;
 *         GOC_E2BIG   a response head over max_header_bytes / max_fields;
 *         GOC_ETIMEDOUT, GOC_ECANCELED (ctx or timeout);
 *         goc_tcp_dial's, goc_write's and goc_read's; GOC_ENOMEM. */
GOC_NODISCARD GOC_EXTERN int goc_http_do(goc_http_client *c,
                                         const goc_http_client_req *req,
                                         goc_ctx *ctx,
                                         goc_http_response *resp);
/* http.Get(url): goc_http_do with method GET. */
GOC_NODISCARD GOC_EXTERN int goc_http_get(goc_http_client *c, const char *url,
                                          goc_ctx *ctx,
                                          goc_http_response *resp);
/* resp.Body.Read.  Returns: bytes read (> 0), 0 at the body's end.
 * Errors: GOC_EPROTO (malformed chunked body, or the connection ended
 *         before Content-Length bytes), ctx's, goc_read's. */
GOC_NODISCARD GOC_EXTERN ssize_t goc_http_response_read(goc_http_response *r,
                                                        void *buf, size_t n);
/* io.ReadAll into buf[0..cap).  Returns: the body's length.
 * Errors: GOC_E2BIG when it does not fit, and goc_http_response_read's. */
GOC_NODISCARD GOC_EXTERN ssize_t
goc_http_response_read_all(goc_http_response *r, void *buf, size_t cap);
/* resp.Body.Close(): give the connection back to the client's pool when
 * the body was read to its end (a short unread rest is read first), else
 * close it.  Always call it once after a successful goc_http_do. */
GOC_EXTERN void goc_http_response_close(goc_http_response *r);

#ifdef __cplusplus
}
#endif

#endif /* GOC_HTTP_H */
