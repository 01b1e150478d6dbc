/* SPDX-License-Identifier: MIT */
/* test_usertext.c - the user-text table (symtab.c): which pcs are the
 * program's own code, where asynchronous preemption may stop a goroutine.
 * The test binary links libgoc.a, so goc's code is in the executable and
 * must be told apart from the program's. */
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <ucontext.h>
#include <unistd.h>

#include "test.h"

/* symtab.c's interface (internal.h). */
int goc__user_text_init(void);
bool goc__pc_in_user_text(uintptr_t pc);
bool goc__symtab_is_goc_unit(const char *file);
const char *goc__symtab_lookup(const char *path, uintptr_t base, uintptr_t pc);

#define PC(f) ((uintptr_t)(f))

static void init_ok(void)
{
    ASSERT_OK(goc__user_text_init());
}

/* ---- the program's own code ---- */

__attribute__((noinline)) static uintptr_t caller_pc(void)
{
    return (uintptr_t)__builtin_return_address(0);
}

/* A function of the test's own, with a call in it: a pc inside. */
__attribute__((noinline)) static uintptr_t own_function(void)
{
    uintptr_t pc = caller_pc();
    __asm__ volatile("" ::: "memory");
    return pc;
}

TEST(usertext_own_code)
{
    init_ok();
    uintptr_t inside = own_function();
    ASSERT(goc__pc_in_user_text(PC(own_function)));
    ASSERT(goc__pc_in_user_text(inside));
    ASSERT(goc__pc_in_user_text(PC(caller_pc)));
    ASSERT(goc__pc_in_user_text(PC(test_usertext_own_code)));
    ASSERT(goc__pc_in_user_text(PC(init_ok)));
    ASSERT_OK(goc__user_text_init()); /* again: the same answer */
    ASSERT(goc__pc_in_user_text(inside));
}

/* ---- goc's code ---- */

/* Return addresses into goc: pcs inside the functions that call back into
 * the program, static ones among them (the goroutine entry). */
#define GOC_PCS 3
static uintptr_t goc_pcs[GOC_PCS];

__attribute__((noinline)) static void from_goroutine(void *arg)
{
    goc_pcs[0] = (uintptr_t)__builtin_return_address(0);
    goc_wg_done(arg);
}
__attribute__((noinline)) static void from_once(void *arg)
{
    (void)arg;
    goc_pcs[1] = (uintptr_t)__builtin_return_address(0);
}
__attribute__((noinline)) static void from_wg_go(void *arg)
{
    (void)arg;
    goc_pcs[2] = (uintptr_t)__builtin_return_address(0);
}
static void callers_main(void *arg)
{
    (void)arg;
    static goc_once once = GOC_ONCE_INIT;
    goc_once_do(&once, from_once, NULL);
    goc_wg wg = GOC_WG_INIT;
    goc_wg_add(&wg, 1);
    ASSERT_OK(goc_go(from_goroutine, &wg));
    ASSERT_OK(goc_wg_go(&wg, from_wg_go, NULL));
    goc_wg_wait(&wg);
}

static const char *exe_function_name(uintptr_t pc)
{
    Dl_info info;
    if (dladdr((void *)pc, &info) == 0)
        return NULL;
    return goc__symtab_lookup("/proc/self/exe", (uintptr_t)info.dli_fbase, pc);
}

