/* SPDX-License-Identifier: MIT */
/*
 * os_linux.c - what the runtime needs from Linux: CPU count (affinity mask
 * and cgroup quota), clocks, threads, thread stacks, the stack-overflow
 * signal handler (and the installation of sigurg.c's) and environment
 * knobs (Go's os_linux.go).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <linux/membarrier.h>

#include "internal.h"

/* ---- CPUs ---- */

/* CPU quota of the cgroup (v2) this process is in, rounded up, or 0 when
 * there is none.  Walks from the process's cgroup to the root and takes the
 * smallest "quota period" in cpu.max, as Go 1.25 and the JVM do. */
static int cgroup_cpu_limit(void)
{
    FILE *f = fopen("/proc/self/cgroup", "r");
    if (f == NULL)
        return 0;
    char line[512], path[600];
    path[0] = '\0';
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "0::", 3) == 0) {
            line[strcspn(line, "\n")] = '\0';
            snprintf(path, sizeof path, "%s", line + 3);
            break;
        }
    }
    fclose(f);
    if (path[0] != '/')
        return 0;
    int best = 0;
    for (;;) {
        char file[700];
        snprintf(file, sizeof file, "/sys/fs/cgroup%s/cpu.max",
                 strcmp(path, "/") == 0 ? "" : path);
        FILE *m = fopen(file, "r");
        if (m != NULL) {
            char quota[32];
            long long period = 0;
            if (fscanf(m, "%31s %lld", quota, &period) == 2 &&
                strcmp(quota, "max") != 0 && period > 0) {
                long long q = atoll(quota);
                int n = (int)((q + period - 1) / period);
                if (n < 1)
                    n = 1;
                if (best == 0 || n < best)
                    best = n;
            }
            fclose(m);
        }
        char *slash = strrchr(path, '/');
        if (slash == NULL || slash == path)
            break;
        *slash = '\0';
    }
    return best;
}

int goc__ncpu(void)
{
    int n = 0;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        n = CPU_COUNT(&set);
    if (n <= 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c > 0 ? (int)c : 1;
    }
    int q = cgroup_cpu_limit();
    if (q > 0 && q < n)
        n = q;
    return n;
}

/* ---- time, ids, sizes ---- */

int64_t goc__nanotime(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int goc__gettid(void)
{
    return (int)syscall(SYS_gettid);
}

/* ---- asymmetric fences ---- */

_Atomic bool goc__membarrier_ok;

static bool membarrier_ok(void)
{
    return atomic_load_explicit(&goc__membarrier_ok, memory_order_relaxed);
}

static long membarrier_register(void)
{
    return syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED,
                   0, 0);
}

void goc__membarrier_init(void)
{
    /* Once per process (before any M of the run exists, so no light side
     * is running).  Old kernels (< 4.14), seccomp filters and some
     * emulators refuse: then the light side of every asymmetric fence is
     * a real fence (goc__fence_light). */
    if (!membarrier_ok() && membarrier_register() == 0)
        atomic_store_explicit(&goc__membarrier_ok, true,
                              memory_order_relaxed);
}

static long membarrier_expedited(void)
{
    /* The kernel does not return EINTR here today; should a future one,
     * the barrier is retried rather than taken for a refusal. */
    long r;
    while ((r = syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0,
                        0)) != 0 &&
           errno == EINTR) {
    }
    return r;
}

void goc__fence_heavy(void)
{
    if (!membarrier_ok()) {
        atomic_thread_fence(memory_order_seq_cst); /* light sides fence */
        return;
    }
    if (membarrier_expedited() == 0)
        return;
    /* EPERM: not registered in this process (a child forked from one
     * that was, should the kernel not carry the registration over).  The
     * light sides rely on the barrier, so register and retry; nothing
     * else is safe. */
    if (membarrier_register() != 0 || membarrier_expedited() != 0)
        goc__fatal("runtime: membarrier failed after registration");
}

