/* SPDX-License-Identifier: MIT */
/*
 * deadlock.c - the tour: a deadlock with two mutexes, and its fix.
 *
 * transfer(from, to) locks the two accounts it moves money between.  One
 * goroutine transfers a -> b while another transfers b -> a: each locks
 * its `from` first, then waits for the other's.  Neither can go on, and
 * nothing else can run: goc's deadlock detector (Go's) reports
 *
 *     fatal error: all goroutines are asleep - deadlock!
 *
 * with every goroutine and what it waits for, and exits with status 2.
 * The bad version runs in a child process (fork) so the tour goes on; we
 * print what it said.  The fix: every goroutine takes the locks in one
 * global order (here: by account id), so no cycle of waiting can form.
 */
#define _POSIX_C_SOURCE 200809L /* fdopen */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <goc.h>

#include "must.h"

struct account {
    int id;
    long balance;
    goc_mutex mu;
};

static struct account a = {1, 100, GOC_MUTEX_INIT};
static struct account b = {2, 100, GOC_MUTEX_INIT};
static goc_wg both_locked; /* makes the bad interleaving certain */

struct transfer {
    struct account *from, *to;
    bool ordered; /* the fix */
};

static void transfer(void *arg)
{
    struct transfer *t = arg;
    struct account *first = t->from, *second = t->to;
    if (t->ordered && second->id < first->id) {
        first = t->to; /* lower id first, whatever the direction */
        second = t->from;
    }
    goc_mutex_lock(&first->mu);
    if (!t->ordered) {
        /* Hold the first lock until the other goroutine holds its own:
         * in a real program this is just bad luck with timing. */
        goc_wg_done(&both_locked);
        goc_wg_wait(&both_locked);
    }
    goc_mutex_lock(&second->mu);
    t->from->balance -= 10;
    t->to->balance += 10;
    goc_mutex_unlock(&second->mu);
    goc_mutex_unlock(&first->mu);
}

static void run_transfers(void *arg)
{
    bool ordered = arg != NULL;
    static struct transfer ab, ba;
    ab = (struct transfer){&a, &b, ordered};
    ba = (struct transfer){&b, &a, ordered};
    goc_wg wg = {0};
    if (!ordered)
        goc_wg_add(&both_locked, 2);
    MUST(goc_wg_go(&wg, transfer, &ab));
    MUST(goc_wg_go(&wg, transfer, &ba));
    goc_wg_wait(&wg);
    printf("both transfers done: a = %ld, b = %ld\n", a.balance, b.balance);
}

/* Run the unordered version in a child and print the first lines of its
 * fatal error and the wait reason of each goroutine. */
static void show_deadlock(void)
{
    int fds[2];
    if (pipe(fds) != 0)
        exit(1);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        dup2(fds[1], 1);
        MUST(goc_run(run_transfers, NULL));
        _exit(0);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    char line[512];
    int shown = 0;
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        /* The message and each goroutine's header line. */
        if (strncmp(line, "fatal error", 11) == 0 ||
            strncmp(line, "goroutine ", 10) == 0) {
            printf("   | %s", line);
            shown++;
        }
    }
    if (f != NULL)
        fclose(f);
    int st;
    waitpid(pid, &st, 0);
    printf("the child exited with status %d\n",
           WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    if (shown == 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 2)
        exit(1);
}

int main(void)
{
    printf("1. transfer(a, b) and transfer(b, a) at once, each locking its "
           "`from` first:\n");
    show_deadlock();
    printf("   each goroutine holds one mutex and waits for the other's "
           "[sync.Mutex.Lock];\n"
           "   main waits for both [sync.WaitGroup.Wait]: nothing can run, "
           "and goc says so.\n\n");
    printf("2. the fix: lock the account with the lower id first, in both "
           "directions:\n   ");
    if (goc_run(run_transfers, (void *)1) != 0)
        return 1;
    printf("   one goroutine always waits for the first lock, never while "
           "holding the other.\n");
    return 0;
}
