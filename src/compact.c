/* SPDX-License-Identifier: MIT */
/*
 * compact.c - the stacks of long-parked goroutines, compacted: the live
 * top of each copied into dense memory and the stack's pages given back,
 * then restored at the first touch by anyone, through userfaultfd.
 * Opt-in: GOCDEBUG=compactstacks=1.  Design, measurements and costs:
 * docs/design/parked-stacks.md.
 *
 * One plain thread, the stack thread, does all of it.  Every PASS_NS (up
 * to PASS_IDLE_NS while sweeps find nothing) it walks a bounded run of
 * goroutine headers (goc__g_at, lock-free) for candidates: WAITING for
 * compactafter or longer, not a system goroutine, at most COMPACT_MAX
 * bytes live ([sp, stack_hi)), on a slot of a slab with madvise guards.
 * It compacts them a batch at a time, one slab at a time, and between
 * batches answers the userfaults of the slabs it has registered:
 * restoring a compacted stack, or mapping a zero page.  A thread that
 * touches a compacted stack (an M switching to the goroutine,
 * a channel peer, a pointer the goroutine handed out, the kernel in
 * read(2)) waits in the kernel until the stack thread has answered.
 *
 * A batch over claimed slots lo .. hi of one slab (cp_batch):
 *   1. write-protect the slots' range (UFFDIO_WRITEPROTECT): from here no
 *      thread changes a page of it without waiting for the stack thread;
 *   2. for each, check again that its goroutine is WAITING on that slot,
 *      reading sp between two status loads, and copy [sp, stack_hi) out;
 *   3. remove the guard pages of the compacted ones and MADV_DONTNEED
 *      each run of adjacent compacted slots whole (a run that covers a
 *      whole 2 MiB page table lets the kernel free it);
 *   4. unprotect the range, which wakes the writers that waited: each
 *      finds its page missing, faults again, and is restored.
 * Why the copy is the truth: a goroutine is WAITING only once it is off
 * its stack with sp saved (the switch's store, then the release of the
 * status on g0), so [sp, stack_hi) is all of it that is live; nothing
 * below sp is (the switch uses no red zone; signal handlers run on the
 * M's alternate stack).  A goroutine WAITING after step 1 cannot run and
 * park again before step 4: its first write to its stack (the switch
 * pushes, a call) waits for the unprotect.  Every write made before step
 * 1 is in the pages copied; every write after it lands, after the
 * restore, on the copy's bytes.  A goroutine that was not WAITING at the
 * check (readied and run meanwhile, so maybe with live bytes below its
 * old sp) is left as it is.
 *
 * Invariants (all of this state is the stack thread's, so no lock):
 *   a slot is RESIDENT, CLAIMED (only between a pass's walk and its
 *   slab's batch) or COMPACTED;
 *   a COMPACTED slot has no present page, its guard page is removed (but
 *   where a stray touch made the handler put it back), its copy holds the
 *   goroutine's [sp, stack_hi), and its goroutine has not run since the
 *   copy: it is WAITING, or readied (restored ahead, cp_restore_ahead, or
 *   waiting in a fault at its first touch);
 *   a slab's slots [0, nreg) are registered with the userfaultfd, and
 *   nreg > 0 only while the slab has a claimed or compacted slot or a
 *   pass runs; every compacted slot is below nreg, and a pass registers
 *   its claims before their batch;
 *   a restore installs the guard, then the top page; every other missing
 *   page of a registered slab is mapped zero when touched.
 * The one rule: the stack thread takes no lock, calls no malloc (its
 * memory comes from mmap) and never waits for a goroutine.  While a batch
 * is under way, or a stack compacted, any thread may sit in a page fault
 * at any instruction holding anything (a channel's lock, sched.lock,
 * malloc's arena lock, a user mutex).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "compact.h"
#include "internal.h"

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define COMPACT_VALGRIND() RUNNING_ON_VALGRIND
#else
#define COMPACT_VALGRIND() 0
#endif

#ifndef USERFAULTFD_IOC_NEW
#define USERFAULTFD_IOC_NEW _IO(0xAA, 0x00) /* /dev/userfaultfd, Linux 6.1 */
#endif

#define PASS_NS ((int64_t)10 * 1000 * 1000) /* between walks */
#define PASS_IDLE_NS ((int64_t)160 * 1000 * 1000) /* ... finding nothing */
#define PASS_HEADERS 32768  /* headers looked at per walk */
/* Live bytes past which a stack stays resident: its copy would save
 * less than a quarter of the page it frees.  (A select parks with ~1.6
 * KiB live, ~2.5 KiB in a -O0 build.) */
