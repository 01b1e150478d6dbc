#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Run every benchmark against its Go twin, interleaved, and print the
# medians and the ratio goc/Go.
#
#   bash bench/run.sh BUILD_DIR          # BUILD_DIR holds bench/bench_*
#   RUNS=9 bash bench/run.sh build/release
#   ONLY="yield" bash bench/run.sh build/release
#   RACE_BUILD=build/race-bench bash bench/run.sh build/release
#
# The machines are noisy: goc and Go run one after the other, pair by
# pair, and only medians within one run of this script are compared.  Without a
# `go` command the goc side runs alone.  The GOMAXPROCS=1 rows run both
# sides pinned to the same CPU (pin_one, below).
#
# The network benchmarks (NET_BENCHES) are a server and a load generator:
# each run starts the server (goc's, then the Go twin), reads the address
# it listens on from its first line of output, runs the load against it
# and stops it.  With two CPUs or more the server is pinned to one and the
# load to another (taskset); a server so pinned has one P, in goc as in Go
# (both follow the affinity).  Each run gives three rows: the rate, the
# p99 latency (NAME_p99), and NAME_cpu, the server's CPU time per round
# trip or request (user and system, from /proc), which tells the servers
# apart even when the load generator is what limits the rate (the
# client's line says client_cpu=1.00 then).  NETHTTP=1 also runs the
# net/http version of httphello (Go only, for reference).  Without wrk
# the httphello rows are skipped (apt-get install wrk).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: bench/run.sh BUILD_DIR}
build=$(cd "$build" && pwd)
RUNS=${RUNS:-5}
ONLY=${ONLY:-}

# name | environment | goc program and flags (under BUILD_DIR/bench) |
# Go twin (package under bench/go) and flags | which is better [| the
# RESULT fields to compare, default "value": a row per field after the
# first, named NAME_FIELD, from the same runs]
BENCHES=(
  "yield|-|bench_yield -n 10000000|yield -n 10000000|lower"
  "spawn_yield|-|bench_spawn_yield -n 1000000|spawn_yield -n 1000000|lower"
  "pingpong_gmp1|GOMAXPROCS=1|bench_pingpong -n 2000000|pingpong -n 2000000|lower"
  "pingpong_gmp2|GOMAXPROCS=2|bench_pingpong -n 2000000|pingpong -n 2000000|lower"
  "prodcons|-|bench_prodcons -n 10000000 -p 4 -c 4 -buf 128|prodcons -n 10000000 -p 4 -c 4 -buf 128|higher"
  "select|-|bench_select -n 4000000|select -n 4000000|lower"
  "ring|-|bench_ring -n 10000000 -k 503|ring -n 10000000 -k 503|lower"
  "skynet|-|bench_skynet -n 1000000|skynet -n 1000000|lower"
  "spawn|-|bench_spawn -n 1000000|spawn -n 1000000|lower"
  "mutex|-|bench_mutex -n 10000000 -g 8|mutex -n 10000000 -g 8 -mode mutex|lower"
  "atomic|-|bench_atomic -n 10000000 -g 8|mutex -n 10000000 -g 8 -mode atomic|lower"
  "timers|-|bench_timers -n 100000 -max 100|timers -n 100000 -max 100|lower"
  "timers_p99|-|bench_timers -n 100000 -max 100 -report p99|timers -n 100000 -max 100 -report p99|lower"
  "after|-|bench_after -n 1000000|after -n 1000000|lower"
  "park|-|bench_park -n 100000|park -n 100000|lower|value spawn_park_ms join_ms"
  "park_gmp1|GOMAXPROCS=1|bench_park -n 100000|park -n 100000|lower|spawn_park_ms join_ms"
  "park_1m|-|bench_park -n 1000000|park -n 1000000|lower|value spawn_park_ms join_ms"
  "park_1m_gmp1|GOMAXPROCS=1|bench_park -n 1000000|park -n 1000000|lower|spawn_park_ms join_ms"
  "park_compact|-|bench_park -n 100000 -compact 1|park -n 100000|lower|value pte_bytes_per_goroutine spawn_park_ms join_ms"
  "park_compact_1m|-|bench_park -n 1000000 -compact 1|park -n 1000000|lower|value pte_bytes_per_goroutine spawn_park_ms join_ms"
  "sleepers|-|bench_sleepers -n 100000|sleepers -n 100000|lower|value peak_rss_kb"
  "preempt|-|bench_preempt -n 1000|preempt -n 1000|lower"
  "preempt_gmp1|GOMAXPROCS=1|bench_preempt -n 1000|preempt -n 1000|lower"
)

