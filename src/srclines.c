/* SPDX-License-Identifier: MIT */
/*
 * srclines.c - the source file and line of a code address, for goroutine
 * dumps (debug.c): through elfutils' libdw (its libdwfl part), loaded with
 * dlopen when the first dump asks, so that goc neither links libdw nor
 * needs its headers, and a program without it still dumps.  Without
 * libdw.so.1 (Debian's libdw1), or for code without DWARF line tables
 * (built without -g), under valgrind (where libdw would take seconds per
 * dump), or in a dump that a signal handler prints (a stack overflow:
 * libdw allocates; SIGQUIT has lines when sysmon's handler prints it,
 * goc__srclines_in_handler), a frame shows its module and offset
 * alone.
 *
 * One session for the process (see cached, below): opening it the first
 * time reports the process's modules (libdwfl reads /proc/self/maps),
 * each lookup reads the line table of the compilation unit it needs, and
 * the file name a lookup returns lives until the next lookup (which may
 * read the modules again) or the dump's close.  What libdw does runs with
 * TSan's checks off (its memory is its own).
 *
 * libdw's reader of line tables takes more than 100 KB of stack: it
 * overflowed 64 KB goroutine stacks.  So every call into libdw runs on a
 * stack of the session's own (SESSION_STACK bytes, mapped once), entered
 * with swapcontext: synchronous, on the caller's thread, nothing to wait
 * for, so a dump from a fatal error can use it too.  (ASan intercepts
 * swapcontext and clears the new stack's shadow.)
 *
 * The calls are libdw's stable ABI, declared here as libdwfl.h and
 * libdw.h declare them: dwfl_begin (with the standard callbacks for a
 * live process: dwfl_linux_proc_find_elf, dwfl_standard_find_debuginfo),
 * dwfl_linux_proc_report, dwfl_report_end, dwfl_addrmodule,
 * dwfl_module_getsrc, dwfl_lineinfo, dwfl_end; and for code that clang
 * built, which has no .debug_aranges (the table dwfl_module_getsrc looks
 * in: elfutils 0.188, Debian 12's, does not fall back to the units), a
 * walk of the module's units: dwfl_module_nextcu, dwarf_haspc,
 * dwarf_getsrc_die, dwarf_lineno, dwarf_linesrc.
 *
 * The session also unwinds a goroutine's stack with the CFI of its
 * modules (.eh_frame, .debug_frame), for code built without frame
 * pointers (goc__srclines_unwind): libdwfl's frame API, attached to the
 * session with thread callbacks of our own (dwfl_attach_state).  There is
 * one "thread", the goroutine being unwound; its first registers are the
 * caller's (goc__uregs: those a parked goroutine's context switch saved,
 * or those a signal found in a running one), and memory reads are served
 * from its stack alone, [lo, hi), or from a copy of it taken while its
 * thread was held: the unwinder never reads memory the goroutine does not
 * own, so a bad CFI row ends the walk instead of faulting.  Calls:
 * dwfl_attach_state, dwfl_getthread_frames, dwfl_frame_pc,
 * dwfl_thread_state_registers, dwfl_thread_state_register_pc.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "internal.h"
#include "race.h"

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define SRCLINES_VALGRIND 1
#endif

#define SESSION_STACK (1u << 20)

typedef struct Dwfl Dwfl;
typedef struct Dwfl_Module Dwfl_Module;
typedef struct Dwfl_Line Dwfl_Line;
typedef struct Dwfl_Thread Dwfl_Thread;
typedef struct Dwfl_Frame Dwfl_Frame;

/* libdwfl.h's Dwfl_Thread_Callbacks: six pointers, in this order. */
struct dwfl_thread_callbacks {
    pid_t (*next_thread)(Dwfl *, void *dwfl_arg, void **thread_argp);
    bool (*get_thread)(Dwfl *, pid_t, void *dwfl_arg, void **thread_argp);
    bool (*memory_read)(Dwfl *, uint64_t addr, uint64_t *result,
                        void *dwfl_arg);
    bool (*set_initial_registers)(Dwfl_Thread *, void *thread_arg);
    void (*detach)(Dwfl *, void *dwfl_arg);
    void (*thread_detach)(Dwfl_Thread *, void *thread_arg);
};
#define DWARF_CB_OK 0
#define DWARF_CB_ABORT 1

/* libdwfl.h's Dwfl_Callbacks: four pointers, in this order. */
struct dwfl_callbacks {
    void *find_elf;
    void *find_debuginfo;
    void *section_address;
    char **debuginfo_path;
};