#define COMPACT_MAX 3072
#define BATCH_MAX 256       /* slots per write-protected batch (~1 ms) */
#define MAX_CSLABS 4096
#define AHEAD_SCAN 64       /* slots cp_restore_ahead looks at */
#define COPY_GRAIN 32       /* copies are multiples of it */
#define COPY_CLASSES (COMPACT_MAX / COPY_GRAIN)
#define ARENA_BYTES ((size_t)2 << 20)
#define MADVISE_BATCH 256
#define DEFAULT_AFTER_NS ((int64_t)1000 * 1000 * 1000)

enum { SLOT_RESIDENT = 0, SLOT_CLAIMED, SLOT_COMPACTED };

struct cslot {
    goc__g *g;    /* CLAIMED, COMPACTED: the goroutine on the slot (its
                     header stays its own: it cannot exit unrestored) */
    void *copy;   /* COMPACTED: the copy */
    uint16_t len; /* COMPACTED: the copy's bytes, stack_hi - sp */
    uint8_t state;
};

/* A stack slab (stack.c) as the stack thread knows it. */
struct cslab {
    char *base;
    size_t slot_size;
    uint32_t nslots;
    uint32_t nclaimed, ncompacted;
    uint32_t nreg;     /* slots [0, nreg) are registered */
    uint32_t claim_max; /* the highest slot claimed in this pass */
    struct cslot *slots; /* [nslots], mmap'd */
};

struct copy_free {
    struct copy_free *next;
};

static struct {
    /* set by start, read by the stack thread and the stats */
    int uffd;
    int stopfd;
    pthread_t thread;
    bool running;
    int64_t after_ns;
    _Atomic int state;
    const char *_Atomic why;
    /* the stack thread's */
    struct cslab *slabs;  /* [MAX_CSLABS], mmap'd */
    uint32_t nslabs;
    struct cslab *last;   /* the last looked up */
    uint64_t cursor;      /* next header to look at */
    char *bounce;         /* one page: a restore's page is built here */
    char *zero;           /* one page of zeros */
    int pidfd;
    struct iovec iov[MADVISE_BATCH];
    uint32_t batch[BATCH_MAX];
    struct copy_free *free[COPY_CLASSES + 1];
    char *arena, *arena_end;
    char *arenas;         /* chain of arenas, through their first word */
    /* statistics: written by the stack thread, read anywhere */
    _Atomic int64_t compacted, copy_bytes;
    _Atomic uint64_t compactions, restores, faults, abandoned;
} cp = {.uffd = -1, .stopfd = -1};

/* A fatal error of the stack thread: no goroutine dump, which would read
 * compacted stacks and wait for this very thread to restore them. */
__attribute__((noreturn)) static void cp_fatal(const char *what)
{
    goc__printf(2, "fatal error: runtime: %s (%s)\n", what, strerror(errno));
    _exit(2);
}

static size_t cp_ps(void)
{
    return goc__pagesize();
}

static char *cp_slot_base(const struct cslab *cs, uint32_t i)
{
    return cs->base + (size_t)i * cs->slot_size;
}

/* ---- copies: size classes of COPY_GRAIN, carved from mmap'd arenas ---- */

