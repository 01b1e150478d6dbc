/* SPDX-License-Identifier: MIT */
/*
 * http_conn.h - the reading side of an HTTP/1.1 connection, shared by the
 * server (http_server.c) and the client (http_client.c): a growable input
 * buffer that heads are parsed in place from, and the body reader for the
 * three framings (Content-Length, chunked, until close).
 *
 * The buffer:
 *
 *     buf: [ head of the message being served | consumed | unread | free ]
 *            0                                  keep       off      have   cap
 *
 * Bytes [off, have) are read from the socket and not consumed yet: the
 * rest of a body, a pipelined next message.  While a message is being
 * served its head's spans point into [0, keep), so nothing below `keep`
 * moves until goc__http_rd_next: compaction moves [off, have) down to
 * `keep` only, and the buffer is never reallocated while a head is
 * live.  goc__http_rd_head grows the buffer (before any span exists)
 * so that at least GOC__HTTP_RD_SLACK bytes stay free above a head, room
 * for the chunked decoder's input.
 */
#ifndef GOC_HTTP_CONN_H
#define GOC_HTTP_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "goc.h"
#include "http_parse.h"

#define GOC__HTTP_RD_INIT 4096  /* a buffer's first size */
#define GOC__HTTP_RD_SLACK 2048 /* free bytes kept above a parsed head */
#define GOC__HTTP_MAX_HEADER (64 * 1024) /* default head limit */
#define GOC__HTTP_MAX_FIELDS 100         /* default field limit */

typedef struct goc__http_rd {
    int fd;
    char *buf;
    size_t cap;
    size_t keep;              /* the end of the live head: compaction
                                 moves unread bytes down to here */
    size_t off, have;
    /* the body being read */
    enum goc__http_body body;
    uint64_t left;            /* GOC__HTTP_BODY_LENGTH: bytes to come */
    goc__http_chunked chunk;  /* GOC__HTTP_BODY_CHUNKED: the decoder */
    bool chunk_end;           /* it has read the last chunk and trailer */
    size_t dec_off, dec_len;  /* decoded chunk data not yet handed out */
    bool body_done;           /* the body has been read to its end */
    int body_err;             /* a sticky error of the body (< 0) */
    uint64_t body_total;      /* bytes handed out so far */
    uint64_t body_max;        /* 0: no limit; past it GOC_E2BIG */
} goc__http_rd;

/* Returns: 0 or GOC_ENOMEM. */
int goc__http_rd_init(goc__http_rd *rd, int fd);
void goc__http_rd_free(goc__http_rd *rd);

/* Does the buffer hold unread bytes (a pipelined message, early data)? */
static inline bool goc__http_rd_buffered(const goc__http_rd *rd)
{
    return rd->off < rd->have;
}

/* Read a head into h (its fields array set by the caller) with
 * parse(buf, len, h) (a wrapper of goc__http_parse_request/response),
 * reading from the socket with ctx while it asks for more.  The bytes of
 * the head are consumed; h's spans stay valid until the next
 * goc__http_rd_next.  first_byte (may be NULL) is called once when the
 * head's first byte is in, before parsing (the server's idle to active);
 * an error it returns ends the call with it.
 * Returns: the head's length (> 0); 0 when the connection ended before a
 *          byte of it came.
 * Errors: -400/-431/-501/-505 (the parser's, as negative statuses;
 *         -431 also when max bytes were read without a head's end),
 *         GOC_EPROTO the connection ended inside the head, goc_read's,
 *         GOC_ENOMEM. */
typedef int goc__http_parse_fn(const char *buf, size_t len,
                               goc__http_head *h, void *arg);
int goc__http_rd_head(goc__http_rd *rd, goc__http_parse_fn *parse,
                      void *parse_arg, goc__http_head *h, size_t max,
                      goc_ctx *ctx, int (*first_byte)(void *), void *fb_arg);

/* Start reading the body h announces (after goc__http_rd_head). */
void goc__http_rd_body_start(goc__http_rd *rd, const goc__http_head *h,
                             uint64_t max);
/* Read body bytes into p[0..n) (Body.Read).
 * Returns: > 0 bytes, 0 at the end.  Errors: GOC_E2BIG past body_max,
 * GOC_EPROTO malformed chunks or the connection ended early, goc_read's;
 * an error sticks. */
ssize_t goc__http_rd_body(goc__http_rd *rd, void *p, size_t n, goc_ctx *ctx);
/* Read and drop the rest of the body if at most `limit` bytes remain to
 * be read.  Returns: true when the body is now read to its end. */
bool goc__http_rd_drain(goc__http_rd *rd, uint64_t limit, goc_ctx *ctx);
/* Done with the message: its head's spans die; unread bytes (a
 * pipelined next message) move to the buffer's start. */
void goc__http_rd_next(goc__http_rd *rd);

/* Make room for at least need bytes in the growable buffer *buf of *cap
 * bytes (doubling from 256).  Returns: 0 or GOC_ENOMEM. */
int goc__http_reserve(char **buf, size_t *cap, size_t need);

/* Read a whole body into buf[0..cap) with read(obj, ...) (the server's
 * and the client's body reads).  Returns: its length; GOC_E2BIG when it
 * does not fit (the rest is unread); read's errors. */
ssize_t goc__http_read_all(ssize_t (*read)(void *obj, void *buf, size_t n),
                           void *obj, void *buf, size_t cap);

/* "Sun, 06 Dec 2026 08:00:00 GMT" for the second now, cached per caller
 * in date[30] with *sec (the second it holds).  Returns: date. */
const char *goc__http_date(char date[30], int64_t *sec);

#endif /* GOC_HTTP_CONN_H */
