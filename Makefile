# SPDX-License-Identifier: MIT
#
# The front door: a thin wrapper over CMake.  Every configuration builds in
# its own directory under build/.
#
#   make deps           install missing Debian packages (apt-get)
#   make test           every configuration below, stopping at the first
#                       failure, plus the install/consumer check
#   make test-release   gcc, Release, -Werror            (build/release)
#   make test-gomaxprocs1  the Release suite again with GOMAXPROCS=1
#   make test-oldkernel the Release suite again as on Linux before 6.13
#                       (Debian 12's 6.1): guard pages by mprotect
#   make test-compact   the Debug suite again with every parked stack
#                       compacted at once (GOCDEBUG=compactstacks=1,
#                       compactafter=0; where the mode cannot run, the
#                       suite as it is)
#   make test-clang     clang, Release, -Werror, with GOC_SWITCH_FPENV
#                       (per-goroutine floating-point state), as a unity
#                       build: every C file of the library in one
#                       translation unit, which proves that no two files
#                       define the same static name  (build/clang)
#   make test-debug     gcc, Debug, GOC_DEBUG=3, -Werror (build/debug)
#   make test-asan      clang, Debug, GOC_DEBUG=3, ASan+UBSan (build/asan)
#   make test-tsan      clang, RelWithDebInfo, GOC_DEBUG=2, TSan (build/tsan)
#   make test-arm64     aarch64-linux-gnu-gcc, tests under qemu-aarch64
#                       (build/arm64)
#   make test-valgrind  gcc, Release with -g: every test under valgrind
#                       memcheck (valgrind_<name>, GOMAXPROCS=1; the few
#                       that cannot run there are listed with a reason in
#                       test/CMakeLists.txt)  (build/valgrind)
#   make test-install   install build/release into a temporary prefix and
#                       build test/install/ against it (CMake, pkg-config),
#                       and compile goc.h as C++; then install goc-race
#                       (build/install-race) beside it and build against
#                       that (goc-race.pc, goc::goc_race)
#   make demo           make deps, Release build, then examples/demo.sh:
#                       the tour, each step with what it shows and its
#                       time, then a table of them all.  STEP=5, STEP=3-7
#                       or STEP='1 5' runs only those steps; DEMO_ARGS
#                       passes other options (DEMO_ARGS=--list: the
#                       numbered steps); DEMO_TIMEOUT is the seconds a
#                       step may take (120)
#   make apiref         regenerate docs/api.md, the API reference, from
#                       the comments of include/goc.h and include/goc/*.h
#                       (tools/apiref.sh); the test apiref fails while the
#                       committed one is out of date
#   make bench          make deps, Release build, then bench/run.sh (the
#                       network benchmarks need wrk, a package of deps);
#                       its race group (spawn, pingpong, mutex under TSan
#                       against Go's -race) uses a TSan Release build
#                       (build/racebench)
#   make stress         not part of make test: the Release suite
#                       STRESS_RUNS times (default 20) at GOMAXPROCS 2 and
#                       1, then the TSan suite STRESS_TSAN_RUNS times (5);
#                       ctest stops at the first failure of each
#   make install        build the library alone (gcc Release, no tests,
#                       examples or benchmarks: build/install-lib) and
#                       install it into PREFIX (/usr/local); DESTDIR is
#                       honoured
#   make install-race   the library built with clang and GOC_SANITIZE=thread
#                       (RelWithDebInfo; build/install-race), installed
#                       beside the plain one: libgoc-race.a, libgoc-race.so,
#                       goc-race.pc, CMake component race (goc::goc_race)
#   make install-asan   likewise with address;undefined: libgoc-asan.*,
#                       goc-asan.pc, goc::goc_asan (build/install-asan)
#   make clean          remove build/
#
# Knobs: JOBS (parallel build and ctest jobs, default 2), PREFIX, CTEST_ARGS
# (extra ctest arguments, e.g. CTEST_ARGS='-R chan').

SHELL := /bin/bash
MAKEFLAGS += --no-print-directory
.SHELLFLAGS := -eo pipefail -c
# Configurations run one after another, in the order given; each of them
# is parallel inside (cmake --build -j, ctest -j).
.NOTPARALLEL:
.DELETE_ON_ERROR:

BUILD   ?= build
PREFIX  ?= /usr/local
JOBS    ?= 2
CMAKE   ?= cmake
CTEST   ?= ctest
CTEST_ARGS ?=

PACKAGES := cmake gcc clang make valgrind libclang-rt-14-dev libdw1 gdb \
            gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user \
            golang-go pkg-config wrk libhttp-parser-dev

# Options per configuration.
CONF_release := -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=gcc \
                -DGOC_WERROR=ON
CONF_clang   := -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=clang \
                -DGOC_WERROR=ON -DGOC_SWITCH_FPENV=ON \
                -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=0