TEST(usertext_goc_code)
{
    init_ok();
    ASSERT(!goc__pc_in_user_text(PC(goc_go)));
    ASSERT(!goc__pc_in_user_text(PC(goc_chan_send)));
    ASSERT(!goc__pc_in_user_text(PC(goc_run)));
    ASSERT(!goc__pc_in_user_text(PC(goc__park)));
    ASSERT(!goc__pc_in_user_text(PC(goc__getg)));
    ASSERT(!goc__pc_in_user_text(PC(goc__user_text_init)));
    ASSERT(!goc__pc_in_user_text(PC(goc__pc_in_user_text)));

    run_main(callers_main, NULL);
    int statics = 0;
    for (int i = 0; i < GOC_PCS; i++) {
        ASSERT_NE(goc_pcs[i], 0);
        const char *name = exe_function_name(goc_pcs[i]);
        if (goc__pc_in_user_text(goc_pcs[i]))
            FAIL("pc %#lx in %s is user text", (unsigned long)goc_pcs[i],
                 name != NULL ? name : "??");
        fprintf(stderr, "called from %s\n", name != NULL ? name : "??");
        if (name != NULL && strncmp(name, "goc_", 4) != 0)
            statics++; /* goc's by its STT_FILE, not its name */
    }
    ASSERT_GT(statics, 0);
}

/* ---- neither: libraries, the vDSO, data, nothing ---- */

static int some_data;

TEST(usertext_not_code)
{
    init_ok();
    ASSERT(!goc__pc_in_user_text(0));
    ASSERT(!goc__pc_in_user_text(1));
    ASSERT(!goc__pc_in_user_text(UINTPTR_MAX));
    void *(*volatile cpy)(void *, const void *, size_t) = memcpy;
    ssize_t (*volatile rd)(int, void *, size_t) = read;
    ASSERT(!goc__pc_in_user_text(PC(cpy)));
    ASSERT(!goc__pc_in_user_text(PC(rd)));
    ASSERT(!goc__pc_in_user_text(PC(pthread_mutex_lock)));
    ASSERT(!goc__pc_in_user_text(PC(dlsym(RTLD_DEFAULT, "getpid"))));
    uintptr_t vdso = (uintptr_t)getauxval(AT_SYSINFO_EHDR);
    if (vdso != 0) { /* qemu-user may have none */
        ASSERT(!goc__pc_in_user_text(vdso));
        ASSERT(!goc__pc_in_user_text(vdso + 0x800));
    }
    int local = 0;
    ASSERT(!goc__pc_in_user_text(PC(&local)));
    ASSERT(!goc__pc_in_user_text(PC(&some_data)));
    char *heap = malloc(16);
    ASSERT(heap != NULL);
    ASSERT(!goc__pc_in_user_text(PC(heap)));
    free(heap);
}

/* ---- every function of the executable, against its own .symtab ---- */

struct scan {
    int goc_named, goc_unit, own, own_hidden, plt;
};

static void scan_symbol(struct scan *sc, const char *file, const Elf64_Sym *s,
                        const char *name, uintptr_t bias)
{
    uintptr_t lo = bias + s->st_value, last = lo + s->st_size - 1;
    bool local = ELF64_ST_BIND(s->st_info) == STB_LOCAL;
    bool user_lo = goc__pc_in_user_text(lo);
    bool user_last = goc__pc_in_user_text(last);
    if (strncmp(name, "goc_", 4) == 0) {
        sc->goc_named++;
    } else if (local && file != NULL && goc__symtab_is_goc_unit(file)) {
        sc->goc_unit++;
    } else if (local && file != NULL &&
               (strncmp(file, "test_", 5) == 0 ||
                strcmp(file, "runner.c") == 0) &&
               name[0] != '_') {
        if (!user_lo || !user_last)
            FAIL("%s (%s) is not user text", name, file);
        sc->own++;
        return;
    } else if (local && file == NULL && strncmp(name, "test_", 5) == 0) {
        /* hidden: a local after every file's, without a file */
        if (!user_lo || !user_last)
            FAIL("%s is not user text", name);
        sc->own_hidden++;
        return;
    } else {
        return; /* libgcc, crt files, sanitizer runtimes: not checked */
    }
    if (user_lo || user_last)
        FAIL("goc's %s (%s) is user text", name, file != NULL ? file : "-");
}

static int first_module(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    *(uintptr_t *)arg = info->dlpi_addr;
    return 1;
}