_Atomic size_t goc__page_size;

size_t goc__pagesize_init(void)
{
    size_t ps = (size_t)sysconf(_SC_PAGESIZE);
    atomic_store_explicit(&goc__page_size, ps, memory_order_relaxed);
    return ps;
}

static size_t round_pages(size_t n)
{
    size_t ps = goc__pagesize();
    return (n + ps - 1) & ~(ps - 1);
}

/* The length of the mapping of an array of cap elements of elem bytes:
 * cap is that length's whole elements, so with elem at most a page this
 * rounds back to it. */
static size_t pages_len(uint32_t cap, size_t elem)
{
    return round_pages((size_t)cap * elem);
}

/* The address space an array gets at its first growth, for its
 * capacity: pages that are never written cost no memory (MAP_NORESERVE,
 * as the stack slabs), and an array within it never moves.  Moving one
 * with mremap keeps the pages, but on a VM with shadow page tables the
 * first touch of each at its new address is a host fault (4-5 us a page
 * here): the stack free list that a spawn storm of 100k had moved paid
 * ~256 of them again at the join, under the pool's lock
 * (docs/performance.md, "Many goroutines, ninth pass").  Past it, the
 * array moves as before. */
#define PAGES_RESERVE ((size_t)64 << 20)

bool goc__pages_grow(void **base, uint32_t *cap, size_t elem, size_t need)
{
    if (need <= *cap)
        return true;
    size_t old = pages_len(*cap, elem);
    size_t n = round_pages(old * 2 > need * elem ? old * 2 : need * elem);
    if (n / elem > UINT32_MAX)
        return false;
    if (*base == NULL && n < PAGES_RESERVE)
        n = PAGES_RESERVE;
    void *p = *base == NULL
                  ? mmap(NULL, n, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
                  : mremap(*base, old, n, MREMAP_MAYMOVE);
    if (p == MAP_FAILED)
        return false;
    *base = p;
    *cap = (uint32_t)(n / elem);
    return true;
}

void goc__pages_free(void *base, uint32_t cap, size_t elem)
{
    if (base != NULL)
        munmap(base, pages_len(cap, elem));
}

void goc__pages_populate(void *p, size_t len)
{
    size_t ps = goc__pagesize();
    uintptr_t lo = ((uintptr_t)p + ps - 1) & ~(uintptr_t)(ps - 1);
    uintptr_t hi = ((uintptr_t)p + len) & ~(uintptr_t)(ps - 1);
    if (hi > lo)
        (void)madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE);
}

int goc__pidfd_self(int *pidfd)
{
    if (*pidfd == 0) {
        long fd = syscall(SYS_pidfd_open, (long)getpid(), 0L);
        *pidfd = fd > 0 ? (int)fd : -1; /* 0 is stdin's, never ours */
    }
    return *pidfd;
}

