/* SPDX-License-Identifier: MIT */
/*
 * chat_server.c - the tour: the concurrent chat server of "The Go
 * Programming Language", section 8.10.  A goroutine per connection reads
 * the client's lines; a writer goroutine per connection sends it what is
 * broadcast; one broadcaster goroutine owns the set of clients, and
 * nobody else touches it: connections announce themselves on the
 * entering and leaving channels and hand their lines to messages.  (As in
 * the book's exercise 8.14, a client's first line is its name.)  Three
 * clients in this same program connect over loopback, talk and leave;
 * the transcript is what each of them received.  The Go it mirrors:
 *
 *     type client chan<- string
 *     var entering, leaving = make(chan client), make(chan client)
 *     var messages = make(chan string)
 *
 *     func broadcaster() {
 *         clients := make(map[client]bool)
 *         for {
 *             select {
 *             case msg := <-messages:
 *                 for cli := range clients {
 *                     cli <- msg
 *                 }
 *             case cli := <-entering:
 *                 clients[cli] = true
 *             case cli := <-leaving:
 *                 delete(clients, cli)
 *                 close(cli)
 *             }
 *         }
 *     }
 *
 *     func handleConn(conn net.Conn) {
 *         ch := make(chan string)
 *         go clientWriter(conn, ch)
 *         input := bufio.NewScanner(conn)
 *         input.Scan()
 *         who := input.Text()
 *         ch <- "You are " + who
 *         entering <- ch                 // the book sends this after
 *         messages <- who + " has arrived" // the arrival: see below
 *         for input.Scan() {
 *             messages <- who + ": " + input.Text()
 *         }
 *         leaving <- ch
 *         messages <- who + " has left"
 *     }
 *
 *     func clientWriter(conn net.Conn, ch <-chan string) {
 *         for msg := range ch {
 *             fmt.Fprintln(conn, msg)
 *         }
 *         conn.Close()
 *     }
 *
 * One change to the book's order: a newcomer enters the broadcaster's set
 * before its arrival is announced.  In the book's order, a line another
 * client sends right after hearing of the arrival can reach the
 * broadcaster before the newcomer's entering does, and the newcomer misses
 * it; here whoever has heard of the arrival knows the newcomer hears what
 * comes next (and the newcomer hears its own arrival).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <goc.h>

#include "must.h"

#define MSG_LEN 128
#define MAX_CLIENTS 16
#define NAME_LEN 32
/* Every call on a connection ends by then: a bug shows as an error, not
 * as a program that never ends. */
#define LIFE (10 * GOC_SECOND)

struct msg {
    char text[MSG_LEN];
};

static goc_ctx *life;

/* ------------------------------------------------------------------------
 * Lines over a connection, both sides.
 * ------------------------------------------------------------------------ */

/* bufio.Scanner over a connection: lines ending in '\n'. */
struct reader {
    int fd;
    size_t len;
    char buf[512];
};

/* The next line, without its '\n', NUL-terminated in out.
 * Returns: 1 with a line, 0 at end of stream (or a line too long), or
 * goc_read's error. */
static int read_line(struct reader *r, char *out, size_t cap)
{
    for (;;) {
        char *nl = memchr(r->buf, '\n', r->len);
        if (nl != NULL) {
            size_t n = (size_t)(nl - r->buf);
            snprintf(out, cap, "%.*s", (int)n, r->buf);
            r->len -= n + 1;
            memmove(r->buf, nl + 1, r->len);
            return 1;
        }
        if (r->len == sizeof r->buf)
            return 0;
        ssize_t n = goc_read(r->fd, r->buf + r->len, sizeof r->buf - r->len,
                             life);
        if (n <= 0)
            return (int)n;
        r->len += (size_t)n;
    }
}

static ssize_t write_line(int fd, const char *s)
{
    char line[MSG_LEN + 1];
    int n = snprintf(line, sizeof line, "%s\n", s);
    return goc_write(fd, line, (size_t)n, life);
}

/* ------------------------------------------------------------------------
 * The server.
 * ------------------------------------------------------------------------ */

static goc_chan *entering; /* chan goc_chan *: a client's outgoing channel */
static goc_chan *leaving;  /* chan goc_chan * */
static goc_chan *messages; /* chan struct msg */
static goc_wg conns;       /* connection goroutines and their writers */
static int broadcasts;     /* counted by the broadcaster, read at the end */

/* The only goroutine that knows the clients.  Each client channel it
 * holds came with a reference of its own, dropped when it leaves. */
