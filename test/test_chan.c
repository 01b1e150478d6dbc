/* SPDX-License-Identifier: MIT */
/* test_chan.c - channel semantics: the send/receive/close matrix, FIFO,
 * len/cap, hand-off, plain threads, reference counting. */
#include <pthread.h>
#include <unistd.h>

#include "test.h"

/* ---- the matrix on one goroutine: buffered, closed, try operations ---- */

static void matrix_main(void *arg)
{
    (void)arg;
    int v = 0;
    /* Unbuffered, nobody waiting: try operations would block. */
    goc_chan *u = goc_chan_make(sizeof(int), 0);
    ASSERT(u != NULL);
    ASSERT_ERR(goc_chan_try_send(u, &v), GOC_EAGAIN);
    ASSERT_ERR(goc_chan_try_recv(u, &v), GOC_EAGAIN);
    ASSERT_EQ(goc_chan_len(u), 0);
    ASSERT_EQ(goc_chan_cap(u), 0);

    /* Buffered: fill, FIFO, full, empty. */
    goc_chan *b = goc_chan_make(sizeof(int), 3);
    for (int i = 1; i <= 3; i++)
        ASSERT_OK(goc_chan_send(b, &i));
    ASSERT_EQ(goc_chan_len(b), 3);
    ASSERT_EQ(goc_chan_cap(b), 3);
    int four = 4;
    ASSERT_ERR(goc_chan_try_send(b, &four), GOC_EAGAIN);
    ASSERT_OK(goc_chan_recv(b, &v));
    ASSERT_EQ(v, 1);
    ASSERT_OK(goc_chan_try_send(b, &four));
    for (int want = 2; want <= 4; want++) {
        ASSERT_OK(goc_chan_try_recv(b, &v));
        ASSERT_EQ(v, want);
    }
    ASSERT_ERR(goc_chan_try_recv(b, &v), GOC_EAGAIN);

    /* Close: buffered values drain first, then ECLOSED with zeroes. */
    int seven = 7;
    ASSERT_OK(goc_chan_send(b, &seven));
    ASSERT_OK(goc_chan_close(b));
    ASSERT_ERR(goc_chan_close(b), GOC_ECLOSED);
    ASSERT_ERR(goc_chan_send(b, &seven), GOC_ECLOSED);
    ASSERT_ERR(goc_chan_try_send(b, &seven), GOC_ECLOSED);
    ASSERT_OK(goc_chan_recv(b, &v));
    ASSERT_EQ(v, 7);
    v = 99;
    ASSERT_ERR(goc_chan_recv(b, &v), GOC_ECLOSED);
    ASSERT_EQ(v, 0);
    v = 99;
    ASSERT_ERR(goc_chan_try_recv(b, &v), GOC_ECLOSED);
    ASSERT_EQ(v, 0);
    ASSERT_ERR(goc_chan_recv(b, NULL), GOC_ECLOSED);
    ASSERT_OK(goc_chan_close(u));
    ASSERT_ERR(goc_chan_recv(u, &v), GOC_ECLOSED);

    /* Nil channel: try operations would block; close is EINVAL. */
    ASSERT_ERR(goc_chan_try_send(NULL, &v), GOC_EAGAIN);
    ASSERT_ERR(goc_chan_try_recv(NULL, &v), GOC_EAGAIN);
    ASSERT_ERR(goc_chan_close(NULL), GOC_EINVAL);
    ASSERT_EQ(goc_chan_len(NULL), 0);
    ASSERT_EQ(goc_chan_cap(NULL), 0);

    /* Bad arguments. */
    goc_chan *x = goc_chan_make(sizeof(int), 1);
    ASSERT_ERR(goc_chan_send(x, NULL), GOC_EINVAL);
    ASSERT(goc_chan_make(70000, 1) == NULL);
    ASSERT(goc_chan_make(1 << 16, SIZE_MAX / 4) == NULL);

    /* Signal channels: elem_size 0, elem may be NULL. */
    goc_chan *sig = goc_chan_make(0, 2);
    ASSERT_OK(goc_chan_send(sig, NULL));
    ASSERT_OK(goc_chan_try_send(sig, NULL));
    ASSERT_ERR(goc_chan_try_send(sig, NULL), GOC_EAGAIN);
    ASSERT_EQ(goc_chan_len(sig), 2);
    ASSERT_OK(goc_chan_recv(sig, NULL));

    goc_chan_release(u);
    goc_chan_release(b);
    goc_chan_release(x);
    goc_chan_retain(sig);
    goc_chan_release(sig);
    goc_chan_release(sig);
    goc_chan_release(NULL);
}
TEST(chan_matrix)
{
    run_main(matrix_main, NULL);
}

