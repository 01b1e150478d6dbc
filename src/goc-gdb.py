# SPDX-License-Identifier: MIT
# goc-gdb.py - goroutines in gdb, for a live process or a core file:
#
#   info goroutines     one line per goroutine: "*" for the one running on
#                       the selected thread, its id, its status (the wait
#                       reason of a parked one) and where it is: its first
#                       frame outside goc, as "function file:line"
#   goroutine N bt      goroutine N's stack
#   goroutine all bt    every goroutine's stack
#
# The library carries this file in its .debug_gdb_scripts section, so gdb
# loads it with any program linked with goc, from a module under its
# auto-load safe-path (add-auto-load-safe-path); "source goc-gdb.py" loads
# it by hand.  Design: docs/design/debugging.md.
#
# What it reads, and why that way:
#   - goc is usually built without debug info, so the layout of its
#     structures comes from goc__gdb_info (src/goroutine.c), a table of
#     words found through its symbol: where the goroutine headers are,
#     their field offsets, the saved context's slots, the bounds of goc's
#     runtime text.  GDB_INFO_FIELDS below names its words in order.
#   - A parked goroutine is walked from its saved context by frame
#     pointers (goc builds with them, and asks programs to): it reads
#     memory only, so it works alike on a core file, where no register can
#     be written, and on a live process.  Code built without frame
#     pointers ends such a walk early.  goc's own frames at the top of the
#     stack (the park and switch path) are left out, as goc's dumps do
#     (src/debug.c); the walk ends at the goroutine's entry frame.
#   - A running goroutine's registers are those of the thread running it
#     (the M whose curg it is, matched to a gdb thread by its kernel thread
#     id): gdb's own unwinder walks it there.
#   - goc's own goroutines (system) are left out, as Go hides its own.
# Nothing is cached between commands: the program may have run since.

import re
import struct

import gdb

GDB_INFO_MAGIC = 0x676F632D67646200  # "goc-gdb"
GDB_INFO_VERSION = 1
GDB_INFO_FIELDS = (
    "magic", "version", "nwords",
    "chunks", "nchunks", "g_chunk", "g_size",
    "g_status", "g_system", "g_is_main", "g_fn", "g_goid", "g_parent_goid",
    "g_gopc", "g_name", "g_sp", "g_waitreason", "g_stack_lo", "g_stack_hi",
    "g_async_ctx", "g_lockedm", "g_lockcount",
    "allm", "m_tid", "m_curg", "m_alllink",
    "ctx_fp_slot", "ctx_pc_slot", "ctx_entry",
    "runtime_lo", "runtime_hi", "entry_lo", "entry_hi",
    "uc_pc", "uc_fp",
)

# Goroutine states (src/runtime.h, GOC__G*): the ones worth listing.
G_RUNNABLE, G_RUNNING, G_WAITING = 1, 2, 3
MAX_FRAMES = 128
MAX_MS = 1 << 16
WORD = 8  # x86-64 and arm64, both little-endian
UNREADABLE = "? (its stack cannot be read)"


def _read(addr, n):
    return bytes(gdb.selected_inferior().read_memory(addr, n))


def _word(addr):
    return struct.unpack("<Q", _read(addr, WORD))[0]


def _cstring(addr, limit=256):
    """The NUL-terminated string at addr, or None."""
    if addr == 0:
        return None
    out = b""
    while len(out) < limit:
        try:
            piece = _read(addr + len(out), 16)
        except gdb.MemoryError:
            try:  # the string may end just before an unmapped page
                piece = _read(addr + len(out), 1)
            except gdb.MemoryError:
                break
        end = piece.find(b"\0")
        if end >= 0:
            out += piece[:end]
            break
        out += piece
    return out.decode("utf-8", "replace")


def _table_address():
    """Where goc__gdb_info is, by its symbol (a minimal symbol will do)."""
    try:
        v = gdb.parse_and_eval("&goc__gdb_info")
    except gdb.error:
        return None
    return int(v.cast(gdb.lookup_type("unsigned long")))


# ---- symbols ----

def _minsym_name(pc):
    """The ELF symbol around pc, for code without debug info."""
    try:
        s = gdb.execute("info symbol 0x%x" % pc, to_string=True)
    except gdb.error:
        return None
    m = re.match(r"(.+?)(?: \+ \d+)? in section ", s)
    return m.group(1) if m else None


