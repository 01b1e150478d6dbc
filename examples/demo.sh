#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The tour (SPEC §9): run each example from BUILD_DIR/examples in order,
# with a header before each.  `make demo` builds the Release tree and runs
#
#     sh examples/demo.sh build/release
#
# Stops at the first example that fails (or runs longer than
# DEMO_TIMEOUT seconds, default 120) and says which one.
set -u

if [ $# -ne 1 ]; then
    echo "usage: sh examples/demo.sh BUILD_DIR   (e.g. build/release)" >&2
    exit 2
fi
bin=$1/examples
if [ ! -d "$bin" ]; then
    echo "demo: $bin does not exist; build first (make demo does)" >&2
    exit 1
fi
timeout_s=${DEMO_TIMEOUT:-120}

out=$(mktemp "${TMPDIR:-/tmp}/goc-demo.XXXXXX") || exit 1
trap 'rm -f "$out"' EXIT
trap 'exit 130' INT TERM

step=0

# show FILE HEAD PATTERN: the first HEAD lines of FILE, then a note of how
# many lines were left out, then every line after the last line matching
# PATTERN (the example's closing explanation and summary).
show() {
    awk -v h="$2" -v pat="$3" '
        NR == FNR { if ($0 ~ pat) last = FNR; next }
        FNR <= h { print; next }
        FNR <= last { skipped++; next }
        {
            if (skipped > 0) {
                printf "   ... (%d more lines like these)\n", skipped
                skipped = 0
            }
            print
        }' "$1" "$1"
}

# run NAME TITLE [HEAD PATTERN]: run BUILD_DIR/examples/NAME under a
# header; with HEAD and PATTERN the output is trimmed by show().
run() {
    step=$((step + 1))
    echo "== $step. $2 =="
    prog=$bin/$1
    if [ ! -x "$prog" ]; then
        echo "demo: step $step: $prog not found; was it built?" >&2
        exit 1
    fi
    if command -v timeout >/dev/null 2>&1; then
        timeout "$timeout_s" "$prog" >"$out" 2>&1
    else
        "$prog" >"$out" 2>&1
    fi
    rc=$?
    if [ $# -ge 4 ]; then
        show "$out" "$3" "$4"
    else
        cat "$out"
    fi
    if [ "$rc" -eq 124 ]; then
        echo "demo: step $step ($1) did not finish in ${timeout_s}s; stopping" >&2
        exit 1
    elif [ "$rc" -ne 0 ]; then
        echo "demo: step $step ($1) failed with exit status $rc; stopping" >&2
        exit 1
    fi
    echo
}

run hello_goroutines "goroutines: unordered output of 1,000 goroutines" \
    20 '^hello from goroutine'
run waitgroup "sync.WaitGroup: wait for goroutines, then reuse it"
run stress_100k "stress: 100,000 goroutines alive at once, and their memory"
run gomaxprocs1 "GOMAXPROCS=1: cooperative scheduling, then two Ps"
run channels "channels: unbuffered, buffered, close and range, v, ok := <-c"
run broadcast "closing a channel is a broadcast"
run select_default "select: default, non-blocking operations, closed cases"
run select_timeout "select with a timeout: goc_after and goc_select_until"
run worker_pool "a worker pool"
run fanout_fanin "fan-out, fan-in"
run pipeline "a pipeline that shuts down by closing"
run counter_race "the counter++ race, fixed three ways: mutex, atomic, channel"
run deadlock "a deadlock with two mutexes, and the fix by lock ordering"
run once "sync.Once: lazy initialisation, exactly once"
run rwmutex_cache "sync.RWMutex: a read-heavy cache"
run context_tree "context: cancelling a tree of workers"
run deadline "context: a deadline on a slow operation"
run parallel_fetch "fetching endpoints: sequential, concurrent, errgroup"
run pipeline_cancel "a pipeline that shuts down cleanly on cancel"
run leak "a goroutine leak found with goc_num_goroutine, the dump and goc_leakcheck, and its fix"
run tcp_server "a concurrent TCP server: a goroutine per connection, 100 clients"
run echo_server "an echo server: read deadlines drop idle clients, half-close"
run port_scanner "a port scanner: a worker pool dialing with a timeout"
run blocking_call "a blocking call declared with goc_blocking_begin/end"
run debug_serve "the goroutines over HTTP: goc_debug_serve, grouped stacks, vars"

echo "== the tour ran: $step steps, all passed =="