/* ---- unbuffered hand-off between goroutines; big elements ---- */

struct big {
    char bytes[3000];
};
static goc_chan *bigc;
static void big_sender(void *arg)
{
    (void)arg;
    struct big b;
    for (int i = 0; i < 100; i++) {
        memset(b.bytes, i, sizeof b.bytes);
        ASSERT_OK(goc_chan_send(bigc, &b));
    }
    ASSERT_OK(goc_chan_close(bigc));
}
static void big_main(void *arg)
{
    (void)arg;
    bigc = goc_chan_make(sizeof(struct big), 0);
    ASSERT_OK(goc_go(big_sender, NULL));
    struct big b;
    int i = 0;
    while (goc_chan_recv(bigc, &b) == 0) {
        for (size_t k = 0; k < sizeof b.bytes; k++)
            ASSERT_EQ(b.bytes[k], (char)i);
        i++;
    }
    ASSERT_EQ(i, 100);
    goc_chan_release(bigc);
}
TEST(chan_unbuffered_big_elements)
{
    run_main(big_main, NULL);
}

/* ---- blocked senders and receivers are served in FIFO order ---- */

static goc_chan *fifo;
static _Atomic int fifo_queued;
static void fifo_sender(void *arg)
{
    int v = (int)(intptr_t)arg;
    atomic_fetch_add(&fifo_queued, 1);
    ASSERT_OK(goc_chan_send(fifo, &v));
}
static void fifo_main(void *arg)
{
    (void)arg;
    fifo = goc_chan_make(sizeof(int), 0);
    /* Start senders one at a time, each parked before the next starts. */
    for (int i = 0; i < 20; i++) {
        ASSERT_OK(goc_go(fifo_sender, (void *)(intptr_t)i));
        while (atomic_load(&fifo_queued) <= i)
            goc_yield();
        for (int k = 0; k < 3; k++)
            goc_yield(); /* GOMAXPROCS 1: the sender runs and parks */
    }
    for (int i = 0; i < 20; i++) {
        int v;
        ASSERT_OK(goc_chan_recv(fifo, &v));
        ASSERT_EQ(v, i);
    }
    goc_chan_release(fifo);
}
TEST(chan_fifo_senders)
{
    goc_maxprocs(1);
    run_main(fifo_main, NULL);
}

/* ---- close wakes every blocked receiver and sender ---- */

static goc_chan *cl;
static _Atomic int cl_closed_seen;
static void cl_receiver(void *arg)
{
    (void)arg;
    int v = 5;
    ASSERT_ERR(goc_chan_recv(cl, &v), GOC_ECLOSED);
    ASSERT_EQ(v, 0);
    atomic_fetch_add(&cl_closed_seen, 1);
}
static void close_main(void *arg)
{
    (void)arg;
    cl = goc_chan_make(sizeof(int), 0);
    for (int i = 0; i < 10; i++)
        ASSERT_OK(goc_go(cl_receiver, NULL));
    for (int i = 0; i < 20; i++)
        goc_yield();
    ASSERT_OK(goc_chan_close(cl));
    while (atomic_load(&cl_closed_seen) < 10)
        goc_yield();
    goc_chan_release(cl);
}
TEST(chan_close_wakes_receivers)
{
    run_main(close_main, NULL);
}

