#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The tour (SPEC §9): the examples as the steps of a Go concurrency course.
# Each step prints its title, what it shows and what to look for, then the
# program's output (trimmed where it is long), then its wall time; a table
# of the steps that ran, with the total, ends the tour.
#
#     sh examples/demo.sh build/release              every step
#     sh examples/demo.sh --list                     the steps, numbered
#     sh examples/demo.sh --step 5 build/release     step 5 only
#     sh examples/demo.sh --step 3-7 --step 12 build/release
#
# `make demo` builds the Release tree and runs the first form; `make demo
# STEP=5` (or STEP=3-7, STEP='1 5') runs some steps, and DEMO_ARGS passes
# anything else (`make demo DEMO_ARGS=--list`).  Steps run in the tour's
# order, whatever the order of the --step options.
#
# The tour stops at the first step that fails: one that exits non-zero, is
# not built, or runs longer than DEMO_TIMEOUT seconds (default 120).  The
# table then shows the steps so far and the script exits with status 1; a
# later step says little while an earlier one is broken.  Usage errors
# (an unknown option, a step that does not exist): status 2.
#
# Adding a step is one entry in steps() below (and the program in
# examples/CMakeLists.txt).
set -u

# The steps, in order.  An entry starts with a line
#
#     NAME | TITLE
#
# or, for a program whose output is long,
#
#     NAME | TITLE | HEAD | PATTERN
#
# NAME is the program (examples/NAME.c, built as BUILD_DIR/examples/NAME),
# TITLE the step's title.  With HEAD and PATTERN the output shows its first
# HEAD lines, how many lines were left out, and every line after the last
# one that matches PATTERN (an awk regular expression), where the examples
# print their closing explanation.  The indented lines below it, two or
# three, say what the step shows: the Go it mirrors, and what to look for.
# " | " separates the fields: keep it out of titles and patterns.
steps() {
    cat <<'EOF'
hello_goroutines | goroutines: unordered output of 1,000 goroutines | 20 | ^hello from goroutine
    Go: `go f(i)` for i from 0 to 999, then wg.Wait(); goc_go(f, arg) is the go statement.
    Look for: lines out of spawn order, and the program's own account of why: two
    threads at once, the runnext slot, bounded run queues and work stealing.

waitgroup | sync.WaitGroup: wait for goroutines, then reuse it
    Go: wg.Add(1); go func() { defer wg.Done() ... }(); wg.Wait(), and Go 1.25's wg.Go.
    Look for: every goroutine's result visible to main once Wait returns, and the
    same goc_wg counting a second round.

stress_100k | stress: 100,000 goroutines alive at once, and their memory
    Go: 100,000 go statements alive at once; runtime.NumGoroutine is goc_num_goroutine.
    Look for: a few KiB of resident memory per goroutine (a thread reserves 8 MiB):
    stacks are committed only where touched.  They wait parked on one channel, as in Go.

gomaxprocs1 | GOMAXPROCS=1: cooperative scheduling, then two Ps
    Go: runtime.GOMAXPROCS(1) and runtime.Gosched (goc_maxprocs, goc_yield).
    Look for: with one P, goroutines take turns only where they yield, and main's spin
    starves the ticker (0 ticks); with two Ps the ticker runs beside it.

channels | channels: unbuffered, buffered, close and range, v, ok := <-c
    Go: make(chan int), make(chan int, 3), c <- v, <-c, close(c), for v := range c.
    Look for: an unbuffered send waits for its receiver; a full buffer makes try_send say
    GOC_EAGAIN; a closed, drained channel gives the zero value and ok=false (GOC_ECLOSED).

broadcast | closing a channel is a broadcast
    Go: close(start) on a chan struct{} that many goroutines wait on with <-start.
    Look for: one close wakes all five runners at once, in whatever order they get a thread.

select_default | select: default, non-blocking operations, closed cases
    Go: select { case v := <-c: ... default: ... }, and a closed channel's case set to nil.
    Look for: the default branch when nothing is ready (goc_select_try's GOC_EAGAIN), and a
    loop that disables each closed channel's case (NULL) until both are done.

select_timeout | select with a timeout: goc_after and goc_select_until
    Go: select { case v := <-c: ... case <-time.After(d): ... }.
    Look for: the answer wins when it beats the timer, the timeout when it does not;
    goc_select_until takes the deadline as an argument and allocates nothing for it.

worker_pool | a worker pool
    Go: workers that `for j := range jobs { results <- f(j) }`; main closes jobs, collects.
    Look for: every job done exactly once (the sum checks it), spread over the four workers.

fanout_fanin | fan-out, fan-in
    Go: workers reading one channel (fan-out), and a merge loop that selects over their
    output channels until every one is closed (fan-in).
    Look for: the merged sum is right, and each worker's share of it.

pipeline | a pipeline that shuts down by closing
    Go: generate -> square -> sum, each stage `for v := range in { out <- f(v) }; close(out)`.
    Look for: the end of the stream flowing down as one close per stage; the sum proves
    that no value was lost.

counter_race | the counter++ race, fixed three ways: mutex, atomic, channel
    Go: counter++ from 8 goroutines (go run -race flags it), then sync.Mutex, sync/atomic,
    and one goroutine that owns the counter and takes increments from a channel.
    Look for: the updates the race loses, and each fix's cost per increment.

deadlock | a deadlock with two mutexes, and the fix by lock ordering
    Go: "fatal error: all goroutines are asleep - deadlock!" when two goroutines lock
    a then b and b then a.
    Look for: goc's report of what each goroutine waits for (in a child process, exit
    status 2), and the fix: every goroutine takes the locks in one global order.

once | sync.Once: lazy initialisation, exactly once
    Go: once.Do(build) from ten goroutines, against a plain `if !ready` flag.
    Look for: the flag builds the table many times; goc_once_do builds it once, and no
    caller sees it half built.

rwmutex_cache | sync.RWMutex: a read-heavy cache
    Go: mu.RLock/RUnlock around lookups, mu.Lock/Unlock around the rare store.
    Look for: how many readers were inside at once (all 8 against 1 with a plain mutex),
    and the time each lock took.

context_tree | context: cancelling a tree of workers
    Go: context.WithCancel at every level; workers select on ctx.Done() between steps.
    Look for: cancelling one team stops only its workers; cancelling the root stops
    everything below it, and goc_num_goroutine counts what is left.

deadline | context: a deadline on a slow operation
    Go: context.WithTimeout(ctx, d) and ctx.Err() == context.DeadlineExceeded.
    Look for: the query within its deadline finishes, the other gives up at the deadline
    (GOC_ETIMEDOUT), and a parent's earlier deadline beats a child's longer timeout.

http_fetch | fetching HTTP endpoints: sequential, concurrent, errgroup
    Go: http.Get on five local servers one after another, then a goroutine each with a
    WaitGroup, then errgroup.WithContext; each handler waits on r.Context().
    Look for: sequential is the sum of the latencies, concurrent the slowest; with a
    failing endpoint the group's ctx cancels the other GETs (GOC_ECANCELED).

pipeline_cancel | a pipeline that shuts down cleanly on cancel
    Go: each stage sends with select { case out <- v: case <-ctx.Done(): return }.
    Look for: the consumer takes 10 values and cancels; goc_num_goroutine falls back to 1,
    no stage is left blocked on a send.

leak | a goroutine leak found with goc_num_goroutine, the dump and goc_leakcheck, and its fix
    Go: a sender blocked for ever on a channel nobody reads (goleak finds them in tests).
    Look for: the goroutine count that grows, "(leaked)" in the dump, goc_leakcheck's
    count, and the fix: a buffer of one lets the sender finish.

tcp_server | a concurrent TCP server: a goroutine per connection, 100 clients
    Go: net.Listen, an Accept loop that does `go handle(conn)`, ln.Close() to stop.
    Look for: 100 clients served at once, each visitor number handed out once, and the
    shutdown: closing the listener ends the accept loop with GOC_ECLOSED.

echo_server | an echo server: read deadlines drop idle clients, half-close
    Go: conn.SetReadDeadline before each Read, and TCPConn.CloseWrite.
    Look for: the client that goes quiet is dropped after 250 ms (GOC_ETIMEDOUT), and the
    clients that half-close still read their whole echo.

chat_server | a chat server: a goroutine per client, one broadcaster owning the clients
    Go: the chat server of The Go Programming Language, 8.10: entering, leaving and
    messages channels, the broadcaster's select loop, a writer ranging over its channel.
    Look for: every client hears arrivals, lines and departures; only main is left.

port_scanner | a port scanner: a worker pool dialing with a timeout
    Go: workers ranging over a channel of ports, net.DialTimeout on each.
    Look for: open, refused and timed-out ports (only the 200 ms dial deadline tells the
    last kind apart), checked against the ports the program opened itself.

crawler | a crawler with at most 3 requests in flight
    Go: the book's crawler (8.6) with semaphore.NewWeighted(3); main alone owns the seen map.
    Look for: 50 pages each fetched once despite the cycles, the broken link, at most 3
    in flight on both sides, and the time against 50 pages one at a time.

blocking_call | a blocking call declared with goc_blocking_begin/end
    Go: the runtime's entersyscall/exitsyscall around every system call; C must declare them.
    Look for: with GOMAXPROCS=1 the ticker ticks on while main waits in read(2), and a
    goroutine stuck in a read does not keep the program from ending.

debug_serve | the goroutines over HTTP: goc_debug_serve, grouped stacks, vars
    Go: net/http/pprof's /debug/pprof/goroutine?debug=1 and expvar's /debug/vars.
    Look for: goroutines grouped by identical stacks (three workers in one group, the
    leaked sender alone), and the runtime's counters as JSON.

http_aggregator | an HTTP handler aggregating three backends under one deadline
    Go: context.WithTimeout(r.Context(), 200ms), a goroutine per backend call, wg.Wait(),
    and backends that select on r.Context().Done().
    Look for: a partial answer at ~200 ms with the slow backend "timed out", its handler
    told its client hung up, and goc_num_goroutine back at its baseline.

synctest | deterministic tests: virtual time, and a schedule that is a seed
    Go: testing/synctest (Go 1.24): synctest.Test, synctest.Wait, a fake clock that jumps
    when every goroutine waits; and, beyond Go, seeded schedules as loom and shuttle have.
    Look for: hours of timeouts and ticks in milliseconds, exact times, and the lost wake-up
    found by searching seeds, then replayed from its GOC_SEED.
EOF
}