TEST(usertext_symtab_scan)
{
    init_ok();
    uintptr_t bias = 0;
    dl_iterate_phdr(first_module, &bias);
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    struct stat st;
    ASSERT_EQ(fstat(fd, &st), 0);
    const char *base =
        mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    ASSERT(base != MAP_FAILED);
    close(fd);
    const Elf64_Ehdr *eh = (const void *)base;
    const Elf64_Shdr *sh = (const void *)(base + eh->e_shoff);
    const char *shstr = base + sh[eh->e_shstrndx].sh_offset;
    struct scan sc = {0};
    for (int i = 0; i < eh->e_shnum; i++) {
        const char *sname = shstr + sh[i].sh_name;
        if ((sh[i].sh_flags & SHF_EXECINSTR) && sh[i].sh_size > 0 &&
            strncmp(sname, ".plt", 4) == 0) {
            /* the PLT, goc's way to libc: no function symbol covers it */
            uintptr_t lo = bias + sh[i].sh_addr;
            ASSERT(!goc__pc_in_user_text(lo));
            ASSERT(!goc__pc_in_user_text(lo + sh[i].sh_size / 2));
            ASSERT(!goc__pc_in_user_text(lo + sh[i].sh_size - 1));
            sc.plt++;
        }
        if (sh[i].sh_type != SHT_SYMTAB)
            continue;
        const Elf64_Sym *syms = (const void *)(base + sh[i].sh_offset);
        size_t n = sh[i].sh_size / sizeof *syms;
        const char *strs = base + sh[sh[i].sh_link].sh_offset;
        const char *file = NULL;
        for (size_t k = 0; k < n; k++) {
            const Elf64_Sym *s = &syms[k];
            int type = ELF64_ST_TYPE(s->st_info);
            if (type == STT_FILE)
                file = strs[s->st_name] != '\0' ? strs + s->st_name : NULL;
            if (type != STT_FUNC || s->st_size == 0 ||
                s->st_shndx == SHN_UNDEF || s->st_shndx >= SHN_LORESERVE ||
                !(sh[s->st_shndx].sh_flags & SHF_EXECINSTR))
                continue;
            scan_symbol(&sc, file, s, strs + s->st_name, bias);
        }
    }
    munmap((void *)base, (size_t)st.st_size);
    fprintf(stderr,
            "goc by name %d, goc by file %d, own %d, own hidden %d, "
            "plt sections %d\n",
            sc.goc_named, sc.goc_unit, sc.own, sc.own_hidden, sc.plt);
    ASSERT_GT(sc.goc_named, 100);
    ASSERT_GT(sc.goc_unit, 50); /* static functions and GCC's clones */
    ASSERT_GT(sc.own, 100);
    ASSERT_GT(sc.own_hidden, 100); /* test_* (hidden visibility) */
    ASSERT(goc__symtab_is_goc_unit("chan.c"));
    ASSERT(goc__symtab_is_goc_unit("/some/dir/proc.c"));
    ASSERT(!goc__symtab_is_goc_unit("test_usertext.c"));
    ASSERT(!goc__symtab_is_goc_unit("chan.cc"));
}

/* ---- from many threads at once ---- */

#define INIT_THREADS 8
static pthread_barrier_t init_barrier;

static void *init_thread(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&init_barrier);
    intptr_t rc = goc__user_text_init();
    if (rc == 0 && !goc__pc_in_user_text(PC(own_function)))
        rc = 1;
    return (void *)rc;
}

TEST(usertext_init_threads)
{
    pthread_t t[INIT_THREADS];
    ASSERT_EQ(pthread_barrier_init(&init_barrier, NULL, INIT_THREADS), 0);
    for (int i = 0; i < INIT_THREADS; i++)
        ASSERT_EQ(pthread_create(&t[i], NULL, init_thread, NULL), 0);
    for (int i = 0; i < INIT_THREADS; i++) {
        void *rc;
        ASSERT_EQ(pthread_join(t[i], &rc), 0);
        ASSERT_EQ((intptr_t)rc, 0);
    }
    pthread_barrier_destroy(&init_barrier);
}

