/* SPDX-License-Identifier: MIT */
/*
 * debug.c - goroutine dumps in Go's format, and the dump that fatal errors
 * print (installed into error.c's hook).  Deadlock detection (Go's
 * checkdead) is proc.c's: it reads the scheduler's counts and reports
 * through goc__fatal, which reaches the dump through that hook.
 *
 * Frames are walked through frame pointers: from a parked goroutine's saved
 * context (arch.h gives the slots of its frame pointer and return address),
 * for the calling goroutine from the current frame, and for one running
 * on another thread from where a signal stops that thread (below).  Every
 * step is checked to stay inside the goroutine's stack and to move
 * upwards, so code built without frame pointers ends the walk early
 * instead of faulting.
 * Names come from dladdr (exported symbols: link with -rdynamic); each
 * frame also shows its module and offset for addr2line.  goc's own frames
 * at the top of a stack (the park and switch path) are left out: they are
 * the ones whose pc lies in the runtime text (check.h), whatever their
 * names.
 *
 * A stack is read only while its goroutine cannot run, without costing
 * the scheduler's hot paths a read-modify-write (Go's SCAN bit is a CAS in
 * every execute and ready).  The protocol, between the dump and the M that
 * makes g RUNNING (goc__gstatus_run; the only transition that lets a
 * stack change - ready leaves g off its stack):
 *   dump:    dumping = 1; membarrier;           (once per dump)
 *            scanning = g; fence; read status;  (per goroutine)
 *            walk the stack only if RUNNABLE or WAITING; scanning = NULL
 *   execute: status = RUNNING; compiler barrier; if dumping:
 *            fence; wait while scanning == g
 * membarrier makes every other CPU pass a full fence, so an execute that
 * saw dumping == 0 has its RUNNING store visible before the dump reads any
 * status; one that saw dumping == 1 orders itself against scanning with a
 * fence of its own (Dekker's: either the dump reads RUNNING and skips the
 * stack, or execute reads scanning == g and waits).  Dumps take dumplock,
 * so there is one scanning slot.
 *
 * A RUNNING goroutine (other than the dumper) is walked where its thread
 * is: the dump sends that M a SIGURG DUMP request (sigurg.c, where the
 * handshake is), and the handler publishes the interrupted pc, sp, frame
 * pointer, callee-saved registers (and arm64's lr) with the G the M was
 * running, then waits in the handler.  If that G is g and sp lies in g's
 * stack, the dump copies what the walks need - the frame records from the
 * interrupted frame pointer on, and up to 64 KiB of the stack above sp -
 * and lets the thread go; symbols are looked up and the CFI unwind runs
 * (over the copy) afterwards, so a held thread waits microseconds and the
 * dump calls nothing (dladdr's lock, malloc) that the held thread might
 * hold.  With a libdw session the frames are the CFI unwind's (held_cfi);
 * without, the first frame is the interrupted
 * pc itself; then come the callers that have no frame record yet (a
 * function in its prologue, or built without one: libc's system call
 * wrappers; arm64 leaf functions): on arm64 lr, on x86-64 the stack words
 * that follow a call to the function below them; then the record chain,
 * as for a parked G, with goc's own frames at the top left out.
 * Bounds: the dump waits at most ASK_WAIT_NS for one thread and
 * ASK_BUDGET_NS in all for threads that never answer (SIGURG blocked, a
 * program's handler over goc's, TSan deferring it); a handler holds its
 * thread at most GOC__SIGURG_HOLD_NS; a dump nested in a dump (a fatal
 * error inside one) asks none.  When the thread does not answer in time,
 * runs another G, or is on g0's stack, the dump prints "goroutine running
 * on other thread; stack unavailable" as before.
 */
#include <dlfcn.h>
#include <link.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch.h"
#include "chan.h"
#include "goc.h"
#include "internal.h"

#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define GOC__HAVE_MEMCHECK 1
#endif

/* ---- output: a file descriptor or a caller's buffer ---- */

struct out {
    int fd;       /* >= 0: write here */
    char *buf;    /* else append here */
    size_t len, pos;
    void *lines;  /* the dump's source-line session (srclines.c) */
    bool lines_tried;
    /* Channels judged abandoned or not during this dump (wait_leaked),
     * direct-mapped: the judgement walks the channel's queues, so ten
     * thousand goroutines waiting on one channel cost one walk, not ten
     * thousand. */
    struct {
        const void *c;
        int verdict;
    } judged[64];
};

static void out_write(struct out *o, const char *s, size_t n)
{
    if (o->fd >= 0) {
        goc__write_all(o->fd, s, n);
        return;
    }
    if (o->len == 0)
        return;
    size_t room = o->len - 1 - o->pos;
    if (n > room)
        n = room;
    memcpy(o->buf + o->pos, s, n);
    o->pos += n;
    o->buf[o->pos] = '\0';
}