def describe(pc):
    """(function, "file:line" or None, module, outer function) of the code
    at pc, which is inside the call it stands for (a return address minus
    one).  With debug info, function is the innermost inlined one (as
    gdb's first frame for pc) and outer the one that holds the code."""
    name = outer = None
    try:
        block = gdb.block_for_pc(pc)
    except RuntimeError:
        block = None
    while block is not None:
        if block.function is not None:
            outer = block.function.print_name
            name = name or outer
        block = block.superblock
    if name is None:
        name = outer = _minsym_name(pc)
    where = None
    sal = gdb.find_pc_line(pc)
    if sal.symtab is not None and sal.line > 0:
        where = "%s:%d" % (sal.symtab.filename, sal.line)
    module = gdb.solib_name(pc)
    if module is None:
        module = gdb.current_progspace().filename
    return name or "??", where, module, outer or "??"


def is_goc(function):
    """Is this function goc's own (its prefixes are goc_ and goc__)?"""
    return function.startswith("goc_")


class Frame(object):
    """One frame of a goroutine: pc as gdb shows it (a return address for
    callers) and lookup, the address inside the call."""

    def __init__(self, pc, lookup):
        self.pc = pc
        self.lookup = lookup

    def where(self):
        name, loc, _, _ = describe(self.lookup)
        return "%s %s" % (name, loc) if loc else name

    def bt_line(self, level):
        name, loc, module, _ = describe(self.lookup)
        s = "#%-2d 0x%016x in %s ()" % (level, self.pc, name)
        if loc:
            return s + " at " + loc
        return s + " from " + module if module else s


def _outer_name(frame):
    """The name of the function that holds frame's code: frame's own, or
    for an inlined call the caller's it was inlined into."""
    while frame.type() == gdb.INLINE_FRAME and frame.older() is not None:
        frame = frame.older()
    return frame.name() or "??"


# ---- threads ----

def _frame_level(frame):
    try:
        return frame.level()
    except AttributeError:  # gdb before 11
        n, f = 0, gdb.newest_frame()
        while f is not None and f != frame:
            n, f = n + 1, f.older()
        return n


class OnThread(object):
    """Select thread th for the body of a with statement, then go back to
    the thread and frame that were selected."""

    def __init__(self, th):
        self.th = th

    def __enter__(self):
        self.old = gdb.selected_thread()
        try:
            self.level = _frame_level(gdb.selected_frame())
        except gdb.error:
            self.level = None
        self.th.switch()
        return self

    def __exit__(self, *exc):
        if self.old is not None and self.old.is_valid():
            self.old.switch()
            if self.level:
                f = gdb.newest_frame()
                for _ in range(self.level):
                    if f.older() is None:
                        break
                    f = f.older()
                f.select()
        return False


# ---- the runtime ----

class Goroutine(object):
    pass


