/* SPDX-License-Identifier: MIT */
/*
 * http_parse.h - HTTP/1.1 message heads and chunked bodies (RFC 9112),
 * parsed into spans of the caller's buffer: no allocation, no copy, a
 * header count bounded by the caller's array.  The floor of the HTTP
 * server and client (issue 16); design: docs/design/http.md.
 *
 * A head is parsed whole or not at all: the caller reads into a buffer,
 * calls again with more bytes while the answer is 0, and sends 431 when
 * its buffer is full first.  The rules that keep a pipelined stream in
 * step, and a proxy in front from reading another message than ours
 * (request smuggling), are the parser's:
 *   - Transfer-Encoding together with Content-Length: 400;
 *   - Transfer-Encoding in an HTTP/1.0 message: 400;
 *   - a Transfer-Encoding whose last coding is not chunked: 400 in a
 *     request, "read until close" in a response (RFC 9112 6.3); codings
 *     other than chunked: 501 (none is implemented);
 *   - Content-Length that is not digits, or several that differ: 400;
 *   - obs-fold (a header line starting with a space), whitespace between a
 *     field name and its colon, a bare CR, a NUL or other control
 *     character in a field: 400;
 *   - a request target of none of RFC 9112's four forms (origin, absolute,
 *     authority for CONNECT only, '*'), an empty element in
 *     Transfer-Encoding: 400.
 * Head and trailer lines end in CRLF, and a bare LF is taken for one (RFC
 * 9112 2.2); chunk-size lines and the end of chunk data need CRLF, as the
 * proxies in front read them.  One empty line before a request line is
 * skipped.
 */
#ifndef GOC_HTTP_PARSE_H
#define GOC_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "goc/http.h"

/* A run of bytes in the caller's buffer (not NUL-terminated), and a field
 * (value without its surrounding whitespace): the public types, so that
 * the server and client hand the parser's spans to their callers as
 * they are. */
typedef goc_http_str goc__span;
typedef goc_http_field goc__http_field;

/* How the body that follows a head is delimited. */
enum goc__http_body {
    GOC__HTTP_BODY_NONE,    /* no body (Content-Length 0, or none given in
                               a request; a response to HEAD, 1xx, 204,
                               304) */
    GOC__HTTP_BODY_LENGTH,  /* content_length bytes */
    GOC__HTTP_BODY_CHUNKED, /* the chunked coding (goc__http_chunked) */
    GOC__HTTP_BODY_CLOSE    /* a response read until the connection ends */
};

typedef struct goc__http_head {
    /* request: method and target; response: status and reason */
    goc__span method, target;
    int status;
    goc__span reason;
    int minor;                   /* HTTP/1.minor: 0 or 1 */
    goc__http_field *fields;     /* in: the caller's array ... */
    size_t maxfields;            /* ... of this many */
    size_t nfields;              /* out */
    enum goc__http_body body;
    uint64_t content_length;     /* for GOC__HTTP_BODY_LENGTH */
    bool keep_alive;             /* the connection may carry another
                                    message (Connection, version) */
    bool expect_continue;        /* Expect: 100-continue */
} goc__http_head;

/* The largest Content-Length the parser takes (2^53): more is 400. */
#define GOC__HTTP_LENGTH_MAX ((uint64_t)1 << 53)

/* Parse a request head at the start of buf[0..len).
 * Returns: the head's length (the body starts there), 0 when the head is
 * not complete yet, or -status: -400 malformed, -431 more fields than
 * h->maxfields, -501 a transfer coding other than chunked, -505 a
 * version other than HTTP/1.x. */
int goc__http_parse_request(const char *buf, size_t len, goc__http_head *h);

/* The same for a response head; head_request: it answers a HEAD (then,
 * as for 1xx, 204 and 304, no body follows whatever the fields say).
 * Errors: -400, -431, -501 (a bad status line is -400). */
int goc__http_parse_response(const char *buf, size_t len, bool head_request,
                             goc__http_head *h);

/* The value of field name (case-insensitive), the first if several.
 * Returns: true with *value set, or false. */
bool goc__http_field_get(const goc__http_head *h, const char *name,
                         goc__span *value);

/* A chunked body's decoder, fed the bytes that follow the head as they
 * come.  Zero-initialised to start. */
typedef struct goc__http_chunked {
    int state;
    uint64_t left;        /* bytes of chunk data still to come */
    size_t ext;           /* bytes of chunk extension or trailer so far */
} goc__http_chunked;

/* The longest chunk-size line with its extensions, and the trailer,
 * that the decoder takes (-400 past them). */
#define GOC__HTTP_CHUNK_LINE_MAX 4096

/* Decode buf[0..*len) in place: on return buf[0..*len) holds the body's
 * data found in it, and *used how many input bytes were consumed (all of
 * them unless the body ended: what follows is the next message).
 * Returns: 1 when the body has ended (last chunk and trailer read), 0
 * when it needs more, -400 when the coding is malformed. */
int goc__http_chunked_decode(goc__http_chunked *c, char *buf, size_t *len,
                             size_t *used);

#endif /* GOC_HTTP_PARSE_H */