__attribute__((format(printf, 2, 3))) static void out_printf(struct out *o,
                                                             const char *fmt,
                                                             ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    out_write(o, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* ---- symbols and frames ---- */

struct sym {
    uintptr_t pc;
    const char *name;   /* NULL when unknown */
    const char *module;
    uintptr_t offset;   /* pc - module base */
};

/* Is info's module the executable?  dladdr reports it by the name it was
 * started with, which may be relative to a directory the program has since
 * left, so its symbols are read through /proc/self/exe instead. */
static bool main_module(const Dl_info *info)
{
    extern char *program_invocation_name;
    return info->dli_fname[0] == '\0' ||
           strcmp(info->dli_fname, program_invocation_name) == 0;
}

static struct sym lookup(uintptr_t pc)
{
    struct sym s = {pc, NULL, "??", pc};
    Dl_info info;
    const ElfW(Sym) *es = NULL;
    if (dladdr1((void *)pc, &info, (void **)&es, RTLD_DL_SYMENT) == 0)
        return s;
    if (info.dli_fname != NULL)
        s.module = info.dli_fname;
    s.offset = pc - (uintptr_t)info.dli_fbase;
    /* dladdr names the nearest exported symbol below pc, which for a
     * static function is some unrelated one: believe it only if pc lies
     * inside that symbol; else ask the module's full symbol table. */
    if (info.dli_sname != NULL && es != NULL &&
        pc < (uintptr_t)info.dli_saddr + es->st_size)
        s.name = info.dli_sname;
    else if (info.dli_fname != NULL)
        s.name = goc__symtab_lookup(
            main_module(&info) ? "/proc/self/exe" : info.dli_fname,
            (uintptr_t)info.dli_fbase, pc);
    return s;
}

/* Bounds of the sections check.h's marks fill. */
GOC__SECTION_BOUNDS(goc_runtime_text);
GOC__SECTION_BOUNDS(goc_entry_text);

/* Is pc in goc's park/switch/fatal path (GOC__RUNTIME_TEXT)? */
static bool is_runtime_frame(uintptr_t pc)
{
    return pc >= (uintptr_t)__start_goc_runtime_text &&
           pc < (uintptr_t)__stop_goc_runtime_text;
}

/* The goroutine's first frame (goroutine.c): where a walk ends. */
static bool is_entry_frame(uintptr_t pc)
{
    return pc >= (uintptr_t)__start_goc_entry_text &&
           pc < (uintptr_t)__stop_goc_entry_text;
}

/* The dump's libdw session (srclines.c), opened at its first use: NULL
 * when there is none to be had. */
static void *out_session(struct out *o)
{
    if (!o->lines_tried) {
        o->lines_tried = true;
        o->lines = goc__srclines_open();
    }
    return o->lines;
}

/* The second line of a frame, or of "created by": file:line when libdw
 * knows it, else the module; then the offset in the module, for
 * addr2line either way. */
static void print_where(struct out *o, const struct sym *s)
{
    out_session(o);
    const char *file;
    int line;
    if (goc__srclines_find(o->lines, s->pc, &file, &line))
        out_printf(o, "\t%s:%d +0x%lx\n", file, line,
                   (unsigned long)s->offset);
    else
        out_printf(o, "\t%s +0x%lx\n", s->module, (unsigned long)s->offset);
}

/* A frame: its function, with args (what a goroutine waits on, for the
 * public goc call it parked in) or Go's "..." between the parentheses. */
static void print_frame(struct out *o, const struct sym *s, const char *args)
{
    out_printf(o, "%s(%s)\n", s->name ? s->name : "??",
               args != NULL ? args : "...");
    print_where(o, s);
}

/* Is name one of goc's public calls (goc_*, not the internal goc__*)? */
static bool is_public_call(const char *name)
{
    return name != NULL && strncmp(name, "goc_", 4) == 0 && name[4] != '_';
}

/* ---- frames: collected first, printed after ---- */

#define MAX_FRAMES 64

/* Code addresses of one stack, innermost first, each inside the call it
 * stands for: an interrupted pc as it is, a return address minus one (so
 * that a call at the very end of a function names that function). */
struct frames {
    int n;
    uintptr_t pc[MAX_FRAMES];
};

/* Append return address ra.  Returns: false at the end of the walk (a
 * zero return address, the goroutine's entry, or a full array). */
static bool push_return(struct frames *f, uintptr_t ra)
{
    if (f->n == MAX_FRAMES || ra == 0 || is_entry_frame(ra - 1))
        return false;
    f->pc[f->n++] = ra - 1;
    return true;
}

/* Append the return addresses of the frame records from fp on.  Stops
 * when fp leaves [lo, hi) or fails to climb, so code built without frame
 * pointers ends the walk early instead of faulting. */
static void collect_records(struct frames *f, uintptr_t fp, uintptr_t lo,
                            uintptr_t hi)
{
    while (fp >= lo && fp + 2 * sizeof(uintptr_t) <= hi &&
           (fp & (sizeof(uintptr_t) - 1)) == 0) {
        uintptr_t next = ((uintptr_t *)fp)[0];
        uintptr_t ra = ((uintptr_t *)fp)[1];
        if (next <= fp || !push_return(f, ra))
            break;
        fp = next;
    }
}

/* GOC_TRACEBACK=system or crash: goc's own frames are shown too. */
static bool show_runtime_frames(void)
{
    return goc__env.traceback == GOC__TRACEBACK_SYSTEM ||
           goc__env.traceback == GOC__TRACEBACK_CRASH;
}

static const char *wait_args(goc__g *g, char *buf, size_t len);

/* Print f, leaving out goc's own frames (runtime text: the park, switch
 * and fatal paths; goc__ names), unless GOC_TRACEBACK asks for them.
 * waiting (or NULL): a parked G whose first public goc call - the one it
 * waits in - shows what it waits on. */
static void print_frames(struct out *o, const struct frames *f,
                         goc__g *waiting)
{
    bool all = show_runtime_frames();
    for (int i = 0; i < f->n; i++) {
        if (!all && is_runtime_frame(f->pc[i]))
            continue;
        struct sym s = lookup(f->pc[i]);
        /* goc__ names are internal too, also where an unoptimised build
         * gave an inline helper a frame of its own; and the kernel's vDSO
         * (goc_now's clock read), as Go hides its nanotime1. */
        if (!all && ((s.name != NULL && strncmp(s.name, "goc__", 5) == 0) ||
                     strcmp(s.module, "linux-vdso.so.1") == 0))
            continue;
        char args[96];
        if (waiting != NULL && is_public_call(s.name)) {
            print_frame(o, &s, wait_args(waiting, args, sizeof args));
            waiting = NULL;
        } else {
            print_frame(o, &s, NULL);
        }
    }
}

/* Walk frame records from (ra, fp), where ra is a return address. */
static void walk(struct out *o, uintptr_t ra, uintptr_t fp, uintptr_t lo,
                 uintptr_t hi, goc__g *waiting)
{
    struct frames f = {.n = 0};
    if (push_return(&f, ra))
        collect_records(&f, fp, lo, hi);
    print_frames(o, &f, waiting);
}

/* The registers a parked goroutine resumes with: those its context
 * switch saved (arch.h), the stack pointer once the switch has returned,
 * and the return address as pc. */
static goc__uregs uregs_of_ctx(const uintptr_t *ctx)
{
    goc__uregs r = {.pc = ctx[GOC__CTX_PC_SLOT],
                    .sp = (uintptr_t)(ctx + GOC__CTX_WORDS),
                    .resumes = true};
#if defined(__x86_64__)
    /* [1] r15 [2] r14 [3] r13 [4] r12 [5] rbx [6] rbp: uregs rbx rbp
     * r12..r15 */
    r.r[0] = ctx[5];
    r.r[1] = ctx[6];
    for (int i = 0; i < 4; i++)
        r.r[2 + i] = ctx[4 - i];
#else
    for (int i = 0; i < GOC__UREGS; i++) /* x19..x30 */
        r.r[i] = ctx[i];
#endif
    return r;
}

/* A parked goroutine's frames, from its saved context ctx: unwound with
 * the modules' CFI when the dump has a libdw session (code built without
 * frame pointers keeps its frames), else through the frame records. */
static void walk_parked(struct out *o, const uintptr_t *ctx, uintptr_t lo,
                        uintptr_t hi, goc__g *waiting)
{
    void *session = out_session(o);
    struct frames f = {.n = 0};
    if (session != NULL) {
        goc__uregs r = uregs_of_ctx(ctx);
        goc__umem mem = {lo, hi, NULL};
        f.n = goc__srclines_unwind(session, &r, &mem, is_entry_frame, f.pc,
                                   MAX_FRAMES);
    }
    if (f.n == 0) {
        walk(o, ctx[GOC__CTX_PC_SLOT], ctx[GOC__CTX_FP_SLOT], lo, hi,
             waiting);
        return;
    }
    print_frames(o, &f, waiting);
}

/* The state a parked G's header shows (its wait reason if it waits). */
static const char *state_name(goc__g *g, uint32_t s)
{
    switch (s) {
    case GOC__GRUNNABLE:
        return "runnable";
    case GOC__GRUNNING:
        return "running";
    case GOC__GWAITING:
        return g->waitreason != NULL ? g->waitreason : "waiting";
    default:
        return "dead";
    }
}

/* The fields of a header that a dump prints, copied at once: a running
 * G may exit, and its header be reused, while the dump waits for its
 * thread (print_running). */
struct ghead {
    int64_t goid, parent_goid;
    const char *name;
    uintptr_t gopc;
    bool is_main, locked;
    int64_t minutes; /* how long it has waited, if WAITING; else 0 */
    bool leaked;     /* it waits on an abandoned channel: for ever */
};

static struct ghead ghead_of(goc__g *g)
{
    return (struct ghead){.goid = g->goid,
                          .parent_goid = g->parent_goid,
                          .name = g->name,
                          .gopc = g->gopc,
                          .is_main = g->is_main,
                          .locked = g->lockedm != NULL};
}

/* Tests only: added to the clock that wait times are measured against,
 * so that a test can show ", N minutes" without waiting them. */
int64_t goc__dump_clock_skew;

/* Whole minutes that WAITING g has waited (Go shows one or more). */
static int64_t wait_minutes(goc__g *g)
{
    int64_t since = g->waitsince;
    if (since == 0)
        return 0; /* parked before the run's clock started: unknown */
    int64_t ns = goc__nanotime() + goc__dump_clock_skew - since;
    return ns / ((int64_t)60 * 1000 * 1000 * 1000);
}

/* Does WAITING g wait in a channel operation (g->waitobj its channel)? */
static bool waits_on_chan(const goc__g *g)
{
    const char *r = g->waitreason;
    return g->waitobj != NULL && r != NULL &&
           (strcmp(r, "chan send") == 0 || strcmp(r, "chan receive") == 0);
}

/* What g waits on, as the arguments of the public call it parked in:
 * a channel's address, capacity and length; a sync object's address.
 * Read only under that call's frame: a waitobj is current while g waits
 * in the call that set it.
 * Returns: buf, or NULL when there is nothing to show. */
static const char *wait_args(goc__g *g, char *buf, size_t len)
{
    const void *obj = g->waitobj;
    const char *r = g->waitreason;
    if (obj == NULL || r == NULL)
        return NULL;
    if (waits_on_chan(g)) {
        /* The channel outlives the wait: its waiter holds a reference,
         * or borrows one its holder keeps until the wait ends (goc.h). */
        goc_chan *c = (goc_chan *)obj;
        snprintf(buf, len, "%p: cap %zu, len %zu", obj, goc_chan_cap(c),
                 goc_chan_len(c));
        return buf;
    }
    if (strncmp(r, "sync.", 5) == 0 || strcmp(r, "semacquire") == 0) {
        snprintf(buf, len, "%p", obj);
        return buf;
    }
    return NULL;
}

/* Does WAITING g wait for ever on a channel that nobody can reach any
 * more (goc__chan_abandoned)?  Remembered in o for the rest of the dump
 * (a judgement that was unknown, the lock being busy, is not). */
static bool wait_leaked(struct out *o, goc__g *g)
{
    if (!waits_on_chan(g))
        return false;
    const void *c = g->waitobj;
    size_t slot = ((uintptr_t)c >> 6) % (sizeof o->judged /
                                         sizeof o->judged[0]);
    if (o->judged[slot].c == c)
        return o->judged[slot].verdict == 1;
    int v = goc__chan_abandoned((goc_chan *)c);
    if (v >= 0) {
        o->judged[slot].c = c;
        o->judged[slot].verdict = v;
    }
    return v == 1;
}

static void print_header(struct out *o, const struct ghead *h,
                         const char *state)
{
    out_printf(o, "goroutine %lld [%s%s", (long long)h->goid, state,
               h->leaked ? " (leaked)" : "");
    if (h->minutes > 0)
        out_printf(o, ", %lld minutes", (long long)h->minutes);
    out_printf(o, "%s]", h->locked ? ", locked to thread" : "");
    if (h->name != NULL)
        out_printf(o, " \"%s\"", h->name);
    out_printf(o, ":\n");
}

static void print_creator(struct out *o, const struct ghead *h)
{
    if (h->is_main)
        return;
    struct sym s = lookup(h->gopc - 1);
    out_printf(o, "created by %s", s.name ? s.name : "??");
    if (h->parent_goid != 0)
        out_printf(o, " in goroutine %lld", (long long)h->parent_goid);
    out_printf(o, "\n");
    print_where(o, &s);
}

/* Print a G that is not running: its stack is frozen (scan_begin). */
static void print_parked(struct out *o, goc__g *g, uint32_t s)
{
    struct ghead h = ghead_of(g);
    const char *state = state_name(g, s);
    if (s == GOC__GWAITING) {
        h.minutes = wait_minutes(g);
        h.leaked = wait_leaked(o, g);
    }
    uintptr_t *ctx = g->sp;
    if (ctx == NULL || ctx[GOC__CTX_PC_SLOT] == (uintptr_t)goc__ctx_entry) {
        /* Never ran: show where it will start. */
        struct sym fs = lookup((uintptr_t)g->fn);
        print_header(o, &h, state);
        print_frame(o, &fs, NULL);
    } else {
        print_header(o, &h, state);
        walk_parked(o, ctx, (uintptr_t)g->stack_lo, (uintptr_t)g->stack_hi,
                    s == GOC__GWAITING ? g : NULL);
    }
    print_creator(o, &h);
}

/* The calling goroutine, walked from frame record fp: the frame of the
 * public call that asked for the dump, so the first frame shown is its
 * caller's. */
static void print_self(struct out *o, goc__g *g, uintptr_t fp)
{
    struct ghead h = ghead_of(g);
    print_header(o, &h, "running");
    uintptr_t pc = ((uintptr_t *)fp)[1];
    walk(o, pc, ((uintptr_t *)fp)[0], (uintptr_t)g->stack_lo,
         (uintptr_t)g->stack_hi, NULL);
    print_creator(o, &h);
}

/* ---- the scan protocol (see the top of the file) ---- */

_Atomic bool goc__dumping;
static _Atomic(goc__g *) scanning;
static goc__mutex dumplock = GOC__MUTEX_INIT(GOC__RANK_DUMP);
static _Atomic int dumplock_tid; /* holder's thread id, or 0 */

/* Begin a dump of every goroutine.  Returns: false if this thread holds
 * the dump already (a fatal error inside a dump prints on). */
static bool scan_begin(void)
{
    int tid = goc__gettid();
    if (atomic_load_explicit(&dumplock_tid, memory_order_relaxed) == tid)
        return false;
    goc__lock(&dumplock);
    atomic_store_explicit(&dumplock_tid, tid, memory_order_relaxed);
    atomic_store_explicit(&goc__dumping, true, memory_order_seq_cst);
    goc__fence_heavy();
    return true;
}

static void scan_end(bool owner)
{
    if (!owner)
        return;
    /* scanning is NULL: every scan_hold had its scan_release. */
    atomic_store_explicit(&goc__dumping, false, memory_order_release);
    atomic_store_explicit(&dumplock_tid, 0, memory_order_relaxed);
    goc__unlock(&dumplock);
}

/* Freeze g's stack if it is off it.  Returns: g's status; if RUNNABLE or
 * WAITING, g cannot run until scan_release. */
static uint32_t scan_hold(goc__g *g)
{
    /* release: the walk of the previous G came first; an execute of it
     * that reads this store may run it (goc__dump_wait). */
    atomic_store_explicit(&scanning, g, memory_order_release);
    atomic_thread_fence(memory_order_seq_cst); /* pairs with dump_wait's */
    /* acquire: pairs with the release stores of the status, so g's saved
     * context, wait reason and spawn-time fields are visible. */
    return atomic_load_explicit(&g->status, memory_order_acquire);
}

static void scan_release(void)
{
    /* release: our reads of g's stack come before its next run; pairs
     * with the acquire load in goc__dump_wait. */
    atomic_store_explicit(&scanning, NULL, memory_order_release);
}

void goc__dump_wait(goc__g *g)
{
    atomic_thread_fence(memory_order_seq_cst); /* pairs with scan_hold's */
    while (atomic_load_explicit(&scanning, memory_order_acquire) == g)
        sched_yield();
}

struct dump_state {
    struct out *o;
    goc__g *self;
    bool any;       /* something printed: separate the next with a blank
                       line */
    bool ask;       /* this dump holds dumplock: it may stop running
                       threads to walk their goroutines (sigurg.c) */
    int64_t budget; /* ns it may still wait for threads that do not
                       answer */
};

/* ---- a running goroutine, walked where a SIGURG stops its thread ---- */

/* How long a dump waits for one thread's answer, and for all those that
 * never answer (SIGURG blocked, TSan deferring it): then it goes on with
 * "stack unavailable".  An answer comes in microseconds. */
#define ASK_WAIT_NS (100 * 1000 * 1000)
#define ASK_BUDGET_NS (250 * 1000 * 1000)
/* x86-64: stack words above the interrupted sp searched for the return
 * addresses of frames that have no frame record (caller_scan). */
#define SCAN_WORDS 256
/* The stack words copied from the interrupted sp up, for the CFI unwind
 * and caller_scan that run once the thread has been let go (64 KiB:
 * deeper frames are lost to the unwind, and the frame records take
 * over). */
#define HELD_COPY_WORDS 8192

/* What is read of a held thread's stack: only memory, while the thread
 * waits in its handler; symbols are looked up after it runs on.  Only the
 * owner of dumplock asks, so one copy serves every dump. */
static struct held_stack {
    goc__sigctx c;         /* where the signal stopped it */
    uintptr_t lo, hi;      /* its G's stack (the G may be gone by the
                              time the frames are printed) */
    struct frames chain;   /* return addresses from c.fp's record on */
    int ncopy;
    uintptr_t copy[HELD_COPY_WORDS]; /* [c.sp, hi), at most */
    int nwords;            /* x86-64: copy[0, nwords) is [c.sp, c.fp), at
                              most SCAN_WORDS (caller_scan) */
} held_stack;

/* g's M, read while that M may be switching g in or out (it writes g->m
 * with plain stores, proc.c).  Only a hint: the M's handler reports the
 * G it interrupted, and the dump trusts only that.  Hidden from TSan,
 * which would rightly call it a race. */
__attribute__((no_sanitize("thread"))) static goc__m *g_m_hint(goc__g *g)
{
    return *(goc__m *volatile *)&g->m;
}

/* Copy n stack words from `from`: locals included, which ASan may have
 * poisoned (redzones), and which may never have been written. */
__attribute__((no_sanitize("address"))) static void
copy_words(uintptr_t *dst, uintptr_t from, int n)
{
    const volatile uintptr_t *src = (const volatile uintptr_t *)from;
    for (int i = 0; i < n; i++)
        dst[i] = src[i]; /* volatile: not a memcpy ASan would check */
#ifdef GOC__HAVE_MEMCHECK
    VALGRIND_MAKE_MEM_DEFINED(dst, (size_t)n * sizeof *dst);
#endif
}

/* Read what the walk needs of g's stack while its thread is held_stack.
 * Returns: false if the thread was not on g's stack (g0's, or between
 * goroutines: held_stack.c.g is g only until the switch). */
static bool collect_held(goc__g *g)
{
    /* g's bounds are stable while it runs; the handler's release
     * publishes them (they were written before g first ran). */
    uintptr_t lo = (uintptr_t)g->stack_lo, hi = (uintptr_t)g->stack_hi;
    uintptr_t sp = held_stack.c.sp;
    if (sp < lo || sp >= hi || (sp & (sizeof(uintptr_t) - 1)) != 0)
        return false;
    held_stack.lo = lo;
    held_stack.hi = hi;
    held_stack.chain.n = 0;
    collect_records(&held_stack.chain, held_stack.c.fp, lo, hi);
    size_t above = (hi - sp) / sizeof(uintptr_t);
    held_stack.ncopy = above < HELD_COPY_WORDS ? (int)above : HELD_COPY_WORDS;
    copy_words(held_stack.copy, sp, held_stack.ncopy);
    held_stack.nwords = 0;
#if defined(__x86_64__)
    uintptr_t fp = held_stack.c.fp;
    uintptr_t top = fp > sp && fp < hi ? fp : hi;
    size_t n = (top - sp) / sizeof(uintptr_t);
    if (n > SCAN_WORDS)
        n = SCAN_WORDS;
    held_stack.nwords = (int)n < held_stack.ncopy ? (int)n : held_stack.ncopy;
#endif
    return true;
}

#if defined(__x86_64__)
/* The loaded modules' segments, read afresh for each running goroutine
 * (after its thread runs on: dl_iterate_phdr takes the loader's lock),
 * so that the search reads no byte that is not mapped. */
#define MAX_SEGS 256
static struct seg {
    uintptr_t lo, hi;
    bool exec;
} segs[MAX_SEGS];
static int nsegs;

static int seg_add_module(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    (void)arg;
    for (int i = 0; i < info->dlpi_phnum && nsegs < MAX_SEGS; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_R))
            continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        segs[nsegs++] = (struct seg){lo, lo + ph->p_memsz,
                                     (ph->p_flags & PF_X) != 0};
    }
    return 0;
}