CONF_asan    := -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
                -DGOC_WERROR=ON -DGOC_DEBUG=3 \
                '-DGOC_SANITIZE=address;undefined'
CONF_tsan    := -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
                -DGOC_WERROR=ON -DGOC_DEBUG=2 -DGOC_SANITIZE=thread
# The race group of make bench: what a program built with -fsanitize=thread
# links, optimised (benchmarks only: no tests, no examples).
CONF_racebench := -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=clang \
                -DGOC_SANITIZE=thread -DGOC_BUILD_TESTS=OFF \
                -DGOC_BUILD_EXAMPLES=OFF
CONF_debug   := -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=gcc \
                -DGOC_WERROR=ON -DGOC_DEBUG=3
CONF_arm64   := -DCMAKE_BUILD_TYPE=Release -DGOC_WERROR=ON \
                -DCMAKE_TOOLCHAIN_FILE=$(CURDIR)/cmake/toolchain-aarch64.cmake
CONF_valgrind := -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=gcc \
                -DGOC_WERROR=ON -DCMAKE_C_FLAGS=-g -DGOC_TEST_VALGRIND=ON \
                -DGOC_BUILD_EXAMPLES=OFF -DGOC_BUILD_BENCH=OFF

# Sanitizer runtime options for the tests (the environment wins if set).
export ASAN_OPTIONS  ?= detect_leaks=1
export UBSAN_OPTIONS ?= halt_on_error=1:print_stacktrace=1
export TSAN_OPTIONS  ?= halt_on_error=1$(if $(wildcard test/tsan.supp),:suppressions=$(CURDIR)/test/tsan.supp)

# CTest ends with its summary ("100% tests passed, 0 tests failed out of
# N"), then a blank line and "Total Test time": drop those so the summary is
# the last line `make test` prints.
CTEST_TAIL := awk '/^Total Test time/ { next } /^$$/ { blank++; next } \
                   { while (blank > 0) { print ""; blank-- } print; fflush() }'

# The builds that cmake --build runs are not sub-makes of this one: they
# get their own -j$(JOBS), no jobserver and no "Entering directory" lines.
ISOLATE := env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL

CONFIGS := release clang debug asan tsan arm64 valgrind

.PHONY: all deps test $(CONFIGS:%=test-%) $(CONFIGS:%=build-%) build-racebench \
        test-gomaxprocs1 test-oldkernel test-compact \
        test-install demo apiref bench stress install install-race \
        install-asan clean

all: build-release

deps:
	@missing=; \
	for p in $(PACKAGES); do \
	  dpkg -s "$$p" 2>/dev/null | grep -q '^Status: install ok installed' \
	    || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  sudo=; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	  echo "deps: installing$$missing"; \
	  $$sudo apt-get update; \
	  $$sudo env DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y --no-install-recommends $$missing; \
	fi

# The install check and the C++ header check come before the last
# configuration, so the final ctest summary closes the output.
test: deps test-release test-gomaxprocs1 test-oldkernel test-install \
      test-clang test-debug \
      test-compact test-asan test-tsan test-valgrind test-arm64

# build-NAME: configure (first time or when options change) and build.
# test-NAME: build-NAME, then run the suite with ctest.
define config_rules
build-$(1):
	@echo "==> $(1): configure and build in $(BUILD)/$(1)"
	@mkdir -p $(BUILD)
	$(CMAKE) -S . -B $(BUILD)/$(1) $(CONF_$(1)) > $(BUILD)/$(1).configure.log \
	  || { cat $(BUILD)/$(1).configure.log; exit 1; }
	$$(ISOLATE) $(CMAKE) --build $(BUILD)/$(1) -j$(JOBS)

test-$(1): deps build-$(1)
	@echo "==> $(1): ctest"
	cd $(BUILD)/$(1) && $(CTEST) --output-on-failure -j$(JOBS) $$(CTEST_ARGS) \
	  | $$(CTEST_TAIL)
endef
$(foreach c,$(CONFIGS) racebench,$(eval $(call config_rules,$(c))))

# The Release suite once more with a single P: schedules that 2 Ps hide
# (a goroutine blocking its thread, a wake-up that assumes a second P).
test-gomaxprocs1: deps build-release
	@echo "==> release with GOMAXPROCS=1: ctest"
	cd $(BUILD)/release && GOMAXPROCS=1 $(CTEST) --output-on-failure \
	  -j$(JOBS) $(CTEST_ARGS) | $(CTEST_TAIL)

# The Release suite as on a kernel before 6.13 (Debian 12's 6.1): a
# seccomp filter (test/runner.c) refuses MADV_GUARD_INSTALL,
# MADV_GUARD_REMOVE and process_madvise with EINVAL, so guard pages are
# mprotect's and a refill populates a page at a time.
test-oldkernel: deps build-release
	@echo "==> release as on Linux before 6.13: ctest"
	cd $(BUILD)/release && GOC_TEST_OLD_KERNEL=1 $(CTEST) --output-on-failure \
	  -j$(JOBS) $(CTEST_ARGS) | $(CTEST_TAIL)