# table MODE [N]: read steps().  MODE count: the number of steps; list: the
# numbered list; fields N: step N's NAME, TITLE, HEAD and PATTERN, separated
# by tabs; explain N: step N's explanation, indented; width: the longest
# NAME.  A malformed entry stops it with status 3.
table() {
    steps | awk -v mode="$1" -v want="${2:-0}" '
        function bad(msg) {
            printf "demo: the table in steps(), its line %d: %s\n", NR, msg > "/dev/stderr"
            failed = 1
            exit 3
        }
        /^[ \t]*$/ { next }
        /^[ \t]/ {
            if (n == 0)
                bad("an explanation before the first step")
            sub(/^[ \t]+/, "")
            expl[n] = expl[n] "     " $0 "\n"
            next
        }
        {
            nf = split($0, f, / [|] /)
            if ((nf != 2 && nf != 4) || f[1] !~ /^[A-Za-z0-9_]+$/ || f[2] == "")
                bad("want \"NAME | TITLE\" or \"NAME | TITLE | HEAD | PATTERN\"")
            if (nf == 4 && (f[3] !~ /^[0-9]+$/ || f[4] == ""))
                bad("HEAD must be a number and PATTERN not empty")
            n++
            name[n] = f[1]
            title[n] = f[2]
            head[n] = nf == 4 ? f[3] : ""
            pat[n] = nf == 4 ? f[4] : ""
        }
        END {
            if (failed)
                exit 3
            for (i = 1; i <= n; i++)
                if (expl[i] == "")
                    bad("step " i " (" name[i] ") has no explanation")
            if (mode == "count")
                print n
            else if (mode == "width") {
                w = 0
                for (i = 1; i <= n; i++)
                    if (length(name[i]) > w)
                        w = length(name[i])
                print w
            } else if (mode == "list")
                for (i = 1; i <= n; i++)
                    printf "%3d. %s  [%s]\n", i, title[i], name[i]
            else if (mode == "fields")
                printf "%s\t%s\t%s\t%s\n", name[want], title[want],
                    head[want], pat[want]
            else if (mode == "explain")
                printf "%s", expl[want]
        }'
}