/* Do the n bytes at a lie in one loaded segment (executable if code)? */
static bool seg_mapped(uintptr_t a, size_t n, bool code)
{
    for (int i = 0; i < nsegs; i++)
        if (a >= segs[i].lo && a + n <= segs[i].hi && a + n > a)
            return !code || segs[i].exec;
    return false;
}

/* A word of a GOT: memory ASan knows nothing of, but it may be next to
 * a global's redzone. */
__attribute__((no_sanitize("address"))) static uintptr_t
load_word(uintptr_t a)
{
    return *(const volatile uintptr_t *)a;
}

/* t is a call's target: a function, or a PLT entry ([endbr64] [bnd] jmp
 * *slot(%rip)), which stands for the function in its GOT slot.
 * Returns: the function, or 0. */
static uintptr_t plt_follow(uintptr_t t)
{
    if (!seg_mapped(t, 11, true))
        return 0;
    const uint8_t *p = (const uint8_t *)t;
    if (p[0] == 0xf3 && p[1] == 0x0f && p[2] == 0x1e && p[3] == 0xfa)
        p += 4;
    if (p[0] == 0xf2)
        p++;
    if (p[0] != 0xff || p[1] != 0x25)
        return t;
    int32_t rel;
    memcpy(&rel, p + 2, sizeof rel);
    uintptr_t slot = (uintptr_t)(p + 6) + (uintptr_t)(intptr_t)rel;
    return seg_mapped(slot, sizeof slot, false) ? load_word(slot) : 0;
}

