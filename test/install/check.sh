#!/bin/sh
# SPDX-License-Identifier: MIT
# check.sh BUILD_DIR WORK_DIR [RACE_BUILD_DIR] - install the goc build in
# BUILD_DIR into WORK_DIR/prefix and consume it as a user would:
#   1. find_package(goc) from a CMake project (test/install/CMakeLists.txt):
#      goc::goc, goc::goc_static, goc::goc_shared,
#   2. the README's commands: pkg-config with -Wl,-rpath (no
#      LD_LIBRARY_PATH), and libgoc.a by path; also --static,
#   3. goc.h compiled as C++;
#   then sanitizer.sh (a sanitized program refused by the plain goc), and
#   with RACE_BUILD_DIR race.sh (goc-race installed beside the plain goc).
# Every consumer is built at -O2 and checks that a dump shows its own frame
# (the package's flags keep frame pointers).
set -eu
build=$1
work=$2
race_build=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
cc=${CC:-cc}
cxx=${CXX:-c++}

rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd)
prefix=$work/prefix

cmake --install "$build" --prefix "$prefix" > "$work/install.log"
echo "installed into $prefix"

# 1. find_package(goc)
cmake -S "$here" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_BUILD_TYPE=Release > "$work/cmake.log" \
    || { cat "$work/cmake.log"; exit 1; }
cmake --build "$work/cmake"
"$work/cmake/consumer"
"$work/cmake/consumer_static"
if [ -x "$work/cmake/consumer_shared" ]; then
    "$work/cmake/consumer_shared"
    readelf -d "$work/cmake/consumer_shared" | grep -q 'NEEDED.*libgoc' \
        || { echo "consumer_shared does not link libgoc.so" >&2; exit 1; }
fi
if readelf -d "$work/cmake/consumer" | grep -q 'NEEDED.*libgoc'; then
    echo "goc::goc links libgoc.so, not libgoc.a" >&2
    exit 1
fi

# 2. pkg-config; PKG_CONFIG_LIBDIR so no other goc.pc is found.
libdir=$(dirname "$(find "$prefix" -name goc.pc | head -n 1)")
pc() { PKG_CONFIG_LIBDIR=$libdir pkg-config "$@" goc; }
pc --exists
echo "pkg-config goc: $(pc --modversion): $(pc --static --cflags --libs)"
# Static: the linker must take libgoc.a, although libgoc.so sits beside it.
$cc -std=c11 -Wall -Wextra -Werror -o "$work/pc-static" "$here/main.c" \
    $(pc --cflags) -Wl,-Bstatic $(pc --libs-only-L --libs-only-l) \
    -Wl,-Bdynamic $(pc --static --libs-only-other)
if readelf -d "$work/pc-static" | grep -q 'NEEDED.*libgoc'; then
    echo "pc-static links libgoc.so, not libgoc.a" >&2
    exit 1
fi
"$work/pc-static"
# The README's two lines, as written there (plus warnings as errors).
$cc -std=c11 -O2 -Wall -Wextra -Werror "$here/main.c" $(pc --cflags) \
    "$(pc --variable=libdir)/libgoc.a" -pthread -o "$work/readme-static"
"$work/readme-static"
if [ -n "$(find "$prefix" -name 'libgoc.so*' | head -n 1)" ]; then
    $cc -std=c11 -O2 -Wall -Wextra -Werror "$here/main.c" \
        $(pc --cflags --libs) -Wl,-rpath,"$(pc --variable=libdir)" \
        -o "$work/readme-shared"
    env -u LD_LIBRARY_PATH "$work/readme-shared"
fi

# 3. The public header is C++-clean.
echo '#include <goc.h>' |
    $cxx -fsyntax-only -x c++ -Wall -Wextra -Werror $(pc --cflags) -
$cxx -fsyntax-only -x c++ -Wall -Wextra -Werror $(pc --cflags) \
    "$prefix/include/goc.h"
echo "install check: ok"
sh "$here/sanitizer.sh" "$prefix" "$work"
if [ -n "$race_build" ]; then
    sh "$here/race.sh" "$prefix" "$work" "$race_build"
fi
