/* SPDX-License-Identifier: MIT */
/*
 * test_dump_golden.c - the dump's text for each wait reason, compared
 * whole after the parts that vary from run to run (goroutine ids,
 * addresses, file:line or module lines) are masked; wait times; and
 * GOC_TRACEBACK=system.
 */
#include <unistd.h>

#include "test.h"

/* The dump's clock skew for wait times (debug.c; tests only). */
extern int64_t goc__dump_clock_skew;

/* ---- one goroutine per wait reason, each named after it ---- */

static goc_chan *full2;      /* cap 2, filled: sends block */
static goc_chan *empty0;     /* unbuffered, nobody sends */
static goc_mutex held_mu;    /* main holds it */
static goc_rwmutex read_rw;  /* main holds a read lock: Lock waits */
static goc_rwmutex write_rw; /* main holds the write lock: RLock waits */
static goc_wg never_wg;      /* count 1 for ever */
static goc_mutex cond_mu;
static goc_cond never_cond;
static goc_sem sem1;         /* size 1, main holds it */
static int pipe_fds[2];      /* nobody writes */

static void g_send(void *arg)
{
    (void)arg;
    int v = 3;
    (void)!goc_chan_send(full2, &v);
}
static void g_recv(void *arg)
{
    (void)arg;
    (void)!goc_chan_recv(empty0, NULL);
}
static void g_nil_send(void *arg)
{
    (void)arg;
    int v = 0;
    (void)!goc_chan_send(NULL, &v);
}
static void g_select(void *arg)
{
    (void)arg;
    goc_case cs[] = {GOC_RECV_CASE(empty0, NULL),
                     GOC_RECV_CASE(empty0, NULL)};
    (void)!goc_select(cs, 2);
}
static void g_select_none(void *arg)
{
    (void)arg;
    (void)!goc_select(NULL, 0);
}
static void g_sleep(void *arg)
{
    (void)arg;
    goc_sleep((int64_t)3600 * 1000 * 1000 * 1000);
}
static void g_mutex(void *arg)
{
    (void)arg;
    goc_mutex_lock(&held_mu);
}
static void g_rwlock(void *arg)
{
    (void)arg;
    goc_rwmutex_lock(&read_rw);
}
static void g_rlock(void *arg)
{
    (void)arg;
    goc_rwmutex_rlock(&write_rw);
}
static void g_wg(void *arg)
{
    (void)arg;
    goc_wg_wait(&never_wg);
}
static void g_cond(void *arg)
{
    (void)arg;
    goc_mutex_lock(&cond_mu);
    goc_cond_wait(&never_cond, &cond_mu);
}
static void g_sem(void *arg)
{
    (void)arg;
    (void)!goc_sem_acquire(&sem1, 1, NULL);
}
static void g_io(void *arg)
{
    (void)arg;
    char b;
    (void)!goc_read(pipe_fds[0], &b, 1, NULL);
}

/* Each waiter, its name, and its part of the dump once parked, masked:
 * ids read N, addresses 0xX, and the second line of each frame (file:line
 * or module, which depend on the build) @. */
static const struct golden {
    void (*fn)(void *);
    const char *name;
    const char *want;
} goldens[] = {
    {g_send, "send",
     "goroutine N [chan send] \"send\":\n"
     "goc_chan_send(0xX: cap 2, len 2)\n\t@\n"
     "g_send(...)\n\t@\n"},
    {g_recv, "recv",
     "goroutine N [chan receive] \"recv\":\n"
     "goc_chan_recv(0xX: cap 0, len 0)\n\t@\n"
     "g_recv(...)\n\t@\n"},
    {g_nil_send, "nil send",
     "goroutine N [chan send (nil chan)] \"nil send\":\n"
     "goc_chan_send(...)\n\t@\n"
     "g_nil_send(...)\n\t@\n"},
    {g_select, "select",
     "goroutine N [select] \"select\":\n"
     "goc_select(...)\n\t@\n"
     "g_select(...)\n\t@\n"},
    {g_select_none, "select none",
     "goroutine N [select (no cases)] \"select none\":\n"
     "goc_select(...)\n\t@\n"
     "g_select_none(...)\n\t@\n"},
    {g_sleep, "sleep",
     "goroutine N [sleep] \"sleep\":\n"
     "goc_sleep(...)\n\t@\n"
     "g_sleep(...)\n\t@\n"},
    {g_mutex, "mutex",
     "goroutine N [sync.Mutex.Lock] \"mutex\":\n"
     "goc_mutex_lock(0xX)\n\t@\n"
     "g_mutex(...)\n\t@\n"},
    {g_rwlock, "rwlock",
     "goroutine N [sync.RWMutex.Lock] \"rwlock\":\n"
     "goc_rwmutex_lock(0xX)\n\t@\n"
     "g_rwlock(...)\n\t@\n"},
    {g_rlock, "rlock",
     "goroutine N [sync.RWMutex.RLock] \"rlock\":\n"
     "goc_rwmutex_rlock(0xX)\n\t@\n"
     "g_rlock(...)\n\t@\n"},
    {g_wg, "wg",
     "goroutine N [sync.WaitGroup.Wait] \"wg\":\n"
     "goc_wg_wait(0xX)\n\t@\n"
     "g_wg(...)\n\t@\n"},
    {g_cond, "cond",
     "goroutine N [sync.Cond.Wait] \"cond\":\n"
     "goc_cond_wait(0xX)\n\t@\n"
     "g_cond(...)\n\t@\n"},
    {g_sem, "sem",
     "goroutine N [semacquire] \"sem\":\n"
     "goc_sem_acquire(0xX)\n\t@\n"
     "g_sem(...)\n\t@\n"},
    {g_io, "io",
     "goroutine N [IO wait] \"io\":\n"
     "goc_read(...)\n\t@\n"
     "g_io(...)\n\t@\n"},
};
#define NGOLDEN (sizeof goldens / sizeof goldens[0])

