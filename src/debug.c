/* SPDX-License-Identifier: MIT */
/*
 * debug.c - goroutine dumps in Go's format, and the dump that fatal errors
 * print (installed into error.c's hook).  Deadlock detection (Go's
 * checkdead) is proc.c's: it reads the scheduler's counts and reports
 * through goc__fatal, which reaches the dump through that hook.
 *
 * Frames are walked through frame pointers: from a parked goroutine's saved
 * context (arch.h gives the slots of its frame pointer and return address)
 * or, for the calling goroutine, from the current frame.  Every step is
 * checked to stay inside the goroutine's stack and to move upwards, so code
 * built without frame pointers ends the walk early instead of faulting.
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
#include "goc.h"
#include "internal.h"

/* ---- output: a file descriptor or a caller's buffer ---- */

struct out {
    int fd;       /* >= 0: write here */
    char *buf;    /* else append here */
    size_t len, pos;
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
    struct sym s = {NULL, "??", pc};
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

/* Bounds of the sections check.h's marks fill, defined by the linker for
 * this module (hidden: libgoc.so and a program linking libgoc.a each see
 * their own copy of goc). */
#define GOC__HIDDEN __attribute__((visibility("hidden")))
#define GOC__SECTION_BOUNDS(name)                  \
    extern const char __start_##name[] GOC__HIDDEN; \
    extern const char __stop_##name[] GOC__HIDDEN
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

static void print_frame(struct out *o, const struct sym *s)
{
    out_printf(o, "%s(...)\n\t%s +0x%lx\n", s->name ? s->name : "??",
               s->module, (unsigned long)s->offset);
}

/* Walk frame records from (pc, fp), where pc is a return address.  Stops
 * at a zero return address, when fp leaves [lo, hi) or fails to climb, or
 * after 64 frames. */
static void walk(struct out *o, uintptr_t pc, uintptr_t fp, uintptr_t lo,
                 uintptr_t hi)
{
    bool top = true; /* still in goc's own frames at the top */
    for (int depth = 0; depth < 64 && pc != 0; depth++) {
        if (is_entry_frame(pc - 1))
            break;
        if (!(top && is_runtime_frame(pc - 1))) {
            struct sym s = lookup(pc - 1);
            top = false;
            print_frame(o, &s);
        }
        if (fp < lo || fp + 2 * sizeof(uintptr_t) > hi ||
            (fp & (sizeof(uintptr_t) - 1)) != 0)
            break;
        uintptr_t next = ((uintptr_t *)fp)[0];
        pc = ((uintptr_t *)fp)[1];
        if (next <= fp)
            break;
        fp = next;
    }
}

static const char *state_name(goc__g *g, uint32_t s, bool self)
{
    if (self)
        return "running";
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

static void print_header(struct out *o, goc__g *g, uint32_t s, bool self)
{
    out_printf(o, "goroutine %lld [%s%s]", (long long)g->goid,
               state_name(g, s, self),
               g->lockedm != NULL ? ", locked to thread" : "");
    if (g->name != NULL)
        out_printf(o, " \"%s\"", g->name);
    out_printf(o, ":\n");
}

static void print_creator(struct out *o, goc__g *g)
{
    if (g->is_main)
        return;
    struct sym s = lookup(g->gopc - 1);
    out_printf(o, "created by %s", s.name ? s.name : "??");
    if (g->parent_goid != 0)
        out_printf(o, " in goroutine %lld", (long long)g->parent_goid);
    out_printf(o, "\n\t%s +0x%lx\n", s.module, (unsigned long)s.offset);
}

/* Print a G that is not running: its stack is frozen (scan_begin). */
static void print_parked(struct out *o, goc__g *g, uint32_t s)
{
    uintptr_t *ctx = g->sp;
    if (ctx == NULL || ctx[GOC__CTX_PC_SLOT] == (uintptr_t)goc__ctx_entry) {
        /* Never ran: show where it will start. */
        struct sym fs = lookup((uintptr_t)g->fn);
        print_header(o, g, s, false);
        print_frame(o, &fs);
    } else {
        print_header(o, g, s, false);
        walk(o, ctx[GOC__CTX_PC_SLOT], ctx[GOC__CTX_FP_SLOT],
             (uintptr_t)g->stack_lo,
             (uintptr_t)g->stack_hi);
    }
    print_creator(o, g);
}

/* The calling goroutine, walked from frame record fp: the frame of the
 * public call that asked for the dump, so the first frame shown is its
 * caller's. */
static void print_self(struct out *o, goc__g *g, uintptr_t fp)
{
    print_header(o, g, GOC__GRUNNING, true);
    uintptr_t pc = ((uintptr_t *)fp)[1];
    walk(o, pc, ((uintptr_t *)fp)[0], (uintptr_t)g->stack_lo,
         (uintptr_t)g->stack_hi);
    print_creator(o, g);
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
    bool any; /* something printed: separate the next with a blank line */
};

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
        if (s == GOC__GRUNNING) {
            print_header(d->o, g, s, false);
            out_printf(d->o, "\tgoroutine running on other thread; "
                             "stack unavailable\n");
            print_creator(d->o, g);
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
    if (!all)
        return;
    struct dump_state d = {o, self, self != NULL};
    bool owner = scan_begin();
    goc__g_each(dump_one, &d);
    scan_end(owner);
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
