#!/bin/sh
# SPDX-License-Identifier: MIT
# sanitizer.sh PREFIX WORK_DIR - a program built with -fsanitize=address
# (and =thread, where the compiler's runtime works on this machine) but
# linked against the plain goc installed in PREFIX must stop in goc_run
# with goc's fatal message naming the fix, and exit status 2; a plain
# program against the same library must run.  Called by check.sh.
set -eu
prefix=$1
work=$2
here=$(cd "$(dirname "$0")" && pwd)
cc=${CC:-cc}

libdir=$(dirname "$(find "$prefix" -name goc.pc | head -n 1)")
pc() { PKG_CONFIG_LIBDIR=$libdir pkg-config "$@" goc; }

# expect_refusal SANITIZER LINK: build main.c with -fsanitize=SANITIZER
# against the static (LINK=static) or shared (LINK=shared) library; check
# the first line of its stderr and its exit status.
expect_refusal() {
    san=$1
    link=$2
    exe=$work/san-$san-$link
    if [ "$link" = static ]; then
        libs="-Wl,-Bstatic $(pc --libs-only-L --libs-only-l) -Wl,-Bdynamic
              $(pc --static --libs-only-other)"
    else
        libs="$(pc --libs) -Wl,-rpath,$(pc --variable=libdir)"
    fi
    # shellcheck disable=SC2086
    $cc -std=c11 -Wall -Wextra -Werror -fsanitize="$san" -o "$exe" \
        "$here/main.c" $(pc --cflags) $libs
    status=0
    "$exe" > "$exe.out" 2> "$exe.err" || status=$?
    want="fatal error: program built with -fsanitize=$san, goc without it:"
    want="$want link the goc built with GOC_SANITIZE=$san"
    got=$(head -n 1 "$exe.err")
    if [ "$status" -ne 2 ] || [ "$got" != "$want" ]; then
        echo "sanitizer check ($san, $link): status $status, stderr:" >&2
        cat "$exe.err" >&2
        exit 1
    fi
    echo "sanitizer check ($san, $link): refused as documented"
}

# Whether this compiler's SANITIZER runtime links and starts here (TSan
# needs a kernel whose address-space layout it knows).
works() {
    printf 'int main(void) { return 0; }\n' > "$work/probe.c"
    $cc -fsanitize="$1" -o "$work/probe-$1" "$work/probe.c" \
        > /dev/null 2>&1 && "$work/probe-$1" > /dev/null 2>&1
}

for san in address thread; do
    if ! works "$san"; then
        echo "sanitizer check ($san): skipped, $cc has no working runtime"
        continue
    fi
    expect_refusal "$san" static
    if [ -n "$(find "$prefix" -name 'libgoc.so*' | head -n 1)" ]; then
        expect_refusal "$san" shared
    fi
done
echo "sanitizer check: ok"