/* If the instruction that ends at ra is a call we can follow (call rel32,
 * call *slot(%rip)), its target.  Returns: the function, or 0. */
static uintptr_t call_target(uintptr_t ra)
{
    if (!seg_mapped(ra - 6, 6, true))
        return 0;
    const uint8_t *p = (const uint8_t *)ra;
    int32_t rel;
    memcpy(&rel, p - 4, sizeof rel);
    if (p[-5] == 0xe8)
        return plt_follow(ra + (uintptr_t)(intptr_t)rel);
    if (p[-6] == 0xff && p[-5] == 0x15) {
        uintptr_t slot = ra + (uintptr_t)(intptr_t)rel;
        return seg_mapped(slot, sizeof slot, false) ? load_word(slot) : 0;
    }
    return 0;
}

/* Frames between the interrupted one and the owner of the frame record
 * that rbp names: functions interrupted before they made their record
 * (a prologue), or built without one (libc's system call wrappers).
 * Their return addresses lie between sp and that record; a stack word is
 * taken for one only if the instruction before it calls the function
 * below it (directly, or through the PLT or GOT), so stale words and data
 * are left alone. */
static void caller_scan(struct frames *f)
{
    uintptr_t lo = held_stack.lo, hi = held_stack.hi;
    const char *callee = lookup(held_stack.c.pc).name;
    nsegs = 0;
    dl_iterate_phdr(seg_add_module, NULL);
    for (int i = 0; i < held_stack.nwords && callee != NULL &&
                    f->n < MAX_FRAMES;
         i++) {
        uintptr_t w = held_stack.copy[i];
        if (w - lo < hi - lo || w < 4096)
            continue; /* a stack address, or a small number */
        uintptr_t t = call_target(w);
        if (t == 0)
            continue;
        struct sym ts = lookup(t);
        if (ts.name == NULL || strcmp(ts.name, callee) != 0)
            continue;
        if (!push_return(f, w))
            return;
        callee = lookup(w - 1).name;
    }
}
#elif defined(__aarch64__)
/* The interrupted function's caller when it is a leaf without a frame
 * record (gcc's default on arm64) or still in its prologue: its return
 * address is in lr only.  Taken if lr follows a BL or BLR, is not the
 * return address the frame record holds, and lies outside the
 * interrupted function (a stale lr from a call that function made). */