static struct {
    Dwfl *(*begin)(const struct dwfl_callbacks *);
    int (*proc_report)(Dwfl *, pid_t);
    int (*report_end)(Dwfl *, void *removed, void *arg);
    Dwfl_Module *(*addrmodule)(Dwfl *, uint64_t);
    Dwfl_Line *(*getsrc)(Dwfl_Module *, uint64_t);
    const char *(*lineinfo)(Dwfl_Line *, uint64_t *addr, int *line,
                            int *col, uint64_t *mtime, uint64_t *length);
    void (*end)(Dwfl *);
    void *(*nextcu)(Dwfl_Module *, void *cu, uint64_t *bias);
    int (*haspc)(void *die, uint64_t pc);
    void *(*srcdie)(void *cudie, uint64_t pc);
    int (*lineno)(void *line, int *lineno);
    const char *(*linesrc)(void *line, uint64_t *mtime, uint64_t *length);
    struct dwfl_callbacks cb;
    bool loaded;
    /* the unwinder: optional (unwind is false without them) */
    bool (*attach_state)(Dwfl *, void *elf, pid_t,
                         const struct dwfl_thread_callbacks *, void *arg);
    int (*getthread_frames)(Dwfl *, pid_t,
                            int (*cb)(Dwfl_Frame *, void *), void *arg);
    bool (*frame_pc)(Dwfl_Frame *, uint64_t *pc, bool *isactivation);
    bool (*state_registers)(Dwfl_Thread *, int firstreg, unsigned nregs,
                            const uint64_t *regs);
    void (*state_register_pc)(Dwfl_Thread *, uint64_t pc);
    bool unwind;
} dw;

static pthread_once_t dw_once = PTHREAD_ONCE_INIT;

#define DW_SYM(lib, field, name)                                         \
    (*(void **)&dw.field = dlsym(lib, name)) != NULL

static void dw_load(void)
{
    void *lib = dlopen("libdw.so.1", RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL)
        return;
    if (DW_SYM(lib, begin, "dwfl_begin") &&
        DW_SYM(lib, proc_report, "dwfl_linux_proc_report") &&
        DW_SYM(lib, report_end, "dwfl_report_end") &&
        DW_SYM(lib, addrmodule, "dwfl_addrmodule") &&
        DW_SYM(lib, getsrc, "dwfl_module_getsrc") &&
        DW_SYM(lib, lineinfo, "dwfl_lineinfo") &&
        DW_SYM(lib, end, "dwfl_end") &&
        DW_SYM(lib, nextcu, "dwfl_module_nextcu") &&
        DW_SYM(lib, haspc, "dwarf_haspc") &&
        DW_SYM(lib, srcdie, "dwarf_getsrc_die") &&
        DW_SYM(lib, lineno, "dwarf_lineno") &&
        DW_SYM(lib, linesrc, "dwarf_linesrc") &&
        (dw.cb.find_elf = dlsym(lib, "dwfl_linux_proc_find_elf")) != NULL &&
        (dw.cb.find_debuginfo =
             dlsym(lib, "dwfl_standard_find_debuginfo")) != NULL)
        dw.loaded = true;
    else {
        dlclose(lib);
        return;
    }
    dw.unwind = DW_SYM(lib, attach_state, "dwfl_attach_state") &&
                DW_SYM(lib, getthread_frames, "dwfl_getthread_frames") &&
                DW_SYM(lib, frame_pc, "dwfl_frame_pc") &&
                DW_SYM(lib, state_registers, "dwfl_thread_state_registers") &&
                DW_SYM(lib, state_register_pc,
                       "dwfl_thread_state_register_pc");
}

/* A session: libdw's handle, the stack its calls run on, and the call
 * being made there (in and out). */
struct srclines {
    Dwfl *dwfl;
    char *stack;
    ucontext_t caller, callee;
    void (*fn)(struct srclines *);
    uintptr_t pc;       /* find: in */
    const char *file;   /* find: out */
    int line;
    bool unknown_module; /* find: out, pc in no module of the session */
    bool reread;         /* modules read again during this dump */
    bool attached;       /* the unwinder's callbacks are on dwfl */
    /* unwind: in */
    const goc__uregs *regs;  /* where the goroutine is */
    const goc__umem *mem;    /* its stack: the only memory read */
    bool (*stop)(uintptr_t pc); /* its entry: the walk ends there */
    /* unwind: out */
    uintptr_t *pcs;
    int npcs, maxpcs;
};

static __thread struct srclines *sl_running; /* for sl_trampoline */

static void sl_trampoline(void)
{
    sl_running->fn(sl_running);
} /* returns to uc_link: the caller */

/* Run fn(s) on s's stack, hidden from TSan. */
static void on_session_stack(struct srclines *s, void (*fn)(struct srclines *))
{
    s->fn = fn;
    if (getcontext(&s->callee) != 0)
        return;
    s->callee.uc_stack.ss_sp = s->stack;
    s->callee.uc_stack.ss_size = SESSION_STACK;
    s->callee.uc_link = &s->caller;
    makecontext(&s->callee, sl_trampoline, 0);
    sl_running = s;
    goc__race_ignore_begin();
    swapcontext(&s->caller, &s->callee);
    goc__race_ignore_end();
}

