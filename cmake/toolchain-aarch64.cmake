# SPDX-License-Identifier: MIT
# Cross-compile for arm64 Linux with Debian's aarch64-linux-gnu toolchain
# (packages gcc-aarch64-linux-gnu, libc6-dev-arm64-cross) and run the test
# binaries under qemu-user (package qemu-user):
#
#   cmake -S . -B build/arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64.cmake
#   cmake --build build/arm64 && (cd build/arm64 && ctest)
#
# CTest prefixes every test command with CMAKE_CROSSCOMPILING_EMULATOR, so
# ctest runs the arm64 binaries through qemu-aarch64 transparently.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(GOC_CROSS_TRIPLE aarch64-linux-gnu)
set(GOC_CROSS_SYSROOT /usr/${GOC_CROSS_TRIPLE})

set(CMAKE_C_COMPILER ${GOC_CROSS_TRIPLE}-gcc)
set(CMAKE_ASM_COMPILER ${GOC_CROSS_TRIPLE}-gcc)

# Look for libraries and headers only in the target's tree, for programs
# only on the host.
set(CMAKE_FIND_ROOT_PATH ${GOC_CROSS_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# -L points qemu at the arm64 dynamic loader and libc.
find_program(GOC_QEMU_AARCH64 qemu-aarch64)
if(NOT GOC_QEMU_AARCH64)
  set(GOC_QEMU_AARCH64 qemu-aarch64)
endif()
set(CMAKE_CROSSCOMPILING_EMULATOR ${GOC_QEMU_AARCH64} -L ${GOC_CROSS_SYSROOT})
