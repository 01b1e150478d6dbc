#!/bin/sh
# SPDX-License-Identifier: MIT
# sanitizer_mismatch.sh CASE CC LIB INCLUDE_DIR SANITIZE WORK_DIR - build
# test/install/main.c with CC against LIB (this build's sanitized
# libgoc-race or libgoc-asan, .a or .so), run it, and check what goc_run
# says on stderr (src/sanitizer.c):
#   matched         -fsanitize=SANITIZE, the compiler that built goc: no
#                   warning;
#   plain_program   compiled without the sanitizer, linked with it (what
#                   `pkg-config --libs` alone gives): warned that the
#                   program's own code goes unchecked;
#   other_compiler  -fsanitize=SANITIZE with the other compiler (gcc for a
#                   clang goc): warned to link with goc's compiler.
# The program must run to its end in every case.  Exit 77 (a skip) when CC
# has no working runtime for the sanitizer.
set -eu
case=$1
cc=$2
lib=$3
include=$4
san=$5
work=$6
here=$(cd "$(dirname "$0")" && pwd)

mkdir -p "$work"
exe=$work/$case-$(basename "$lib" | tr . _)
case $lib in
*.so*) libs="$lib -Wl,-rpath,$(dirname "$lib")" ;;
*) libs="$lib -pthread" ;;
esac

# Whether CC's runtime links and starts here.
printf 'int main(void) { return 0; }\n' > "$exe.probe.c"
if ! "$cc" -fsanitize="$san" -o "$exe.probe" "$exe.probe.c" > /dev/null 2>&1 ||
    ! "$exe.probe" > /dev/null 2>&1; then
    echo "skipped: $cc has no working -fsanitize=$san runtime"
    exit 77
fi

compile_san=-fsanitize=$san
[ "$case" = plain_program ] && compile_san=
# shellcheck disable=SC2086
"$cc" -std=c11 -O1 -g -fno-omit-frame-pointer $compile_san -I"$include" \
    -c "$here/install/main.c" -o "$exe.o"
# shellcheck disable=SC2086
"$cc" -fsanitize="$san" "$exe.o" $libs -o "$exe"
"$exe" > "$exe.out" 2> "$exe.err" || {
    echo "$exe: exit status $?, stderr:" >&2
    cat "$exe.err" >&2
    exit 1
}

case $case in
matched) want= ;;
plain_program) want="the program without it, so its own code goes unchecked" ;;
other_compiler) want="the program runs .*Sanitizer runtime: link the program with" ;;
*) echo "unknown case $case" >&2; exit 2 ;;
esac
warnings=$(grep '^goc: warning:' "$exe.err" || true)
if [ -z "$want" ]; then
    [ -z "$warnings" ] || { echo "unexpected: $warnings" >&2; exit 1; }
elif ! printf '%s\n' "$warnings" | grep -q "$want"; then
    echo "missing warning \"$want\"; stderr:" >&2
    cat "$exe.err" >&2
    exit 1
fi
if [ -n "$want" ] && [ "$(printf '%s\n' "$warnings" | grep -c .)" -ne 1 ]; then
    echo "one warning expected: $warnings" >&2
    exit 1
fi
echo "$case ($(basename "$cc"), $(basename "$lib")): ${warnings:-no warning}"