usage() {
    cat <<'EOF'
usage: sh examples/demo.sh [--step N | --step N-M]... BUILD_DIR
       sh examples/demo.sh --list
  BUILD_DIR   a build tree whose examples/ holds the programs (build/release)
  --list      print the numbered steps and exit
  --step N    run step N only; repeat it, or give a range N-M, for more
  DEMO_TIMEOUT (environment): seconds each step may take, default 120
EOF
}

# usage_error MESSAGE: say what is wrong, then how to call the script.
usage_error() {
    echo "demo: $1" >&2
    usage >&2
    exit 2
}

count=$(table count) || exit 1

# Options.  sel is the selected step numbers, space-separated, each once.
list=0
sel=
build=
add_steps() {
    [ ${#1} -le 9 ] || usage_error "no step $1: the tour has steps 1 to $count"
    case $1 in
    '' | *[!0-9-]* | -* | *- | *-*-*)
        usage_error "--step wants N or N-M, not '$1'" ;;
    *-*)
        lo=${1%-*} hi=${1#*-} ;;
    *)
        lo=$1 hi=$1 ;;
    esac
    # Leading zeros would read as octal in $(( )).
    lo=$(echo "$lo" | sed 's/^0*\(.\)/\1/') hi=$(echo "$hi" | sed 's/^0*\(.\)/\1/')
    if [ "$lo" -lt 1 ] || [ "$hi" -gt "$count" ] || [ "$lo" -gt "$hi" ]; then
        usage_error "no step $1: the tour has steps 1 to $count (--list shows them)"
    fi
    i=$lo
    while [ "$i" -le "$hi" ]; do
        case " $sel " in
        *" $i "*) ;;
        *) sel="$sel $i" ;;
        esac
        i=$((i + 1))
    done
}
while [ $# -gt 0 ]; do
    case $1 in
    --list) list=1 ;;
    --step)
        [ $# -ge 2 ] || usage_error "--step wants a step number"
        add_steps "$2"
        shift ;;
    --step=*) add_steps "${1#--step=}" ;;
    -h | --help) usage; exit 0 ;;
    -*) usage_error "unknown option $1" ;;
    *)
        [ -z "$build" ] || usage_error "one BUILD_DIR only, not '$build' and '$1'"
        build=$1 ;;
    esac
    shift
