/* SPDX-License-Identifier: MIT */
/*
 * runner.c - runs the tests listed in test-list.h.
 *
 *   goc_tests NAME      run one test in this process (CTest runs each test
 *                       so; use it under gdb or valgrind too)
 *   goc_tests           run every test, each in a forked child with a
 *                       timeout (GOC_TEST_TIMEOUT seconds, default 60)
 *   goc_tests --list    print the names
 */
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

#define TEST_ENTRY(name) TEST(name);
#include "test-list.h"
#undef TEST_ENTRY

static const struct {
    const char *name;
    void (*fn)(void);
} tests[] = {
#define TEST_ENTRY(name) {#name, test_##name},
#include "test-list.h"
#undef TEST_ENTRY
};
#define NTESTS (sizeof tests / sizeof tests[0])

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102 /* Linux 6.13 */
#define MADV_GUARD_REMOVE 103
#endif
#if defined(__x86_64__)
#define TEST_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define TEST_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

bool test_refuse_new_kernel_calls(bool guards)
{
#if defined(TEST_AUDIT_ARCH) && !TEST_EMULATED
    /* advice: the low half of madvise's third argument (little-endian) */
    enum { advice = offsetof(struct seccomp_data, args[2]) };
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                 offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TEST_AUDIT_ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_process_madvise, 5, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_madvise, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, advice),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, MADV_GUARD_INSTALL, 2, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, MADV_GUARD_REMOVE, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EINVAL),
    };
    if (!guards) { /* process_madvise only: allow every madvise */
        f[5] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
                                            SECCOMP_RET_ALLOW);
    }
    struct sock_fprog prog = {sizeof f / sizeof f[0], f};
    return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
           prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0;
#else
    (void)guards;
    return false;
#endif
}

int test_gettid(void)
{
    return (int)syscall(SYS_gettid);
}

long test_status(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t n = strlen(field);
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, field, n) == 0 && line[n] == ':') {
            v = atol(line + n + 1);
            break;
        }
    if (f != NULL)
        fclose(f);
    return v;
}

int test_threads(void)
{
    return (int)test_status("Threads");
}

/* The address space the program sees: the sum of its mappings.  Not
 * VmSize from /proc/self/status: under a user-mode emulator that is the
 * emulator's own address space (its code cache, its malloc arenas per
 * thread), which grows with the peak thread count of a run, while
 * /proc/self/maps is the guest's view, as natively. */
static void maps_read(unsigned long *bytes, long *count)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[4096 + 128]; /* a path of PATH_MAX fits: one line a read */
    unsigned long lo, hi;
    *bytes = 0;
    *count = 0;
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "%lx-%lx", &lo, &hi) == 2) {
            *bytes += hi - lo;
            (*count)++;
        }
    if (f != NULL)
        fclose(f);
}

long test_vm_kb(void)
{
    unsigned long bytes;
    long count;
    maps_read(&bytes, &count);
    return (long)(bytes / 1024);
}

const char *test_dump_block(const char *dump, const char *name, size_t *len)
{
    char key[96];
    snprintf(key, sizeof key, "] \"%s\":\n", name);
    const char *b = strstr(dump, key);
    if (b == NULL)
        return NULL;
    while (b > dump && b[-1] != '\n')
        b--;
    const char *e = strstr(b, "\n\n");
    *len = e != NULL ? (size_t)(e - b) + 1 : strlen(b);
    return b;
}

long test_maps(void)
{
    unsigned long bytes;
    long count;
    maps_read(&bytes, &count);
    return count;
}

void death_run(struct death *d, void (*fn)(void))
{
    int fds[2];
    ASSERT(pipe(fds) == 0);
    fflush(NULL);
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 2);
        dup2(fds[1], 1);
        fn();
        _exit(0);
    }
    close(fds[1]);
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fds[0], d->out + n, sizeof d->out - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
        if (n == sizeof d->out - 1)
            break;
    }
    d->out[n] = '\0';
    close(fds[0]);
    int st;
    ASSERT(waitpid(pid, &st, 0) == pid);
    d->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

const char *first_line(const struct death *d, char *buf, size_t len)
{
    size_t i = 0;
    while (i + 1 < len && d->out[i] != '\0' && d->out[i] != '\n') {
        buf[i] = d->out[i];
        i++;
    }
    buf[i] = '\0';
    return buf;
}

static int run_forked(int i, int timeout)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        alarm((unsigned)timeout);
        tests[i].fn();
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    bool ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
    printf("%s %s", ok ? "ok  " : "FAIL", tests[i].name);
    if (!ok && WIFSIGNALED(st))
        printf(" (signal %d%s)", WTERMSIG(st),
               WTERMSIG(st) == SIGALRM ? ", timeout" : "");
    printf("\n");
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < NTESTS; i++)
            printf("%s\n", tests[i].name);
        return 0;
    }
    if (getenv("GOC_TEST_OLD_KERNEL") != NULL &&
        !test_refuse_new_kernel_calls(true)) {
        fprintf(stderr, "GOC_TEST_OLD_KERNEL: cannot install the filter\n");
        return 2;
    }
    if (argc >= 2) {
        for (int a = 1; a < argc; a++) {
            size_t i;
            for (i = 0; i < NTESTS; i++)
                if (strcmp(tests[i].name, argv[a]) == 0)
                    break;
            if (i == NTESTS) {
                fprintf(stderr, "no test named %s\n", argv[a]);
                return 2;
            }
            tests[i].fn();
        }
        return 0;
    }
    int timeout = 60;
    const char *t = getenv("GOC_TEST_TIMEOUT");
    if (t != NULL && atoi(t) > 0)
        timeout = atoi(t);
    int failed = 0;
    for (size_t i = 0; i < NTESTS; i++)
        failed += run_forked((int)i, timeout);
    printf("%zu passed, %d failed\n", NTESTS - (size_t)failed, failed);
    return failed ? 1 : 0;
}