# The race group: the same programs built with -fsanitize=thread against a
# goc built with GOC_SANITIZE=thread (RACE_BUILD, a build directory like
# BUILD_DIR; `make bench` passes the Release one it builds), against their
# Go twins built with -race.  What they measure is what race detection
# costs each runtime: spawn and exit, a channel hand-off, a mutex.
RACE_BUILD=${RACE_BUILD:-}
RACE_BENCHES=(
  "race_spawn|-|bench_spawn -n 50000|spawn -n 50000|lower"
  "race_pingpong|-|bench_pingpong -n 200000|pingpong -n 200000|lower"
  "race_mutex|-|bench_mutex -n 1000000 -g 8|mutex -n 1000000 -g 8 -mode mutex|lower"
)

# name | goc server (under BUILD_DIR/bench) | Go twin server (package under
# bench/go) | load, run in BUILD_DIR/bench, with ADDR the server's address,
# PID its process id, NAME the row's name and WRKLUA bench/wrk_result.lua.
# The load prints RESULT lines NAME (the rate: higher is better, with
# server_us_per_op=, lower is better) and NAME_p99 (lower).
# Bounded: the client by its count (-m round trips per connection) and -d
# seconds, wrk by -d; the servers exit after -life seconds in any case.
NET_BENCHES=(
  "tcpecho_1k|bench_tcpecho|tcpecho|./bench_tcpecho_client -addr ADDR -pid PID -name NAME -c 1000 -m 200 -d 30"
  "tcpecho_10k|bench_tcpecho|tcpecho|./bench_tcpecho_client -addr ADDR -pid PID -name NAME -c 10000 -m 20 -d 30"
  "httphello_c100|bench_httphello|httphello|wrk -t2 -c100 -d3s --timeout 5s --latency -s WRKLUA http://ADDR/"
  "httphello_c1000|bench_httphello|httphello|wrk -t2 -c1000 -d3s --timeout 5s --latency -s WRKLUA http://ADDR/"
  # The same answer through goc's HTTP server, against Go's net/http.
  "httphello_http_c100|bench_httphello_http|httphello_nethttp|wrk -t2 -c100 -d3s --timeout 5s --latency -s WRKLUA http://ADDR/"
  "httphello_http_c1000|bench_httphello_http|httphello_nethttp|wrk -t2 -c1000 -d3s --timeout 5s --latency -s WRKLUA http://ADDR/"
  # A front fanning out to three backends over kept-alive client connections.
  "aggregator_c100|bench_aggregator|aggregator|wrk -t2 -c100 -d3s --timeout 5s --latency -s WRKLUA http://ADDR/"
)
NETHTTP=${NETHTTP:-0}