done

if [ "$list" -eq 1 ]; then
    echo "The tour, $count steps (sh examples/demo.sh --step N BUILD_DIR runs step N):"
    table list || exit 1
    exit 0
fi
[ -n "$build" ] || usage_error "which build tree? (make demo passes build/release)"
bin=$build/examples
if [ ! -d "$bin" ]; then
    echo "demo: $bin does not exist; build first (make demo does)" >&2
    exit 1
fi
if [ -z "$sel" ]; then
    i=1
    while [ "$i" -le "$count" ]; do
        sel="$sel $i"
        i=$((i + 1))
    done
fi
timeout_s=${DEMO_TIMEOUT:-120}
case $timeout_s in
'' | *[!0-9]*) usage_error "DEMO_TIMEOUT must be a whole number of seconds" ;;
esac
have_timeout=0
if command -v timeout >/dev/null 2>&1; then
    have_timeout=1
fi
width=$(table width) || exit 1
[ "$width" -ge 7 ] || width=7   # the column's heading, "example"

out=$(mktemp "${TMPDIR:-/tmp}/goc-demo.XXXXXX") || exit 1
trap 'rm -f "$out"' EXIT
trap 'exit 130' INT TERM

# now_ms: the wall clock in milliseconds (GNU date's %N; whole seconds
# where date has no %N).
now_ms() {
    t=$(date +%s%N)
    case $t in
    *[!0-9]*) echo $(($(date +%s) * 1000)) ;;
    *) echo $((t / 1000000)) ;;
    esac
}

# secs MS: MS milliseconds as seconds, "12.34 s".
secs() {
    printf '%d.%02d s' $(($1 / 1000)) $(($1 % 1000 / 10))
}

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

# The summary: a row per step that ran, then the total.
rows=
row_fmt="%4s  %-${width}s  %9s  %s\n"
passed=0
total_ms=0

summary() {
    echo "==== summary"
    printf "$row_fmt" step example wall status
    printf '%s' "$rows"
    printf "$row_fmt" "" total "$(secs "$total_ms")" "$1"
}

# run N: run step N under its title and explanation, record its row.
# Returns non-zero if the step failed.
run() {
    tab=$(printf '\t')
    IFS=$tab read -r name title head pat <<EOF
$(table fields "$1")
EOF
    echo "==== $1/$count  $title"
    table explain "$1"
    echo "     Source: examples/$name.c"
    echo
    prog=$bin/$name
    if [ ! -x "$prog" ]; then
        echo "demo: $prog not found; was it built?" >&2
        ms=0 status="NOT BUILT"
    else
        t0=$(now_ms)
        if [ "$have_timeout" -eq 1 ]; then
            timeout -k 10 "$timeout_s" "$prog" >"$out" 2>&1
        else
            "$prog" >"$out" 2>&1
        fi
        rc=$?
        ms=$(($(now_ms) - t0))
        if [ -n "$head" ]; then
            show "$out" "$head" "$pat"
        else
            cat "$out"
        fi
        if [ "$rc" -eq 0 ]; then
            status=ok
        elif [ "$have_timeout" -eq 1 ] &&
             { [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; } &&
             [ "$ms" -ge $((timeout_s * 1000)) ]; then
            status="TIMEOUT (${timeout_s} s)"
        elif [ "$rc" -gt 128 ]; then
            status="FAILED (signal $((rc - 128)))"
        else
            status="FAILED (exit $rc)"
        fi
    fi
    total_ms=$((total_ms + ms))
    echo "---- $1/$count  $name: $status, $(secs "$ms")"
    echo
    rows=$rows$(printf "$row_fmt" "$1" "$name" "$(secs "$ms")" "$status")
    rows="$rows
"
    [ "$status" = ok ]
}

nsel=0
for n in $sel; do
    nsel=$((nsel + 1))
done
done_n=0
for n in $sel; do
    done_n=$((done_n + 1))
    if run "$n"; then
        passed=$((passed + 1))
    else
        echo "demo: step $n ($name): $status; stopping" >&2
        summary "stopped at step $n: $passed passed, 1 failed, $((nsel - done_n)) not run"
        exit 1
    fi
done
summary "$passed of $nsel steps passed"