void *goc__pages_map(size_t len)
{
    void *p = mmap(NULL, round_pages(len), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

char *goc__pages_map_aligned(size_t len, size_t align)
{
    size_t over = len + align;
    char *p = mmap(NULL, over, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    char *a = (char *)(((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1));
    if (a > p)
        munmap(p, (size_t)(a - p));
    if (p + over > a + len)
        munmap(a + len, (size_t)(p + over - (a + len)));
    return a;
}

void *goc__pages_map_huge(void)
{
    /* Aligned by hand: the kernel aligns large anonymous mappings to
     * GOC__HUGE_BYTES on its own only since Linux 6.7, and not under
     * every sanitizer. */
    char *a = goc__pages_map_aligned(GOC__HUGE_BYTES, GOC__HUGE_BYTES);
    if (a == NULL)
        return NULL;
    /* The advice before the populate, which then takes one huge page if
     * there is one (a hint both: without them the writes fault in small
     * pages as they come). */
    (void)madvise(a, GOC__HUGE_BYTES, MADV_HUGEPAGE);
    goc__pages_populate(a, GOC__HUGE_BYTES);
    return a;
}

bool goc__huge_pages_on(void)
{
    /* -1: not read yet.  Relaxed: every reader computes the same value,
     * so two first callers at once only read the file twice. */
    static _Atomic int on = -1;
    int v = atomic_load_explicit(&on, memory_order_relaxed);
    if (v < 0) {
        char buf[64] = "";
        int fd = open("/sys/kernel/mm/transparent_hugepage/enabled",
                      O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            ssize_t k = read(fd, buf, sizeof buf - 1);
            buf[k > 0 ? k : 0] = '\0';
            close(fd);
        }
        v = strstr(buf, "[always]") != NULL ||
            strstr(buf, "[madvise]") != NULL;
        atomic_store_explicit(&on, v, memory_order_relaxed);
    }
    return v != 0;
}

long goc__file_long(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    char buf[32];
    ssize_t r = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (r <= 0)
        return -1;
    buf[r] = '\0';
    return strtol(buf, NULL, 10);
}

long goc__file_count(const char *path, char c)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    char buf[4096];
    long n = 0;
    ssize_t r;
    while ((r = read(fd, buf, sizeof buf)) > 0)
        for (ssize_t i = 0; i < r; i++)
            n += buf[i] == c;
    close(fd);
    return r < 0 ? -1 : n;
}

void goc__pages_unmap(void *p, size_t len)
{
    munmap(p, round_pages(len));
}

bool goc__process_madvise(int *pidfd, const struct iovec *iov, uint32_t k,
                          int advice)
{
    if (goc__pidfd_self(pidfd) < 0)
        return false;
    size_t want = 0;
    for (uint32_t i = 0; i < k; i++)
        want += iov[i].iov_len;
    return syscall(SYS_process_madvise, (long)*pidfd, iov, (long)k,
                   (long)advice, 0L) == (long)want;
}

/* ---- threads ---- */

int goc__thread_start(goc__m *m, void *(*fn)(void *))
{
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    /* The new thread inherits our signal mask; it makes its alternate
     * signal stack before it runs any goroutine (mstart). */
    int rc = pthread_create(&m->thread, &attr, fn, m);
    pthread_attr_destroy(&attr);
    return -rc;
}

void goc__thread_stack(void **lo, size_t *size)
{
    pthread_attr_t attr;
    *lo = NULL;
    *size = 0;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        pthread_attr_getstack(&attr, lo, size);
        pthread_attr_destroy(&attr);
    }
}

/* ---- signals: stack overflow ---- */

static struct sigaction old_segv, old_bus, old_quit;
static bool signals_installed, quit_installed;

/* SIGQUIT (^\\) dumps every goroutine and exits 2, as in Go.  Go takes
 * SIGQUIT even when the process started with it ignored (only SIGHUP and
 * SIGINT keep an inherited SIG_IGN): a shell's background job or a
 * service manager may leave it so, and the dump is what the user asked
 * for.  A program that ignores SIGQUIT itself, or handles it, keeps it:
 * what it was at start is read before main (quit_at_start). */
static bool quit_ignored_at_start;

__attribute__((constructor)) static void quit_at_start(void)
{
    struct sigaction cur;
    quit_ignored_at_start = sigaction(SIGQUIT, NULL, &cur) == 0 &&
                            !(cur.sa_flags & SA_SIGINFO) &&
                            cur.sa_handler == SIG_IGN;
}

/* A SIGQUIT is sent on to sysmon, and this thread goes on: sysmon's
 * handler dumps, with source lines when it caught sysmon resting (no
 * lock held, no allocation under way: libdw may run); anywhere else the
 * dump goes without them (this thread may have been inside malloc).
 * Outside a run, or when sysmon cannot be signalled, it dumps here. */
static void quit_handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)si;
    (void)uc;
    if (goc__sysmon_forward_quit())
        return;
    goc__srclines_in_handler(goc__sysmon_quit_safe_here());
    goc__fatal_signal("SIGQUIT: quit");
}

