#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The shape of the tour's output (examples/demo.sh, `make demo`), as the
# tests demo_list, demo_step and demo_bad_step check it:
#
#     sh demo_check.sh list DEMO_SH
#     sh demo_check.sh step DEMO_SH BUILD_DIR
#     sh demo_check.sh bad_step DEMO_SH BUILD_DIR
#
# list: --list exits 0 with a line per step, numbered 1 to N.  step:
# --step 1 runs step 1 alone: its title line, its explanation, its footer
# with the wall time, then the summary table with its row and the total,
# and exits 0.  bad_step: steps 0 and N + 1 are usage errors (status 2,
# "usage:" on stderr) that run nothing.
set -u

if [ $# -lt 2 ]; then
    echo "usage: sh demo_check.sh list|step|bad_step DEMO_SH [BUILD_DIR]" >&2
    exit 2
fi
mode=$1 demo=$2 build=${3:-}
dir=$(mktemp -d "${TMPDIR:-/tmp}/goc-demo-check.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT

fail() {
    echo "demo_check: $mode: $1" >&2
    for f in out err; do
        if [ -s "$dir/$f" ]; then
            echo "--- demo.sh's std$f:" >&2
            cat "$dir/$f" >&2
        fi
    done
    exit 1
}

# has REGEX FILE: a line of FILE matches the extended regular expression.
has() {
    grep -Eq -- "$1" "$dir/$2"
}

# The list, which every mode needs for the number of steps.
sh "$demo" --list >"$dir/out" 2>"$dir/err"
rc=$?
[ "$rc" -eq 0 ] || fail "--list exited with status $rc"
n=$(sed -n 's/^The tour, \([0-9][0-9]*\) steps .*/\1/p' "$dir/out")
[ -n "$n" ] && [ "$n" -ge 1 ] || fail "no first line 'The tour, N steps ...'"
bad=$(awk -v n="$n" '
    NR == 1 { next }
    $0 !~ /^ *[0-9]+\. .+  \[[A-Za-z0-9_]+\]$/ { print "line " NR ": " $0; exit }
    $1 != (NR - 1) "." { print "line " NR " is not step " NR - 1; exit }
    END { if (NR - 1 != n) print NR - 1 " steps listed, not " n }' "$dir/out")
[ -z "$bad" ] || fail "$bad"
first=$(sed -n '2s/.*\[\([A-Za-z0-9_]*\)\]$/\1/p' "$dir/out")

case $mode in
list)
    ;;
step)
    [ -n "$build" ] || fail "no BUILD_DIR"
    sh "$demo" --step 1 "$build" >"$dir/out" 2>"$dir/err"
    rc=$?
    [ "$rc" -eq 0 ] || fail "--step 1 exited with status $rc"
    has "^==== 1/$n  [^ ]" out || fail "no title line '==== 1/$n  TITLE'"
    has '^     Go: ' out || fail "no explanation line '     Go: ...'"
    has '^     Look for: ' out || fail "no explanation line '     Look for: ...'"
    has "^---- 1/$n  $first: ok, [0-9]+\.[0-9][0-9] s\$" out ||
        fail "no footer '---- 1/$n  $first: ok, S.SS s'"
    has '^==== ([02-9][0-9]*|1[0-9]+)/' out && fail "a step other than 1 ran"
    has '^==== summary$' out || fail "no summary table"
    has '^step  example +wall  status$' out || fail "no heading of the summary table"
    has "^   1  $first +[0-9]+\.[0-9][0-9] s  ok\$" out ||
        fail "no row '1  $first  S.SS s  ok' in the summary table"
    has '^ +total +[0-9]+\.[0-9][0-9] s  1 of 1 steps passed$' out ||
        fail "no total '1 of 1 steps passed' in the summary table"
    ;;
bad_step)
    [ -n "$build" ] || fail "no BUILD_DIR"
    for s in 0 $((n + 1)); do
        sh "$demo" --step "$s" "$build" >"$dir/out" 2>"$dir/err"
        rc=$?
        [ "$rc" -eq 2 ] || fail "--step $s exited with status $rc, not 2"
        has '^usage: ' err || fail "--step $s: no usage on stderr"
        has "no step $s" err || fail "--step $s: no 'no step $s' on stderr"
        has '^====' out && fail "--step $s ran something"
    done
    ;;
*)
    fail "unknown mode (list, step or bad_step)"
    ;;
esac
exit 0