class Goc(object):
    """The goc runtime of the selected inferior, as its memory is now."""

    def __init__(self):
        if gdb.selected_thread() is None:
            raise gdb.GdbError("goc: no process and no core file")
        addr = _table_address()
        if addr is None:
            raise gdb.GdbError(
                "goc: no symbol goc__gdb_info: the program does not use "
                "goc, or its symbols were stripped")
        magic, version, nwords = struct.unpack("<3Q", _read(addr, 3 * WORD))
        if magic != GDB_INFO_MAGIC:
            raise gdb.GdbError("goc: goc__gdb_info is not goc's table")
        # A word added or removed without a new version is caught here.
        if version != GDB_INFO_VERSION or nwords != len(GDB_INFO_FIELDS):
            raise gdb.GdbError(
                "goc: the program's goc has layout %d, this script knows %d"
                % (version, GDB_INFO_VERSION))
        n = len(GDB_INFO_FIELDS)
        words = struct.unpack("<%dQ" % n, _read(addr, n * WORD))
        self.__dict__.update(zip(GDB_INFO_FIELDS, words))
        self._ms = None

    def in_runtime(self, pc):
        return self.runtime_lo <= pc < self.runtime_hi

    def in_entry(self, pc):
        return self.entry_lo <= pc < self.entry_hi

    # -- headers --

    def goroutines(self):
        """Every live user goroutine, by id."""
        out = []
        nchunks = struct.unpack("<I", _read(self.nchunks, 4))[0]
        for i in range(nchunks):
            chunk = _word(self.chunks + i * WORD)
            if chunk == 0:
                continue
            buf = _read(chunk, self.g_chunk * self.g_size)
            for j in range(self.g_chunk):
                g = self._header(chunk, buf, j * self.g_size)
                if g is not None:
                    out.append(g)
        out.sort(key=lambda g: g.goid)
        return out

    def _header(self, chunk, buf, base):
        def word(off):
            return struct.unpack_from("<Q", buf, base + off)[0]

        status = struct.unpack_from("<I", buf, base + self.g_status)[0]
        if status not in (G_RUNNABLE, G_RUNNING, G_WAITING):
            return None  # free or dead
        if buf[base + self.g_system]:
            return None
        g = Goroutine()
        g.addr = chunk + base
        g.status = status
        g.goid = struct.unpack_from("<q", buf, base + self.g_goid)[0]
        g.parent_goid = struct.unpack_from("<q", buf,
                                           base + self.g_parent_goid)[0]
        g.fn = word(self.g_fn)
        g.gopc = word(self.g_gopc)
        g.name = word(self.g_name)
        g.sp = word(self.g_sp)
        g.waitreason = word(self.g_waitreason)
        g.stack_lo = word(self.g_stack_lo)
        g.stack_hi = word(self.g_stack_hi)
        g.async_ctx = word(self.g_async_ctx)
        g.locked = word(self.g_lockedm) != 0
        if status == G_RUNNABLE and g.async_ctx != 0:
            # Parked with its thread by asynchronous preemption, which
            # wires it there: locked only if the program locked it.
            g.locked = struct.unpack_from("<I", buf,
                                          base + self.g_lockcount)[0] > 0
        g.is_main = buf[base + self.g_is_main] != 0
        return g

    def status(self, g):
        if g.status == G_RUNNABLE:
            s = "runnable"
        elif g.status == G_RUNNING:
            s = "running"
        else:
            s = _cstring(g.waitreason) or "waiting"
        return s + ", locked to thread" if g.locked else s

    # -- threads --

    def ms(self):
        """(kernel thread id, current goroutine) of every M."""
        if self._ms is None:
            self._ms = []
            m, seen = _word(self.allm), set()
            while m != 0 and m not in seen and len(seen) < MAX_MS:
                seen.add(m)
                tid = struct.unpack("<i", _read(m + self.m_tid, 4))[0]
                self._ms.append((tid, _word(m + self.m_curg)))
                m = _word(m + self.m_alllink)
        return self._ms

    def thread_of(self, g):
        """The gdb thread running g, or None."""
        if g.status != G_RUNNING:
            return None
        tids = [tid for tid, curg in self.ms() if curg == g.addr]
        for th in gdb.selected_inferior().threads():
            if th.ptid[1] in tids:
                return th
        return None

    def current(self):
        """The goroutine running on the selected thread's M, or 0."""
        th = gdb.selected_thread()
        for tid, curg in self.ms():
            if tid == th.ptid[1]:
                return curg
        return 0

    # -- stacks --

    def never_ran(self, g):
        if g.sp == 0:
            return True
        try:
            return _word(g.sp + self.ctx_pc_slot * WORD) == self.ctx_entry
        except gdb.MemoryError:
            return False

    def walk(self, g):
        """The frames of g, which is not running, innermost first, goc's
        own frames at the top left out."""
        if self.never_ran(g):
            return [Frame(g.fn, g.fn)]
        frames = []

        def push_return(ra):
            if len(frames) >= MAX_FRAMES or ra == 0 or self.in_entry(ra - 1):
                return False
            frames.append(Frame(ra, ra - 1))
            return True

        try:
            if g.status == G_RUNNABLE and g.async_ctx != 0:
                # Stopped by asynchronous preemption inside a signal
                # handler (src/preempt.c): the interrupted registers are
                # in the handler's ucontext.
                pc = _word(g.async_ctx + self.uc_pc)
                fp = _word(g.async_ctx + self.uc_fp)
                if not self.in_entry(pc):
                    frames.append(Frame(pc, pc))
            else:
                pc = _word(g.sp + self.ctx_pc_slot * WORD)
                fp = _word(g.sp + self.ctx_fp_slot * WORD)
                push_return(pc)
            # Each frame record is (caller's record, return address); a
            # record must lie in g's stack and each must be above the last,
            # so a stray frame pointer ends the walk instead of wandering.
            lo, hi = g.stack_lo, g.stack_hi
            while (frames and lo <= fp and fp + 2 * WORD <= hi
                   and fp % WORD == 0):
                nxt = _word(fp)
                if nxt <= fp or not push_return(_word(fp + WORD)):
                    break
                fp = nxt
        except gdb.MemoryError:
            # A core file may lack the stack: gdb's gcore drops each
            # chunk of memory it cannot read whole, and a guard page made
            # with MADV_GUARD_INSTALL inside a slab of stacks is one
            # (docs/design/debugging.md).
            pass
        while frames and self.in_runtime(frames[0].lookup):
            frames.pop(0)
        return frames

    def where(self, g):
        """The first frame of g outside goc, as "function file:line": below
        goc's runtime text and the goc_ call that blocked (the status says
        what that call waits for), so a parked goroutine shows the line of
        the program that parked it.  goc__ and goc_ are goc's prefixes; a
        function inlined into one of goc's (debug info shows those) is
        goc's too."""
        if g.status != G_RUNNING:
            frames = self.walk(g)
            for f in frames:
                name, loc, _, outer = describe(f.lookup)
                if not is_goc(outer):
                    return "%s %s" % (name, loc) if loc else name
            return frames[0].where() if frames else UNREADABLE
        th = self.thread_of(g)
        if th is None:
            return "? (no thread found for it)"
        with OnThread(th):
            f, pc, first = gdb.newest_frame(), None, None
            while f is not None:
                # A caller's pc is a return address: look just before it.
                pc = f.pc() if pc is None else f.pc() - 1
                if not self.in_runtime(pc):
                    first = first or f
                    if not is_goc(_outer_name(f)):
                        break
                f = f.older()
            f = f or first
            if f is None:
                return "?"
            sal = f.find_sal()
            name = f.name() or "??"
            if sal.symtab is not None and sal.line > 0:
                return "%s %s:%d" % (name, sal.symtab.filename, sal.line)
            return name

    def creator(self, g):
        if g.is_main or g.gopc == 0:
            return None
        _, loc, _, outer = describe(g.gopc - 1)
        s = "created by " + outer
        if g.parent_goid != 0:
            s += " in goroutine %d" % g.parent_goid
        return s + ("\n    at " + loc if loc else "")

    def backtrace(self, g):
        """Print g's stack."""
        head = "goroutine %d [%s]" % (g.goid, self.status(g))
        if g.name:
            head += ' "%s"' % _cstring(g.name)
        if g.status == G_RUNNING:
            th = self.thread_of(g)
            if th is None:
                gdb.write(head + ":\n\tno thread found for it\n")
            else:
                gdb.write("%s on thread %d:\n" % (head, th.num))
                with OnThread(th):
                    gdb.execute("backtrace")
        else:
            gdb.write(head + ":\n")
            frames = self.walk(g)
            for i, f in enumerate(frames):
                gdb.write(f.bt_line(i) + "\n")
            if not frames:
                gdb.write("\t%s\n" % UNREADABLE)
        c = self.creator(g)
        if c:
            gdb.write(c + "\n")