static goc_chan *cs;
static _Atomic int cs_seen;
static void cs_sender(void *arg)
{
    (void)arg;
    int v = 1;
    ASSERT_ERR(goc_chan_send(cs, &v), GOC_ECLOSED);
    atomic_fetch_add(&cs_seen, 1);
}
static void close_send_main(void *arg)
{
    (void)arg;
    cs = goc_chan_make(sizeof(int), 0);
    for (int i = 0; i < 10; i++)
        ASSERT_OK(goc_go(cs_sender, NULL));
    for (int i = 0; i < 20; i++)
        goc_yield(); /* most of them block; late ones see the close */
    ASSERT_OK(goc_chan_close(cs));
    while (atomic_load(&cs_seen) < 10)
        goc_yield();
    goc_chan_release(cs);
}
TEST(chan_close_wakes_senders)
{
    run_main(close_send_main, NULL);
}

/* ---- a close over many receivers wakes them in rounds ----
 * More receivers than a round takes (chan.c: CLOSE_BATCH): each gets
 * GOC_ECLOSED and a zeroed value, and one that receives while the close
 * is still waking the others sees the close too, never a value. */

#define ROUNDS_N 1000
static goc_chan *rc_chan;
static goc_wg rc_wg;
static _Atomic int rc_closed_seen;
static void rounds_receiver(void *arg)
{
    (void)arg;
    int v = 5;
    ASSERT_ERR(goc_chan_recv(rc_chan, &v), GOC_ECLOSED);
    ASSERT_EQ(v, 0);
    /* A receive after the wake-up: the close may still be running. */
    v = 6;
    ASSERT_ERR(goc_chan_recv(rc_chan, &v), GOC_ECLOSED);
    ASSERT_EQ(v, 0);
    int w = 1;
    ASSERT_ERR(goc_chan_send(rc_chan, &w), GOC_ECLOSED);
    atomic_fetch_add(&rc_closed_seen, 1);
    goc_wg_done(&rc_wg);
}
static void rounds_main(void *arg)
{
    (void)arg;
    rc_chan = goc_chan_make(sizeof(int), 0);
    goc_wg_add(&rc_wg, ROUNDS_N);
    /* One P: each receiver runs and blocks before main runs again. */
    goc_maxprocs(1);
    for (int i = 0; i < ROUNDS_N; i++)
        ASSERT_OK(goc_go(rounds_receiver, NULL));
    goc_yield();
    goc_maxprocs(2); /* the woken ones run beside the close */
    ASSERT_OK(goc_chan_close(rc_chan));
    ASSERT_ERR(goc_chan_close(rc_chan), GOC_ECLOSED);
    goc_wg_wait(&rc_wg);
    ASSERT_EQ(atomic_load(&rc_closed_seen), ROUNDS_N);
    goc_chan_release(rc_chan);
}
TEST(chan_close_wakes_many_in_rounds)
{
    run_main(rounds_main, NULL);
}

/* The first receiver woken holds the channel's only reference and drops
 * it at once, while the close still has rounds to go over the others,
 * which borrowed the channel: the close keeps a reference of its own
 * until its last round (ASan sees a use after free otherwise). */
static goc_chan *lr_chan;
static goc_wg lr_wg;
static _Atomic int lr_started;
static void lr_owner(void *arg)
{
    (void)arg;
    atomic_fetch_add(&lr_started, 1);
    ASSERT_ERR(goc_chan_recv(lr_chan, NULL), GOC_ECLOSED);
    goc_chan_release(lr_chan); /* the only reference */
    goc_wg_done(&lr_wg);
}
static void lr_borrower(void *arg)
{
    (void)arg;
    atomic_fetch_add(&lr_started, 1);
    ASSERT_ERR(goc_chan_recv(lr_chan, NULL), GOC_ECLOSED);
    goc_wg_done(&lr_wg);
}
/* With one P, a goroutine that has counted itself in lr_started runs on
 * into its receive and blocks there before main runs again: main yields
 * until n have, then a few times more (one may have been preempted in
 * between).  The borrowers must be blocked before the close: one that
 * came later would receive from a channel already freed. */