static void broadcaster(void *arg)
{
    goc_chan *done = arg;
    goc_chan *clients[MAX_CLIENTS];
    size_t n = 0;
    for (;;) {
        struct msg m;
        goc_chan *in, *out;
        goc_case cs[3] = {GOC_RECV_CASE(messages, &m),
                          GOC_RECV_CASE(entering, &in),
                          GOC_RECV_CASE(leaving, &out)};
        int i = goc_select(cs, 3);
        if (i == 0 && cs[0].err == GOC_ECLOSED)
            break; /* the server is shutting down */
        if (i == 0) {
            broadcasts++;
            for (size_t k = 0; k < n; k++)
                MUST(goc_chan_send(clients[k], &m));
        } else if (i == 1) {
            if (n == MAX_CLIENTS)
                MUST(GOC_ENOMEM); /* a bigger program would refuse it */
            clients[n++] = in;
        } else {
            for (size_t k = 0; k < n; k++)
                if (clients[k] == out) {
                    clients[k] = clients[--n];
                    break;
                }
            MUST(goc_chan_close(out));
            goc_chan_release(out);
        }
    }
    MUST(goc_chan_close(done));
}

/* A connection, shared by its reader (handle_conn) and its writer; the
 * writer, its last user, frees it. */
struct conn {
    int fd;
    goc_chan *ch; /* chan struct msg: what to send this client */
    struct reader rd;
};

/* Send the client what comes on its channel until the broadcaster closes
 * it; then close the connection and free it. */
static void client_writer(void *arg)
{
    struct conn *c = arg;
    struct msg m;
    while (goc_chan_recv(c->ch, &m) == 0)
        (void)write_line(c->fd, m.text); /* a gone client: drain anyway */
    goc_chan_release(c->ch);
    MUST(goc_close(c->fd));
    free(c);
}

