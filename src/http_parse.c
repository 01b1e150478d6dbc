/* SPDX-License-Identifier: MIT */
/*
 * http_parse.c - HTTP/1.1 heads and chunked bodies (http_parse.h has the
 * rules).  Written for RFC 9112 from the grammar: a head is scanned line
 * by line, every byte checked against the class its place allows, and
 * the framing fields (Content-Length, Transfer-Encoding, Connection,
 * Expect) are judged after all lines are in, so that their order cannot
 * change the answer.
 */
#include <string.h>
#include <strings.h>

#include "http_parse.h"

/* tchar (RFC 9110 5.6.2): the bytes of a token. */
static bool is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
        (c >= 'A' && c <= 'Z'))
        return true;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A field value's bytes: VCHAR, obs-text, SP, HTAB. */
static bool is_field_byte(unsigned char c)
{
    return c == ' ' || c == '\t' || (c >= 0x21 && c != 0x7f);
}

static bool span_is(goc__span s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && strncasecmp(s.p, lit, n) == 0;
}

/* An authority's bytes (RFC 3986 3.2): unreserved, pct-encoded,
 * sub-delims, ":", "@" and an IP literal's brackets. */
static bool is_authority_byte(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
        (c >= 'A' && c <= 'Z'))
        return true;
    return c != '\0' && strchr("-._~%!$&'()*+,;=:@[]", c) != NULL;
}

/* Whether target, of visible ASCII, has one of the four forms of RFC
 * 9112 3.2: origin ("/..."), asterisk ("*" alone), authority (host:port,
 * CONNECT's only form) or absolute ("scheme://authority..." with an
 * authority, of one "@" at most: two make "u@a@b", read as host a by
 * one URI parser and as host b by another).  The scheme is letters
 * alone, as http_parser has it: an HTTP/1.1 server sees http and https;
 * the rest of an absolute target is checked as an origin target is. */
static bool target_form_ok(goc__span method, goc__span t)
{
    if (method.n == 7 && memcmp(method.p, "CONNECT", 7) == 0) {
        /* uri-host ":" port, and a port (RFC 9110 9.3.6) */
        const char *colon = NULL;
        for (size_t i = 0; i < t.n; i++) {
            if (!is_authority_byte((unsigned char)t.p[i]) || t.p[i] == '@')
                return false;
            if (t.p[i] == ':')
                colon = t.p + i;
        }
        if (colon == NULL || colon == t.p || colon == t.p + t.n - 1)
            return false;
        for (const char *c = colon + 1; c < t.p + t.n; c++)
            if (*c < '0' || *c > '9')
                return false;
        return true;
    }
    if (t.p[0] == '/')
        return true;
    if (t.n == 1 && t.p[0] == '*')
        return true;
    size_t i = 0;
    while (i < t.n && ((t.p[i] >= 'a' && t.p[i] <= 'z') ||
                       (t.p[i] >= 'A' && t.p[i] <= 'Z')))
        i++;
    if (i == 0 || t.n - i < 3 || memcmp(t.p + i, "://", 3) != 0)
        return false;
    size_t start = i += 3, at = 0;
    for (; i < t.n && t.p[i] != '/' && t.p[i] != '?'; i++) {
        if (!is_authority_byte((unsigned char)t.p[i]))
            return false;
        at += t.p[i] == '@';
    }
    return i > start && at <= 1;
}

/* The next line of buf[*pos..len): [*line, *line + *n) without its end.
 * Returns: 1 with a line, 0 when no line end is there yet, -400 for a
 * bare CR. */
static int head_line(const char *buf, size_t len, size_t *pos,
                     goc__span *line)
{
    size_t i = *pos;
    const char *nl = memchr(buf + i, '\n', len - i);
    if (nl == NULL)
        return 0;
    size_t end = (size_t)(nl - buf);
    size_t n = end - i;
    if (n > 0 && buf[end - 1] == '\r')
        n--;
    if (memchr(buf + i, '\r', n) != NULL)
        return -400;
    line->p = buf + i;
    line->n = n;
    *pos = end + 1;
    return 1;
}