/* Runs on the M's alternate stack.  A fault in the guard page below the
 * running goroutine's stack is a stack overflow: say so the way the spec
 * words it and exit 2.  Any other fault is not ours: put the previous
 * handler back and return, so the faulting instruction runs again and
 * faults into it (the default action kills the process with the signal). */
static void overflow_handler(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    goc__m *m = goc__getm();
    goc__g *g = m != NULL ? m->curg : NULL;
    uintptr_t a = (uintptr_t)si->si_addr;
    if (g != NULL) {
        uintptr_t lo = (uintptr_t)g->stack_lo;
        if (a < lo && a >= lo - goc__pagesize()) {
            goc__srclines_in_handler(false);
            goc__fatal("stack overflow in goroutine %lld",
                       (long long)g->goid);
        }
    }
    /* A debugging aid for goc itself: say why a fault was passed on
     * (GOC_DEBUG_SIGNALS, parsed before the run: no getenv in here). */
    if (goc__env.debug_signals)
        goc__printf(2, "goc: signal %d at %p: m=%p g=%p lo=%p\n", sig,
                    si->si_addr, (void *)m, (void *)g,
                    g != NULL ? (void *)g->stack_lo : NULL);
    sigaction(sig, sig == SIGSEGV ? &old_segv : &old_bus, NULL);
}

int goc__signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = overflow_handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, &old_segv) != 0)
        return -errno;
    if (sigaction(SIGBUS, &sa, &old_bus) != 0)
        return -errno;
    signals_installed = true;
    int rc = goc__sigurg_install(); /* requests to Ms (sigurg.c) */
    if (rc != 0)
        return rc;
    /* Only if the program has not claimed SIGQUIT for itself: the default
     * action, or ignored since the process started (above). */
    struct sigaction cur;
    if (sigaction(SIGQUIT, NULL, &cur) == 0 && !(cur.sa_flags & SA_SIGINFO) &&
        (cur.sa_handler == SIG_DFL ||
         (cur.sa_handler == SIG_IGN && quit_ignored_at_start))) {
        sa.sa_sigaction = quit_handler;
        if (sigaction(SIGQUIT, &sa, &old_quit) == 0)
            quit_installed = true;
    }
    return 0;
}

void goc__signals_restore(void)
{
    if (!signals_installed)
        return;
    sigaction(SIGSEGV, &old_segv, NULL);
    sigaction(SIGBUS, &old_bus, NULL);
    signals_installed = false;
    goc__sigurg_restore();
    if (quit_installed)
        sigaction(SIGQUIT, &old_quit, NULL);
    quit_installed = false;
}

/* Each M gets its own alternate signal stack: the overflow handler cannot
 * run on the stack that just overflowed. */
int goc__altstack_init(goc__m *m)
{
    /* A thread that already has one (the program's own) keeps it. */
    stack_t cur;
    if (sigaltstack(NULL, &cur) == 0 && !(cur.ss_flags & SS_DISABLE))
        return 0;
    size_t size = 64 * 1024;
    if (size < (size_t)MINSIGSTKSZ)
        size = (size_t)MINSIGSTKSZ;
    m->altstack = malloc(size);
    if (m->altstack == NULL)
        return GOC_ENOMEM;
    stack_t ss = {.ss_sp = m->altstack, .ss_size = size, .ss_flags = 0};
    if (sigaltstack(&ss, NULL) != 0) {
        free(m->altstack);
        m->altstack = NULL;
        return -errno;
    }
    return 0;
}

/* Only on: the M's own thread, before it exits or returns from goc_run. */
void goc__altstack_free(goc__m *m)
{
    if (m->altstack == NULL)
        return;
    stack_t ss = {.ss_sp = NULL, .ss_size = 0, .ss_flags = SS_DISABLE};
    sigaltstack(&ss, NULL);
    free(m->altstack);
    m->altstack = NULL;
}