static void lr_settle(int n)
{
    while (atomic_load(&lr_started) < n)
        goc_yield();
    for (int i = 0; i < 3; i++)
        goc_yield();
}
static void last_ref_main(void *arg)
{
    (void)arg;
    for (int round = 0; round < 30; round++) {
        goc_maxprocs(1);
        atomic_store(&lr_started, 0);
        lr_chan = goc_chan_make(0, 0); /* its reference goes to the owner */
        goc_wg_add(&lr_wg, 301);
        ASSERT_OK(goc_go(lr_owner, NULL));
        lr_settle(1); /* the owner blocks first: the first one woken */
        for (int i = 0; i < 300; i++)
            ASSERT_OK(goc_go(lr_borrower, NULL));
        lr_settle(301);
        goc_maxprocs(2);
        ASSERT_OK(goc_chan_close(lr_chan)); /* borrowed */
        goc_wg_wait(&lr_wg);
    }
}
TEST(chan_close_outlives_woken_owner)
{
    run_main(last_ref_main, NULL);
}

/* ---- the ownership idiom: release right after the last receive ---- */

static void once_sender(void *arg)
{
    goc_chan *c = arg;
    int v = 42;
    ASSERT_OK(goc_chan_send(c, &v));
}
static void ownership_main(void *arg)
{
    (void)arg;
    for (int round = 0; round < 2000; round++) {
        goc_chan *c = goc_chan_make(sizeof(int), round % 2);
        for (int i = 0; i < 3; i++)
            ASSERT_OK(goc_go(once_sender, c));
        for (int i = 0; i < 3; i++) {
            int v;
            ASSERT_OK(goc_chan_recv(c, &v));
            ASSERT_EQ(v, 42);
        }
        goc_chan_release(c); /* the senders no longer touch it */
    }
}
TEST(chan_release_after_last_receive)
{
    run_main(ownership_main, NULL);
}

/* ---- plain threads send to and receive from goroutines ---- */

static goc_chan *to_g, *from_g;
#define PT_N 20000
static goc_chan *pt_done; /* the plain threads say they are done */
static _Atomic int pt_known;
static void *pt_sender(void *arg)
{
    (void)arg;
    /* Any channel call makes the run count this thread as a possible
     * waker; until then main must not block waiting for it (that would
     * be reported as a deadlock), so main yields until both are known. */
    ASSERT_EQ(goc_chan_try_recv(pt_done, NULL), GOC_EAGAIN);
    atomic_fetch_add(&pt_known, 1);
    for (int i = 0; i < PT_N; i++)
        ASSERT_OK(goc_chan_send(to_g, &i));
    ASSERT_OK(goc_chan_close(to_g));
    ASSERT_OK(goc_chan_send(pt_done, NULL));
    return NULL;
}
static void *pt_receiver(void *arg)
{
    (void)arg;
    ASSERT_EQ(goc_chan_try_recv(pt_done, NULL), GOC_EAGAIN);
    atomic_fetch_add(&pt_known, 1);
    long sum = 0;
    int v;
    while (goc_chan_recv(from_g, &v) == 0)
        sum += v;
    ASSERT_EQ(sum, (long)PT_N * (PT_N - 1) / 2 * 2);
    ASSERT_OK(goc_chan_send(pt_done, NULL));
    return NULL;
}
static _Atomic int relays_left;
static void relay(void *arg)
{
    (void)arg;
    int v;
    while (goc_chan_recv(to_g, &v) == 0) {
        int w = 2 * v;
        ASSERT_OK(goc_chan_send(from_g, &w));
    }
    if (atomic_fetch_sub(&relays_left, 1) == 1) /* the last one closes */
        ASSERT_OK(goc_chan_close(from_g));
}
static void plain_main(void *arg)
{
    (void)arg;
    to_g = goc_chan_make(sizeof(int), 0);
    from_g = goc_chan_make(sizeof(int), 4);
    pt_done = goc_chan_make(0, 0);
    pthread_t a, b;
    ASSERT_EQ(pthread_create(&a, NULL, pt_sender, NULL), 0);
    ASSERT_EQ(pthread_create(&b, NULL, pt_receiver, NULL), 0);
    while (atomic_load(&pt_known) < 2)
        goc_yield();
    atomic_store(&relays_left, 2);
    ASSERT_OK(goc_go(relay, NULL));
    ASSERT_OK(goc_go(relay, NULL));
    /* Wait on the channel, not in pthread_join: a goroutine blocked in a
     * system call keeps its P, and with GOMAXPROCS 1 the relays would
     * never run (goc_blocking_begin is for such calls, later). */
    ASSERT_OK(goc_chan_recv(pt_done, NULL));
    ASSERT_OK(goc_chan_recv(pt_done, NULL));
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    goc_chan_release(pt_done);
    goc_chan_release(to_g);
    goc_chan_release(from_g);
}
TEST(chan_plain_threads)
{
    run_main(plain_main, NULL);
}