test-compact: deps build-debug
	@echo "==> debug with GOCDEBUG=compactstacks=1,compactafter=0: ctest"
	cd $(BUILD)/debug && GOCDEBUG=compactstacks=1,compactafter=0 \
	  $(CTEST) --output-on-failure -j$(JOBS) $(CTEST_ARGS) | $(CTEST_TAIL)

# Long runs for flaky concurrency: each suite over and over, in the same
# configurations as make test.
STRESS_RUNS ?= 20
STRESS_TSAN_RUNS ?= 5
stress: deps build-release build-tsan
	@echo "==> stress: release, $(STRESS_RUNS) runs"
	cd $(BUILD)/release && $(CTEST) --output-on-failure -j$(JOBS) \
	  --repeat until-fail:$(STRESS_RUNS) $(CTEST_ARGS) | $(CTEST_TAIL)
	@echo "==> stress: release with GOMAXPROCS=1, $(STRESS_RUNS) runs"
	cd $(BUILD)/release && GOMAXPROCS=1 $(CTEST) --output-on-failure \
	  -j$(JOBS) --repeat until-fail:$(STRESS_RUNS) $(CTEST_ARGS) \
	  | $(CTEST_TAIL)
	@echo "==> stress: tsan, $(STRESS_TSAN_RUNS) runs"
	cd $(BUILD)/tsan && $(CTEST) --output-on-failure -j$(JOBS) \
	  --repeat until-fail:$(STRESS_TSAN_RUNS) $(CTEST_ARGS) | $(CTEST_TAIL)

test-install: deps build-release build-install-race
	@echo "==> install: consumers of an installed goc, and of goc-race beside it"
	$(ISOLATE) sh test/install/check.sh $(BUILD)/release $(BUILD)/install \
	  $(BUILD)/install-race

STEP ?=
DEMO_ARGS ?=
demo: deps build-release
	$(ISOLATE) sh examples/demo.sh $(foreach s,$(STEP),--step $(s)) \
	  $(DEMO_ARGS) $(BUILD)/release

apiref:
	sh tools/apiref.sh

bench: deps build-release build-racebench
	$(ISOLATE) env RACE_BUILD=$(BUILD)/racebench bash bench/run.sh $(BUILD)/release

# The library alone (no tests, examples or benchmarks), in its own build
# directory; `cmake --install` honours DESTDIR.  The plain library is gcc's
# Release build.  The sanitized ones are clang's (the sanitizer runtime a
# program uses must be the one of the compiler that built goc: gcc's TSan
# runtime is far slower and dies at 8,128 goroutines), with debug info for
# the reports, and install beside the plain one under their own names.
LIB_OPTS := -DGOC_BUILD_TESTS=OFF -DGOC_BUILD_EXAMPLES=OFF -DGOC_BUILD_BENCH=OFF
INSTALL_CONF_lib  := -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=gcc
INSTALL_CONF_race := -DCMAKE_BUILD_TYPE=RelWithDebInfo \
                     -DCMAKE_C_COMPILER=clang -DGOC_SANITIZE=thread
INSTALL_CONF_asan := -DCMAKE_BUILD_TYPE=RelWithDebInfo \
                     -DCMAKE_C_COMPILER=clang '-DGOC_SANITIZE=address;undefined'

# lib_rules NAME: build-install-NAME builds $(BUILD)/install-NAME.
define lib_rules
build-install-$(1):
	@echo "==> install-$(1): configure and build the library in $(BUILD)/install-$(1)"
	@mkdir -p $(BUILD)
	$(CMAKE) -S . -B $(BUILD)/install-$(1) $(INSTALL_CONF_$(1)) $(LIB_OPTS) \
	  > $(BUILD)/install-$(1).configure.log \
	  || { cat $(BUILD)/install-$(1).configure.log; exit 1; }
	$$(ISOLATE) $(CMAKE) --build $(BUILD)/install-$(1) -j$(JOBS)
endef
$(foreach c,lib race asan,$(eval $(call lib_rules,$(c))))
.PHONY: build-install-lib build-install-race build-install-asan

install: build-install-lib
	@echo "==> install: the library into $(DESTDIR)$(PREFIX)"
	$(ISOLATE) $(CMAKE) --install $(BUILD)/install-lib --prefix $(PREFIX)

install-race install-asan: install-%: build-install-%
	@echo "==> install-$*: goc-$* into $(DESTDIR)$(PREFIX)"
	$(ISOLATE) $(CMAKE) --install $(BUILD)/install-$* --prefix $(PREFIX)

clean:
	rm -rf $(BUILD)
