/* SPDX-License-Identifier: MIT */
/*
 * test_http_diff.c - goc's HTTP/1.1 parser (src/http_parse.c) against
 * nodejs/http-parser 2.9.4, Debian's libhttp-parser-dev, which this test
 * alone links, as an oracle (docs/design/http.md, "The differential
 * test").
 *
 * Each input of the corpus is a stream, parsed by both:
 *   - goc's parser as a connection's reader calls it: a head, its body by
 *     Content-Length, through goc__http_chunked_decode or to the end, then
 *     the next head where the body ended, until a message that does not
 *     keep the connection;
 *   - http_parser fed one byte at a time, so that each message's end is
 *     known to the byte, and stopped where goc stops (a message that
 *     closes the connection) or where the rest is another protocol (an
 *     upgrade, CONNECT).
 * Both must find the same messages: method and target (or status and
 * reason), version, every field in order, the framing, the body's bytes,
 * keep-alive and where the message ends; and both must refuse, or both
 * not.  An entry where they differ on purpose says how (goc refuses, goc
 * accepts, or a field differs) and why; an unlisted difference fails,
 * and so does a listed one that went away.
 *
 * Then goc against itself: each input again from every proper prefix (a
 * reader with fewer bytes waits; it never sees another message or
 * another error), and with chunked bodies fed one and seven bytes at a
 * time.  Then a seeded mutation pass over the corpus: whatever goc
 * accepts, http_parser accepts and reads the same way, but for the few
 * kinds of input where goc is looser on purpose (looser_kind below).
 */
#include "../src/http_parse.h"
#include "test.h"

#if GOC_TEST_HTTP_PARSER

#include <http_parser.h>
#include <limits.h>
#include <strings.h>

/* ---- what a parser found ---- */

enum {
    MAXMSG = 8,      /* messages of one stream that are compared */
    GOC_FIELDS = 64, /* goc's field array: a head with more is 431 */
    MAXFIELDS = 128, /* what http_parser may give */
    TEXTMAX = 16384  /* a message's method, target, fields and body */
};

/* A run of a message's text (struct msg's text). */
typedef struct {
    size_t off, n;
} str;

struct msg {
    str method, target, reason;
    int status;
    int major, minor; /* minor 1 for any above 0: goc reads 1.x as 1.1 */
    size_t nfields;
    str name[MAXFIELDS], value[MAXFIELDS];
    int body;          /* enum goc__http_body */
    uint64_t length;   /* for GOC__HTTP_BODY_LENGTH */
    bool complete;     /* the body is in too (else only the head) */
    str data;          /* the body, decoded (complete messages) */
    bool keep_alive;   /* complete messages */
    bool upgrade;      /* http_parser: the rest is another protocol */
    size_t end;        /* where the message ends in the input */
    size_t ntext;
    char text[TEXTMAX];
};

/* A stream's messages: the complete ones, and last a head whose body
 * is not all there yet. */
struct result {
    int nmsg;
    int err; /* goc: -status; http_parser: its errno; 0: none */
    struct msg msg[MAXMSG];
};

struct input {
    const char *p;
    size_t n;
    bool response, head; /* head: a response to HEAD */
};

static str text_add(struct msg *m, const char *p, size_t n)
{
    if (m->ntext + n > TEXTMAX)
        FAIL("a message of more than %d bytes of text", TEXTMAX);
    if (n > 0)
        memcpy(m->text + m->ntext, p, n);
    str s = {m->ntext, n};
    m->ntext += n;
    return s;
}

/* Extend s, the run added last, by p[0..n). */
static void text_extend(struct msg *m, str *s, const char *p, size_t n)
{
    ASSERT(s->off + s->n == m->ntext);
    text_add(m, p, n);
    s->n += n;
}

/* The next message of r, emptied (a result is reused, never cleared:
 * it is large, and the prefix and mutation passes fill it often). */
static struct msg *msg_next(struct result *r)
{
    struct msg *m = &r->msg[r->nmsg++];
    m->ntext = 0;
    m->method = m->target = m->reason = m->data = (str){0, 0};
    m->status = m->major = m->minor = 0;
    m->nfields = 0;
    m->body = GOC__HTTP_BODY_NONE;
    m->length = 0;
    m->complete = m->keep_alive = m->upgrade = false;
    m->end = 0;
    return m;
}

static const char *text(const struct msg *m, str s)
{
    return m->text + s.off;
}

/* ---- goc ---- */

/* Decode a chunked body from p[0..n), fed to the decoder step bytes at a
 * time (all at once if 0), into m->data.  Returns the decoder's answer
 * for the last piece, with the input it used in *used. */
static int goc_chunked(const char *p, size_t n, size_t step, struct msg *m,
                       size_t *used)
{
    static char piece[65536];
    goc__http_chunked c = {0};
    m->data = text_add(m, "", 0);
    size_t in = 0;
    int rc = 0;
    while (in < n) {
        size_t k = step == 0 || n - in < step ? n - in : step;
        ASSERT_LE(k, sizeof piece);
        memcpy(piece, p + in, k);
        size_t len = k, u;
        rc = goc__http_chunked_decode(&c, piece, &len, &u);
        ASSERT_LE(len, u);
        ASSERT_LE(u, k);
        in += u;
        if (rc < 0)
            break;
        text_extend(m, &m->data, piece, len);
        if (rc == 1)
            break;
        ASSERT_EQ(u, k); /* all of it used while the body goes on */
    }
    *used = in;
    return rc;
}

static void copy_head(struct msg *m, const goc__http_head *h)
{
    m->method = text_add(m, h->method.p, h->method.n);
    m->target = text_add(m, h->target.p, h->target.n);
    m->reason = text_add(m, h->reason.p, h->reason.n);
    m->status = h->status;
    m->major = 1;
    m->minor = h->minor;
    m->nfields = h->nfields;
    for (size_t i = 0; i < h->nfields; i++) {
        m->name[i] = text_add(m, h->fields[i].name.p, h->fields[i].name.n);
        m->value[i] = text_add(m, h->fields[i].value.p, h->fields[i].value.n);
    }
    m->body = h->body;
    m->length = h->content_length;
    m->keep_alive = h->keep_alive;
}

/* The stream in->p[0..len) read by goc, chunked bodies fed step bytes at
 * a time (0: at once). */
static void goc_stream(const struct input *in, size_t len, size_t step,
                       struct result *r)
{
    r->nmsg = 0;
    r->err = 0;
    size_t pos = 0;
    while (pos < len && r->nmsg < MAXMSG) {
        goc__http_field fields[GOC_FIELDS];
        goc__http_head h = {.fields = fields, .maxfields = GOC_FIELDS};
        int rc = in->response ? goc__http_parse_response(in->p + pos,
                                                         len - pos, in->head,
                                                         &h)
                              : goc__http_parse_request(in->p + pos,
                                                        len - pos, &h);
        if (rc <= 0) {
            r->err = rc;
            return;
        }
        struct msg *m = msg_next(r);
        copy_head(m, &h);
        size_t at = pos + (size_t)rc, used;
        switch (h.body) {
        case GOC__HTTP_BODY_NONE:
            m->end = at;
            break;
        case GOC__HTTP_BODY_LENGTH:
            if (len - at < h.content_length)
                return;
            m->data = text_add(m, in->p + at, (size_t)h.content_length);
            m->end = at + (size_t)h.content_length;
            break;
        case GOC__HTTP_BODY_CHUNKED:
            rc = goc_chunked(in->p + at, len - at, step, m, &used);
            if (rc <= 0) {
                r->err = rc;
                return;
            }
            m->end = at + used;
            break;
        case GOC__HTTP_BODY_CLOSE:
            m->data = text_add(m, in->p + at, len - at);
            m->end = len;
            break;
        }
        m->complete = true;
        pos = m->end;
        if (!m->keep_alive)
            return; /* the connection ends here */
    }
}