/* Plain threads among themselves, with no run at all. */
static goc_chan *tt;
static void *tt_sender(void *arg)
{
    (void)arg;
    for (int i = 0; i < 1000; i++)
        ASSERT_OK(goc_chan_send(tt, &i));
    ASSERT_OK(goc_chan_close(tt));
    return NULL;
}
TEST(chan_threads_without_run)
{
    tt = goc_chan_make(sizeof(int), 0);
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, tt_sender, NULL), 0);
    int v, want = 0;
    while (goc_chan_recv(tt, &v) == 0)
        ASSERT_EQ(v, want++);
    ASSERT_EQ(want, 1000);
    pthread_join(t, NULL);
    goc_chan_release(tt);
}

/* ---- wait reasons in the deadlock dump ---- */

static void nil_send_main(void *arg)
{
    (void)arg;
    int v = 0;
    ASSERT_OK(goc_chan_send(NULL, &v));
}
static void nil_recv_main(void *arg)
{
    (void)arg;
    ASSERT_OK(goc_chan_recv(NULL, NULL));
}
static void recv_main(void *arg)
{
    (void)arg;
    goc_chan *c = goc_chan_make(0, 0);
    ASSERT_OK(goc_chan_recv(c, NULL));
}
static void send_main(void *arg)
{
    (void)arg;
    goc_chan *c = goc_chan_make(0, 0);
    ASSERT_OK(goc_chan_send(c, NULL));
}
static void (*reason_main)(void *);
static void reason_death(void)
{
    ASSERT_OK(goc_run(reason_main, NULL));
}
static void expect_reason(void (*fn)(void *), const char *header)
{
    static struct death d;
    reason_main = fn;
    death_run(&d, reason_death);
    ASSERT_STATUS(d, 2);
    ASSERT_CONTAINS(d.out,
                    "fatal error: all goroutines are asleep - deadlock!\n");
    ASSERT_CONTAINS(d.out, header);
}
TEST(chan_wait_reasons)
{
    expect_reason(nil_send_main, "goroutine 1 [chan send (nil chan)]:\n");
    expect_reason(nil_recv_main, "goroutine 1 [chan receive (nil chan)]:\n");
    expect_reason(recv_main, "goroutine 1 [chan receive]:\n");
    expect_reason(send_main, "goroutine 1 [chan send]:\n");
}

/* ---- non-blocking operations racing with close: never "would block"
 * for a reason that is not true ---- */

