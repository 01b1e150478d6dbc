#!/bin/sh
# SPDX-License-Identifier: MIT
# check.sh PROG SOURCE SCRIPT WORK_DIR - the gdb extension (SCRIPT,
# src/goc-gdb.py, which the library embeds) on PROG, built from SOURCE
# (test/gdb/prog.c):
#   1. live: gdb -batch runs PROG to its breakpoint in test_gdb_here and
#      runs the extension's commands, then writes a core file (gcore);
#   2. core: a second gdb -batch runs the same commands on PROG and that
#      core file;
#   3. source: auto-loading off, the script loaded by hand on the core.
# Each output must list every goroutine of prog.c with its status and
# where it is (function and source line), and show their stacks.  The
# script is loaded the way users get it: automatically, from the
# program's .debug_gdb_scripts section (1, 2), or with "source" (3).
# Exit 77 (a skip) without gdb or without its Python support.  On failure
# the whole gdb output is shown.
set -u
prog=$1
src=$2
script=$3
work=$4

if ! command -v gdb > /dev/null 2>&1; then
    echo "gdb is not installed: skipped"
    exit 77
fi
if ! gdb -nx -batch -ex 'python print("py-ok")' 2> /dev/null | grep -q py-ok
then
    echo "this gdb has no Python: skipped"
    exit 77
fi

# gdb's gcore drops every chunk of memory (up to 1 MiB) that it cannot
# read whole, and a guard page that MADV_GUARD_INSTALL makes inside a slab
# of stacks (Linux 6.13 on) is unreadable: the core would lose the
# goroutines' stacks.  Guard pages made with mprotect are mappings of
# their own, which gcore leaves out cleanly.  (A core the kernel dumps has
# the stacks either way.)
GOC_STACK_GUARD=mprotect
export GOC_STACK_GUARD

rm -rf "$work"
mkdir -p "$work"
core=$work/core
# timeout: a program that never reaches its breakpoint must not hang the
# test until CTest's limit.
run_gdb() {
    timeout 100 gdb -nx -batch \
        -iex 'set auto-load safe-path /' \
        -iex 'set debuginfod enabled off' \
        -ex 'set pagination off' -ex 'set width 0' \
        "$@" < /dev/null 2>&1
}
# The commands under test, once the program is stopped or its core loaded
# (one -ex each: an error in one does not stop the others).
set -- \
    -ex 'echo \n=== info goroutines\n' -ex 'info goroutines' \
    -ex 'echo \n=== goroutine all bt\n' -ex 'goroutine all bt' \
    -ex 'echo \n=== goroutine RECEIVER bt\n' \
    -ex 'eval "goroutine %d bt", gdb_receiver_goid' \
    -ex 'echo \n=== goroutine 1 bt\n' -ex 'goroutine 1 bt' \
    -ex 'echo \n=== end\n'

line_of() {
    grep -n "$1" "$src" | cut -d: -f1
}
recv=$(line_of GDB_LINE_RECV)
lock=$(line_of GDB_LINE_LOCK)
sleep=$(line_of GDB_LINE_SLEEP)
here=$(line_of GDB_LINE_HERE)
file=$(basename "$src")

failed=0
# expect WHAT OUTPUT REGEX: OUTPUT has a line matching the extended REGEX.
expect() {
    if ! grep -Eq -- "$3" "$2"; then
        echo "FAIL ($1): no line matches: $3"
        failed=1
    fi
}