# ---- commands ----

class InfoGoroutines(gdb.Command):
    """List the goroutines of a goc program.
Usage: info goroutines
One line per goroutine: "*" marks the one running on the selected thread;
then its id, its status (the wait reason of a parked goroutine) and where
it is: its first frame outside goc (below goc's runtime and the goc_ call
that blocked), as "function file:line"."""

    def __init__(self):
        super(InfoGoroutines, self).__init__("info goroutines",
                                             gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        rt = Goc()
        cur = rt.current()
        rows = []
        for g in rt.goroutines():
            mark = "*" if g.addr == cur and g.status == G_RUNNING else " "
            try:
                where = rt.where(g)
            except gdb.error as e:  # one goroutine's trouble, not the list's
                where = "? (%s)" % e
            th = rt.thread_of(g)
            if th is not None:
                where += "  [thread %d]" % th.num
            if g.name:
                where += '  "%s"' % _cstring(g.name)
            rows.append((mark, str(g.goid), rt.status(g), where))
        wid = max([len("Id")] + [len(r[1]) for r in rows])
        wst = max([len("Status")] + [len(r[2]) for r in rows])
        gdb.write("  %-*s  %-*s  %s\n" % (wid, "Id", wst, "Status", "Where"))
        for mark, goid, status, where in rows:
            gdb.write("%s %-*s  %-*s  %s\n" % (mark, wid, goid, wst, status,
                                              where))


class GoroutineCmd(gdb.Command):
    """Show a goroutine's stack.
Usage: goroutine ID bt
       goroutine all bt
A parked goroutine is walked from where it parked by frame pointers (this
works on core files too), leaving out goc's own frames at the top; a
running one is shown with gdb's backtrace on the thread that runs it."""

    def __init__(self):
        super(GoroutineCmd, self).__init__("goroutine", gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        argv = gdb.string_to_argv(arg)
        if len(argv) != 2 or argv[1] not in ("bt", "backtrace"):
            raise gdb.GdbError("usage: goroutine ID bt | goroutine all bt")
        rt = Goc()
        gs = rt.goroutines()
        if argv[0] != "all":
            try:
                goid = int(argv[0], 0)
            except ValueError:
                raise gdb.GdbError("goroutine: %r is not an id" % argv[0])
            gs = [g for g in gs if g.goid == goid]
            if not gs:
                raise gdb.GdbError("goroutine: no goroutine %d" % goid)
        for i, g in enumerate(gs):
            if i > 0:
                gdb.write("\n")
            rt.backtrace(g)


InfoGoroutines()
GoroutineCmd()