/* Mask s into out (see goldens). */
static void mask(const char *s, size_t n, char *out, size_t len)
{
    size_t o = 0;
    bool line_start = true;
    for (size_t i = 0; i < n && o + 4 < len;) {
        if (line_start && s[i] == '\t') { /* a frame's second line */
            out[o++] = '\t';
            out[o++] = '@';
            while (i < n && s[i] != '\n')
                i++;
            continue;
        }
        line_start = s[i] == '\n';
        if (s[i] == '0' && i + 1 < n && s[i + 1] == 'x') {
            out[o++] = '0';
            out[o++] = 'x';
            out[o++] = 'X';
            i += 2;
            while (i < n && ((s[i] >= '0' && s[i] <= '9') ||
                             (s[i] >= 'a' && s[i] <= 'f')))
                i++;
            continue;
        }
        if (s[i] >= '0' && s[i] <= '9' && i >= 10 &&
            strncmp(s + i - 10, "goroutine ", 10) == 0) {
            out[o++] = 'N';
            while (i < n && s[i] >= '0' && s[i] <= '9')
                i++;
            continue;
        }
        out[o++] = s[i++];
    }
    out[o] = '\0';
}

/* The block of dump for the goroutine named name, up to its "created by"
 * line, masked into out.  Returns: false if there is none. */
static bool block_of(const char *dump, const char *name, char *out,
                     size_t len)
{
    size_t n;
    const char *b = test_dump_block(dump, name, &n);
    if (b == NULL)
        return false;
    const char *e = strstr(b, "created by ");
    if (e == NULL || e > b + n)
        return false;
    mask(b, (size_t)(e - b), out, len);
    return true;
}

static char dumpbuf[256 * 1024];

/* Spawn every golden waiter and dump until all of them show parked. */
static void spawn_and_dump(void)
{
    full2 = goc_chan_make(sizeof(int), 2);
    empty0 = goc_chan_make(0, 0);
    int v = 1;
    ASSERT_OK(goc_chan_send(full2, &v));
    ASSERT_OK(goc_chan_send(full2, &v));
    goc_mutex_lock(&held_mu);
    goc_rwmutex_rlock(&read_rw);
    goc_rwmutex_lock(&write_rw);
    goc_wg_add(&never_wg, 1);
    goc_sem_init(&sem1, 1);
    ASSERT_OK(goc_sem_acquire(&sem1, 1, NULL));
    ASSERT(pipe(pipe_fds) == 0);
    ASSERT_OK(goc_fd_wrap(pipe_fds[0]));
    for (size_t i = 0; i < NGOLDEN; i++) {
        goc_spawn_opts o = {.name = goldens[i].name};
        ASSERT_OK(goc_go_opts(&o, goldens[i].fn, NULL));
    }
    /* Parked when each shows its wait reason (bounded: 10 s). */
    int64_t end = goc_now() + (int64_t)10 * 1000 * 1000 * 1000;
    for (;;) {
        goc_stack(dumpbuf, sizeof dumpbuf, true);
        size_t ok = 0;
        for (size_t i = 0; i < NGOLDEN; i++) {
            /* "[reason] \"name\":\n", from the golden's first line */
            const char *w = strchr(goldens[i].want, '[');
            const char *nl = strchr(w, '\n');
            char head[96];
            snprintf(head, sizeof head, "%.*s", (int)(nl + 1 - w), w);
            ok += strstr(dumpbuf, head) != NULL;
        }
        if (ok == NGOLDEN)
            return;
        if (goc_now() > end)
            FAIL("not every waiter parked within 10 s:\n%s", dumpbuf);
        goc_sleep(1000 * 1000);
    }
}

