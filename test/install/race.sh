#!/bin/sh
# SPDX-License-Identifier: MIT
# race.sh PREFIX WORK_DIR RACE_BUILD_DIR - install the goc-race build in
# RACE_BUILD_DIR (GOC_SANITIZE=thread, clang: `make install-race`) into
# PREFIX, where check.sh installed the plain goc, and check that:
#   1. the plain library, goc.pc and goc's CMake targets are left as they
#      were (same bytes), and a plain program still gets the plain goc;
#   2. `pkg-config --cflags --libs goc-race` builds a program that runs
#      with no warning from goc (shared, and libgoc-race.a by path);
#   3. find_package(goc COMPONENTS race) gives goc::goc_race (static) and
#      goc::goc_race_shared, each carrying -fsanitize=thread.
# The programs are built with clang, whose runtime goc-race was built for
# (RACE_CC overrides).  Called by check.sh.
# shellcheck disable=SC2046 # pkg-config's output is split into words
set -eu
prefix=$1
work=$2
build=$3
here=$(cd "$(dirname "$0")" && pwd)
cc=${RACE_CC:-clang}
plain_cc=${CC:-cc}

printf 'int main(void) { return 0; }\n' > "$work/race-probe.c"
if ! $cc -fsanitize=thread -o "$work/race-probe" "$work/race-probe.c" \
        > /dev/null 2>&1 || ! "$work/race-probe" > /dev/null 2>&1; then
    echo "race check: skipped, $cc has no working -fsanitize=thread runtime"
    exit 0
fi

# 1. Side by side: what the plain install put there stays as it was.
plain_files() {
    find "$prefix" \( -name 'libgoc.*' -o -name goc.pc -o -name 'gocTargets*' \
        -o -name goc.h \) -type f | sort | xargs cksum
}
plain_files > "$work/plain.before"
cmake --install "$build" --prefix "$prefix" > "$work/install-race.log"
plain_files > "$work/plain.after"
if ! cmp -s "$work/plain.before" "$work/plain.after"; then
    echo "installing goc-race changed the plain goc:" >&2
    diff "$work/plain.before" "$work/plain.after" >&2 || true
    exit 1
fi
for f in libgoc-race.a goc-race.pc goc_raceTargets.cmake; do
    [ -n "$(find "$prefix" -name "$f" | head -n 1)" ] ||
        { echo "goc-race installed no $f" >&2; exit 1; }
done
pcdir=$(dirname "$(find "$prefix" -name goc-race.pc | head -n 1)")
pc() { PKG_CONFIG_LIBDIR=$pcdir pkg-config "$@"; }
libdir=$(pc --variable=libdir goc-race)
pc --cflags goc | grep -q sanitize &&
    { echo "goc.pc carries a sanitizer" >&2; exit 1; }
if ! pc --cflags goc-race | grep -q -- -fsanitize=thread ||
    ! pc --libs goc-race | grep -q -- -fsanitize=thread; then
    echo "goc-race.pc lacks -fsanitize=thread" >&2
    exit 1
fi
echo "pkg-config goc-race: $(pc --modversion goc-race): $(pc --cflags --libs goc-race)"
# A plain program after both installs: the plain goc, no TSan in it.
$plain_cc -std=c11 -O2 "$here/main.c" $(pc --cflags --libs goc) \
    -Wl,-rpath,"$libdir" -o "$work/plain-after-race"
env -u LD_LIBRARY_PATH "$work/plain-after-race" > /dev/null
if nm -D "$work/plain-after-race" | grep -q __tsan_func_entry; then
    echo "a plain program got goc-race" >&2
    exit 1
fi

# run_clean EXE: it runs, and goc says nothing on stderr.
run_clean() {
    env -u LD_LIBRARY_PATH "$1" > "$1.out" 2> "$1.err" ||
        { echo "$1 failed:" >&2; cat "$1.err" >&2; exit 1; }
    if grep -q '^goc: \|^fatal error' "$1.err"; then
        echo "$1: goc complained:" >&2
        cat "$1.err" >&2
        exit 1
    fi
    nm --defined-only "$1" | grep -q ' __tsan_init$' ||
        { echo "$1 has no TSan runtime" >&2; exit 1; }
    echo "race check: $(basename "$1"): $(cat "$1.out")"
}

# 2. pkg-config, as the README writes it: shared, then libgoc-race.a.
$cc -std=c11 -O2 -Wall -Wextra -Werror "$here/main.c" \
    $(pc --cflags --libs goc-race) -Wl,-rpath,"$libdir" -o "$work/race-shared"
readelf -d "$work/race-shared" | grep -q 'NEEDED.*libgoc-race' ||
    { echo "race-shared does not link libgoc-race.so" >&2; exit 1; }
run_clean "$work/race-shared"
$cc -std=c11 -O2 -Wall -Wextra -Werror "$here/main.c" \
    $(pc --cflags --libs-only-other goc-race) "$libdir/libgoc-race.a" \
    -pthread -o "$work/race-static"
run_clean "$work/race-static"

# 3. find_package(goc COMPONENTS race).
cmake -S "$here" -B "$work/cmake-race" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_C_COMPILER="$cc" -DGOC_CONSUMER_FLAVOR=race \
    -DCMAKE_BUILD_TYPE=Release > "$work/cmake-race.log" \
    || { cat "$work/cmake-race.log"; exit 1; }
cmake --build "$work/cmake-race" > "$work/cmake-race-build.log" \
    || { cat "$work/cmake-race-build.log"; exit 1; }
run_clean "$work/cmake-race/consumer_race"
if readelf -d "$work/cmake-race/consumer_race" | grep -q 'NEEDED.*libgoc'; then
    echo "goc::goc_race links libgoc-race.so, not libgoc-race.a" >&2
    exit 1
fi
if [ -x "$work/cmake-race/consumer_race_shared" ]; then
    run_clean "$work/cmake-race/consumer_race_shared"
    readelf -d "$work/cmake-race/consumer_race_shared" |
        grep -q 'NEEDED.*libgoc-race' ||
        { echo "consumer_race_shared does not link libgoc-race.so" >&2; exit 1; }
fi
# And find_package(goc) without the component still gives the plain goc.
cmake -S "$here" -B "$work/cmake-plain" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_BUILD_TYPE=Release > "$work/cmake-plain.log" \
    || { cat "$work/cmake-plain.log"; exit 1; }
cmake --build "$work/cmake-plain" > "$work/cmake-plain-build.log" \
    || { cat "$work/cmake-plain-build.log"; exit 1; }
"$work/cmake-plain/consumer" > /dev/null
if nm "$work/cmake-plain/consumer" | grep -q __tsan_func_entry; then
    echo "goc::goc got goc-race" >&2
    exit 1
fi
echo "race check: ok"