static void sl_open(struct srclines *s)
{
    s->dwfl = dw.begin(&dw.cb);
    if (s->dwfl != NULL && (dw.proc_report(s->dwfl, getpid()) != 0 ||
                            dw.report_end(s->dwfl, NULL, NULL) != 0)) {
        dw.end(s->dwfl);
        s->dwfl = NULL;
    }
}

static void sl_find(struct srclines *s)
{
    uintptr_t pc = s->pc;
    const char *f = NULL;
    int ln = 0;
    Dwfl_Module *m = dw.addrmodule(s->dwfl, pc);
    s->unknown_module = m == NULL;
    Dwfl_Line *l = m != NULL ? dw.getsrc(m, pc) : NULL;
    if (l != NULL) {
        f = dw.lineinfo(l, NULL, &ln, NULL, NULL, NULL);
    } else if (m != NULL) { /* no .debug_aranges: walk the units */
        uint64_t bias = 0;
        for (void *cu = dw.nextcu(m, NULL, &bias); cu != NULL;
             cu = dw.nextcu(m, cu, &bias)) {
            if (dw.haspc(cu, pc - bias) <= 0)
                continue;
            void *dl = dw.srcdie(cu, pc - bias);
            if (dl != NULL && dw.lineno(dl, &ln) == 0)
                f = dw.linesrc(dl, NULL, NULL);
            break;
        }
    }
    s->file = f;
    s->line = ln;
}

static void sl_close(struct srclines *s)
{
    dw.end(s->dwfl);
    s->dwfl = NULL;
    s->attached = false;
}

/* ---- the unwinder's thread callbacks: one thread, the goroutine ---- */

#define UNWIND_TID 1

static pid_t uw_next_thread(Dwfl *d, void *arg, void **thread_argp)
{
    (void)d;
    if (*thread_argp != NULL)
        return 0; /* one thread only */
    *thread_argp = arg;
    return UNWIND_TID;
}

static bool uw_get_thread(Dwfl *d, pid_t tid, void *arg, void **thread_argp)
{
    (void)d;
    *thread_argp = arg;
    return tid == UNWIND_TID;
}

/* A word of the goroutine's stack: the stack holds ASan's redzones and
 * words never written, which this read must not trip on. */
__attribute__((no_sanitize("address"))) static uint64_t
stack_word(uintptr_t a)
{
    return *(const volatile uintptr_t *)a;
}

static bool uw_memory_read(Dwfl *d, uint64_t addr, uint64_t *result,
                           void *arg)
{
    (void)d;
    const goc__umem *m = ((struct srclines *)arg)->mem;
    if (addr < m->lo || addr > m->hi - sizeof(uintptr_t) ||
        (addr & (sizeof(uintptr_t) - 1)) != 0)
        return false;
    if (m->copy != NULL)
        memcpy(result, (const char *)m->copy + (addr - m->lo), sizeof *result);
    else
        *result = stack_word((uintptr_t)addr);
    return true;
}

/* The goroutine's registers, in DWARF's numbering. */
static bool uw_set_initial_registers(Dwfl_Thread *t, void *arg)
{
    const goc__uregs *g = ((struct srclines *)arg)->regs;
#if defined(__x86_64__)
    /* DWARF: rax rdx rcx rbx rsi rdi rbp rsp r8..r15 rip */
    uint64_t r[17] = {0};
    r[3] = g->r[0];  /* rbx */
    r[6] = g->r[1];  /* rbp */
    r[7] = g->sp;
    for (int i = 0; i < 4; i++)
        r[12 + i] = g->r[2 + i]; /* r12..r15 */
    r[16] = g->pc;
    return dw.state_registers(t, 0, 17, r);
#else
    /* DWARF: x0..x30, sp; pc apart */
    uint64_t r[32] = {0};
    for (int i = 0; i < GOC__UREGS; i++)
        r[19 + i] = g->r[i]; /* x19..x30 */
    r[31] = g->sp;
    if (!dw.state_registers(t, 0, 32, r))
        return false;
    dw.state_register_pc(t, g->pc);
    return true;
#endif
}

static const struct dwfl_thread_callbacks uw_callbacks = {
    uw_next_thread, uw_get_thread, uw_memory_read, uw_set_initial_registers,
    NULL, NULL};

/* Each frame's pc as a code address inside its call: an activation's pc
 * as it is, a return address minus one.  A parked goroutine's first frame
 * resumes after the switch's call: a return address too. */