static void *cp_copy_alloc(size_t len)
{
    size_t cls = (len + COPY_GRAIN - 1) / COPY_GRAIN;
    struct copy_free *f = cp.free[cls];
    if (f != NULL) {
        cp.free[cls] = f->next;
        return f;
    }
    size_t n = cls * COPY_GRAIN;
    if (cp.arena == NULL || (size_t)(cp.arena_end - cp.arena) < n) {
        char *a = mmap(NULL, ARENA_BYTES, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (a == MAP_FAILED)
            return NULL;
        memcpy(a, &cp.arenas, sizeof cp.arenas); /* the chain */
        cp.arenas = a;
        cp.arena = a + COPY_GRAIN;
        cp.arena_end = a + ARENA_BYTES;
    }
    void *p = cp.arena;
    cp.arena += n;
    return p;
}

static void cp_copy_free(void *p, size_t len)
{
    size_t cls = (len + COPY_GRAIN - 1) / COPY_GRAIN;
    struct copy_free *f = p;
    f->next = cp.free[cls];
    cp.free[cls] = f;
}

/* ---- the kernel: userfaultfd and madvise ---- */

/* UFFDIO_WRITEPROTECT over [p, p + len): on, or off (which wakes every
 * thread waiting on a page of it).  Returns: true if done. */
static bool cp_wprotect(char *p, size_t len, bool on)
{
    struct uffdio_writeprotect wp = {
        .range = {.start = (uintptr_t)p, .len = len},
        .mode = on ? UFFDIO_WRITEPROTECT_MODE_WP : 0,
    };
    while (ioctl(cp.uffd, UFFDIO_WRITEPROTECT, &wp) != 0)
        if (errno != EAGAIN)
            return false;
    return true;
}

static void cp_wake(char *page)
{
    struct uffdio_range r = {.start = (uintptr_t)page, .len = cp_ps()};
    (void)ioctl(cp.uffd, UFFDIO_WAKE, &r); /* no one waits: harmless */
}

/* Map page with the bytes of src (a page), waking whoever waits on it.
 * Returns: 0, or EEXIST if the page is there already. */
static int cp_place(char *page, const char *src)
{
    struct uffdio_copy c = {
        .dst = (uintptr_t)page, .src = (uintptr_t)src, .len = cp_ps(),
    };
    while (ioctl(cp.uffd, UFFDIO_COPY, &c) != 0) {
        if (errno == EEXIST)
            return EEXIST;
        if (errno != EAGAIN)
            cp_fatal("cannot map a page of a goroutine stack: UFFDIO_COPY");
        c.copy = 0;
    }
    return 0;
}

/* madvise(advice) over cp.iov[0 .. k): in one system call, or a call
 * each where that is refused.  Returns: true if all were done. */
static bool cp_madvise_iov(uint32_t k, int advice)
{
    if (k == 0 || goc__process_madvise(&cp.pidfd, cp.iov, k, advice))
        return true;
    bool ok = true;
    for (uint32_t i = 0; i < k; i++)
        ok &= madvise(cp.iov[i].iov_base, cp.iov[i].iov_len, advice) == 0;
    return ok;
}

/* ---- slabs ---- */

static bool cslab_holds(const struct cslab *cs, const char *p)
{
    return p >= cs->base && p < cs->base + (size_t)cs->nslots * cs->slot_size;
}

/* The slab holding slot, known to the stack thread from its first
 * candidate on.  Returns: it, or NULL (not a stack slab, guards not
 * madvise's, or too many slabs). */
static struct cslab *cslab_of(const char *slot)
{
    struct cslab *cs = cp.last;
    if (cs != NULL && cslab_holds(cs, slot))
        return cs;
    for (uint32_t i = 0; i < cp.nslabs; i++)
        if (cslab_holds(&cp.slabs[i], slot))
            return cp.last = &cp.slabs[i];
    goc__stack_slab_info info;
    if (cp.nslabs == MAX_CSLABS || !goc__stack_slab_find(slot, &info))
        return NULL;
    cs = &cp.slabs[cp.nslabs];
    size_t len = info.nslots * sizeof *cs->slots;
    void *v = mmap(NULL, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (v == MAP_FAILED)
        return NULL;
    *cs = (struct cslab){.base = info.base, .slot_size = info.slot_size,
                         .nslots = info.nslots, .slots = v};
    cp.nslabs++;
    return cp.last = cs;
}

/* Register cs's slots [0, i] with the userfaultfd, MISSING and WP, if
 * they are not yet; once a pass, up to its highest claim.  Slots past the
 * last claim stay out: in a storm of spawns they are fresh ones, carved
 * into the Ps' caches, whose first touch would otherwise cost a userfault
 * round trip, and keep a spawning goroutine waiting on the stack thread
 * with the channel lock of its park held (a -O0 build at 100k goroutines
 * fell into a cascade: Ms spinning on that lock, sysmon lending Ps to the
 * threads waiting in faults, 190 threads).  Growing the range makes one
 * more mapping, which merges with the registered one.
 * Returns: true if slot i is registered. */
static bool cslab_register(struct cslab *cs, uint32_t i)
{
    if (i < cs->nreg)
        return true;
    uint32_t end = i + 1;
    struct uffdio_register r = {
        .range = {.start = (uintptr_t)cp_slot_base(cs, cs->nreg),
                  .len = (size_t)(end - cs->nreg) * cs->slot_size},
        .mode = UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP,
    };
    if (ioctl(cp.uffd, UFFDIO_REGISTER, &r) != 0)
        return false;
    uint64_t need = (uint64_t)1 << _UFFDIO_COPY |
                    (uint64_t)1 << _UFFDIO_WRITEPROTECT;
    if ((r.ioctls & need) != need) {
        (void)ioctl(cp.uffd, UFFDIO_UNREGISTER, &r.range);
        return false;
    }
    cs->nreg = end;
    return true;
}

/* A slab with nothing compacted goes back to plain faults: in a
 * registered slab every fresh page costs a userfault round trip (2-4x a
 * kernel fault).  Unregistering wakes whoever waits on it: they retry,
 * as plain faults. */
static void cslabs_unregister_idle(void)
{
    for (uint32_t i = 0; i < cp.nslabs; i++) {
        struct cslab *cs = &cp.slabs[i];
        if (cs->nreg == 0 || cs->ncompacted > 0 || cs->nclaimed > 0)
            continue;
        struct uffdio_range r = {
            .start = (uintptr_t)cs->base,
            .len = (size_t)cs->nreg * cs->slot_size,
        };
        if (ioctl(cp.uffd, UFFDIO_UNREGISTER, &r) == 0)
            cs->nreg = 0;
    }
}

/* ---- restore ---- */

/* Put compacted slot i of cs back: its guard page, then its top page
 * with the copy's bytes (which wakes whoever waits on that page). */
static void cp_restore(struct cslab *cs, uint32_t i)
{
    struct cslot *c = &cs->slots[i];
    char *slot = cp_slot_base(cs, i);
    char *top = slot + cs->slot_size - cp_ps();
    /* Fails only without memory for a page table; the stack then runs
     * unguarded rather than not at all. */
    (void)madvise(slot, cp_ps(), MADV_GUARD_INSTALL);
    memset(cp.bounce, 0, cp_ps() - c->len);
    memcpy(cp.bounce + cp_ps() - c->len, c->copy, c->len);
    if (cp_place(top, cp.bounce) == EEXIST) {
        /* Nothing maps a compacted page but this thread: the copy is not
         * the truth any more, and running on would lose writes. */
        errno = EEXIST;
        cp_fatal("a compacted goroutine stack was mapped behind the runtime");
    }
    cp_copy_free(c->copy, c->len);
    atomic_fetch_sub_explicit(&cp.copy_bytes, c->len, memory_order_relaxed);
    atomic_fetch_sub_explicit(&cp.compacted, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&cp.restores, 1, memory_order_relaxed);
    *c = (struct cslot){0};
    cs->ncompacted--;
}

/* The goroutines of the compacted slots after i that have been readied
 * since (a close or a broadcast readies many, and they run in about the
 * order of their slots: spawned, parked and compacted in that order)
 * are about to fault one after the other: restore them now, without the
 * round trip of a fault each (measured: 30 us a restore through a fault
 * against ~8 us here).  Bounded: AHEAD_SCAN slots looked at. */
static void cp_restore_ahead(struct cslab *cs, uint32_t i)
{
    uint32_t end = i + 1 + AHEAD_SCAN < cs->nslots ? i + 1 + AHEAD_SCAN
                                                   : cs->nslots;
    for (uint32_t j = i + 1; j < end; j++) {
        struct cslot *c = &cs->slots[j];
        if (c->state == SLOT_COMPACTED &&
            atomic_load_explicit(&c->g->status, memory_order_relaxed) !=
                GOC__GWAITING)
            cp_restore(cs, j);
    }
}

/* A thread touched addr, a missing page of a registered slab, or wrote
 * to one write-protected by a batch. */
static void cp_fault(char *addr, uint64_t flags)
{
    char *page = (char *)((uintptr_t)addr & ~(uintptr_t)(cp_ps() - 1));
    atomic_fetch_add_explicit(&cp.faults, 1, memory_order_relaxed);
    struct cslab *cs = cslab_of(page);
    size_t off = cs != NULL ? (size_t)(page - cs->base) : 0;
    uint32_t i = cs != NULL ? (uint32_t)(off / cs->slot_size) : 0;
    if (cs == NULL || i >= cs->nreg) {
        cp_wake(page); /* unregistered since: it has retried already */
        return;
    }
    char *slot = cp_slot_base(cs, i);
    if (cs->slots[i].state == SLOT_COMPACTED) {
        if (page == slot) {
            /* A stray pointer into a compacted goroutine's guard page:
             * the marker back, and the retry takes SIGSEGV as before. */
            (void)madvise(page, cp_ps(), MADV_GUARD_INSTALL);
            cp_wake(page);
            return;
        }
        cp_restore(cs, i);
        cp_restore_ahead(cs, i);
        if (page == slot + cs->slot_size - cp_ps())
            return;
    }
    if (flags & UFFD_PAGEFAULT_FLAG_WP) {
        /* A batch's protect, lifted since (faults are answered between
         * batches): the writer was woken then. */
        cp_wake(page);
        return;
    }
    if (cp_place(page, cp.zero) == EEXIST)
        cp_wake(page);
}

/* Answer every userfault queued. */
static void cp_faults_drain(void)
{
    struct uffd_msg msg[64];
    for (;;) {
        ssize_t n = read(cp.uffd, msg, sizeof msg);
        if (n <= 0)
            return; /* EAGAIN: none left */
        for (size_t k = 0; k < (size_t)n / sizeof msg[0]; k++)
            if (msg[k].event == UFFD_EVENT_PAGEFAULT)
                cp_fault((char *)(uintptr_t)msg[k].arg.pagefault.address,
                      msg[k].arg.pagefault.flags);
    }
}

/* ---- compaction ---- */

static uint32_t cp_gstatus(goc__g *g)
{
    return atomic_load_explicit(&g->status, memory_order_acquire);
}

/* g's sp if g is WAITING on slot, with at most COMPACT_MAX live bytes
 * there; else NULL.  sp is read between two loads of the status that
 * both say WAITING (g cannot run and park again in between: see the
 * top), so it is the sp of that park. */
static char *cp_waiting_sp(goc__g *g, const char *slot, size_t slot_size)
{
    if (cp_gstatus(g) != GOC__GWAITING)
        return NULL;
    char *lo = __atomic_load_n(&g->stack_slot, __ATOMIC_RELAXED);
    char *hi = __atomic_load_n(&g->stack_hi, __ATOMIC_RELAXED);
    char *sp = __atomic_load_n((char **)&g->sp, __ATOMIC_RELAXED);
    if (cp_gstatus(g) != GOC__GWAITING || lo != slot || sp == NULL ||
        hi != slot + slot_size || sp >= hi || hi - sp > COMPACT_MAX)
        return NULL;
    return sp;
}

/* Claim g's slot for this pass's batch if g is a candidate. */
static void cp_consider(goc__g *g, int64_t now)
{
    if (cp_gstatus(g) != GOC__GWAITING || g->system)
        return;
    if (now - __atomic_load_n(&g->waitsince, __ATOMIC_RELAXED) < cp.after_ns)
        return;
    char *slot = __atomic_load_n(&g->stack_slot, __ATOMIC_RELAXED);
    if (slot == NULL)
        return;
    struct cslab *cs = cslab_of(slot);
    if (cs == NULL || (size_t)(slot - cs->base) % cs->slot_size != 0 ||
        cp_waiting_sp(g, slot, cs->slot_size) == NULL)
        return;
    struct cslot *c = &cs->slots[(size_t)(slot - cs->base) / cs->slot_size];
    if (c->state != SLOT_RESIDENT)
        return;
    uint32_t i = (uint32_t)(c - cs->slots);
    if (cs->nclaimed == 0 || i > cs->claim_max)
        cs->claim_max = i;
    c->state = SLOT_CLAIMED;
    c->g = g;
    cs->nclaimed++;
}

/* Drop every run of compacted slots of cs that meets [lo, hi], each as
 * one range, so that a run covering whole page tables frees them. */
static void cp_drop_runs(struct cslab *cs, uint32_t lo, uint32_t hi)
{
    uint32_t k = 0;
    uint32_t i = lo;
    while (i > 0 && cs->slots[i - 1].state == SLOT_COMPACTED)
        i--;
    while (i < cs->nslots && (i <= hi || cs->slots[i].state == SLOT_COMPACTED)) {
        if (cs->slots[i].state != SLOT_COMPACTED) {
            i++;
            continue;
        }
        uint32_t j = i;
        while (j < cs->nslots && cs->slots[j].state == SLOT_COMPACTED)
            j++;
        cp.iov[k].iov_base = cp_slot_base(cs, i);
        cp.iov[k].iov_len = (size_t)(j - i) * cs->slot_size;
        if (++k == MADVISE_BATCH) {
            (void)cp_madvise_iov(k, MADV_DONTNEED);
            k = 0;
        }
        i = j;
    }
    /* MADV_DONTNEED of present pages cannot fail but for a bad range */
    (void)cp_madvise_iov(k, MADV_DONTNEED);
}

/* Tests widen the windows around a batch's write-protect with it: the
 * goroutines they wake meanwhile run into a claim (before it) or the
 * protect (after it).  0 but in tests. */
_Atomic uint32_t goc__compact_test_pause_us;

static void cp_test_pause(void)
{
    uint32_t us = atomic_load_explicit(&goc__compact_test_pause_us,
                                       memory_order_relaxed);
    if (us > 0)
        usleep(us);
}

/* Compact the claimed slots cp.batch[0 .. n) of cs, in address order
 * (steps 1-4 at the top). */
static void cp_batch(struct cslab *cs, uint32_t n)
{
    char *lo = cp_slot_base(cs, cp.batch[0]);
    char *hi = cp_slot_base(cs, cp.batch[n - 1]) + cs->slot_size;
    cp_test_pause();
    bool wp = cp_wprotect(lo, (size_t)(hi - lo), true);
    cp_test_pause();
    uint32_t nguard = 0;
    int64_t bytes = 0;
    for (uint32_t k = 0; k < n; k++) {
        struct cslot *c = &cs->slots[cp.batch[k]];
        goc__g *g = c->g;
        char *slot = cp_slot_base(cs, cp.batch[k]);
        *c = (struct cslot){0};
        cs->nclaimed--;
        char *sp = wp ? cp_waiting_sp(g, slot, cs->slot_size) : NULL;
        if (sp == NULL) { /* it ran meanwhile (or no protect): as it is */
            atomic_fetch_add_explicit(&cp.abandoned, 1, memory_order_relaxed);
            continue;
        }
        size_t len = (size_t)(slot + cs->slot_size - sp);
        void *copy = cp_copy_alloc(len);
        if (copy == NULL)
            continue;
        memcpy(copy, sp, len);
        *c = (struct cslot){.g = g, .copy = copy, .len = (uint16_t)len,
                            .state = SLOT_COMPACTED};
        cs->ncompacted++;
        bytes += (int64_t)len;
        cp.iov[nguard].iov_base = slot;
        cp.iov[nguard].iov_len = cp_ps();
        nguard++;
    }
    /* A guard left in place (the call failed) keeps its page table only. */
    (void)cp_madvise_iov(nguard, MADV_GUARD_REMOVE);
    if (nguard > 0)
        cp_drop_runs(cs, cp.batch[0], cp.batch[n - 1]);
    if (wp && !cp_wprotect(lo, (size_t)(hi - lo), false))
        cp_fatal("cannot lift a write protection of goroutine stacks: "
                 "UFFDIO_WRITEPROTECT");
    atomic_fetch_add_explicit(&cp.compacted, nguard, memory_order_relaxed);
    atomic_fetch_add_explicit(&cp.compactions, nguard, memory_order_relaxed);
    atomic_fetch_add_explicit(&cp.copy_bytes, bytes, memory_order_relaxed);
}

/* Compact cs's claimed slots, BATCH_MAX at a time, answering faults in
 * between. */
static void cp_compact_slab(struct cslab *cs)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < cs->nslots && cs->nclaimed > 0; i++) {
        if (cs->slots[i].state != SLOT_CLAIMED)
            continue;
        cp.batch[n++] = i;
        if (n == BATCH_MAX) {
            cp_batch(cs, n);
            n = 0;
            cp_faults_drain();
        }
    }
    if (n > 0)
        cp_batch(cs, n);
}