static void caller_lr(struct frames *f)
{
    uintptr_t lr = held_stack.c.lr;
    if (lr == 0 || (lr & 3) != 0 ||
        (held_stack.chain.n > 0 && held_stack.chain.pc[0] == lr - 1))
        return;
    struct sym by = lookup(lr - 1);
    if (by.name == NULL)
        return;
    struct sym at = lookup(held_stack.c.pc);
    if (at.name != NULL && strcmp(at.name, by.name) == 0)
        return;
    uint32_t insn; /* lr - 4 is in by's function, so mapped */
    memcpy(&insn, (const void *)(lr - 4), sizeof insn);
    bool bl = (insn & 0xfc000000u) == 0x94000000u;
    bool blr = (insn & 0xfffffc1fu) == 0xd63f0000u;
    if (bl || blr)
        (void)push_return(f, lr);
}
#endif

/* The held stack's frames, innermost first: the interrupted pc itself,
 * the callers that have no frame record, then the record chain. */
static void held_assemble(struct frames *f)
{
    f->n = 0;
    if (is_entry_frame(held_stack.c.pc))
        return;
    f->pc[f->n++] = held_stack.c.pc;
#if defined(__x86_64__)
    caller_scan(f);
#elif defined(__aarch64__)
    caller_lr(f);
#endif
    for (int i = 0; i < held_stack.chain.n && f->n < MAX_FRAMES; i++)
        f->pc[f->n++] = held_stack.chain.pc[i];
}