have_go=0
if command -v go >/dev/null 2>&1; then
  have_go=1
  gobin="$build/bench/go-bin"
  mkdir -p "$gobin"
  pkgs=()
  for b in "${BENCHES[@]}"; do
    IFS='|' read -r _ _ _ twin _ <<<"$b"
    pkgs+=("${twin%% *}")
  done
  for b in "${NET_BENCHES[@]}"; do
    IFS='|' read -r _ _ twin _ <<<"$b"
    pkgs+=("$twin")
  done
  [ "$NETHTTP" = 1 ] && pkgs+=(httphello_nethttp)
  for pkg in $(printf '%s\n' "${pkgs[@]}" | sort -u); do
    # Always: go build is incremental, and a stale twin would lie.
    (cd "$here/go" && GOFLAGS=-mod=mod GOPROXY=off go build -o "$gobin/$pkg" "./$pkg")
  done
  if [ -n "$RACE_BUILD" ]; then
    gobin_race="$build/bench/go-bin-race"
    mkdir -p "$gobin_race"
    for b in "${RACE_BENCHES[@]}"; do
      IFS='|' read -r _ _ _ twin _ <<<"$b"
      pkg=${twin%% *}
      (cd "$here/go" && GOFLAGS=-mod=mod GOPROXY=off go build -race -o "$gobin_race/$pkg" "./$pkg")
    done
  fi
else
  echo "# go not found: running the goc side only (apt-get install golang-go)"
fi

value() { # value LINE [FIELD] -> the FIELD= (default value=) field of a RESULT line
  sed -n "s/.* ${2:-value}=\([^ ]*\).*/\1/p" <<<"$1"
}

median() { # median NUMBERS... (one per line on stdin)
  grep -E "^[0-9.eE+-]+$" | sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print "NaN";
    else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# dist NUMBERS... (one per line on stdin): "min / median / max", so that
# one good run cannot hide a bad state (the machines are noisy).
dist() {
  grep -E "^[0-9.eE+-]+$" | sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) { print "NaN"; exit }
    m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
    printf "%s / %s / %s", a[1], m, a[NR] }'
}

summary=()
dists=()
# add_dist NAME GOC_VALUES GO_VALUES: a line of the distribution table
# (values one per line).
add_dist() {
  local line
  line=$(printf '%-19s goc %-30s' "$1" "$(printf '%s\n' "$2" | dist)")
  [ "$have_go" = 1 ] && line+="   Go $(printf '%s\n' "$3" | dist)"
  dists+=("$line")
}
# add_row NAME BETTER GOC_MEDIAN [GO_MEDIAN [EXTRA]]: a line of the table.
add_row() {
  if [ "$have_go" = 1 ]; then
    local ratio verdict
    ratio=$(awk -v a="$3" -v b="$4" 'BEGIN { if (a != "NaN" && b > 0) printf "%.2f", a / b; else print "NaN" }')
    verdict=$(awk -v r="$ratio" -v d="$2" 'BEGIN {
      if (r == "NaN") print "?"; else if ((d == "lower" && r < 1) || (d == "higher" && r > 1)) print "goc better";
      else print "Go better" }')
    summary+=("$(printf '%-19s goc %12s   Go %12s   goc/Go %6s  (%s is better: %s)%s' "$1" "$3" "$4" "$ratio" "$2" "$verdict" "${5:-}")")
  else
    summary+=("$(printf '%-19s goc %12s' "$1" "$3")")
  fi
}

# The CPUs this script may use, one per line ("0-1,4" -> 0 1 4).
cpus_allowed() {
  sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status | tr ',' '\n' |
    awk -F- '{ for (c = $1; c <= ($2 == "" ? $1 : $2); c++) print c }'
}

# The GOMAXPROCS=1 rows run both sides on the same CPU, the first this
# script may use (taskset): on a VM whose vCPUs differ in speed (one of
# these ran pingpong 27% slower for goc and 50% slower for Go), which CPU
# each side's thread happened to land on decided the ratio.
pin_one=()
mapfile -t cpus < <(cpus_allowed)
if [ "${#cpus[@]}" -ge 1 ] && command -v taskset >/dev/null 2>&1; then
  pin_one=(taskset -c "${cpus[0]}")
fi