/* ---- http_parser ---- */

enum piece { P_NONE, P_URL, P_STATUS, P_NAME, P_VALUE, P_BODY };

struct hp_state {
    struct result *r;
    const struct input *in;
    struct msg *m;  /* the message being read, or NULL */
    bool head_done; /* m's head is in: fields now are trailers */
    enum piece last;
    size_t at;      /* the byte being fed */
    bool stop;
};

/* Add a piece of a run: callbacks give a run in pieces, one per byte. */
static int hp_piece(http_parser *p, enum piece kind, str *s, const char *at,
                    size_t n)
{
    struct hp_state *st = p->data;
    if (st->last == kind)
        text_extend(st->m, s, at, n);
    else
        *s = text_add(st->m, at, n);
    st->last = kind;
    return 0;
}

static int hp_begin(http_parser *p)
{
    struct hp_state *st = p->data;
    ASSERT_LT(st->r->nmsg, MAXMSG);
    st->m = msg_next(st->r);
    st->r->nmsg--; /* counted once its head is in */
    st->head_done = false;
    st->last = P_NONE;
    return 0;
}

static int hp_url(http_parser *p, const char *at, size_t n)
{
    struct hp_state *st = p->data;
    return hp_piece(p, P_URL, &st->m->target, at, n);
}

static int hp_status(http_parser *p, const char *at, size_t n)
{
    struct hp_state *st = p->data;
    return hp_piece(p, P_STATUS, &st->m->reason, at, n);
}

static int hp_name(http_parser *p, const char *at, size_t n)
{
    struct hp_state *st = p->data;
    struct msg *m = st->m;
    if (st->head_done)
        return 0; /* a trailer: goc skips them */
    if (st->last != P_NAME) {
        if (m->nfields == MAXFIELDS)
            FAIL("more than %d fields", MAXFIELDS);
        m->value[m->nfields++] = (str){0, 0};
    }
    return hp_piece(p, P_NAME, &m->name[m->nfields - 1], at, n);
}

static int hp_value(http_parser *p, const char *at, size_t n)
{
    struct hp_state *st = p->data;
    if (st->head_done)
        return 0;
    return hp_piece(p, P_VALUE, &st->m->value[st->m->nfields - 1], at, n);
}

static int hp_headers_complete(http_parser *p)
{
    struct hp_state *st = p->data;
    struct msg *m = st->m;
    const struct input *in = st->in;
    if (!in->response) {
        const char *s = http_method_str((enum http_method)p->method);
        m->method = text_add(m, s, strlen(s));
    }
    m->status = in->response ? (int)p->status_code : 0;
    m->major = p->http_major;
    m->minor = p->http_minor > 1 ? 1 : p->http_minor;
    /* http_parser keeps a value's trailing whitespace; goc's spans leave
     * it out (RFC 9110 5.5: it is not part of the value). */
    for (size_t i = 0; i < m->nfields; i++) {
        str *v = &m->value[i];
        while (v->n > 0 && (m->text[v->off + v->n - 1] == ' ' ||
                            m->text[v->off + v->n - 1] == '\t'))
            v->n--;
    }
    /* The framing, in goc's terms. */
    bool no_body = in->response && in->head;
    int s = (int)p->status_code;
    if (no_body)
        m->body = GOC__HTTP_BODY_NONE;
    else if (p->flags & F_CHUNKED)
        m->body = GOC__HTTP_BODY_CHUNKED;
    else if (p->uses_transfer_encoding && in->response)
        m->body = GOC__HTTP_BODY_CLOSE; /* whatever the status */
    else if (p->content_length != ULLONG_MAX && p->content_length > 0)
        m->body = GOC__HTTP_BODY_LENGTH;
    else if (p->content_length == ULLONG_MAX && in->response &&
             s >= 200 && s != 204 && s != 304)
        m->body = GOC__HTTP_BODY_CLOSE; /* http_message_needs_eof */
    else
        m->body = GOC__HTTP_BODY_NONE;
    m->length = m->body == GOC__HTTP_BODY_LENGTH ? p->content_length : 0;
    m->data = (str){m->ntext, 0};
    st->head_done = true;
    st->r->nmsg++;
    return no_body ? 1 : 0; /* 1: no body (a response to HEAD) */
}

static int hp_body(http_parser *p, const char *at, size_t n)
{
    struct hp_state *st = p->data;
    return hp_piece(p, P_BODY, &st->m->data, at, n);
}

static int hp_message_complete(http_parser *p)
{
    struct hp_state *st = p->data;
    struct msg *m = st->m;
    m->complete = true;
    m->end = st->at + 1;
    m->keep_alive = http_should_keep_alive(p) != 0;
    m->upgrade = p->upgrade != 0;
    if (!m->keep_alive || m->upgrade || st->r->nmsg == MAXMSG)
        st->stop = true;
    st->m = NULL;
    return 0;
}

static const http_parser_settings hp_settings = {
    .on_message_begin = hp_begin,
    .on_url = hp_url,
    .on_status = hp_status,
    .on_header_field = hp_name,
    .on_header_value = hp_value,
    .on_headers_complete = hp_headers_complete,
    .on_body = hp_body,
    .on_message_complete = hp_message_complete,
};

static void hp_stream(const struct input *in, struct result *r)
{
    r->nmsg = 0;
    r->err = 0;
    struct hp_state st = {.r = r, .in = in};
    http_parser p;
    http_parser_init(&p, in->response ? HTTP_RESPONSE : HTTP_REQUEST);
    p.data = &st;
    for (size_t i = 0; i < in->n && !st.stop; i++) {
        st.at = i;
        http_parser_execute(&p, &hp_settings, in->p + i, 1);
        if (HTTP_PARSER_ERRNO(&p) != HPE_OK) {
            r->err = (int)HTTP_PARSER_ERRNO(&p);
            return;
        }
    }
    /* The end of the input ends a body read to the connection's end. */
    if (!st.stop && st.m != NULL && st.head_done &&
        st.m->body == GOC__HTTP_BODY_CLOSE) {
        st.at = in->n - 1;
        http_parser_execute(&p, &hp_settings, NULL, 0);
        if (HTTP_PARSER_ERRNO(&p) != HPE_OK)
            r->err = (int)HTTP_PARSER_ERRNO(&p);
    }
}

/* ---- comparing ---- */

static bool str_eq(const struct msg *a, str x, const struct msg *b, str y)
{
    return x.n == y.n && memcmp(text(a, x), text(b, y), x.n) == 0;
}

/* How two messages' heads differ (NULL: they do not); framing: their
 * framing too (not when one parser refused the message: http_parser
 * refuses some after it gave its head). */
static const char *head_diff(const struct msg *a, const struct msg *b,
                             bool response, bool framing)
{
    if (response) {
        if (a->status != b->status)
            return "status";
        if (!str_eq(a, a->reason, b, b->reason))
            return "reason";
    } else {
        if (!str_eq(a, a->method, b, b->method))
            return "method";
        if (!str_eq(a, a->target, b, b->target))
            return "target";
    }
    if (a->major != b->major || a->minor != b->minor)
        return "version";
    if (a->nfields != b->nfields)
        return "field count";
    for (size_t i = 0; i < a->nfields; i++) {
        if (!str_eq(a, a->name[i], b, b->name[i]))
            return "field name";
        if (!str_eq(a, a->value[i], b, b->value[i]))
            return "field value";
    }
    if (b->upgrade || a->upgrade || !framing)
        return NULL; /* an upgrade's body is another protocol's */
    if (a->body != b->body)
        return "framing";
    if (a->length != b->length)
        return "content length";
    return NULL;
}

/* How two complete messages' bodies and ends differ (NULL: they do
 * not). */