static int uw_frame(Dwfl_Frame *f, void *arg)
{
    struct srclines *s = arg;
    uint64_t pc;
    bool act = false;
    if (!dw.frame_pc(f, &pc, &act) || pc == 0)
        return DWARF_CB_ABORT;
    if (!act || (s->npcs == 0 && s->regs->resumes))
        pc--;
    if (s->stop((uintptr_t)pc) || s->npcs == s->maxpcs)
        return DWARF_CB_ABORT;
    s->pcs[s->npcs++] = (uintptr_t)pc;
    return DWARF_CB_OK;
}

static void sl_unwind(struct srclines *s)
{
    if (!s->attached)
        s->attached = dw.attach_state(s->dwfl, NULL, getpid(), &uw_callbacks,
                                      s);
    if (s->attached)
        (void)dw.getthread_frames(s->dwfl, UNWIND_TID, uw_frame, s);
}

/* The one session, kept from dump to dump: a session reads the process's
 * modules and its line tables once (a dump per session made a test that
 * dumps in a loop five times slower).  A dump holds it from open to
 * close; a second dump meanwhile (another thread, or a fatal error inside
 * the first) goes without lines rather than wait.  An address in no
 * module it knows (a library loaded since) makes it read the modules
 * again, once per dump.  busy: the exchange in open (acquire) pairs with
 * the store in close (release), which hands cached and its state to the
 * next dump; an atomic of the uninstrumented library, so no edge for TSan
 * between goroutines that dump. */
static struct srclines *cached;
static atomic_bool busy;
/* In a signal handler of goc's: 1 without libdw, 2 with it
 * (goc__srclines_in_handler); 0 elsewhere.  TSan runs a handler late, on
 * the thread's own stack, where the alternate-stack test cannot see it. */
static __thread int in_handler;

void goc__srclines_in_handler(bool libdw_ok)
{
    in_handler = libdw_ok ? 2 : 1;
}

void *goc__srclines_open(void)
{
#ifdef SRCLINES_VALGRIND
    if (RUNNING_ON_VALGRIND)
        return NULL; /* libdw under memcheck: seconds per dump */
#endif
    /* Not in a signal handler: libdw allocates, and malloc is not
     * async-signal-safe (the handler may have stopped the thread inside
     * it; TSan reports the call).  goc's handlers that dump say so
     * (goc__srclines_in_handler; SIGQUIT caught on a resting sysmon may
     * go on); a fatal error in another handler of goc's is caught by the
     * alternate stack it runs on. */
    stack_t ss;
    if (in_handler == 1 ||
        (in_handler == 0 && sigaltstack(NULL, &ss) == 0 &&
         (ss.ss_flags & SS_ONSTACK)))
        return NULL;
    pthread_once(&dw_once, dw_load);
    if (!dw.loaded)
        return NULL;
    if (atomic_exchange_explicit(&busy, true, memory_order_acquire))
        return NULL;
    if (cached == NULL) {
        struct srclines *s = calloc(1, sizeof *s);
        if (s == NULL)
            goto fail;
        s->stack = mmap(NULL, SESSION_STACK, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (s->stack == MAP_FAILED) {
            free(s);
            goto fail;
        }
        cached = s;
    }
    if (cached->dwfl == NULL)
        on_session_stack(cached, sl_open);
    if (cached->dwfl == NULL)
        goto fail;
    cached->reread = false;
    return cached;
fail:
    atomic_store_explicit(&busy, false, memory_order_release);
    return NULL;
}

bool goc__srclines_find(void *session, uintptr_t pc, const char **file,
                        int *line)
{
    struct srclines *s = session;
    if (s == NULL)
        return false;
    s->pc = pc;
    s->file = NULL;
    on_session_stack(s, sl_find);
    if (s->file == NULL && s->unknown_module && !s->reread) {
        s->reread = true; /* a module loaded since: read them again */
        on_session_stack(s, sl_close);
        on_session_stack(s, sl_open);
        if (s->dwfl != NULL)
            on_session_stack(s, sl_find);
    }
    if (s->dwfl == NULL || s->file == NULL || s->line <= 0)
        return false;
    *file = s->file;
    *line = s->line;
    return true;
}

int goc__srclines_unwind(void *session, const goc__uregs *regs,
                         const goc__umem *mem, bool (*stop)(uintptr_t pc),
                         uintptr_t *pcs, int max)
{
    struct srclines *s = session;
    if (s == NULL || s->dwfl == NULL || !dw.unwind)
        return 0;
    s->regs = regs;
    s->mem = mem;
    s->stop = stop;
    s->pcs = pcs;
    s->npcs = 0;
    s->maxpcs = max;
    on_session_stack(s, sl_unwind);
    return s->npcs;
}

void goc__srclines_close(void *session)
{
    if (session != NULL)
        atomic_store_explicit(&busy, false, memory_order_release);
}