# run_group GOC_DIR GO_DIR ROW...: each row's goc program (in GOC_DIR) and
# Go twin (in GO_DIR), interleaved, RUNS times; a summary line per row.
run_group() {
  local gdir=$1 odir=$2 b name envv gcmd twin better line k
  shift 2
  for b in "$@"; do
    local fields f
    IFS='|' read -r name envv gcmd twin better fields <<<"$b"
    [ "$envv" = - ] && envv=""
    [ -z "$fields" ] && fields=value
    if [ -n "$ONLY" ] && ! grep -qw "$name" <<<"$ONLY"; then continue; fi
    local -A gv=() ov=()
    local pin=()
    if [[ " $envv " == *" GOMAXPROCS=1 "* ]]; then
      pin=(${pin_one[@]+"${pin_one[@]}"})
      [ "${#pin[@]}" -gt 0 ] && echo "# $name: both sides pinned to CPU ${cpus[0]} (taskset)"
    fi
    for k in $(seq 1 "$RUNS"); do
      line=$(cd "$gdir" && env $envv timeout 300 ${pin[@]+"${pin[@]}"} ./$gcmd | grep '^RESULT ' | tail -1) || line=""
      echo "goc  $line"
      for f in $fields; do gv[$f]+="$(value "$line" "$f")"$'\n'; done
      if [ "$have_go" = 1 ]; then
        line=$(cd "$odir" && env $envv timeout 300 ${pin[@]+"${pin[@]}"} ./$twin | grep '^RESULT ' | tail -1) || line=""
        echo "go   $line"
        for f in $fields; do ov[$f]+="$(value "$line" "$f")"$'\n'; done
      fi
    done
    for f in $fields; do
      local row=$name
      [ "$f" != value ] && row=${name}_$f
      add_row "$row" "$better" "$(printf '%s' "${gv[$f]}" | median)" \
        "$(printf '%s' "${ov[$f]:-}" | median)"
      add_dist "$row" "$(printf '%s' "${gv[$f]}")" "$(printf '%s' "${ov[$f]:-}")"
    done
  done
}

run_group "$build/bench" "${gobin:-}" "${BENCHES[@]}"
if [ -n "$RACE_BUILD" ]; then
  run_group "$(cd "$RACE_BUILD" && pwd)/bench" "${gobin_race:-}" "${RACE_BENCHES[@]}"
fi

# ---- The network benchmarks ----

pin_server=() pin_client=()
if [ "${#cpus[@]}" -ge 2 ] && command -v taskset >/dev/null 2>&1; then
  pin_server=(taskset -c "${cpus[0]}")
  pin_client=(taskset -c "${cpus[1]}")
fi
have_wrk=0
command -v wrk >/dev/null 2>&1 && have_wrk=1

srv_pid="" srv_addr=""
tmp=$(mktemp -d)
stop_server() {
  if [ -n "$srv_pid" ]; then
    kill "$srv_pid" 2>/dev/null || true
    wait "$srv_pid" 2>/dev/null || true
    srv_pid=""
  fi
}
trap 'stop_server; rm -rf "$tmp"' EXIT

# start_server DIR PROGRAM: start it pinned and wait (5 s at most) for the
# address on its first line (written at once: a line there is whole);
# sets srv_pid, and srv_addr (empty if the server did not come up).
start_server() {
  : >"$tmp/addr"
  (cd "$1" && exec ${pin_server[@]+"${pin_server[@]}"} "./$2" >"$tmp/addr") &
  srv_pid=$! srv_addr=""
  for _ in $(seq 1 100); do
    srv_addr=$(head -n 1 "$tmp/addr")
    [ -n "$srv_addr" ] && return 0
    kill -0 "$srv_pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "# $2 did not print its address" >&2
  stop_server
}