static const char *tail_diff(const struct msg *a, const struct msg *b)
{
    if (!str_eq(a, a->data, b, b->data))
        return "body";
    if (a->keep_alive != b->keep_alive)
        return "keep-alive";
    if (a->end != b->end)
        return "message end";
    return NULL;
}

/* How goc's reading of a stream differs from http_parser's. */
enum diff {
    AGREE,
    REFUSES, /* goc refuses what http_parser accepts */
    ACCEPTS, /* goc accepts what http_parser refuses */
    DIFFERS  /* both accept, and read it differently */
};
static const char *const diff_name[] = {"agree", "goc refuses",
                                        "goc accepts", "they differ"};

struct verdict {
    enum diff kind;
    bool looser; /* goc accepted something that http_parser did not,
                    or read it otherwise: never, but on purpose */
    int msg;     /* the message concerned (from 0) */
    const char *what;
};

/* Whether message i of r is the one r's parser refused. */
static bool refused(const struct result *r, int i)
{
    return r->err != 0 && i == r->nmsg - 1 && !r->msg[i].complete;
}

static struct verdict compare(const struct input *in, const struct result *g,
                              const struct result *h)
{
    int n = g->nmsg < h->nmsg ? g->nmsg : h->nmsg;
    for (int i = 0; i < n; i++) {
        const struct msg *a = &g->msg[i], *b = &h->msg[i];
        const char *d = head_diff(a, b, in->response,
                                  !refused(g, i) && !refused(h, i));
        if (d != NULL)
            return (struct verdict){DIFFERS, true, i, d};
        if (b->upgrade)
            return (struct verdict){AGREE, false, i, NULL};
        if (a->complete && b->complete) {
            d = tail_diff(a, b);
            if (d != NULL)
                return (struct verdict){DIFFERS, true, i, d};
        } else if (a->complete) { /* the last of http_parser's */
            if (h->err != 0)
                return (struct verdict){ACCEPTS, true, i, "message"};
            return (struct verdict){DIFFERS, true, i,
                                    "http_parser wants more body"};
        } else if (b->complete) { /* the last of goc's */
            if (g->err != 0)
                return (struct verdict){REFUSES, false, i, "message"};
            return (struct verdict){DIFFERS, false, i, "goc wants more body"};
        }
    }
    /* The heads each took, less a last one refused after all (its body,
     * or http_parser's checks of Transfer-Encoding, which come after
     * its head's callback). */
    int gn = g->nmsg - (g->nmsg > 0 && refused(g, g->nmsg - 1));
    int hn = h->nmsg - (h->nmsg > 0 && refused(h, h->nmsg - 1));
    if (gn > hn)
        return (struct verdict){h->err != 0 ? ACCEPTS : DIFFERS, true, hn,
                                "head"};
    if (gn < hn)
        return (struct verdict){g->err != 0 ? REFUSES : DIFFERS, false, gn,
                                "head"};
    if ((g->err != 0) == (h->err != 0))
        return (struct verdict){AGREE, false, 0, NULL};
    return (struct verdict){g->err != 0 ? REFUSES : ACCEPTS, false, n,
                            "the stream's end"};
}

/* ---- where goc is looser on purpose ---- */

static const char *const hp_methods[] = {
#define XX(num, name, string) #string,
    HTTP_METHOD_MAP(XX)
#undef XX
};

static bool field_is(const struct msg *m, size_t i, const char *name)
{
    return m->name[i].n == strlen(name) &&
           strncasecmp(text(m, m->name[i]), name, m->name[i].n) == 0;
}

static bool name_begins(const struct msg *m, size_t i, const char *prefix)
{
    return m->name[i].n > strlen(prefix) &&
           strncasecmp(text(m, m->name[i]), prefix, strlen(prefix)) == 0;
}

/* Whether field i's value is a list with the element elem. */
static bool list_has(const struct msg *m, size_t i, const char *elem)
{
    const char *p = text(m, m->value[i]), *end = p + m->value[i].n;
    while (p < end) {
        while (p < end && (*p == ',' || *p == ' ' || *p == '\t'))
            p++;
        const char *e = p;
        while (e < end && *e != ',')
            e++;
        size_t n = (size_t)(e - p);
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n == strlen(elem) && strncasecmp(p, elem, n) == 0)
            return true;
        p = e;
    }
    return false;
}

/* Whether a field line named name, in the head that starts at in->p[at],
 * has a tab in its value (which goc's spans leave out). */
static bool raw_value_has_tab(const struct input *in, size_t at,
                              const char *name)
{
    size_t n = strlen(name);
    const char *p = in->p + at, *end = in->p + in->n;
    bool start_line = false;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl != NULL ? nl : end;
        bool empty = eol == p || (eol == p + 1 && *p == '\r');
        if (empty && start_line)
            return false; /* the head's end */
        start_line = start_line || !empty;
        if ((size_t)(eol - p) > n && strncasecmp(p, name, n) == 0 &&
            p[n] == ':' && memchr(p + n, '\t', (size_t)(eol - p) - n) != NULL)
            return true;
        p = eol + 1;
    }
    return false;
}

/* The kinds of input goc reads more loosely than http_parser, on
 * purpose (docs/design/http.md), each narrowly told.  Returns the kind's
 * reason, or NULL when the difference v is none of them. */
static const char *looser_kind(const struct input *in,
                               const struct result *g,
                               const struct result *h, struct verdict v)
{
    const struct msg *m = &g->msg[v.msg];
    const struct msg *hm = v.msg < h->nmsg ? &h->msg[v.msg] : NULL;
    size_t start = v.msg > 0 ? g->msg[v.msg - 1].end : 0;
    int cl = 0, te = 0;
    bool cl_list = false, te_prefix = false, close = false, keep = false;
    for (size_t i = 0; i < m->nfields; i++) {
        if (field_is(m, i, "content-length")) {
            cl++;
            cl_list = cl_list ||
                      memchr(text(m, m->value[i]), ',', m->value[i].n) != NULL;
        }
        te += field_is(m, i, "transfer-encoding");
        te_prefix = te_prefix || name_begins(m, i, "transfer-encoding");
        if (field_is(m, i, "connection")) {
            close = close || list_has(m, i, "close");
            keep = keep || list_has(m, i, "keep-alive");
        }
    }
    if (v.kind == ACCEPTS && v.msg == h->nmsg && !in->response &&
        h->err == HPE_INVALID_METHOD && m->method.n > 0) {
        /* A method is a token (RFC 9110 9.1); the server answers 501 to
         * one it does not know.  http_parser knows a fixed list. */
        for (size_t i = 0; i < sizeof hp_methods / sizeof hp_methods[0];
             i++)
            if (m->method.n == strlen(hp_methods[i]) &&
                memcmp(text(m, m->method), hp_methods[i], m->method.n) == 0)
                return NULL;
        return "a method http_parser does not know";
    }
    if (v.kind == ACCEPTS && (h->err == HPE_UNEXPECTED_CONTENT_LENGTH ||
                              h->err == HPE_INVALID_CONTENT_LENGTH)) {
        /* Equal Content-Lengths, in a list or on several lines, are one
         * (RFC 9110 8.6); http_parser refuses all but a lone one. */
        if (cl > 1 || cl_list)
            return "equal Content-Lengths";
        /* Whitespace around a value is SP or HTAB (RFC 9110 5.5);
         * http_parser takes SP alone after Content-Length's digits. */
        if (cl == 1 && raw_value_has_tab(in, start, "content-length"))
            return "a tab after Content-Length's value";
    }
    if (v.kind == ACCEPTS && te_prefix &&
        (h->err == HPE_INVALID_TRANSFER_ENCODING ||
         h->err == HPE_UNEXPECTED_CONTENT_LENGTH)) {
        /* http_parser 2.9.4 marks a message as having Transfer-Encoding
         * when a field's name only begins with it; then it refuses the
         * message unless it is chunked, and with Content-Length. */
        return "a name that begins with Transfer-Encoding";
    }
    bool framing = strcmp(v.what, "framing") == 0 ||
                   strcmp(v.what, "content length") == 0 ||
                   strcmp(v.what, "http_parser wants more body") == 0 ||
                   strcmp(v.what, "message") == 0;
    if (te == 1 && raw_value_has_tab(in, start, "transfer-encoding") &&
        ((v.kind == ACCEPTS && h->err == HPE_INVALID_TRANSFER_ENCODING) ||
         (v.kind == DIFFERS && in->response && framing))) {
        /* "chunked<HTAB>": the tab is whitespace; http_parser reads it
         * into the coding, then refuses a request and reads a response
         * to the connection's end. */
        return "a tab after Transfer-Encoding's value";
    }
    if (v.kind == DIFFERS && strcmp(v.what, "keep-alive") == 0 && hm) {
        /* http_parser misses a close or keep-alive in Connection after
         * an element it cannot match: an empty one (which a recipient
         * skips, RFC 9110 5.6.1), one that begins as close, keep-alive
         * or upgrade does ("c, close"), one of other bytes than a
         * token's; or with a tab after it.  In HTTP/1.0 it looks for
         * keep-alive alone, and keeps the connection beside a close.
         * goc reads the list: it closes when it found close (closing is
         * always safe), and keeps an HTTP/1.0 connection when it found
         * keep-alive and no close. */
        if (!m->keep_alive && hm->keep_alive && close)
            return "a close in Connection that http_parser misses";
        if (m->keep_alive && !hm->keep_alive && m->minor == 0 && keep &&
            !close)
            return "a keep-alive in Connection that http_parser misses";
    }
    if (in->response && hm != NULL && framing &&
        m->body == GOC__HTTP_BODY_NONE && hm->body != GOC__HTTP_BODY_NONE &&
        (m->status < 200 || m->status == 204 || m->status == 304)) {
        /* 1xx, 204 and 304 responses have no body whatever their fields
         * say (RFC 9112 6.3); http_parser reads one by them, and what
         * follows differs from there on. */
        return "a body framed in a 1xx, 204 or 304 response";
    }
    return NULL;
}