/* "HTTP/1.x": the minor version in *minor.  Returns: 0, -400 malformed,
 * -505 another major version. */
static int parse_version(goc__span v, int *minor)
{
    if (v.n != 8 || memcmp(v.p, "HTTP/", 5) != 0 || v.p[6] != '.' ||
        v.p[5] < '0' || v.p[5] > '9' || v.p[7] < '0' || v.p[7] > '9')
        return -400;
    if (v.p[5] != '1')
        return -505;
    *minor = v.p[7] == '0' ? 0 : 1; /* 1.x, x > 1: as 1.1 */
    return 0;
}

/* Comma-separated list elements of a field value, trimmed. */
static bool next_element(goc__span *list, goc__span *elem)
{
    while (list->n > 0 &&
           (list->p[0] == ',' || list->p[0] == ' ' || list->p[0] == '\t')) {
        list->p++;
        list->n--;
    }
    if (list->n == 0)
        return false;
    const char *comma = memchr(list->p, ',', list->n);
    size_t n = comma != NULL ? (size_t)(comma - list->p) : list->n;
    elem->p = list->p;
    elem->n = n;
    while (elem->n > 0 &&
           (elem->p[elem->n - 1] == ' ' || elem->p[elem->n - 1] == '\t'))
        elem->n--;
    list->p += n;
    list->n -= n;
    return true;
}

/* Whether a list has an empty element: "a,,b", ",a", "a,".  RFC 9110
 * 5.6.1 has a recipient skip them; in Transfer-Encoding, where a parser
 * that reads another framing than ours is request smuggling, they are
 * refused instead, as http_parser and Go's net/http refuse them. */
static bool list_has_empty(goc__span v)
{
    bool elem = false;
    for (size_t i = 0; i < v.n; i++) {
        if (v.p[i] == ',') {
            if (!elem)
                return true;
            elem = false;
        } else if (v.p[i] != ' ' && v.p[i] != '\t') {
            elem = true;
        }
    }
    return !elem;
}

/* Content-Length's value (a list of equal values is one, RFC 9110 8.6).
 * Returns: 0 with *out, or -400. */
static int parse_length(goc__span v, bool *seen, uint64_t *out)
{
    goc__span e;
    bool any = false;
    while (next_element(&v, &e)) {
        uint64_t n = 0;
        if (e.n == 0 || e.n > 16)
            return -400;
        for (size_t i = 0; i < e.n; i++) {
            if (e.p[i] < '0' || e.p[i] > '9')
                return -400;
            n = n * 10 + (uint64_t)(e.p[i] - '0');
        }
        if (n > GOC__HTTP_LENGTH_MAX || (*seen && n != *out))
            return -400;
        *out = n;
        *seen = any = true;
    }
    return any ? 0 : -400;
}

/* The fields of a head, from pos on, into h; then the framing they
 * imply.  request: a request (else a response); no_body: a response
 * that has none, whatever its fields say (to HEAD; 1xx, 204, 304). */