check() {
    what=$1
    out=$2
    # info goroutines: "*" marks main, running on the selected thread.
    expect "$what" "$out" "^\* +1 +running +test_gdb_here .*$file:[0-9]+"
    id='^  +[0-9]+ +'
    expect "$what" "$out" "$id"'chan receive +'"gdb_receiver .*$file:$recv( |\$)"
    expect "$what" "$out" "$id"'sync\.Mutex\.Lock +'"gdb_locker .*$file:$lock( |\$)"
    expect "$what" "$out" "$id"'sleep +'"gdb_sleeper .*$file:$sleep +\"sleeper\"\$"
    expect "$what" "$out" "$id"'runnable +'"gdb_never_ran .*$file:[0-9]+\$"
    # goroutine all bt: each stack, the program's frame with its line.
    expect "$what" "$out" "^goroutine [0-9]+ \[chan receive\]:\$"
    fr='^#[0-9] +0x[0-9a-f]+ in '
    expect "$what" "$out" "$fr"'gdb_receiver \(\)'" at .*$file:$recv\$"
    expect "$what" "$out" "^goroutine [0-9]+ \[sync\.Mutex\.Lock\]:\$"
    expect "$what" "$out" "$fr"'gdb_locker \(\)'" at .*$file:$lock\$"
    expect "$what" "$out" "^goroutine [0-9]+ \[sleep\] \"sleeper\":\$"
    expect "$what" "$out" "$fr"'gdb_sleeper \(\)'" at .*$file:$sleep\$"
    expect "$what" "$out" "^goroutine [0-9]+ \[runnable\]:\$"
    expect "$what" "$out" "$fr"'gdb_never_ran \(\)'" at .*$file:[0-9]+\$"
    expect "$what" "$out" "^created by gdb_main in goroutine 1\$"
    # goroutine N bt for one goroutine: that goroutine alone.
    sed -n '/^=== goroutine RECEIVER bt/,/^=== goroutine 1 bt/p' "$out" \
        > "$out.one"
    expect "$what: goroutine N bt" "$out.one" \
        "^goroutine [0-9]+ \[chan receive\]:\$"
    expect "$what: goroutine N bt" "$out.one" \
        "$fr"'gdb_receiver \(\)'" at .*$file:$recv\$"
    if grep -q 'gdb_locker\|gdb_sleeper' "$out.one"; then
        echo "FAIL ($what): goroutine N bt shows other goroutines"
        failed=1
    fi
    # goroutine 1 bt: main, running, through gdb's own backtrace.
    sed -n '/^=== goroutine 1 bt/,/^=== end/p' "$out" > "$out.main"
    expect "$what: goroutine 1 bt" "$out.main" \
        "^goroutine 1 \[running\] on thread [0-9]+:\$"
    expect "$what: goroutine 1 bt" "$out.main" "^#0 .*test_gdb_here "
    expect "$what: goroutine 1 bt" "$out.main" \
        "^#1 .* gdb_main .*$file:$here\$"
    if grep -q 'Python Exception\|Error occurred in Python\|Undefined command' \
        "$out"; then
        echo "FAIL ($what): gdb reported an error"
        failed=1
    fi
}

# 1. live.  prog.c's last goroutine must not have run by the time gdb has
# stopped every thread; sysmon may rarely have lent a P that ran it (see
# prog.c): then the run is tried again.
for try in 1 2 3 4 5; do
    rm -f "$core"
    run_gdb -ex 'break test_gdb_here' -ex run \
        -ex 'printf "never_ran_started=%d\n", gdb_never_ran_started' \
        "$@" -ex "gcore $core" -ex kill "$prog" > "$work/live.out"
    grep -q '^never_ran_started=1' "$work/live.out" || break
    echo "run $try: the last goroutine ran before gdb stopped it; again"
done
check live "$work/live.out"
if [ ! -s "$core" ]; then
    echo "FAIL: gdb wrote no core file"
    failed=1
else
    # 2. the core file
    run_gdb "$@" "$prog" "$core" > "$work/core.out"
    check core "$work/core.out"
    # The same answers both ways (but for gdb's thread numbers).
    strip_threads() {
        sed -n '/^=== info goroutines/,/^=== goroutine all bt/p' "$1" |
            sed 's/\[thread [0-9]*\]//'
    }
    # 3. "source", for a program whose scripts gdb does not load.
    run_gdb -iex 'set auto-load python-scripts off' \
        -ex 'echo \n=== before source\n' -ex 'info goroutines' \
        -ex "source $script" \
        -ex 'echo \n=== info goroutines\n' -ex 'info goroutines' \
        "$prog" "$core" > "$work/source.out"
    expect source "$work/source.out" \
        "^  +[0-9]+ +chan receive +gdb_receiver .*$file:$recv( |\$)"
    if sed '/^=== info goroutines/q' "$work/source.out" |
        grep -q 'gdb_receiver'; then
        echo "FAIL (source): the script was loaded before source"
        failed=1
    fi
    strip_threads "$work/live.out" > "$work/live.list"
    strip_threads "$work/core.out" > "$work/core.list"
    if ! cmp -s "$work/live.list" "$work/core.list"; then
        echo "FAIL: info goroutines differs between the process and its core:"
        diff "$work/live.list" "$work/core.list"
        failed=1
    fi
fi

if [ "$failed" -ne 0 ]; then
    for f in live core source; do
        if [ -f "$work/$f.out" ]; then
            echo "---- gdb output ($f) ----"
            cat "$work/$f.out"
        fi
    done
    exit 1
fi
echo "gdb extension: live and core outputs as expected"
rm -f "$core"