/* Let go of cs's claims (its slots could not be registered). */
static void cp_unclaim(struct cslab *cs)
{
    for (uint32_t i = 0; i < cs->nslots && cs->nclaimed > 0; i++)
        if (cs->slots[i].state == SLOT_CLAIMED) {
            cs->slots[i] = (struct cslot){0};
            cs->nclaimed--;
        }
}

/* One pass: look at the next PASS_HEADERS headers, compact the
 * candidates among them, slab by slab.  Returns: false if it claimed
 * nothing and its walk reached the last header. */
static bool cp_pass(void)
{
    int64_t now = atomic_load_explicit(&goc__coarse.now, memory_order_relaxed);
    bool claimed = false, wrapped = false;
    for (uint32_t k = 0; k < PASS_HEADERS; k++) {
        goc__g *g = goc__g_at(cp.cursor);
        if (g == NULL) {
            cp.cursor = 0;
            wrapped = true;
            break;
        }
        cp.cursor++;
        cp_consider(g, now);
    }
    for (uint32_t i = 0; i < cp.nslabs; i++) {
        struct cslab *cs = &cp.slabs[i];
        if (cs->nclaimed == 0)
            continue;
        claimed = true;
        if (cslab_register(cs, cs->claim_max))
            cp_compact_slab(cs);
        else
            cp_unclaim(cs);
        cp_faults_drain();
    }
    cslabs_unregister_idle();
    return claimed || !wrapped;
}