char goc__thread_state(int tid)
{
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf - 1)) < 0 && errno == EINTR) {
    }
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    const char *rp = strrchr(buf, ')'); /* the name may hold anything */
    return rp != NULL && rp[1] == ' ' ? rp[2] : 0;
}

int64_t goc__thread_cpu(int32_t clock)
{
    struct timespec ts;
    if (clock == (int32_t)CLOCK_THREAD_CPUTIME_ID || /* unknown: not ours */
        clock_gettime((clockid_t)clock, &ts) != 0)
        return -1;
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- system calls that return -errno (os.h: why, and the EINTR rule) ---- */

#define SYSCALL_WRAPPER __attribute__((noinline))

/* Each loop below retries a call that EINTR interrupted before it did
 * anything (a call that did some of its work returns that much instead);
 * the descriptors are non-blocking, so none of them waits for long. */

SYSCALL_WRAPPER ssize_t goc__sys_read(int fd, void *buf, size_t n)
{
    ssize_t r;
    while ((r = read(fd, buf, n)) < 0 && errno == EINTR) {
    }
    return r >= 0 ? r : -errno;
}

SYSCALL_WRAPPER ssize_t goc__sys_write(int fd, const void *buf, size_t n)
{
    ssize_t r;
    while ((r = write(fd, buf, n)) < 0 && errno == EINTR) {
    }
    return r >= 0 ? r : -errno;
}

SYSCALL_WRAPPER ssize_t goc__sys_send(int fd, const void *buf, size_t n,
                                      int flags)
{
    ssize_t r;
    while ((r = send(fd, buf, n, flags)) < 0 && errno == EINTR) {
    }
    return r >= 0 ? r : -errno;
}

SYSCALL_WRAPPER ssize_t goc__sys_recv(int fd, void *buf, size_t n, int flags)
{
    ssize_t r;
    while ((r = recv(fd, buf, n, flags)) < 0 && errno == EINTR) {
    }
    return r >= 0 ? r : -errno;
}

SYSCALL_WRAPPER int goc__sys_accept(int fd, int flags)
{
    int r;
    while ((r = accept4(fd, NULL, NULL, flags)) < 0 && errno == EINTR) {
    }
    return r >= 0 ? r : -errno;
}

/* Not retried: a connect that EINTR interrupted goes on in the kernel
 * (POSIX), and a second connect would fail with EALREADY (or succeed
 * with EISCONN, depending on the timing).  It is an EINPROGRESS: the
 * caller waits for writability and reads SO_ERROR. */
SYSCALL_WRAPPER int goc__sys_connect(int fd, const struct sockaddr *sa,
                                     socklen_t len)
{
    if (connect(fd, sa, len) == 0)
        return 0;
    return errno == EINTR ? -EINPROGRESS : -errno;
}

SYSCALL_WRAPPER int goc__sys_so_error(int fd)
{
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    int r;
    while ((r = getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl)) != 0 &&
           errno == EINTR) {
        sl = sizeof soerr;
    }
    return r == 0 ? soerr : -errno;
}

SYSCALL_WRAPPER int goc__sys_connected(int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int r;
    while ((r = getpeername(fd, (struct sockaddr *)&ss, &sl)) != 0 &&
           errno == EINTR) {
        sl = sizeof ss;
    }
    return r == 0 ? 0 : -errno;
}

/* Never retried.  On Linux close(2) releases the descriptor before
 * anything that can be interrupted (the flush of an NFS file, a
 * lingering socket), so after EINTR the number is free already and may
 * belong to another thread's new open: closing it again would close
 * that one.  EINTR therefore counts as success; other errors (EIO,
 * ENOSPC from a deferred write) are reported, but the descriptor is gone
 * for them too. */
SYSCALL_WRAPPER int goc__sys_close(int fd)
{
    return close(fd) == 0 || errno == EINTR ? 0 : -errno;
}