/* ---- the corpus ---- */

struct entry {
    const char *text;
    size_t len;
    bool response, head;
    enum diff expect; /* AGREE, or the difference intended */
    const char *why;  /* the reason for it */
};

/* An entry from a literal: its length from sizeof, so NULs may be in it. */
#define REQ(s) {s, sizeof s - 1, false, false, AGREE, NULL}
#define RESP(s) {s, sizeof s - 1, true, false, AGREE, NULL}
#define RESP_HEAD(s) {s, sizeof s - 1, true, true, AGREE, NULL}
#define REQ_DIFF(kind, s, why) {s, sizeof s - 1, false, false, kind, why}
#define RESP_DIFF(kind, s, why) {s, sizeof s - 1, true, false, kind, why}

#define TE "Transfer-Encoding: chunked\r\n"
#define POST_CHUNKED "POST /up HTTP/1.1\r\nHost: a\r\n" TE "\r\n"

static const struct entry corpus[] = {
    /* ---- requests both accept ---- */
    REQ("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"),
    REQ("GET /index.html HTTP/1.0\r\n\r\n"),
    REQ("HEAD /x HTTP/1.1\r\nHost: a\r\n\r\n"),
    REQ("POST /submit HTTP/1.1\r\nHost: a\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        "Content-Length: 13\r\n\r\nname=v&x=1234"),
    REQ("PUT /f.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"),
    REQ("DELETE /items/42 HTTP/1.1\r\nHost: a\r\n\r\n"),
    REQ("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"),
    REQ("PATCH /p HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}"),
    REQ("PROPFIND /dav/ HTTP/1.1\r\nDepth: 1\r\n\r\n"),
    REQ("M-SEARCH * HTTP/1.1\r\nMAN: \"ssdp:discover\"\r\n\r\n"),
    REQ("PURGE /cache HTTP/1.1\r\n\r\n"),
    REQ("GET /search?q=a+b&lang=en&x=%20y HTTP/1.1\r\n\r\n"),
    REQ("GET /a/b;p=1/c?x=[1]&y={2}|~`^\"<>\\ HTTP/1.1\r\n\r\n"),
    REQ("GET /page#frag?x HTTP/1.1\r\n\r\n"),
    REQ("GET /%E2%82%AC/@:!$&'()*+,;= HTTP/1.1\r\n\r\n"),
    REQ("GET http://example.com:8080/p?q=1 HTTP/1.1\r\n\r\n"),
    REQ("GET https://user:pw@[::1]:443/ HTTP/1.1\r\n\r\n"),
    REQ("GET http://a.b HTTP/1.1\r\n\r\n"),
    REQ("GET //double/slash HTTP/1.1\r\n\r\n"),
    REQ("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"),
    REQ("GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n"
        "\x81\x05hello"),
    REQ("GET / HTTP/1.1\r\nHost: www.example.com\r\n"
        "Origin: https://www.example.com\r\nDNT: 1\r\n"
        "Accept: text/html,application/xhtml+xml;q=0.9,*/*;q=0.8\r\n"
        "Accept-Language: en-US,en;q=0.5\r\n"
        "Accept-Encoding: gzip, deflate, br\r\n"
        "Referer: https://www.example.com/start\r\n"
        "Cookie: a=1; b=2; session=abcdef0123456789\r\n"
        "Cookie: c=3\r\n"
        "Upgrade-Insecure-Requests: 1\r\n"
        "Sec-Fetch-Dest: document\r\nSec-Fetch-Mode: navigate\r\n"
        "If-None-Match: W/\"0815\"\r\n"
        "Cache-Control: max-age=0\r\n\r\n"),
    /* the connection */
    REQ("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
    REQ("GET / HTTP/1.0\r\nConnection: Keep-Alive, Upgrade\r\n\r\n"),
    REQ("GET / HTTP/1.0\r\nConnection: close\r\n\r\n"),
    REQ("GET / HTTP/1.1\r\nConnection: close\r\n\r\n"),
    REQ("GET / HTTP/1.1\r\nConnection: CLOSE\r\n\r\n"),
    REQ("GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n"),
    REQ("GET / HTTP/1.1\r\nConnection: foo, close, bar\r\n\r\n"),
    REQ("GET / HTTP/1.1\r\nConnection: te\r\nConnection: close\r\n\r\n"),
    REQ("GET / HTTP/1.2\r\nHost: a\r\n\r\n"),
    REQ("GET / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"
        "abc"),
    /* Content-Length */
    REQ("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n"),
    REQ("POST / HTTP/1.1\r\nContent-Length: 0005\r\n\r\nhello"),
    REQ("POST / HTTP/1.1\r\nContent-Length:  5 \r\n\r\nhello"),
    REQ("POST / HTTP/1.1\r\ncontent-length: 5\r\n\r\nhello"),
    REQ("POST / HTTP/1.1\r\nContent-Length: 26\r\n\r\n"
        "GET /x HTTP/1.1\r\n\r\nabcdef"),
    REQ("POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\n\r\n\r\n"),
    /* chunked */
    REQ(POST_CHUNKED "5\r\nhello\r\n0\r\n\r\n"),
    REQ(POST_CHUNKED "4\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks."
        "\r\n0\r\n\r\n"),
    REQ(POST_CHUNKED "5;name=value;q=\"a b\"\r\nhello\r\n0;last\r\n\r\n"),
    REQ(POST_CHUNKED "5 ;a=b\r\nhello\r\n0\r\n\r\n"),
    REQ(POST_CHUNKED "5\r\nhello\r\n0\r\nExpires: never\r\nX-Sum: 1\r\n\r\n"),
    REQ(POST_CHUNKED "A\r\n0123456789\r\na\r\nabcdefghij\r\n0\r\n\r\n"),
    REQ(POST_CHUNKED "0005\r\nhello\r\n000\r\n\r\n"),
    REQ(POST_CHUNKED "0\r\n\r\n"),
    REQ("POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n"
        "1\r\nx\r\n0\r\n\r\n"),
    REQ("POST / HTTP/1.1\r\nTransfer-Encoding:   chunked  \r\n\r\n"
        "1\r\nx\r\n0\r\n\r\n"),
    REQ(POST_CHUNKED "6\r\na\r\nb\r\n\r\n0\r\n\r\n"),
    REQ("POST / HTTP/1.1\r\n" TE "Connection: close\r\n\r\n"
        "3\r\nabc\r\n0\r\n\r\nGET /ignored HTTP/1.1\r\n\r\n"),
    /* pipelined */
    REQ("GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n"),
    REQ("POST /1 HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET /2 HTTP/1.1\r\n"
        "\r\n"),
    REQ(POST_CHUNKED "3\r\nabc\r\n0\r\n\r\nGET /2 HTTP/1.1\r\n\r\n"),
    REQ("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n"
        "GET /3 HTTP/1.1\r\nConnection: close\r\n\r\n"),
    REQ("GET /1 HTTP/1.0\r\n\r\nGET /2 HTTP/1.0\r\n\r\n"),
    REQ("GET /1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
        "GET /2 HTTP/1.1\r\n\r\n"),
    REQ("POST /1 HTTP/1.1\r\nContent-Length: 1\r\n\r\nx\r\n"
        "GET /2 HTTP/1.1\r\n\r\n"),
    /* line ends */
    REQ("GET / HTTP/1.1\nHost: a\n\n"),
    REQ("GET / HTTP/1.1\r\nHost: a\nX: y\r\n\n"),
    REQ("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
    REQ("\nGET / HTTP/1.1\r\n\r\n"),
    REQ("POST / HTTP/1.1\n" TE "\n5\r\nhello\r\n0\r\nA: b\n\n"),
    /* field values and names */
    REQ("GET / HTTP/1.1\r\nX-Empty:\r\nY: 1\r\n\r\n"),
    REQ("GET / HTTP/1.1\r\nX-Ws:   \t \r\n\r\n"),
    REQ("GET / HTTP/1.1\r\nX:\tinner  spaces\there\t \r\n\r\n"),
    REQ("GET / HTTP/1.1\r\nX: caf\xc3\xa9 \x80\xff\r\n\r\n"),
    REQ("GET / HTTP/1.1\r\n!#$%&'*+-.^_`|~09azAZ: v\r\n\r\n"),
    REQ("GET / HTTP/1.1\r\nHost: example.com:8080\r\nX: a:b::c\r\n\r\n"),
    REQ("GET / HTTP/1.1\r\nX: \"quoted, with comma\"\r\n\r\n"),

    /* ---- requests both refuse ---- */
    /* two framings */
    REQ("POST / HTTP/1.1\r\nContent-Length: 3\r\n" TE "\r\n3\r\nabc\r\n0\r\n"
        "\r\n"),
    REQ("POST / HTTP/1.1\r\n" TE "Content-Length: 3\r\n\r\nabc"),
    REQ("POST / HTTP/1.1\r\n" TE "Content-Length: 0\r\n\r\n0\r\n\r\n"),
    /* Content-Length */
    REQ("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"
        "hello!"),
    REQ("POST / HTTP/1.1\r\nContent-Length: 5, 6\r\n\r\nhello!"),
    REQ("POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\nhello"),
    REQ("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"),
    REQ("POST / HTTP/1.1\r\nContent-Length: 0x5\r\n\r\nhello"),
    REQ("POST / HTTP/1.1\r\nContent-Length: 5 5\r\n\r\nhello"),
    REQ("POST / HTTP/1.1\r\nContent-Length: 5a\r\n\r\nhello"),
    REQ("POST / HTTP/1.1\r\nContent-Length:\r\n\r\n"),
    REQ("POST / HTTP/1.1\r\nContent-Length: 184467440737095516160\r\n\r\n"),
    /* Transfer-Encoding */
    REQ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"),
    REQ("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n"),
    REQ("POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n"),
    REQ("POST / HTTP/1.1\r\nTransfer-Encoding:\r\n\r\n"),
    REQ("POST / HTTP/1.1\r\nTransfer-Encoding: chunkedx\r\n\r\n"),
    REQ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"
        "0\r\n\r\n"),
    REQ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked,\r\n\r\n0\r\n\r\n"),
    REQ("POST / HTTP/1.1\r\nTransfer-Encoding: , chunked\r\n\r\n0\r\n\r\n"),
    REQ("POST / HTTP/1.1\r\nTransfer-Encoding: gzip,,chunked\r\n\r\n"
        "0\r\n\r\n"),
    /* chunk sizes and lines */
    REQ(POST_CHUNKED "zz\r\n"),
    REQ(POST_CHUNKED "-1\r\n"),
    REQ(POST_CHUNKED " 5\r\nhello\r\n0\r\n\r\n"),
    REQ(POST_CHUNKED "\r\nhello\r\n0\r\n\r\n"),
    REQ(POST_CHUNKED "5x\r\nhello\r\n0\r\n\r\n"),
    REQ(POST_CHUNKED "5\tx\r\nhello\r\n0\r\n\r\n"),
    REQ(POST_CHUNKED "FFFFFFFFFFFFFFFFF\r\n"),
    REQ(POST_CHUNKED "4\r\nWikiX\r\n0\r\n\r\n"),
    REQ(POST_CHUNKED "3\nabc\r\n0\r\n\r\n"),
    REQ(POST_CHUNKED "3\r\nabc\n0\r\n\r\n"),
    REQ(POST_CHUNKED "3;a\rb\r\nabc\r\n0\r\n\r\n"),
    REQ(POST_CHUNKED "0\r\nbad trailer\r\n\r\n"),
    /* fields */
    REQ("GET / HTTP/1.1\r\nHost\t: x\r\n\r\n"),
    REQ("GET / HTTP/1.1\r\nNoColon\r\n\r\n"),
    REQ("GET / HTTP/1.1\r\n: empty name\r\n\r\n"),
    REQ("GET / HTTP/1.1\r\nX(y): a\r\n\r\n"),
    REQ("GET / HTTP/1.1\r\nX\xc3\xa9: a\r\n\r\n"),
    REQ("GET / HTTP/1.1\r\nX: a\x01z\r\n\r\n"),
    REQ("GET / HTTP/1.1\r\nX: a\x7fz\r\n\r\n"),
    REQ("GET / HTTP/1.1\r\nX: a\0z\r\n\r\n"),
    REQ("GET / HTTP/1.1\r\nX\0: a\r\n\r\n"),
    REQ("GET / HTTP/1.1\r\nX: a\rz\r\n\r\n"),
    REQ("GET / HTTP/1.1\r\nX: a\r\r\n\r\n"),
    /* request line */
    REQ("GET / HTTP/1.1 x\r\n\r\n"),
    REQ("GET / HTTP/1.1 \r\n\r\n"),
    REQ("GET /a b HTTP/1.1\r\n\r\n"),
    REQ("GET /\x7f HTTP/1.1\r\n\r\n"),
    REQ("GET /\0 HTTP/1.1\r\n\r\n"),
    REQ("G\0T / HTTP/1.1\r\n\r\n"),
    REQ("G(T / HTTP/1.1\r\n\r\n"),
    REQ("GET\t/\tHTTP/1.1\r\n\r\n"),
    REQ("GET / http/1.1\r\n\r\n"),
    REQ("GET / HTTP/1\r\n\r\n"),
    REQ("GET / HTTP/11\r\n\r\n"),
    REQ("GET / HTTP/1.a\r\n\r\n"),
    REQ("GET / HTTP/1.10\r\n\r\n"),
    REQ("GET / HTTP/1.1\r\r\n\r\n"),
    REQ("GET abc HTTP/1.1\r\n\r\n"),
    REQ("GET %2F HTTP/1.1\r\n\r\n"),
    REQ("GET http:/a HTTP/1.1\r\n\r\n"),
    REQ("GET urn:isbn:0451450523 HTTP/1.1\r\n\r\n"),
    REQ("GET http://a{b}/ HTTP/1.1\r\n\r\n"),
    REQ("GET http://a#f HTTP/1.1\r\n\r\n"),
    REQ(" GET / HTTP/1.1\r\n\r\n"),

    /* ---- requests goc refuses on purpose ---- */
    REQ_DIFF(REFUSES, "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n"
             "\r\n0\r\n\r\n", "gzip is not implemented (501)"),
    REQ_DIFF(REFUSES, "POST / HTTP/1.1\r\n" TE TE "\r\n0\r\n\r\n",
             "chunked twice, on two lines"),
    REQ_DIFF(REFUSES, "POST / HTTP/1.0\r\n" TE "\r\n0\r\n\r\n",
             "HTTP/1.0 has no chunked coding (RFC 9112 6.1)"),
    REQ_DIFF(REFUSES, "POST / HTTP/1.1\r\nContent-Length: 99999999999999999"
             "\r\n\r\n", "Content-Length over 2^53"),
    REQ_DIFF(REFUSES, POST_CHUNKED "FFFFFFFFFFFFFF\r\n",
             "a chunk over 2^53 bytes"),
    REQ_DIFF(REFUSES, POST_CHUNKED "3;a\nb\r\nabc\r\n0\r\n\r\n",
             "a bare LF in a chunk line, which http_parser takes for an "
             "extension's byte and others for the line's end"),
    REQ_DIFF(REFUSES, POST_CHUNKED "3;\x01\r\nabc\r\n0\r\n\r\n",
             "a control byte in a chunk extension"),
    REQ_DIFF(REFUSES, POST_CHUNKED "0\r\nX: a\r\n b\r\n\r\n",
             "obs-fold in a trailer"),
    REQ_DIFF(REFUSES, POST_CHUNKED "0\r\nX : y\r\n\r\n",
             "a space before a trailer's colon"),
    REQ_DIFF(REFUSES, POST_CHUNKED "0\r\nX: \x01\r\n\r\n",
             "a control byte in a trailer (http_parser checks a head's)"),
    REQ_DIFF(REFUSES, POST_CHUNKED "4\r\nWiki\rX",
             "chunk data and CR, then no LF: http_parser (non-strict) "
             "takes any byte for it"),
    REQ_DIFF(REFUSES, "GET / HTTP/1.1\r\nHost : x\r\n\r\n",
             "a space before the colon (RFC 9112 5.1): http_parser "
             "(non-strict) takes it into the name"),
    REQ_DIFF(REFUSES, "GET / HTTP/1.1\r\nX Y: z\r\n\r\n",
             "a space in a field name"),
    REQ_DIFF(REFUSES, "GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n",
             "non-ASCII in the target (RFC 3986: percent-encoded)"),
    REQ_DIFF(REFUSES, "GET /a\tb HTTP/1.1\r\n\r\n",
             "a tab in the target"),
    REQ_DIFF(REFUSES, "GET / HXXP/1.1\r\n\r\n",
             "not HTTP: http_parser (non-strict) checks the H alone"),
    REQ_DIFF(REFUSES, "GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n",
             "obs-fold (RFC 9112 5.2)"),
    REQ_DIFF(REFUSES, "GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n",
             "obs-fold with a tab"),
    REQ_DIFF(REFUSES, "GET  / HTTP/1.1\r\n\r\n",
             "two spaces in the request line (RFC 9112 3)"),
    REQ_DIFF(REFUSES, "GET /  HTTP/1.1\r\n\r\n",
             "two spaces before the version"),
    REQ_DIFF(REFUSES, "GET /\r\n\r\n", "HTTP/0.9: no version"),
    REQ_DIFF(REFUSES, "GET / HTTP/2.0\r\n\r\n", "HTTP/2.0 in HTTP/1 (505)"),
    REQ_DIFF(REFUSES, "GET / HTTP/0.9\r\n\r\n", "HTTP/0.9 (505)"),
    REQ_DIFF(REFUSES, "\r\n\r\nGET / HTTP/1.1\r\n\r\n",
             "two empty lines before the request (RFC 9112 2.2: one)"),
    REQ_DIFF(REFUSES, "\rGET / HTTP/1.1\r\n\r\n", "a bare CR before it"),
    REQ_DIFF(REFUSES, "GET *x HTTP/1.1\r\n\r\n",
             "asterisk-form is \"*\" alone (RFC 9112 3.2.4)"),
    REQ_DIFF(REFUSES, "GET http://u@a@b/ HTTP/1.1\r\n\r\n",
             "two '@' in an authority"),
    REQ_DIFF(REFUSES, "CONNECT /a HTTP/1.1\r\n\r\n",
             "CONNECT takes authority-form only (RFC 9112 3.2.3)"),

    /* ---- requests goc reads more loosely on purpose ---- */
    REQ_DIFF(ACCEPTS, "BREW /pot HTTP/1.1\r\n\r\n",
             "a method is any token (RFC 9110 9.1): the server answers 501"),
    REQ_DIFF(ACCEPTS, "get / HTTP/1.1\r\n\r\n",
             "methods are case-sensitive tokens: \"get\" is an unknown one"),
    REQ_DIFF(ACCEPTS, "POST / HTTP/1.1\r\nContent-Length: 3\r\n"
             "Content-Length: 3\r\n\r\nabc",
             "equal Content-Lengths are one (RFC 9110 8.6)"),
    REQ_DIFF(ACCEPTS, "POST / HTTP/1.1\r\nContent-Length: 3, 3\r\n\r\nabc",
             "a list of equal Content-Lengths is one (RFC 9110 8.6)"),
    REQ_DIFF(ACCEPTS, "POST / HTTP/1.1\r\nContent-Length: 5\t\r\n\r\nhello",
             "a tab after a value is whitespace (RFC 9110 5.5); "
             "http_parser takes spaces only after Content-Length"),
    REQ_DIFF(ACCEPTS, "POST / HTTP/1.1\r\nTransfer-Encoding-Note: x\r\n\r\n",
             "http_parser's bug: a name that begins with Transfer-Encoding "
             "is taken for it"),
    REQ_DIFF(ACCEPTS, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\t\r\n"
             "\r\n0\r\n\r\n", "a tab after a value is whitespace "
             "(RFC 9110 5.5): http_parser refuses it"),
    REQ_DIFF(DIFFERS, "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n"
             "\r\n", "close wins over keep-alive; http_parser reads only "
             "the keep-alive in HTTP/1.0"),
    REQ_DIFF(DIFFERS, "GET / HTTP/1.1\r\nConnection: foo,, close\r\n\r\n",
             "http_parser loses the close after an empty element"),
    REQ_DIFF(DIFFERS, "GET / HTTP/1.0\r\nConnection: , keep-alive\r\n\r\n",
             "http_parser loses the keep-alive after an empty element"),
    REQ_DIFF(DIFFERS, "GET / HTTP/1.1\r\nConnection: clo, close\r\n\r\n",
             "http_parser loses the close after one that begins like it"),
    REQ_DIFF(DIFFERS, "GET / HTTP/1.0\r\nConnection: k, keep-alive\r\n\r\n",
             "http_parser loses the keep-alive after one that begins like "
             "it"),
    REQ_DIFF(DIFFERS, "GET / HTTP/1.1\r\nConnection: close\t\r\n\r\n",
             "http_parser reads the tab into the value: no close"),
    REQ_DIFF(DIFFERS, "GET / HTTP/1.0\r\nConnection: keep-alive\t\r\n\r\n",
             "http_parser reads the tab into the value: no keep-alive"),

    /* ---- responses both accept ---- */
    RESP("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"),
    RESP("HTTP/1.1 200 OK\r\n" TE "\r\n5\r\nhello\r\n0\r\n\r\n"),
    RESP("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nto the end"),
    RESP("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"),
    RESP("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2"
         "\r\n\r\nokHTTP/1.0 404 Not Found\r\n\r\n"),
    RESP("HTTP/1.1 204 No Content\r\n\r\n"),
    RESP("HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n"),
    RESP("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"
         "Content-Length: 2\r\n\r\nok"),
    RESP("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
         "Connection: Upgrade\r\n\r\n\x81\x02hi"),
    RESP_HEAD("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"),
    RESP_HEAD("HTTP/1.1 200 OK\r\n" TE "\r\n"),
    RESP("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n"),
    RESP("HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n"),
    RESP("HTTP/1.1 404 Not Found: caf\xc3\xa9\r\nContent-Length: 0\r\n\r\n"),
    RESP("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n"
         "x"),
    RESP("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"
         "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"),
    RESP("HTTP/1.1 200 OK\nContent-Length: 1\n\nx"),
    RESP("HTTP/1.1 200 OK\r\n" TE "\r\n2;x=y\r\nok\r\n0\r\nT: 1\r\n\r\n"),
    /* responses both refuse */
    RESP("HTTP/1.1 2000 OK\r\n\r\n"),
    RESP("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n" TE "\r\n"),
    RESP("HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n"),
    RESP("HTTP/1.1 OK\r\n\r\n"),
    RESP("HTP/1.1 200 OK\r\n\r\n"),
    /* responses goc refuses or reads otherwise on purpose */
    RESP_DIFF(REFUSES, "HTTP/1.1 20 OK\r\n\r\n", "a status of two digits"),
    RESP_DIFF(REFUSES, "HTTP/1.1 200 OK\r\nX : y\r\n\r\n",
              "a space before the colon"),
    RESP_DIFF(REFUSES, "HTTP/1.1 099 Low\r\nContent-Length: 0\r\n\r\n",
              "a status below 100"),
    RESP_DIFF(REFUSES, "HTTP/1.1 200 O\x01K\r\nContent-Length: 0\r\n\r\n",
              "a control byte in the reason"),
    RESP_DIFF(REFUSES, "HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n",
              "not HTTP/1.x"),
    RESP_DIFF(REFUSES, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"
              "abc", "gzip is not implemented (501)"),
    RESP_DIFF(REFUSES, "HTTP/1.0 200 OK\r\n" TE "\r\n0\r\n\r\n",
              "HTTP/1.0 has no chunked coding"),
    RESP_DIFF(DIFFERS, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\t\r\n"
              "\r\n0\r\n\r\n", "a tab after chunked: http_parser reads "
              "to the connection's end"),
    RESP_DIFF(DIFFERS, "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n"
              "\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
              "a 304 has no body (RFC 9112 6.3); http_parser reads one"),
    RESP_DIFF(DIFFERS, "HTTP/1.1 204 No Content\r\n" TE "\r\n",
              "a 204 has no body; http_parser waits for chunks"),
};

/* Entries made here: too long to write out. */
static struct entry made[4];
static char made_text[4][8192];

static void make_entries(void)
{
    /* GOC_FIELDS fields: in; one more: 431, the caller's array bounds a
     * head. */
    for (int k = 0; k < 2; k++) {
        char *s = made_text[k];
        size_t n = (size_t)sprintf(s, "GET / HTTP/1.1\r\n");
        for (int i = 0; i < GOC_FIELDS + k; i++)
            n += (size_t)sprintf(s + n, "X-Field-%d: value %d\r\n", i, i);
        n += (size_t)sprintf(s + n, "\r\n");
        made[k] = (struct entry){s, n, false, false, k ? REFUSES : AGREE,
                                 k ? "more fields than the caller's array "
                                     "(431)" : NULL};
    }
    /* A chunk extension at the decoder's bound, and one byte past it. */
    for (int k = 0; k < 2; k++) {
        char *s = made_text[2 + k];
        size_t n = (size_t)sprintf(s, "%s", POST_CHUNKED "1;");
        size_t ext = GOC__HTTP_CHUNK_LINE_MAX - 2 + (size_t)k;
        memset(s + n, 'e', ext);
        n += ext;
        n += (size_t)sprintf(s + n, "\r\nx\r\n0\r\n\r\n");
        made[2 + k] = (struct entry){s, n, false, false, k ? REFUSES : AGREE,
                                     k ? "a chunk line over 4 KiB" : NULL};
    }
}

/* ---- checks ---- */

static void print_text(const char *label, const char *p, size_t n)
{
    fprintf(stderr, "%s\"", label);
    for (size_t i = 0; i < n && i < 400; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '\r')
            fprintf(stderr, "\\r");
        else if (c == '\n')
            fprintf(stderr, "\\n");
        else if (c == '"' || c == '\\')
            fprintf(stderr, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            fprintf(stderr, "\\x%02x", c);
        else
            fputc(c, stderr);
    }
    fprintf(stderr, "\"%s\n", n > 400 ? "..." : "");
}

static void print_result(const char *who, const struct result *r)
{
    fprintf(stderr, "  %s: %d message(s), %s %d\n", who, r->nmsg,
            r->err != 0 ? "error" : "no error", r->err);
    for (int i = 0; i < r->nmsg; i++) {
        const struct msg *m = &r->msg[i];
        fprintf(stderr, "    [%d] %.*s %.*s %d %.*s 1.%d, %zu fields, body %d "
                "(%llu), %s, keep-alive %d, end %zu\n", i, (int)m->method.n,
                text(m, m->method), (int)m->target.n, text(m, m->target),
                m->status, (int)m->reason.n, text(m, m->reason), m->minor,
                m->nfields, m->body, (unsigned long long)m->length,
                m->complete ? "complete" : "partial", m->keep_alive, m->end);
        for (size_t k = 0; k < m->nfields; k++)
            fprintf(stderr, "        %.*s: [%.*s]\n", (int)m->name[k].n,
                    text(m, m->name[k]), (int)m->value[k].n,
                    text(m, m->value[k]));
        if (m->complete)
            print_text("        body ", text(m, m->data), m->data.n);
    }
}

static bool results_equal(const struct result *a, const struct result *b)
{
    if (a->nmsg != b->nmsg || a->err != b->err)
        return false;
    for (int i = 0; i < a->nmsg; i++) {
        const struct msg *x = &a->msg[i], *y = &b->msg[i];
        if (head_diff(x, y, false, true) != NULL ||
            head_diff(x, y, true, true) != NULL ||
            x->complete != y->complete ||
            (x->complete && tail_diff(x, y) != NULL))
            return false;
    }
    return true;
}

/* goc against itself on in: from every proper prefix, a reader finds
 * the messages of the whole (the last maybe partial: a body read to the
 * end is cut where the prefix ends) and no error the whole has not; with
 * chunked bodies fed a byte or seven at a time, the same as at once.
 * Returns false (after printing why) if not. */
static bool goc_consistent(const struct input *in, const struct result *full)
{
    static struct result part;
    for (size_t k = 0; k < in->n; k++) {
        goc_stream(in, k, 0, &part);
        const char *bad = NULL;
        for (int i = 0; i < part.nmsg && bad == NULL; i++) {
            const struct msg *a = &part.msg[i], *b = &full->msg[i];
            if (i >= full->nmsg)
                bad = "a message the whole has not";
            else if (head_diff(a, b, in->response, true) != NULL)
                bad = "another head";
            else if (a->complete && b->body == GOC__HTTP_BODY_CLOSE)
                bad = a->end != k || a->data.n > b->data.n ||
                              memcmp(text(a, a->data), text(b, b->data),
                                     a->data.n) != 0
                          ? "another body to the end"
                          : NULL;
            else if (a->complete && (!b->complete || tail_diff(a, b)))
                bad = "another body";
        }
        if (bad == NULL && part.err != 0 &&
            (part.err != full->err || part.nmsg != full->nmsg))
            bad = "an error the whole has not";
        if (bad != NULL) {
            fprintf(stderr, "goc, prefix of %zu bytes: %s\n", k, bad);
            print_result("prefix", &part);
            print_result("whole", full);
            return false;
        }
    }
    static const size_t steps[] = {1, 7};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        goc_stream(in, in->n, steps[i], &part);
        if (!results_equal(&part, full)) {
            fprintf(stderr, "goc, chunked bodies %zu bytes at a time: "
                    "another reading\n", steps[i]);
            print_result("in steps", &part);
            print_result("at once", full);
            return false;
        }
    }
    return true;
}

static struct result goc_res, hp_res;

/* One corpus entry.  Returns false (after printing why) if it fails. */
static bool check_entry(const struct entry *e, size_t index)
{
    struct input in = {e->text, e->len, e->response, e->head};
    goc_stream(&in, in.n, 0, &goc_res);
    hp_stream(&in, &hp_res);
    struct verdict v = compare(&in, &goc_res, &hp_res);
    const char *looser = v.looser ? looser_kind(&in, &goc_res, &hp_res, v)
                                  : NULL;
    const char *bad = NULL;
    if (v.kind != e->expect)
        bad = e->expect == AGREE ? "an unlisted difference"
                                 : "not the difference listed";
    else if (v.looser && looser == NULL)
        bad = "goc is looser, and not in a way looser_kind knows";
    bool ok = bad == NULL && goc_consistent(&in, &goc_res);
    if (bad != NULL) {
        fprintf(stderr, "corpus entry %zu: %s: %s", index, bad,
                diff_name[v.kind]);
        if (v.kind != AGREE)
            fprintf(stderr, " (message %d: %s)", v.msg + 1, v.what);
        if (e->expect != AGREE)
            fprintf(stderr, "; listed: %s, because %s", diff_name[e->expect],
                    e->why);
        fprintf(stderr, "\n");
    }
    if (!ok) {
        print_text("  input ", in.p, in.n);
        print_result("goc", &goc_res);
        print_result("http_parser", &hp_res);
        if (hp_res.err != 0)
            fprintf(stderr, "  http_parser: %s\n",
                    http_errno_name((enum http_errno)hp_res.err));
    }
    return ok;
}

TEST(http_diff)
{
    make_entries();
    size_t n = sizeof corpus / sizeof corpus[0], failed = 0, listed = 0;
    for (size_t i = 0; i < n; i++) {
        failed += !check_entry(&corpus[i], i);
        listed += corpus[i].expect != AGREE;
    }
    for (size_t i = 0; i < sizeof made / sizeof made[0]; i++) {
        failed += !check_entry(&made[i], n + i);
        listed += made[i].expect != AGREE;
    }
    if (failed > 0)
        FAIL("%zu of %zu corpus entries failed", failed,
             n + sizeof made / sizeof made[0]);
    if (getenv("GOC_HTTP_DIFF_VERBOSE") != NULL)
        fprintf(stderr, "%zu entries, %zu with a difference listed\n",
                n + sizeof made / sizeof made[0], listed);
}

/* ---- mutations ---- */

static uint64_t rng_state;

static uint64_t rng(void)
{
    /* xorshift64* (Vigna): enough to pick bytes, and the same on every
     * machine. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

/* A byte for a mutation: half the time one that a parser's decisions
 * turn on. */
static char pick_byte(void)
{
    static const char special[] = "\r\n \t:;,=0159aAfFxX-+/?#*@\"\\\0\x7f\x80"
                                  "\xff";
    if (rng() % 2 == 0)
        return special[rng() % (sizeof special - 1)];
    return (char)(rng() % 256);
}

/* Replace, insert or delete a byte, or repeat a run of up to 8, in
 * s[0..*n) (room for cap). */
static void mutate(char *s, size_t *n, size_t cap)
{
    size_t at = *n > 0 ? (size_t)(rng() % *n) : 0;
    switch (rng() % 4) {
    case 0:
        if (*n > 0)
            s[at] = pick_byte();
        break;
    case 1:
        if (*n < cap) {
            memmove(s + at + 1, s + at, *n - at);
            s[at] = pick_byte();
            (*n)++;
        }
        break;
    case 2:
        if (*n > 0) {
            memmove(s + at, s + at + 1, *n - at - 1);
            (*n)--;
        }
        break;
    case 3: {
        size_t k = 1 + (size_t)(rng() % 8);
        if (k > *n - at)
            k = *n - at;
        if (*n + k <= cap) {
            memmove(s + at + k, s + at, *n - at);
            (*n) += k;
        }
        break;
    }
    }
}

TEST(http_diff_mutations)
{
    make_entries();
    const char *seed = getenv("GOC_HTTP_DIFF_SEED");
    rng_state = seed != NULL ? strtoull(seed, NULL, 0) : 0x9e3779b97f4a7c15ull;
    if (rng_state == 0)
        rng_state = 1;
    uint64_t first_seed = rng_state;
    enum { MUTATIONS = 2000 };
    size_t ncorpus = sizeof corpus / sizeof corpus[0];
    size_t nall = ncorpus + sizeof made / sizeof made[0];
    static char buf[sizeof made_text[0] + 64];
    int accepted = 0, looser = 0, failed = 0;
    for (int i = 0; i < MUTATIONS; i++) {
        size_t pick = (size_t)(rng() % nall);
        const struct entry *e = pick < ncorpus ? &corpus[pick]
                                               : &made[pick - ncorpus];
        size_t n = e->len;
        memcpy(buf, e->text, n);
        for (int k = 1 + (int)(rng() % 3); k > 0; k--)
            mutate(buf, &n, sizeof buf);
        struct input in = {buf, n, e->response, e->head};
        goc_stream(&in, n, 0, &goc_res);
        hp_stream(&in, &hp_res);
        accepted += goc_res.err == 0 && goc_res.nmsg > 0;
        struct verdict v = compare(&in, &goc_res, &hp_res);
        bool ok = true;
        if (v.looser) {
            if (looser_kind(&in, &goc_res, &hp_res, v) == NULL) {
                fprintf(stderr, "mutation %d (of entry %zu): goc is looser: "
                        "%s, message %d: %s\n", i, pick, diff_name[v.kind],
                        v.msg + 1, v.what);
                ok = false;
            } else {
                looser++;
            }
        }
        if (ok)
            ok = goc_consistent(&in, &goc_res);
        if (!ok) {
            print_text("  input ", buf, n);
            print_result("goc", &goc_res);
            print_result("http_parser", &hp_res);
            if (hp_res.err != 0)
                fprintf(stderr, "  http_parser: %s\n",
                        http_errno_name((enum http_errno)hp_res.err));
            if (++failed == 10)
                break;
        }
    }
    if (failed > 0)
        FAIL("%d mutations failed (GOC_HTTP_DIFF_SEED=%#llx)", failed,
             (unsigned long long)first_seed);
    if (getenv("GOC_HTTP_DIFF_VERBOSE") != NULL)
        fprintf(stderr, "%d mutations: goc accepted %d, looser on purpose "
                "%d\n", MUTATIONS, accepted, looser);
}

#else /* !GOC_TEST_HTTP_PARSER */

/* CMake registers these only when libhttp-parser-dev is installed: run
 * by hand without it, they say so. */
TEST(http_diff)
{
    FAIL("libhttp-parser-dev not installed (when this test was built)");
}

TEST(http_diff_mutations)
{
    FAIL("libhttp-parser-dev not installed (when this test was built)");
}

#endif