static int parse_fields(const char *buf, size_t len, size_t pos,
                        bool request, bool no_body, goc__http_head *h)
{
    bool have_length = false, have_te = false, chunked_last = false;
    int nchunked = 0;
    bool other_coding = false, conn_close = false, conn_keep = false;
    uint64_t length = 0;
    h->nfields = 0;
    h->expect_continue = false;
    for (;;) {
        goc__span line;
        int rc = head_line(buf, len, &pos, &line);
        if (rc <= 0)
            return rc;
        if (line.n == 0)
            break; /* the end of the head */
        if (line.p[0] == ' ' || line.p[0] == '\t')
            return -400; /* obs-fold */
        const char *colon = memchr(line.p, ':', line.n);
        if (colon == NULL || colon == line.p)
            return -400;
        goc__span name = {line.p, (size_t)(colon - line.p)};
        for (size_t i = 0; i < name.n; i++)
            if (!is_tchar((unsigned char)name.p[i]))
                return -400; /* also: whitespace before the colon */
        goc__span value = {colon + 1, line.n - name.n - 1};
        for (size_t i = 0; i < value.n; i++)
            if (!is_field_byte((unsigned char)value.p[i]))
                return -400;
        while (value.n > 0 && (value.p[0] == ' ' || value.p[0] == '\t')) {
            value.p++;
            value.n--;
        }
        while (value.n > 0 && (value.p[value.n - 1] == ' ' ||
                               value.p[value.n - 1] == '\t'))
            value.n--;
        if (h->nfields == h->maxfields)
            return -431;
        h->fields[h->nfields++] = (goc__http_field){name, value};

        goc__span e;
        if (span_is(name, "content-length")) {
            if (parse_length(value, &have_length, &length) != 0)
                return -400;
        } else if (span_is(name, "transfer-encoding")) {
            if (list_has_empty(value))
                return -400;
            have_te = true;
            goc__span list = value;
            while (next_element(&list, &e)) {
                if (chunked_last)
                    chunked_last = false; /* chunked, then another */
                if (span_is(e, "chunked")) {
                    chunked_last = true;
                    nchunked++;
                } else
                    other_coding = true;
            }
        } else if (span_is(name, "connection")) {
            goc__span list = value;
            while (next_element(&list, &e)) {
                conn_close = conn_close || span_is(e, "close");
                conn_keep = conn_keep || span_is(e, "keep-alive");
            }
        } else if (request && span_is(name, "expect")) {
            h->expect_continue = span_is(value, "100-continue");
        }
    }
    /* Framing (RFC 9112 6.1-6.3), judged once every field is in. */
    if (have_te && (have_length || h->minor == 0))
        return -400; /* smuggling: two framings, or TE in HTTP/1.0 */
    if (have_te) {
        if (nchunked > 1)
            return -400; /* chunked twice (RFC 9112 7) */
        if (other_coding)
            return request && !chunked_last ? -400 : -501;
        if (!chunked_last)
            return -400;
        h->body = GOC__HTTP_BODY_CHUNKED;
    } else if (have_length) {
        h->body = length > 0 ? GOC__HTTP_BODY_LENGTH : GOC__HTTP_BODY_NONE;
    } else {
        h->body = request ? GOC__HTTP_BODY_NONE : GOC__HTTP_BODY_CLOSE;
    }
    if (no_body)
        h->body = GOC__HTTP_BODY_NONE;
    h->content_length = h->body == GOC__HTTP_BODY_LENGTH ? length : 0;
    h->keep_alive = h->minor == 1 ? !conn_close : conn_keep && !conn_close;
    if (h->body == GOC__HTTP_BODY_CLOSE)
        h->keep_alive = false;
    return (int)pos;
}

int goc__http_parse_request(const char *buf, size_t len, goc__http_head *h)
{
    size_t pos = 0;
    goc__span line;
    int rc = head_line(buf, len, &pos, &line);
    if (rc == 1 && line.n == 0) /* one empty line before it: skipped */
        rc = head_line(buf, len, &pos, &line);
    if (rc <= 0)
        return rc;
    if (len > (size_t)INT32_MAX)
        return -431;
    /* method SP request-target SP HTTP-version */
    const char *sp1 = memchr(line.p, ' ', line.n);
    if (sp1 == NULL || sp1 == line.p)
        return -400;
    h->method = (goc__span){line.p, (size_t)(sp1 - line.p)};
    for (size_t i = 0; i < h->method.n; i++)
        if (!is_tchar((unsigned char)h->method.p[i]))
            return -400;
    const char *t = sp1 + 1, *end = line.p + line.n;
    const char *sp2 = memchr(t, ' ', (size_t)(end - t));
    if (sp2 == NULL || sp2 == t)
        return -400;
    h->target = (goc__span){t, (size_t)(sp2 - t)};
    for (size_t i = 0; i < h->target.n; i++) {
        unsigned char c = (unsigned char)t[i];
        if (c <= 0x20 || c >= 0x7f) /* ASCII, no controls, no spaces */
            return -400;
    }
    if (!target_form_ok(h->method, h->target))
        return -400;
    rc = parse_version((goc__span){sp2 + 1, (size_t)(end - sp2 - 1)},
                       &h->minor);
    if (rc != 0)
        return rc;
    h->status = 0;
    h->reason = (goc__span){NULL, 0};
    return parse_fields(buf, len, pos, true, false, h);
}