static goc_chan *rc_ch;
static _Atomic long rc_sent;
static _Atomic int rc_closed_seen;
static void rc_try_sender(void *arg)
{
    (void)arg;
    /* The buffer never fills, so a try_send says 0 or ECLOSED, and once
     * ECLOSED always ECLOSED. */
    for (long i = 0;; i++) {
        int rc = goc_chan_try_send(rc_ch, &i);
        if (rc == GOC_ECLOSED)
            break;
        ASSERT_OK(rc);
        atomic_fetch_add(&rc_sent, 1);
        if (i % 64 == 0)
            goc_yield();
    }
    long x = 0;
    ASSERT_ERR(goc_chan_try_send(rc_ch, &x), GOC_ECLOSED);
    atomic_store(&rc_closed_seen, 1);
}
static void rc_closer(void *arg)
{
    (void)arg;
    while (atomic_load(&rc_sent) < 5000)
        goc_yield();
    ASSERT_OK(goc_chan_close(rc_ch));
}
static void race_close_main(void *arg)
{
    (void)arg;
    rc_ch = goc_chan_make(sizeof(long), 1 << 20);
    ASSERT_OK(goc_go(rc_try_sender, NULL));
    ASSERT_OK(goc_go(rc_closer, NULL));
    while (!atomic_load(&rc_closed_seen))
        goc_yield();
    /* Everything sent before the close is still there, in order; then
     * ECLOSED (never EAGAIN: closed and drained). */
    long v, want = 0;
    int rc;
    while ((rc = goc_chan_try_recv(rc_ch, &v)) == 0)
        ASSERT_EQ(v, want++);
    ASSERT_ERR(rc, GOC_ECLOSED);
    ASSERT_EQ(want, atomic_load(&rc_sent));
    goc_chan_release(rc_ch);
}
TEST(chan_try_racing_close)
{
    run_main(race_close_main, NULL);
}

/* try_recv racing with blocking sends and a close: values arrive in
 * order, ECLOSED only after the last one. */
static goc_chan *rs_ch;
#define RS_N 20000
static void rs_sender(void *arg)
{
    (void)arg;
    for (int i = 0; i < RS_N; i++)
        ASSERT_OK(goc_chan_send(rs_ch, &i));
    ASSERT_OK(goc_chan_close(rs_ch));
}
static void race_recv_main(void *arg)
{
    (void)arg;
    for (int cap = 0; cap <= 8; cap += 8) {
        rs_ch = goc_chan_make(sizeof(int), (size_t)cap);
        ASSERT_OK(goc_go(rs_sender, NULL));
        int v, want = 0, rc;
        while ((rc = goc_chan_try_recv(rs_ch, &v)) != GOC_ECLOSED) {
            if (rc == GOC_EAGAIN) {
                goc_yield();
                continue;
            }
            ASSERT_OK(rc);
            ASSERT_EQ(v, want++);
        }
        ASSERT_EQ(want, RS_N);
        goc_chan_release(rs_ch);
    }
}
TEST(chan_try_recv_racing_sends)
{
    goc_maxprocs(2);
    run_main(race_recv_main, NULL);
}

/* ---- blocked receivers are served in FIFO order ---- */

static goc_chan *fifo_r;
static _Atomic int fifo_r_started, fifo_r_got[20];
static void fifo_receiver(void *arg)
{
    int me = (int)(intptr_t)arg, v;
    atomic_fetch_add(&fifo_r_started, 1);
    ASSERT_OK(goc_chan_recv(fifo_r, &v));
    atomic_store(&fifo_r_got[me], v + 1);
}
static void fifo_recv_main(void *arg)
{
    (void)arg;
    fifo_r = goc_chan_make(sizeof(int), 0);
    for (int i = 0; i < 20; i++) {
        ASSERT_OK(goc_go(fifo_receiver, (void *)(intptr_t)i));
        while (atomic_load(&fifo_r_started) <= i)
            goc_yield();
        for (int k = 0; k < 3; k++)
            goc_yield(); /* GOMAXPROCS 1: it runs and parks */
    }
    for (int i = 0; i < 20; i++)
        ASSERT_OK(goc_chan_send(fifo_r, &i));
    while (goc_num_goroutine() > 1)
        goc_yield();
    for (int i = 0; i < 20; i++)
        ASSERT_EQ(atomic_load(&fifo_r_got[i]), i + 1);
    goc_chan_release(fifo_r);
}
TEST(chan_fifo_receivers)
{
    goc_maxprocs(1);
    run_main(fifo_recv_main, NULL);
}