/* ch <- fmt.Sprintf(format, ...) */
static void say(goc_chan *ch, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
static void say(goc_chan *ch, const char *format, ...)
{
    struct msg m;
    va_list ap;
    va_start(ap, format);
    vsnprintf(m.text, sizeof m.text, format, ap);
    va_end(ap);
    MUST(goc_chan_send(ch, &m));
}

static void handle_conn(void *arg)
{
    struct conn *c = calloc(1, sizeof *c);
    goc_chan *ch = goc_chan_make(sizeof(struct msg), 0);
    if (c == NULL || ch == NULL)
        MUST(GOC_ENOMEM);
    *c = (struct conn){.fd = (int)(intptr_t)arg, .ch = ch};
    c->rd.fd = c->fd;
    goc_chan_retain(ch); /* the writer's */
    MUST(goc_wg_go(&conns, client_writer, c));

    char who[NAME_LEN], line[MSG_LEN];
    if (read_line(&c->rd, who, sizeof who) != 1) {
        MUST(goc_chan_close(ch)); /* never entered: end the writer */
        goc_chan_release(ch);
        return;
    }
    say(ch, "You are %s", who);
    goc_chan_retain(ch); /* the broadcaster's */
    MUST(goc_chan_send(entering, &ch));
    say(messages, "%s has arrived", who);
    while (read_line(&c->rd, line, sizeof line) == 1)
        say(messages, "%s: %s", who, line);
    /* From here on c belongs to the writer, which frees it once the
     * broadcaster has closed ch. */
    MUST(goc_chan_send(leaving, &ch));
    say(messages, "%s has left", who);
    goc_chan_release(ch);
}

static void accept_loop(void *arg)
{
    int ln = (int)(intptr_t)arg;
    int fd;
    while ((fd = goc_accept(ln, life)) >= 0)
        MUST(goc_wg_go(&conns, handle_conn, (void *)(intptr_t)fd));
    MUST_BE(fd, GOC_ECLOSED); /* main closed the listener */
}

/* ------------------------------------------------------------------------
 * The clients, driven by main step by step.
 * ------------------------------------------------------------------------ */

struct client {
    const char *name;
    int fd;
    goc_chan *lines; /* chan struct msg: what the server sent; closed at
                        end of stream */
    struct reader rd;
};

static bool transcript_ok = true;

/* Put each line from the server on c->lines; close it at end of stream. */
static void client_reader(void *arg)
{
    struct client *c = arg;
    struct msg m;
    while (read_line(&c->rd, m.text, sizeof m.text) == 1)
        MUST(goc_chan_send(c->lines, &m));
    MUST(goc_chan_close(c->lines));
}

/* The next line c received must be want (within a second). */
static void expect(struct client *c, const char *want)
{
    struct msg m = {{0}};
    goc_case cs[1] = {GOC_RECV_CASE(c->lines, &m)};
    int rc = goc_select_until(cs, 1, goc_now() + GOC_SECOND);
    if (rc == 0 && cs[0].err != 0)
        snprintf(m.text, sizeof m.text, "(connection closed)");
    else if (rc != 0)
        snprintf(m.text, sizeof m.text, "(nothing: %s)", goc_err_name(rc));
    bool same = strcmp(m.text, want) == 0;
    printf("   %-5s < %s%s\n", c->name, m.text,
           same ? "" : "   (unexpected)");
    transcript_ok = transcript_ok && same;
}

static void join(struct client *c, const char *addr)
{
    printf("-- %s joins\n", c->name);
    c->fd = MUST_OK(goc_tcp_dial(addr, life));
    c->rd = (struct reader){.fd = c->fd};
    c->lines = goc_chan_make(sizeof(struct msg), 16);
    if (c->lines == NULL)
        MUST(GOC_ENOMEM);
    MUST(goc_go(client_reader, c));
    MUST_OK(write_line(c->fd, c->name));
}

static void talk(struct client *c, const char *text)
{
    printf("-- %s says \"%s\"\n", c->name, text);
    MUST_OK(write_line(c->fd, text));
}

/* Half-close: the server reads end of stream, announces the departure,
 * and its writer closes the connection, which ends our reader. */
static void leave(struct client *c)
{
    printf("-- %s leaves\n", c->name);
    MUST(goc_close_write(c->fd));
    struct msg m;
    goc_case cs[1] = {GOC_RECV_CASE(c->lines, &m)};
    int rc = goc_select_until(cs, 1, goc_now() + GOC_SECOND);
    bool closed = rc == 0 && cs[0].err == GOC_ECLOSED;
    printf("   %-5s < (connection closed by the server)%s\n", c->name,
           closed ? "" : "   (unexpected)");
    transcript_ok = transcript_ok && closed;
    goc_chan_release(c->lines);
    MUST(goc_close(c->fd));
}

/* ------------------------------------------------------------------------
 * The tour.
 * ------------------------------------------------------------------------ */

static void tour(void *arg)
{
    bool *ok = arg;
    life = goc_ctx_with_timeout(NULL, LIFE);
    entering = goc_chan_make(sizeof(goc_chan *), 0);
    leaving = goc_chan_make(sizeof(goc_chan *), 0);
    messages = goc_chan_make(sizeof(struct msg), 0);
    goc_chan *bc_done = goc_chan_make(0, 0);
    if (life == NULL || entering == NULL || leaving == NULL ||
        messages == NULL || bc_done == NULL)
        MUST(GOC_ENOMEM);

    int ln = MUST_OK(goc_tcp_listen("127.0.0.1:0", 0));
    char addr[GOC_ADDR_MAX];
    MUST_OK(goc_local_addr(ln, addr, sizeof addr));
    MUST(goc_go(broadcaster, bc_done));
    goc_wg acceptor = GOC_WG_INIT;
    MUST(goc_wg_go(&acceptor, accept_loop, (void *)(intptr_t)ln));
    printf("chat server on %s: a goroutine per connection, one "
           "broadcaster\n\n", addr);

    static struct client alice = {.name = "alice"}, bob = {.name = "bob"},
                         carol = {.name = "carol"};
    join(&alice, addr);
    expect(&alice, "You are alice");
    expect(&alice, "alice has arrived");
    join(&bob, addr);
    expect(&bob, "You are bob");
    expect(&bob, "bob has arrived");
    expect(&alice, "bob has arrived");
    join(&carol, addr);
    expect(&carol, "You are carol");
    expect(&carol, "carol has arrived");
    expect(&alice, "carol has arrived");
    expect(&bob, "carol has arrived");

    talk(&alice, "hi everyone");
    expect(&alice, "alice: hi everyone");
    expect(&bob, "alice: hi everyone");
    expect(&carol, "alice: hi everyone");
    talk(&carol, "hello! gotta run");
    expect(&alice, "carol: hello! gotta run");
    expect(&bob, "carol: hello! gotta run");
    expect(&carol, "carol: hello! gotta run");

    leave(&carol);
    expect(&alice, "carol has left");
    expect(&bob, "carol has left");
    talk(&bob, "bye alice");
    expect(&alice, "bob: bye alice");
    expect(&bob, "bob: bye alice");
    leave(&bob);
    expect(&alice, "bob has left");
    leave(&alice);

    /* Shut down: close the listener (the accept loop ends), wait for the
     * connection goroutines, then close messages (the broadcaster ends). */
    MUST(goc_close(ln));
    goc_wg_wait(&acceptor);
    goc_wg_wait(&conns);
    MUST(goc_chan_close(messages));
    MUST_BE(goc_chan_recv(bc_done, NULL), GOC_ECLOSED);
    /* The broadcaster and the clients' readers are on their way out. */
    int64_t until = goc_now() + GOC_SECOND;
    while (goc_num_goroutine() > 1 && goc_now() < until)
        goc_sleep(GOC_MILLISECOND);
    int left = goc_num_goroutine();
    goc_chan_release(bc_done);
    goc_chan_release(messages);
    goc_chan_release(entering);
    goc_chan_release(leaving);
    goc_ctx_release(life);

    /* 3 arrivals, 3 departures, 3 lines said. */
    *ok = transcript_ok && broadcasts == 9 && left == 1;
    printf("\nsummary: %d messages broadcast, every client heard what it "
           "should, %d goroutine left: %s\n",
           broadcasts, left, *ok ? "ok" : "FAILED");
}

int main(void)
{
    bool ok = false;
    if (goc_run(tour, &ok) != 0)
        return 1;
    return ok ? 0 : 1;
}
