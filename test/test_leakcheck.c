/* SPDX-License-Identifier: MIT */
/*
 * test_leakcheck.c - goc_leakcheck (goleak's VerifyNone), goc_goroutine_ids,
 * and the goroutines that wait for ever on abandoned channels: marked
 * "(leaked)" in dumps, reported at exit with GOCDEBUG=leakreport=1.
 */
#include <unistd.h>

#include "test.h"

/* Read what a leak check wrote to the pipe fds[1] (closed here). */
static void read_all(int fds[2], char *buf, size_t len)
{
    close(fds[1]);
    ssize_t r;
    size_t n = 0;
    while (n + 1 < len && (r = read(fds[0], buf + n, len - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = '\0';
    close(fds[0]);
}

/* ---- goroutines on their way out are not leaks ---- */

static void wait_close(void *arg)
{
    (void)!goc_chan_recv(arg, NULL); /* until main closes it */
}

static void clean_main(void *arg)
{
    (void)arg;
    goc_chan *c = goc_chan_make(0, 0);
    for (int i = 0; i < 10; i++)
        ASSERT_OK(goc_go(wait_close, c));
    /* All ten started (the count includes main). */
    while (goc_num_goroutine() < 11)
        goc_yield();
    goc_leak_opts quiet = {.fd = -1, .wait_ns = 1000 * 1000};
    /* Closed, they leave on their own: the check waits for them. */
    ASSERT_OK(goc_chan_close(c));
    goc_leak_opts o = {.fd = -1};
    ASSERT_EQ(goc_leakcheck(&o), 0);
    ASSERT_EQ(goc_num_goroutine(), 1);
    ASSERT_EQ(goc_leakcheck(&quiet), 0);
    goc_chan_release(c);
}
TEST(leakcheck_waits_for_exits)
{
    ASSERT_EQ(goc_leakcheck(NULL), 0); /* outside a run */
    run_main(clean_main, NULL);
}

/* ---- abandoned channels: the course's leak, found without a test ---- */

static void leaky_sender(void *arg)
{
    goc_chan *c = arg;
    int v = 1;
    (void)!goc_chan_send(c, &v); /* nobody receives */
    goc_chan_release(c);
}

static void give_up_sender(void *arg)
{
    int v = 42;
    /* The last use of c: the send owns the reference it was given. */
    (void)!goc_chan_send_release(arg, &v);
}

static void own_ref_sender(void *arg)
{
    leaky_sender(arg);
}

/* The part of the dump that heads goroutine id's block. */
static const char *header_of(const char *dump, int64_t id, char *buf,
                             size_t len)
{
    char tag[48];
    snprintf(tag, sizeof tag, "goroutine %lld [", (long long)id);
    const char *h = strstr(dump, tag);
    if (h == NULL)
        return NULL;
    const char *nl = strchr(h, '\n');
    snprintf(buf, len, "%.*s", (int)(nl - h), h);
    return buf;
}

/* The channels the tests abandon, kept in sight of LeakSanitizer (a
 * global is a root): the leaked goroutines' stacks are unmapped when the
 * run ends.  goc decides abandonment by reference counts alone. */
static goc_chan *volatile abandoned[4];
static int nabandoned;

/* Start fn(c) with a reference of its own; return its id once it waits. */
static int64_t start_sender(void (*fn)(void *), goc_chan *c)
{
    int before = goc_num_goroutine();
    int64_t ids[64];
    size_t n0 = goc_goroutine_ids(ids, 64);
    ASSERT(n0 < 64);
    goc_chan_retain(c);
    ASSERT(nabandoned < 4);
    abandoned[nabandoned++] = c;
    ASSERT_OK(goc_go(fn, c));
    static char dump[64 * 1024];
    for (;;) {
        int64_t now[64];
        size_t n = goc_goroutine_ids(now, 64);
        ASSERT(n <= 64 && goc_num_goroutine() == before + 1);
        for (size_t i = 0; i < n; i++) {
            bool old = false;
            for (size_t j = 0; j < n0; j++)
                old = old || ids[j] == now[i];
            char h[128];
            goc_stack(dump, sizeof dump, true);
            if (!old && header_of(dump, now[i], h, sizeof h) != NULL &&
                strstr(h, "[chan send") != NULL)
                return now[i];
        }
        goc_yield();
    }
}

static void abandoned_main(void *arg)
{
    (void)arg;
    static char dump[64 * 1024];
    char h[128];

    /* The sender owns its reference in the send; main still holds one:
     * somebody could still receive, so it is not leaked yet. */
    goc_chan *c = goc_chan_make(sizeof(int), 0);
    int64_t id = start_sender(give_up_sender, c);
    goc_stack(dump, sizeof dump, true);
    ASSERT(header_of(dump, id, h, sizeof h) != NULL);
    ASSERT(strstr(h, "[chan send]:") != NULL);
    /* Main gives up without receiving (the leak): nobody can reach the
     * channel any more, and the dump says so, for good. */
    goc_chan_release(c);
    for (int i = 0; i < 2; i++) {
        goc_stack(dump, sizeof dump, true);
        ASSERT(header_of(dump, id, h, sizeof h) != NULL);
        ASSERT(strstr(h, "[chan send (leaked)]:") != NULL);
    }

    /* A sender that keeps its reference outside the send: nothing tells
     * it from one whose channel someone else still holds, so it is never
     * marked, however it ends. */
    goc_chan *d = goc_chan_make(sizeof(int), 0);
    int64_t id2 = start_sender(own_ref_sender, d);
    goc_chan_release(d);
    goc_stack(dump, sizeof dump, true);
    ASSERT(header_of(dump, id2, h, sizeof h) != NULL);
    ASSERT(strstr(h, "[chan send]:") != NULL);

    /* goc_leakcheck lists both, the first marked. */
    int fds[2];
    ASSERT(pipe(fds) == 0);
    goc_leak_opts o = {.fd = fds[1], .wait_ns = 1000 * 1000};
    ASSERT_EQ(goc_leakcheck(&o), 2);
    read_all(fds, dump, sizeof dump);
    ASSERT_CONTAINS(dump, " [chan send (leaked)]:\ngoc_chan_send_release(");
    ASSERT_CONTAINS(dump, "\ngive_up_sender(...)\n");
}
TEST(leak_abandoned_channel_marked)
{
    run_main(abandoned_main, NULL);
}

/* ---- a leak, reported, and ignored by name or by id ---- */

static void report_main(void *arg)
{
    (void)arg;
    int64_t before[8];
    size_t nbefore = goc_goroutine_ids(before, 8);
    ASSERT_EQ(nbefore, 1); /* main */
    goc_chan *c = goc_chan_make(sizeof(int), 0);
    (void)start_sender(leaky_sender, c); /* parked in its send */

    int fds[2];
    ASSERT(pipe(fds) == 0);
    goc_leak_opts o = {.fd = fds[1], .wait_ns = 20 * 1000 * 1000};
    ASSERT_EQ(goc_leakcheck(&o), 1);
    static char out[64 * 1024];
    read_all(fds, out, sizeof out);
    ASSERT(strncmp(out, "goc_leakcheck: 1 goroutine leaked:\n\ngoroutine ",
                   46) == 0);
    ASSERT_CONTAINS(out, " [chan send]:\ngoc_chan_send(");
    ASSERT_CONTAINS(out, "\nleaky_sender(...)\n");
    ASSERT_CONTAINS(out, "created by start_sender in goroutine 1\n");
    ASSERT(strstr(out, "goroutine 1 [") == NULL); /* not the caller */

    /* goleak's IgnoreAnyFunction and IgnoreCurrent. */
    static const char *const names[] = {"leaky_sender", NULL};
    goc_leak_opts by_name = {.ignore_funcs = names, .fd = -1,
                             .wait_ns = 1000 * 1000};
    ASSERT_EQ(goc_leakcheck(&by_name), 0);
    int64_t now[8];
    size_t nnow = goc_goroutine_ids(now, 8);
    ASSERT_EQ(nnow, 2);
    ASSERT_EQ(goc_goroutine_ids(NULL, 0), 2);
    goc_leak_opts by_id = {.ignore_ids = now, .nignore_ids = nnow,
                           .fd = -1, .wait_ns = 1000 * 1000};
    ASSERT_EQ(goc_leakcheck(&by_id), 0);
    goc_leak_opts old_ids = {.ignore_ids = before, .nignore_ids = nbefore,
                             .fd = -1, .wait_ns = 1000 * 1000};
    ASSERT_EQ(goc_leakcheck(&old_ids), 1);

    /* The fix: receive, and nothing is left. */
    int v;
    ASSERT_OK(goc_chan_recv(c, &v));
    goc_chan_release(c);
    goc_leak_opts after = {.fd = -1};
    ASSERT_EQ(goc_leakcheck(&after), 0);
}
TEST(leakcheck_reports_and_ignores)
{
    run_main(report_main, NULL);
}

/* ---- GOCDEBUG=leakreport=1: the report when main returns ---- */

static void exit_report_main(void *arg)
{
    (void)arg;
    goc_chan *c = goc_chan_make(sizeof(int), 0);
    goc_chan *d = goc_chan_make(sizeof(int), 0);
    (void)start_sender(give_up_sender, c);
    (void)start_sender(own_ref_sender, d); /* not certain: not reported */
    goc_chan_release(c);
    goc_chan_release(d);
}
static void exit_report_child(void)
{
    ASSERT(setenv("GOCDEBUG", "leakreport=1", 1) == 0);
    ASSERT_OK(goc_run(exit_report_main, NULL));
    exit(0);
}
static void exit_quiet_child(void)
{
    ASSERT(unsetenv("GOCDEBUG") == 0);
    ASSERT_OK(goc_run(exit_report_main, NULL));
    exit(0);
}
TEST(leak_report_at_exit)
{
    struct death d;
    death_run(&d, exit_report_child);
    ASSERT_STATUS(d, 0);
    /* (ASan may have printed a warning first.) */
    ASSERT_CONTAINS(d.out, "goc: 1 goroutine leaked: waiting for ever on "
                           "channels nobody can reach any more\n\ngoroutine ");
    ASSERT_CONTAINS(d.out, " [chan send (leaked)]:\n");
    ASSERT_CONTAINS(d.out, "\ngive_up_sender(...)\n");
    ASSERT(strstr(d.out, "own_ref_sender") == NULL);
    death_run(&d, exit_quiet_child);
    ASSERT_STATUS(d, 0);
    ASSERT(strstr(d.out, "leaked") == NULL);
}
