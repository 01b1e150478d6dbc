/* SPDX-License-Identifier: MIT */
/*
 * fd.c - the descriptor calls: goc_read, goc_write, goc_fd_wait and the
 * calls that own, close and let go of a descriptor (Go's internal/poll
 * FD).  Each call holds its descriptor (goc__pd_acquire) from start to
 * end, so goc_close can wake it and defer close(2) until it is over; it
 * tries the system call first and parks only on EAGAIN (netpoll.c).
 * Regular files cannot be polled: their calls run in a blocking section.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "goc.h"
#include "internal.h"
#include "netpoll.h"
#include "race.h"

static bool is_file(const goc__pd *pd)
{
    return atomic_load_explicit(&pd->state, memory_order_relaxed) ==
           GOC__PD_FILE;
}

/* Wrapped for the race detector: the caller's frame in reports (race.h). */
static inline __attribute__((always_inline)) ssize_t
fd_read(int fd, void *buf, size_t n, goc_ctx *ctx);
static inline __attribute__((always_inline)) ssize_t
fd_write(int fd, const void *buf, size_t n, goc_ctx *ctx);

ssize_t goc_read(int fd, void *buf, size_t n, goc_ctx *ctx)
{
    goc__race_func_enter(__builtin_return_address(0));
    ssize_t r = fd_read(fd, buf, n, ctx);
    goc__race_func_exit();
    return r;
}

ssize_t goc_write(int fd, const void *buf, size_t n, goc_ctx *ctx)
{
    goc__race_func_enter(__builtin_return_address(0));
    ssize_t r = fd_write(fd, buf, n, ctx);
    goc__race_func_exit();
    return r;
}

static inline __attribute__((always_inline)) ssize_t
fd_read(int fd, void *buf, size_t n, goc_ctx *ctx)
{
    goc__pd *pd;
    int err = goc__pd_begin(fd, ctx, &pd);
    if (err != 0)
        return err;
    /* errno only through goc__sys_* (os.h): this function parks. */
    ssize_t r;
    if (is_file(pd)) {
        goc_blocking_begin();
        r = goc__sys_read(fd, buf, n); /* no -EINTR (os.h) */
        goc_blocking_end();
    } else {
        /* Always read first.  Waiting first after a short read (to save
         * the read that returns EAGAIN) loses the end of stream: a FIN or
         * a reset queued behind the data came with the same edge as the
         * data, a short read leaves it queued, and no new edge follows,
         * so the reader would park for ever (a peer that writes and shuts
         * down at once).  Doing it safely needs the poller to remember
         * that the peer hung up. */
        for (;;) {
            r = goc__sys_read(fd, buf, n); /* no -EINTR (os.h) */
            if (r != -EAGAIN)
                break;
            if ((err = goc__pd_wait(pd, GOC__NP_READ, ctx)) != 0) {
                r = err;
                break;
            }
        }
    }
    goc__pd_release(pd);
    if (r > 0) /* the runtime's read(2) is hidden (race.h): ours to say */
        goc__race_write(buf, (size_t)r);
    return r;
}

/* write(2) that returns -EPIPE instead of raising SIGPIPE, for what is
 * not a socket (a pipe, a FIFO, a terminal): SIGPIPE is blocked in this
 * thread around the call, and the one the call raised is taken back
 * (unless one was pending already: that one is somebody else's).  The
 * goroutine cannot move between threads in here: nothing parks.  EINTR
 * is retried, as in goc__sys_write.
 * Returns: the count, or -errno (out of line: see goc__sys_read). */
static __attribute__((noinline)) ssize_t write_nosigpipe(int fd,
                                                         const void *buf,
                                                         size_t n)
{
    sigset_t pipe_only, old, pending;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    sigpending(&pending);
    bool was_pending = sigismember(&pending, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
    ssize_t r;
    while ((r = write(fd, buf, n)) < 0 && errno == EINTR) {
    }
    int saved = errno;
    if (r < 0 && errno == EPIPE && !was_pending) {
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_only, NULL, &zero) < 0 && errno == EINTR) {
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return r >= 0 ? r : -saved;
}

/* Returns: the count, or -errno (never -EINTR). */
static ssize_t write_once(const goc__pd *pd, const char *p, size_t n)
{
    if (pd->is_socket)
        return goc__sys_send(pd->fd, p, n, MSG_NOSIGNAL);
    return write_nosigpipe(pd->fd, p, n);
}

static inline __attribute__((always_inline)) ssize_t
fd_write(int fd, const void *buf, size_t n, goc_ctx *ctx)
{
    goc__pd *pd;
    int err = goc__pd_begin(fd, ctx, &pd);
    if (err != 0)
        return err;
    const char *p = buf;
    size_t done = 0;
    bool file = is_file(pd);
    if (file)
        goc_blocking_begin();
    while (done < n) {
        ssize_t w = write_once(pd, p + done, n - done);
        if (w >= 0) {
            done += (size_t)w;
            continue;
        }
        if (w != -EAGAIN || file) {
            err = (int)w;
            break;
        }
        if ((err = goc__pd_wait(pd, GOC__NP_WRITE, ctx)) != 0)
            break;
    }
    if (file)
        goc_blocking_end();
    goc__pd_release(pd);
    goc__race_read(buf, done); /* as goc_read */
    return err != 0 ? err : (ssize_t)n;
}

/* The events of `events` that poll(2) reports ready now (0: none).
 * Returns: the GOC_READ/GOC_WRITE bits, or -errno.  Out of line: it
 * reads errno, and goc_fd_wait parks (os.h, goc__sys_read). */
static __attribute__((noinline)) int ready_now(int fd, int events)
{
    struct pollfd p = {.fd = fd};
    if (events & GOC_READ)
        p.events |= POLLIN | POLLRDHUP;
    if (events & GOC_WRITE)
        p.events |= POLLOUT;
    int n;
    while ((n = poll(&p, 1, 0)) < 0 && errno == EINTR) {
    }
    if (n < 0)
        return -errno;
    if (p.revents & POLLNVAL)
        return -EBADF;
    int ready = 0;
    if (p.revents & (POLLIN | POLLRDHUP | POLLHUP | POLLERR))
        ready |= GOC_READ;
    if (p.revents & (POLLOUT | POLLHUP | POLLERR))
        ready |= GOC_WRITE;
    return ready & events;
}

int goc_fd_wait(int fd, int events, goc_ctx *ctx)
{
    if (events == 0 || (events & ~(GOC_READ | GOC_WRITE)) != 0)
        return GOC_EINVAL;
    goc__pd *pd;
    int err = goc__pd_begin(fd, ctx, &pd);
    if (err != 0)
        return err;
    int mode = ((events & GOC_READ) ? GOC__NP_READ : 0) |
               ((events & GOC_WRITE) ? GOC__NP_WRITE : 0);
    int rc;
    if (is_file(pd)) {
        rc = events; /* a file is always ready */
    } else {
        /* Ask the kernel first: the poller reports edges, and the state
         * may have been ready long before this call. */
        while ((rc = ready_now(fd, events)) == 0)
            if ((rc = goc__pd_wait(pd, mode, ctx)) != 0)
                break;
    }
    goc__pd_release(pd);
    return rc;
}

int goc_fd_wrap(int fd)
{
    return goc__pd_open(fd);
}

int goc_fd_forget(int fd)
{
    return goc__pd_close(fd, false);
}

int goc_close(int fd)
{
    return goc__pd_close(fd, true);
}

int goc_close_write(int fd)
{
    /* shutdown(2) does not sleep: no EINTR. */
    return shutdown(fd, SHUT_WR) == 0 ? 0 : -errno;
}