/* ---- from a signal handler, on the pc it interrupted ---- */

static uintptr_t interrupted_pc(void *ucontext)
{
    const ucontext_t *uc = ucontext;
#if defined(__x86_64__)
    return (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
    return (uintptr_t)uc->uc_mcontext.pc;
#else
#error "which register is the pc?"
#endif
}

static _Atomic int hits_user, hits_other;

static void on_urg(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)si;
    if (goc__pc_in_user_text(interrupted_pc(uc)))
        atomic_fetch_add(&hits_user, 1);
    else
        atomic_fetch_add(&hits_other, 1);
}

static _Atomic int spin_state; /* 1 spinning, 2 told to stop */

/* A loop of the program's own, calling nothing. */
__attribute__((noinline)) static void *spinner(void *arg)
{
    (void)arg;
    atomic_store(&spin_state, 1);
    while (atomic_load_explicit(&spin_state, memory_order_relaxed) == 1)
        __asm__ volatile("" ::: "memory");
    return NULL;
}

static _Atomic int reader_tid;

static void *reader(void *arg)
{
    char c;
    atomic_store(&reader_tid, test_gettid());
    ssize_t n = read(*(int *)arg, &c, 1); /* blocks in libc / the kernel */
    return (void *)(intptr_t)n;
}

/* Is thread tid of this process asleep (state S in its stat file)? */
char goc__thread_state(int tid);
static bool thread_sleeping(int tid)
{
    return goc__thread_state(tid) == 'S';
}

/* Send SIGURG to t until want hits were counted (at most 5000 tries,
 * spaced by 1 ms); returns the tries. */
static int signal_until(pthread_t t, _Atomic int *counter, int want)
{
    int tries = 0;
    while (atomic_load(counter) < want && tries < 5000) {
        ASSERT_EQ(pthread_kill(t, SIGURG), 0);
        tries++;
        usleep(1000);
    }
    return tries;
}

TEST(usertext_signal_handler)
{
    init_ok();
    if (TEST_TSAN)
        return; /* TSan defers asynchronous signals to points of its own */
    struct sigaction sa = {0}, old;
    sa.sa_sigaction = on_urg;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    ASSERT_EQ(sigaction(SIGURG, &sa, &old), 0);

    /* A thread blocked in read: the pc it is interrupted at is libc's,
     * every time (SA_RESTART takes it back into read). */
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, reader, &p[0]), 0);
    for (int i = 0; i < 10000 && !(atomic_load(&reader_tid) != 0 &&
                                   thread_sleeping(reader_tid));
         i++)
        usleep(1000);
    ASSERT(thread_sleeping(reader_tid));
    signal_until(t, &hits_other, 20);
    ASSERT_EQ(write(p[1], "x", 1), 1);
    void *rc;
    ASSERT_EQ(pthread_join(t, &rc), 0);
    ASSERT_EQ((intptr_t)rc, 1);
    ASSERT_GE(atomic_load(&hits_other), 20);
    ASSERT_EQ(atomic_load(&hits_user), 0);
    close(p[0]);
    close(p[1]);

    /* A thread spinning in its own loop: interrupted there, it is in user
     * text. */
    ASSERT_EQ(pthread_create(&t, NULL, spinner, NULL), 0);
    while (atomic_load(&spin_state) != 1)
        sched_yield();
    int tries = signal_until(t, &hits_user, 5);
    atomic_store(&spin_state, 2);
    ASSERT_EQ(pthread_join(t, NULL), 0);
    fprintf(stderr, "user hits %d in %d signals\n", atomic_load(&hits_user),
            tries);
    ASSERT_GE(atomic_load(&hits_user), 5);
    ASSERT_EQ(sigaction(SIGURG, &old, NULL), 0);
}