int goc__http_parse_response(const char *buf, size_t len, bool head_request,
                             goc__http_head *h)
{
    size_t pos = 0;
    goc__span line;
    int rc = head_line(buf, len, &pos, &line);
    if (rc <= 0)
        return rc;
    if (len > (size_t)INT32_MAX)
        return -431;
    /* HTTP-version SP 3DIGIT SP [reason] */
    if (line.n < 12 || line.p[8] != ' ' ||
        (line.n > 12 && line.p[12] != ' '))
        return -400;
    rc = parse_version((goc__span){line.p, 8}, &h->minor);
    if (rc != 0)
        return -400;
    int status = 0;
    for (int i = 9; i < 12; i++) {
        if (line.p[i] < '0' || line.p[i] > '9')
            return -400;
        status = status * 10 + (line.p[i] - '0');
    }
    if (status < 100)
        return -400;
    h->status = status;
    h->reason = line.n > 13 ? (goc__span){line.p + 13, line.n - 13}
                            : (goc__span){line.p + line.n, 0};
    for (size_t i = 0; i < h->reason.n; i++)
        if (!is_field_byte((unsigned char)h->reason.p[i]))
            return -400;
    h->method = h->target = (goc__span){NULL, 0};
    return parse_fields(buf, len, pos, false,
                        head_request || status < 200 || status == 204 ||
                            status == 304,
                        h);
}

bool goc__http_field_get(const goc__http_head *h, const char *name,
                         goc__span *value)
{
    for (size_t i = 0; i < h->nfields; i++) {
        if (span_is(h->fields[i].name, name)) {
            *value = h->fields[i].value;
            return true;
        }
    }
    return false;
}

/* ---- chunked bodies ---- */

/* The lines of the chunked coding (RFC 9112 7.1) end in CRLF, and only
 * there: a bare LF is refused.  RFC 9112 2.2 lets a bare LF end the
 * start line and field lines, not these, and parsers differ on it (one
 * ends the chunk-size line there, another reads the LF as a byte of an
 * extension and takes the next line for the rest of it): a proxy in
 * front and goc would see other chunks.  Trailer fields are field lines,
 * checked as a head's are. */
enum {
    CH_SIZE,         /* hex digits of a chunk size */
    CH_SIZE_WS,      /* after them: spaces, then ";" or the line's end */
    CH_EXT,          /* chunk extensions, up to the line's CR */
    CH_SIZE_LF,      /* the size line's LF */
    CH_DATA,         /* chunk data */
    CH_DATA_CR,      /* the CRLF after the data */
    CH_DATA_LF,
    CH_TRAILER,      /* a trailer line's start, or the body's empty line */
    CH_TRAILER_NAME, /* a trailer field's name, up to its colon */
    CH_TRAILER_VALUE,
    CH_TRAILER_LF,   /* the LF after a trailer line's CR */
    CH_END_LF,       /* the LF of the empty line that ends the body */
    CH_DONE
};