/* The held stack's frames unwound with CFI from the registers the signal
 * found, over the copy of the stack (the thread has run on since).
 * Returns: false without a libdw session or any frame. */
static bool held_cfi(struct out *o, struct frames *f)
{
    void *session = out_session(o);
    if (session == NULL || is_entry_frame(held_stack.c.pc))
        return false;
    goc__uregs r = {.pc = held_stack.c.pc, .sp = held_stack.c.sp,
                    .resumes = false};
    memcpy(r.r, held_stack.c.r, sizeof r.r);
    goc__umem mem = {held_stack.c.sp,
                     held_stack.c.sp +
                         (uintptr_t)held_stack.ncopy * sizeof(uintptr_t),
                     held_stack.copy};
    f->n = goc__srclines_unwind(session, &r, &mem, is_entry_frame, f->pc,
                                MAX_FRAMES);
    return f->n > 0;
}

/* Print running g (not the dumper) from where its thread is: stop the
 * thread in its SIGURG handler, read the stack, let it go, then print.
 * Returns: false if that could not be done (the caller says "stack
 * unavailable"). */
static bool print_running(struct dump_state *d, goc__g *g,
                          const struct ghead *h)
{
    goc__m *m = g_m_hint(g);
    if (!d->ask || m == NULL || d->budget <= 0)
        return false;
    int64_t start = goc__nanotime();
    int64_t wait = d->budget < ASK_WAIT_NS ? d->budget : ASK_WAIT_NS;
    if (!goc__sigurg_dump_hold(m, wait, &held_stack.c)) {
        d->budget -= goc__nanotime() - start;
        return false;
    }
    bool ok = held_stack.c.g == g && collect_held(g);
    if (!goc__sigurg_dump_release(m))
        ok = false; /* its handler gave up: the stack moved under us */
    if (!ok)
        return false;
    struct frames f;
    if (!held_cfi(d->o, &f))
        held_assemble(&f);
    print_header(d->o, h, "running");
    print_frames(d->o, &f, NULL);
    print_creator(d->o, h);
    return true;
}