static void *cp_stack_thread(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "goc-stacks"); /* for top, perf */
    int64_t every = PASS_NS;
    int64_t next = goc__nanotime() + every;
    for (;;) {
        struct pollfd pf[2] = {{.fd = cp.uffd, .events = POLLIN},
                               {.fd = cp.stopfd, .events = POLLIN}};
        int64_t left = next - goc__nanotime();
        int ms = left > 0 ? (int)((left + 999999) / 1000000) : 0;
        (void)poll(pf, 2, ms); /* EINTR: looks again */
        cp_faults_drain();
        if (pf[1].revents != 0)
            return NULL;
        if (goc__nanotime() >= next) {
            /* a pass that finds nothing doubles the wait for the next,
             * up to PASS_IDLE_NS: an idle program is not woken 100
             * times a second */
            every = cp_pass() ? PASS_NS
                    : every * 2 < PASS_IDLE_NS ? every * 2 : PASS_IDLE_NS;
            next = goc__nanotime() + every;
        }
    }
}

/* ---- start, stop ---- */

/* A userfaultfd that sees kernel-mode accesses too (a read(2) into a
 * compacted stack): without UFFD_USER_MODE_ONLY, which an unprivileged
 * process gets only with vm.unprivileged_userfaultfd = 1; else through
 * /dev/userfaultfd, where its mode allows.  Returns: the fd, or -errno. */