int goc__http_chunked_decode(goc__http_chunked *c, char *buf, size_t *len,
                             size_t *used)
{
    size_t in = 0, out = 0, n = *len;
    /* c->ext counts the bytes of the current size or trailer line. */
    while (in < n && c->state != CH_DONE) {
        unsigned char b = (unsigned char)buf[in];
        switch (c->state) {
        case CH_SIZE: {
            int d = b >= '0' && b <= '9'   ? b - '0'
                    : b >= 'a' && b <= 'f' ? b - 'a' + 10
                    : b >= 'A' && b <= 'F' ? b - 'A' + 10
                                           : -1;
            if (d >= 0) {
                if (c->left > (GOC__HTTP_LENGTH_MAX >> 4) ||
                    ++c->ext > GOC__HTTP_CHUNK_LINE_MAX)
                    goto bad;
                c->left = c->left * 16 + (uint64_t)d;
                in++;
                break;
            }
            if (c->ext == 0)
                goto bad; /* no digits */
            c->state = CH_SIZE_WS;
            break; /* look at b again */
        }
        case CH_SIZE_WS:
            /* chunk-size [BWS ";" chunk-ext] CRLF; BWS as spaces alone:
             * after the size, a tab is refused by http_parser, a byte
             * of anything else by everyone. */
            in++;
            if (b == '\r')
                c->state = CH_SIZE_LF;
            else if (++c->ext > GOC__HTTP_CHUNK_LINE_MAX)
                goto bad;
            else if (b == ';')
                c->state = CH_EXT;
            else if (b != ' ')
                goto bad;
            break;
        case CH_EXT:
            /* Skipped, but of a field value's bytes: tokens and quoted
             * strings have no other. */
            in++;
            if (b == '\r')
                c->state = CH_SIZE_LF;
            else if (!is_field_byte(b) || ++c->ext > GOC__HTTP_CHUNK_LINE_MAX)
                goto bad;
            break;
        case CH_SIZE_LF:
            if (b != '\n')
                goto bad;
            in++;
            c->ext = 0;
            c->state = c->left > 0 ? CH_DATA : CH_TRAILER;
            break;
        case CH_DATA: {
            size_t k = n - in;
            if ((uint64_t)k > c->left)
                k = (size_t)c->left;
            memmove(buf + out, buf + in, k);
            out += k;
            in += k;
            c->left -= k;
            if (c->left == 0)
                c->state = CH_DATA_CR;
            break;
        }
        case CH_DATA_CR:
        case CH_DATA_LF:
            if (b != (c->state == CH_DATA_CR ? '\r' : '\n'))
                goto bad;
            in++;
            c->state = c->state == CH_DATA_CR ? CH_DATA_LF : CH_SIZE;
            break;
        case CH_TRAILER:
            /* As in a head: no obs-fold, a bare LF ends a line. */
            in++;
            if (b == '\r')
                c->state = CH_END_LF;
            else if (b == '\n')
                c->state = CH_DONE;
            else if (is_tchar(b))
                c->state = CH_TRAILER_NAME;
            else
                goto bad;
            c->ext = 1;
            break;
        case CH_TRAILER_NAME:
        case CH_TRAILER_VALUE:
            in++;
            if (++c->ext > GOC__HTTP_CHUNK_LINE_MAX)
                goto bad;
            if (c->state == CH_TRAILER_NAME) {
                if (b == ':')
                    c->state = CH_TRAILER_VALUE;
                else if (!is_tchar(b))
                    goto bad; /* also: whitespace before the colon */
            } else if (b == '\r') {
                c->state = CH_TRAILER_LF;
            } else if (b == '\n') {
                c->state = CH_TRAILER;
            } else if (!is_field_byte(b)) {
                goto bad;
            }
            break;
        case CH_TRAILER_LF:
        case CH_END_LF:
            if (b != '\n')
                goto bad;
            in++;
            c->state = c->state == CH_END_LF ? CH_DONE : CH_TRAILER;
            break;
        }
    }
    *len = out;
    *used = in;
    return c->state == CH_DONE ? 1 : 0;
bad:
    *len = out;
    *used = in;
    return -400;
}