/* Print g, which asynchronous preemption parked with its thread inside
 * the SIGURG handler (preempt.c): RUNNABLE, its stack frozen by the scan
 * protocol (it cannot run until scan_release), walked from the context
 * the signal interrupted.  Returns: false if that context is not on g's
 * stack (the caller prints it as any parked goroutine). */
static bool print_async_parked(struct dump_state *d, goc__g *g, uint32_t s)
{
    const void *uc = g->async_ctx;
    if (uc == NULL)
        return false;
    goc__sigctx_of(uc, &held_stack.c);
    held_stack.c.g = g;
    if (!collect_held(g))
        return false;
    struct frames f;
    if (!held_cfi(d->o, &f))
        held_assemble(&f);
    struct ghead h = ghead_of(g);
    h.locked = g->lockcount > 0; /* not the preemption's own wiring */
    print_header(d->o, &h, state_name(g, s));
    print_frames(d->o, &f, NULL);
    print_creator(d->o, &h);
    return true;
}

static void separate(struct dump_state *d)
{
    if (d->any)
        out_printf(d->o, "\n");
    d->any = true;
}

static void dump_one(goc__g *g, void *arg)
{
    struct dump_state *d = arg;
    if (g == d->self)
        return;
    uint32_t hint = atomic_load_explicit(&g->status, memory_order_relaxed);
    if (hint == GOC__GFREE || hint == GOC__GDEAD)
        return; /* most headers of a large pool: skip the fence (a G
                   spawned meanwhile was not there when the dump began) */
    uint32_t s = scan_hold(g);
    if ((s == GOC__GRUNNABLE || s == GOC__GWAITING ||
         s == GOC__GRUNNING) && !g->system) {
        separate(d);
        struct ghead h = ghead_of(g);
        /* A running G whose thread has moved on by the time it answers
         * (it parked, or was between goroutines) is held again: parked
         * now, it is walked where it parked. */
        for (int tries = 0; s == GOC__GRUNNING && tries < 3; tries++) {
            if (print_running(d, g, &h)) {
                scan_release();
                return;
            }
            s = scan_hold(g);
        }
        if (s != GOC__GRUNNABLE && s != GOC__GWAITING) {
            print_header(d->o, &h, "running");
            out_printf(d->o, "\tgoroutine running on other thread; "
                             "stack unavailable\n");
            print_creator(d->o, &h);
        } else if (s == GOC__GRUNNABLE && print_async_parked(d, g, s)) {
            /* printed */
        } else {
#if GOC_DEBUG >= 2
            uint32_t runs = atomic_load(&g->nexec);
            print_parked(d->o, g, s);
            uint32_t ran_since = atomic_load(&g->nexec) - runs;
            GOC_ASSERT_INTERNAL(ran_since == 0);
#else
            print_parked(d->o, g, s);
#endif
        }
    }
    scan_release();
}