static void golden_main(void *arg)
{
    (void)arg;
    spawn_and_dump();
    char got[2048];
    for (size_t i = 0; i < NGOLDEN; i++) {
        if (!block_of(dumpbuf, goldens[i].name, got, sizeof got))
            FAIL("no goroutine \"%s\" in:\n%s", goldens[i].name, dumpbuf);
        if (strcmp(got, goldens[i].want) != 0)
            FAIL("goroutine \"%s\":\n--- got\n%s--- want\n%s--- dump\n%s",
                 goldens[i].name, got, goldens[i].want, dumpbuf);
    }
}
TEST(dump_golden_waits)
{
    run_main(golden_main, NULL);
}

/* ---- wait times: ", N minutes" once a goroutine has waited one ---- */

static goc_chan *minutes_c;
static void g_minutes(void *arg)
{
    (void)!goc_chan_recv(arg, NULL);
}

/* Dump until the goroutine named "waiter" shows parked; its header. */
static const char *waiter_header(void)
{
    for (int i = 0; i < 10000; i++) {
        goc_stack(dumpbuf, sizeof dumpbuf, true);
        const char *t = strstr(dumpbuf, "\"waiter\":\n");
        if (t != NULL && strstr(dumpbuf, "[chan receive") != NULL) {
            while (t > dumpbuf && t[-1] != '\n')
                t--;
            return t;
        }
        goc_yield();
    }
    FAIL("the waiter never parked:\n%s", dumpbuf);
}

static void minutes_main(void *arg)
{
    (void)arg;
    minutes_c = goc_chan_make(0, 0);
    goc_spawn_opts o = {.name = "waiter"};
    ASSERT_OK(goc_go_opts(&o, g_minutes, minutes_c));
    const char *h = waiter_header();
    /* Just parked: no wait time, as Go shows none under a minute. */
    ASSERT(strncmp(h, "goroutine ", 10) == 0);
    ASSERT_CONTAINS(h, "[chan receive] \"waiter\":\n");
    /* Three minutes and a second later, as the dump's clock sees it. */
    goc__dump_clock_skew = (int64_t)181 * 1000 * 1000 * 1000;
    h = waiter_header();
    ASSERT_CONTAINS(h, "[chan receive, 3 minutes] \"waiter\":\n");
    /* Only waits are timed: the dumping goroutine runs. */
    ASSERT(strncmp(dumpbuf, "goroutine 1 [running]:\n", 23) == 0);
    goc__dump_clock_skew = 0;
    ASSERT_OK(goc_chan_close(minutes_c));
    goc_chan_release(minutes_c);
    while (goc_num_goroutine() > 1) /* the waiter leaves before the run */
        goc_yield();
}
TEST(dump_wait_minutes)
{
    run_main(minutes_main, NULL);
}

/* ---- GOC_TRACEBACK=system shows goc's own frames ---- */

static void system_main(void *arg)
{
    bool system = arg != NULL;
    minutes_c = goc_chan_make(0, 0);
    goc_spawn_opts o = {.name = "waiter"};
    ASSERT_OK(goc_go_opts(&o, g_minutes, minutes_c));
    const char *h = waiter_header();
    const char *pub = strstr(h, "goc_chan_recv(");
    ASSERT(pub != NULL);
    /* goc's internals (goc__park_m and the switch) sit above the public
     * call: shown with system, hidden without. */
    const char *internal = strstr(h, "\ngoc__");
    if (system)
        ASSERT(internal != NULL && internal < pub);
    else
        ASSERT(internal == NULL || internal > strstr(h, "created by"));
    /* The waiter has parked: woken by the close, it no longer touches
     * the channel (goc.h), which can go at once. */
    ASSERT_OK(goc_chan_close(minutes_c));
    goc_chan_release(minutes_c);
    while (goc_num_goroutine() > 1) /* the waiter leaves before the run */
        goc_yield();
}
TEST(dump_traceback_system)
{
    ASSERT(setenv("GOC_TRACEBACK", "system", 1) == 0);
    run_main(system_main, (void *)1);
    ASSERT(unsetenv("GOC_TRACEBACK") == 0);
    run_main(system_main, NULL);
}
