/* SPDX-License-Identifier: MIT */
/*
 * netpoll_epoll.c - the poller's backend on Linux: one epoll instance for
 * the process, an eventfd to break a wait (Go's netpoll_epoll.go).
 *
 * Every descriptor is registered once, edge-triggered, for input, output
 * and peer hang-up; its tag (descriptor number and sequence, netpoll.c)
 * rides in the event's data.  The eventfd carries the tag BREAK_TAG.
 * Breaks are deduplicated: the first goc__np_break since the last blocking
 * poll writes the eventfd, the others see wakesig set and return; only a
 * blocking poll reads the counter and clears wakesig, so a break sent
 * while nobody polls ends the next blocking poll at once.
 * Waits use epoll_pwait2 (nanoseconds) where the kernel has it: the poller
 * also sleeps for the timers, and epoll_wait's milliseconds would make
 * every timer up to 1 ms late.
 * EINTR (os.h): epoll waits fail with it whenever a handler runs, with
 * SA_RESTART or not; goc__np_poll then returns no events and its callers
 * (proc.c's timer sleeper, netpoll.c's plain-thread loop, sysmon) work
 * out their next delay from the clock, so an interrupted wait is never
 * restarted with the whole delay.  The eventfd calls never sleep (it is
 * non-blocking) but are retried all the same.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "netpoll.h"

#define BREAK_TAG UINT64_MAX
#define EVENTS_MAX 128 /* Go's */

static int epfd = -1;
static int breakfd = -1;
static _Atomic uint32_t wakesig; /* a break is pending in the eventfd */
static _Atomic bool no_pwait2;   /* the kernel lacks epoll_pwait2 */

int goc__np_init(void)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        return -errno;
    int bfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (bfd < 0) {
        int err = -errno;
        (void)goc__sys_close(ep);
        return err;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = BREAK_TAG};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, bfd, &ev) != 0) {
        int err = -errno;
        (void)goc__sys_close(bfd);
        (void)goc__sys_close(ep);
        return err;
    }
    breakfd = bfd;
    epfd = ep;
    return 0;
}

int goc__np_open(int fd, uint64_t tag)
{
    struct epoll_event ev = {
        .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
        .data.u64 = tag,
    };
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : -errno;
}

int goc__np_close(int fd)
{
    struct epoll_event ev = {0}; /* ignored; kernels before 2.6.9 read it */
    return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, &ev) == 0 ? 0 : -errno;
}

void goc__np_break(void)
{
    uint32_t zero = 0;
    if (!atomic_compare_exchange_strong_explicit(&wakesig, &zero, 1,
                                                 memory_order_acq_rel,
                                                 memory_order_relaxed))
        return; /* one is pending */
    uint64_t one = 1;
    ssize_t n = goc__sys_write(breakfd, &one, sizeof one); /* no -EINTR */
    if (n != (ssize_t)sizeof one && n != -EAGAIN) /* full: a wake-up is due */
        goc__fatal("netpoll: cannot write the break eventfd: %s",
                   goc_strerror((int)n));
}

/* One epoll wait of up to delay ns.  Returns: the number of events, or
 * -errno (-EINTR: a handler ran; nothing is restarted here). */
static int wait_events(struct epoll_event *evs, int64_t delay)
{
    if (delay > 0 &&
        !atomic_load_explicit(&no_pwait2, memory_order_relaxed)) {
        struct timespec ts = {(time_t)(delay / 1000000000),
                              (long)(delay % 1000000000)};
        int n = epoll_pwait2(epfd, evs, EVENTS_MAX, &ts, NULL);
        if (n >= 0)
            return n;
        if (errno != ENOSYS)
            return -errno;
        atomic_store_explicit(&no_pwait2, true, memory_order_relaxed);
    }
    int ms;
    if (delay < 0)
        ms = -1;
    else if (delay == 0)
        ms = 0;
    else if (delay >= 1000000000LL * 1000000) /* Go's cap: 1e9 ms */
        ms = 1000000000;
    else
        ms = (int)((delay + 999999) / 1000000); /* round up: never early */
    int n = epoll_wait(epfd, evs, EVENTS_MAX, ms);
    return n >= 0 ? n : -errno;
}

/* Consume the break: only a blocking poll does (Go's rule), a
 * non-blocking one must leave it for the sleeper. */
static void break_consume(void)
{
    uint64_t cnt;
    ssize_t rd = goc__sys_read(breakfd, &cnt, sizeof cnt); /* no -EINTR */
    (void)rd; /* -EAGAIN: another poll read it first */
    atomic_store_explicit(&wakesig, 0, memory_order_release);
}

int goc__np_poll(int64_t delay, void (*f)(uint64_t tag, int modes, void *arg),
                 void *arg)
{
    struct epoll_event evs[EVENTS_MAX];
    int n = wait_events(evs, delay);
    if (n == -EINTR)
        return 0; /* no events: the caller recomputes its delay */
    if (n < 0)
        goc__fatal("netpoll: epoll_wait: %s", goc_strerror(n));
    int delivered = 0;
    for (int i = 0; i < n; i++) {
        uint32_t e = evs[i].events;
        if (evs[i].data.u64 == BREAK_TAG) {
            if (delay != 0)
                break_consume();
            continue;
        }
        int modes = 0;
        if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
            modes |= GOC__NP_READ;
        if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR))
            modes |= GOC__NP_WRITE;
        if (modes != 0) {
            f(evs[i].data.u64, modes, arg);
            delivered++;
        }
    }
    return delivered;
}