# net_run DIR SERVER NAME LOAD: start the server, run the load against it,
# stop the server; the load's RESULT lines go to $tmp/out.  Not in a
# subshell, so that the EXIT trap sees the server.
net_run() {
  : >"$tmp/out"
  start_server "$1" "$2"
  [ -n "$srv_addr" ] || return 0
  local load=${4//ADDR/$srv_addr}
  load=${load//PID/$srv_pid}
  load=${load//NAME/$3}
  load=${load//WRKLUA/$here/wrk_result.lua}
  (cd "$build/bench" && env BENCH_NAME="$3" BENCH_SERVER_PID="$srv_pid" timeout 120 \
     ${pin_client[@]+"${pin_client[@]}"} $load | grep '^RESULT ' >"$tmp/out") || true
  stop_server
}

# named NAME [FIELD] -> the value (or FIELD=) of the RESULT line name=NAME
# of the last net_run
named() {
  sed -n "s/^RESULT name=$1 .* ${2:-value}=\([^ ]*\).*/\1/p" "$tmp/out"
}

# net_pair SIDE DIR SERVER NAME LOAD RATES P99S CPUS: one net_run; its
# rate, p99 and server CPU per op go to the arrays named RATES, P99S, CPUS.
net_pair() {
  net_run "$2" "$3" "$4" "$5"
  echo "$1 $(grep "^RESULT name=$4 " "$tmp/out" || echo "(no result)")"
  local -n rates=$6 p99s=$7 cpus=$8
  rates+=("$(named "$4")")
  p99s+=("$(named "$4_p99")")
  cpus+=("$(named "$4" server_us_per_op)")
}

ran_net=0
for b in "${NET_BENCHES[@]}"; do
  IFS='|' read -r name gsrv twin load <<<"$b"
  if [ -n "$ONLY" ] && ! grep -qw "$name" <<<"$ONLY"; then continue; fi
  if [[ $load == wrk* ]] && [ "$have_wrk" = 0 ]; then
    echo "# wrk not found: $name skipped (apt-get install wrk)"
    continue
  fi
  if [ "$ran_net" = 0 ]; then
    ran_net=1
    if [ "${#pin_server[@]}" -gt 0 ]; then
      echo "# network benchmarks: servers pinned to CPU ${cpus[0]} (one P), load to CPU ${cpus[1]} (taskset)"
    else
      echo "# network benchmarks: fewer than 2 CPUs (or no taskset): server and load share the CPUs, unpinned"
    fi
  fi
  ref=0
  [ "$have_go" = 1 ] && [ "$NETHTTP" = 1 ] && [ "$twin" = httphello ] && ref=1
  gv=() gp=() gc=() ov=() op=() oc=() rv=() rp=() rc=()
  for k in $(seq 1 "$RUNS"); do
    net_pair "goc " "$build/bench" "$gsrv" "$name" "$load" gv gp gc
    if [ "$have_go" = 1 ]; then
      net_pair "go  " "$gobin" "$twin" "$name" "$load" ov op oc
    fi
    if [ "$ref" = 1 ]; then
      net_pair "ref " "$gobin" httphello_nethttp "$name" "$load" rv rp rc
    fi
  done
  for row in "|higher|gv|ov|rv" "_p99|lower|gp|op|rp" "_cpu|lower|gc|oc|rc"; do
    IFS='|' read -r suffix better ga oa ra <<<"$row"
    ga="$ga[@]" oa="$oa[@]" ra="$ra[@]"
    extra=""
    [ "$ref" = 1 ] && extra="   net/http: $(printf '%s\n' "${!ra}" | median)"
    add_row "$name$suffix" "$better" "$(printf '%s\n' "${!ga}" | median)" \
      "$(printf '%s\n' ${!oa+"${!oa}"} | median)" "$extra"
    add_dist "$name$suffix" "$(printf '%s\n' "${!ga}")" \
      "$(printf '%s\n' ${!oa+"${!oa}"})"
  done
done

echo
echo "# medians over $RUNS interleaved runs"
printf '%s\n' "${summary[@]}"
echo
echo "# the distribution over the $RUNS runs: min / median / max"
printf '%s\n' "${dists[@]}"