static int cp_uffd_open(void)
{
    long fd = syscall(SYS_userfaultfd, (long)(O_CLOEXEC | O_NONBLOCK));
    if (fd < 0 && errno != ENOSYS) {
        int err = errno;
        int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
        if (dev < 0)
            return -err;
        fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
        close(dev);
    }
    if (fd < 0)
        return -errno;
    struct uffdio_api api = {.api = UFFD_API};
    if (ioctl((int)fd, UFFDIO_API, &api) != 0) {
        int err = errno;
        close((int)fd);
        return -err;
    }
    return (int)fd;
}

/* Returns: why compaction cannot run in this process, or NULL. */
static const char *cp_unavailable(void)
{
#ifdef GOC_HAVE_ASAN
    return "ASan: a copy would read redzones and miss fake stacks";
#endif
#ifdef GOC_HAVE_TSAN
    return "TSan: it cannot see the copies and restores";
#endif
    if (COMPACT_VALGRIND())
        return "valgrind does not know userfaultfd";
    return NULL;
}

static void cp_set_state(int state, const char *why)
{
    atomic_store_explicit(&cp.why, why, memory_order_relaxed);
    atomic_store_explicit(&cp.state, state, memory_order_release);
}

void goc__compact_start(void)
{
    atomic_store(&cp.compacted, 0);
    atomic_store(&cp.copy_bytes, 0);
    atomic_store(&cp.compactions, 0);
    atomic_store(&cp.restores, 0);
    atomic_store(&cp.faults, 0);
    atomic_store(&cp.abandoned, 0);
    if (!goc__env.compact_stacks) {
        cp_set_state(GOC_COMPACT_OFF, NULL);
        return;
    }
    const char *why = cp_unavailable();
    if (why != NULL) {
        cp_set_state(GOC_COMPACT_UNAVAILABLE, why);
        return;
    }
    if (!goc__stack_guards_madvise()) {
        /* Compaction removes a stack's guard page and installs it again:
         * with mprotect's that is a mapping split and merged each time,
         * and the slabs it finds stacks in are told by their guards
         * (goc__stack_slab_find). */
        cp_set_state(GOC_COMPACT_UNAVAILABLE,
                     "the stacks' guard pages are mprotect's, not "
                     "MADV_GUARD_INSTALL's (Linux 6.13; GOC_STACK_GUARD)");
        return;
    }
    int fd = cp_uffd_open();
    if (fd < 0) {
        cp_set_state(GOC_COMPACT_UNAVAILABLE,
            fd == -ENOSYS ? "no userfaultfd in this kernel"
            : fd == -EPERM || fd == -EACCES
                ? "no full userfaultfd for this process "
                  "(vm.unprivileged_userfaultfd is 0)"
                : "userfaultfd refused");
        return;
    }
    cp.uffd = fd;
    cp.stopfd = eventfd(0, EFD_CLOEXEC);
    size_t tables = MAX_CSLABS * sizeof *cp.slabs;
    char *mem = mmap(NULL, 2 * cp_ps() + tables, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (cp.stopfd < 0 || mem == MAP_FAILED) {
        if (mem != MAP_FAILED)
            munmap(mem, 2 * cp_ps() + tables);
        goc__compact_stop();
        cp_set_state(GOC_COMPACT_UNAVAILABLE, "out of memory");
        return;
    }
    cp.bounce = mem;
    cp.zero = mem + cp_ps();
    cp.slabs = (struct cslab *)(mem + 2 * cp_ps());
    cp.nslabs = 0;
    cp.last = NULL;
    cp.cursor = 0;
    long pid = syscall(SYS_pidfd_open, (long)getpid(), 0L);
    cp.pidfd = pid > 0 ? (int)pid : -1;
    int64_t ms = goc__env.compact_after_ms;
    cp.after_ns = ms >= 0 ? ms * 1000 * 1000 : DEFAULT_AFTER_NS;
    /* The stack thread takes no signal: preemption's and the dump's are
     * for Ms, and a fault of its own is a bug to die of. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&cp.thread, NULL, cp_stack_thread, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        goc__compact_stop();
        cp_set_state(GOC_COMPACT_UNAVAILABLE, "cannot create the stack thread");
        return;
    }
    cp.running = true;
    cp_set_state(GOC_COMPACT_ON, NULL);
}

void goc__compact_stop(void)
{
    if (cp.running) {
        uint64_t one = 1;
        (void)!write(cp.stopfd, &one, sizeof one);
        pthread_join(cp.thread, NULL);
        cp.running = false;
    }
    /* Closing the userfaultfd unregisters every slab; the stacks still
     * compacted belong to goroutines that will never run, and their slabs
     * are unmapped next. */
    if (cp.uffd >= 0)
        close(cp.uffd);
    if (cp.stopfd >= 0)
        close(cp.stopfd);
    if (cp.pidfd > 0)
        close(cp.pidfd);
    for (uint32_t i = 0; cp.slabs != NULL && i < cp.nslabs; i++)
        munmap(cp.slabs[i].slots,
               cp.slabs[i].nslots * sizeof *cp.slabs[i].slots);
    if (cp.bounce != NULL)
        munmap(cp.bounce, 2 * cp_ps() + MAX_CSLABS * sizeof *cp.slabs);
    while (cp.arenas != NULL) {
        char *a = cp.arenas;
        memcpy(&cp.arenas, a, sizeof cp.arenas);
        munmap(a, ARENA_BYTES);
    }
    memset(cp.free, 0, sizeof cp.free);
    cp.arena = cp.arena_end = NULL;
    cp.bounce = cp.zero = NULL;
    cp.slabs = NULL;
    cp.nslabs = 0;
    cp.uffd = cp.stopfd = -1;
    cp.pidfd = 0;
    /* the state and the counts stay, for goc_compact_stats_read after the
     * run */
}

void goc__compact_abandon(void)
{
    if (cp.running)
        pthread_detach(cp.thread);
    cp.running = false;
}

void goc_compact_stats_read(goc_compact_stats *st)
{
    memset(st, 0, sizeof *st);
    st->state = atomic_load_explicit(&cp.state, memory_order_acquire);
    st->why = atomic_load_explicit(&cp.why, memory_order_relaxed);
    st->compacted = atomic_load_explicit(&cp.compacted, memory_order_relaxed);
    st->copy_bytes =
        atomic_load_explicit(&cp.copy_bytes, memory_order_relaxed);
    st->compactions =
        atomic_load_explicit(&cp.compactions, memory_order_relaxed);
    st->restores = atomic_load_explicit(&cp.restores, memory_order_relaxed);
    st->faults = atomic_load_explicit(&cp.faults, memory_order_relaxed);
    st->abandoned = atomic_load_explicit(&cp.abandoned, memory_order_relaxed);
}
