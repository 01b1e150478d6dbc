#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Run every benchmark against its Go twin, interleaved, and print the
# medians and the ratio goc/Go.
#
#   bash bench/run.sh BUILD_DIR          # BUILD_DIR holds bench/bench_*
#   RUNS=9 bash bench/run.sh build/release
#   ONLY="yield" bash bench/run.sh build/release
#
# The machines are noisy: goc and Go run one after the other, pair by
# pair, and only medians within one run of this script are compared.  Without a
# `go` command the goc side runs alone.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: bench/run.sh BUILD_DIR}
build=$(cd "$build" && pwd)
RUNS=${RUNS:-5}
ONLY=${ONLY:-}

# name | environment | goc program and flags (under BUILD_DIR/bench) |
# Go twin (package under bench/go) and flags | which is better
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
  "park|-|bench_park -n 100000|park -n 100000|lower"
)

have_go=0
if command -v go >/dev/null 2>&1; then
  have_go=1
  gobin="$build/bench/go-bin"
  mkdir -p "$gobin"
  for b in "${BENCHES[@]}"; do
    IFS='|' read -r _ _ _ twin _ <<<"$b"
    pkg=${twin%% *}
    # Always: go build is incremental, and a stale twin would lie.
    (cd "$here/go" && GOFLAGS=-mod=mod GOPROXY=off go build -o "$gobin/$pkg" "./$pkg")
  done
else
  echo "# go not found: running the goc side only (apt-get install golang-go)"
fi

value() { # value LINE -> the value= field of a RESULT line
  sed -n 's/.* value=\([^ ]*\).*/\1/p' <<<"$1"
}

median() { # median NUMBERS... (one per line on stdin)
  grep -E "^[0-9.eE+-]+$" | sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print "NaN";
    else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

summary=()
for b in "${BENCHES[@]}"; do
  IFS='|' read -r name envv gcmd twin better <<<"$b"
  [ "$envv" = - ] && envv=""
  if [ -n "$ONLY" ] && ! grep -qw "$name" <<<"$ONLY"; then continue; fi
  gv=() ov=()
  for k in $(seq 1 "$RUNS"); do
    line=$(cd "$build/bench" && env $envv timeout 300 ./$gcmd | grep '^RESULT ' | tail -1) || line=""
    echo "goc  $line"
    gv+=("$(value "$line")")
    if [ "$have_go" = 1 ]; then
      line=$(cd "$gobin" && env $envv timeout 300 ./$twin | grep '^RESULT ' | tail -1) || line=""
      echo "go   $line"
      ov+=("$(value "$line")")
    fi
  done
  gm=$(printf '%s\n' "${gv[@]}" | median)
  if [ "$have_go" = 1 ]; then
    om=$(printf '%s\n' "${ov[@]}" | median)
    ratio=$(awk -v a="$gm" -v b="$om" 'BEGIN { if (a != "NaN" && b > 0) printf "%.2f", a / b; else print "NaN" }')
    verdict=$(awk -v r="$ratio" -v d="$better" 'BEGIN {
      if (r == "NaN") print "?"; else if ((d == "lower" && r < 1) || (d == "higher" && r > 1)) print "goc better";
      else print "Go better" }')
    summary+=("$(printf '%-14s goc %12s   Go %12s   goc/Go %6s  (%s is better: %s)' "$name" "$gm" "$om" "$ratio" "$better" "$verdict")")
  else
    summary+=("$(printf '%-14s goc %12s' "$name" "$gm")")
  fi
done
echo
echo "# medians over $RUNS interleaved runs"
printf '%s\n' "${summary[@]}"