static void dump(struct out *o, goc__g *self, bool all, uintptr_t fp)
{
    if (self != NULL)
        print_self(o, self, fp);
    if (all) {
        struct dump_state d = {o, self, self != NULL, false,
                               ASK_BUDGET_NS};
        bool owner = scan_begin();
        d.ask = owner; /* a dump nested in a dump (a fatal error) asks none */
        goc__g_each(dump_one, &d);
        scan_end(owner);
    }
    goc__srclines_close(o->lines);
}

GOC__RUNTIME_TEXT
void goc__dump_all(int fd, goc__g *self)
{
    struct out o = {.fd = fd};
    dump(&o, self, true, (uintptr_t)__builtin_frame_address(0));
}

void goc_dump(int fd)
{
    struct out o = {.fd = fd};
    dump(&o, goc__getg(), true, (uintptr_t)__builtin_frame_address(0));
}

size_t goc_stack(char *buf, size_t len, bool all)
{
    if (buf == NULL)
        len = 0;
    struct out o = {.fd = -1, .buf = buf, .len = len, .pos = 0};
    if (len > 0)
        buf[0] = '\0';
    dump(&o, goc__getg(), all, (uintptr_t)__builtin_frame_address(0));
    return o.pos;
}

/* The whole dump, as goc_stack formats it, in a buffer of its own
 * (leakcheck.c, debug_serve.c). */
char *goc__dump_text(size_t max, size_t *len, bool *truncated)
{
    *truncated = false;
    char *text = NULL;
    size_t n = 0;
    for (size_t cap = 64 * 1024;; cap *= 2) {
        char *t = realloc(text, cap);
        if (t == NULL) {
            free(text);
            return NULL;
        }
        text = t;
        n = goc_stack(text, cap, true);
        if (n + 1 < cap)
            break;
        if (cap >= max) { /* cut short */
            *truncated = true;
            break;
        }
    }
    *len = n;
    return text;
}

/* ---- the gdb extension ---- */

/* src/goc-gdb.py, in this module's .debug_gdb_scripts section, where gdb
 * finds it when it loads the module (CMakeLists.txt makes the header).
 * Here because every program that links goc links this file: the
 * scheduler reads goc__dumping.  Not loaded into memory, so it costs the
 * running program nothing; the layout table it reads is goroutine.c's
 * goc__gdb_info. */
#include "goc_gdb_script.h"
__asm__(GOC__GDB_SCRIPT_ASM);

/* ---- the dump of a fatal error (error.c calls it through its hook) ---- */

/* Runtime text, so that dumps leave it out. */
GOC__RUNTIME_TEXT
static void dump_for_fatal(int fd)
{
    goc__dump_all(fd, goc__getg());
}

/* At load time: a fatal error before any run dumps too (Go's throw ->
 * traceback, wired upwards without error.c naming this file). */
__attribute__((constructor)) static void fatal_dump_install(void)
{
    goc__fatal_set_dump(dump_for_fatal);
}
