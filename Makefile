# SPDX-License-Identifier: Apache-2.0
# Entry points for people and CI. Everything real lives in CMake; this file only installs, configures and runs.
BUILD ?= build
JOBS  ?= $(shell nproc)
CMAKE_FLAGS ?=
PREFIX ?= /usr/local
DESTDIR ?=
VERSION := $(shell sed -n 's/^project.m2mattach VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)

.PHONY: all deps build demo test asan test-asan bench plots check coverage fuzz install deb docs clean

all: build

deps:
	@bash scripts/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	./$(BUILD)/m2mattach demo

test: build
	cd $(BUILD) && ctest --output-on-failure -j 2 --timeout 300

# The sanitizer build (ASan + UBSan) in its own tree; the whole suite runs under it.
asan:
	$(MAKE) build BUILD=build-asan CMAKE_FLAGS="-DM2M_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug"

test-asan: asan
	cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j 2 --timeout 600

# The main run (bench/results/latest.md), then GBA, PostgreSQL and DTLS (their own *-latest.md files).
bench: build
	bash bench/run.sh $(BUILD)
	bash bench/gba.sh $(BUILD)
	bash bench/pg.sh $(BUILD)
	bash bench/dtls.sh $(BUILD)
	$(MAKE) plots

# make plots: the benchmark's plots (bench/results/*.svg: ratio to the ceiling per row, memory per connection,
# streaming by connections) from bench/results/latest.md as it is -- no benchmark run. gnuplot comes with
# `install-deps.sh bench`.
plots:
	@bash scripts/install-deps.sh bench
	python3 bench/plot_data.py bench/results/latest.md $(BUILD)/plot-data
	gnuplot -e "data='$(BUILD)/plot-data'; out='bench/results'" bench/plots.gp

# make check: cppcheck and clang's scan-build over the code, no finding allowed (scripts/check.sh says which
# checks and why). make test runs the cppcheck half as check.static; scan-build (1.5 to 3 minutes here) only here.
check:
	@bash scripts/install-deps.sh check
	bash scripts/check.sh

# make coverage: the suite on a gcov build in build-cov/, an HTML report in build-cov/coverage/index.html and line
# coverage per folder of src/ (scripts/coverage.sh; COVERAGE_STRICT=1 fails under the 90 % floor of secctx, store
# and the binding decision).
coverage:
	@bash scripts/install-deps.sh coverage
	bash scripts/coverage.sh build-cov

# make install [PREFIX=/usr/local] [DESTDIR=/tmp/stage]: the binary, both libraries (shared and static), the
# headers, pkg-config files, man pages, bash completion and the systemd unit. The build tree is configured for PREFIX
# first: the unit, the pkg-config files and the man pages name installed paths.
install: build
	cmake -S . -B $(BUILD) -DCMAKE_INSTALL_PREFIX=$(PREFIX)
	cmake --build $(BUILD) -j $(JOBS)
	DESTDIR=$(DESTDIR) cmake --install $(BUILD)

# make deb: the Debian packages (m2mattach, libm2mattach-registree0, libm2mattach-registrar0, libm2mattach-dev)
# with dpkg-buildpackage, built from a copy of the tree in build-deb/ (so nothing lands beside the checkout),
# then lintian on the result. Installs debhelper, lintian and devscripts first (only this target needs them).
deb:
	@bash scripts/install-deps.sh deb
	rm -rf build-deb && mkdir -p build-deb/m2mattach-$(VERSION)
	tar --exclude='./build*' --exclude=./.git -cf - . | tar -C build-deb/m2mattach-$(VERSION) -xf -
	cd build-deb/m2mattach-$(VERSION) && dpkg-buildpackage -us -uc
	lintian --info --display-info build-deb/m2mattach_$(VERSION)_*.changes | tee build-deb/lintian.txt
	@! grep -q '^E:' build-deb/lintian.txt

# make docs: the sequence diagrams of docs/diagrams/*.puml rendered to SVG beside them with PlantUML (Debian's
# plantuml package). The SVGs are committed, so only a changed diagram needs this.
docs:
	@bash scripts/install-deps.sh docs
	plantuml -tsvg -nometadata docs/diagrams/*.puml

# libFuzzer on every harness of tests/fuzz, one after the other, FUZZ_SECONDS each (FUZZ_TARGETS="state details"
# picks some), in a clang build of its own; crashes land in $(FUZZ_BUILD)/findings/<harness>/ and fail the target.
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=

fuzz:
	@bash scripts/install-deps.sh fuzz
	@test -f $(FUZZ_BUILD)/CMakeCache.txt || CC=clang cmake -S . -B $(FUZZ_BUILD) -DM2M_FUZZ=ON
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzzers
	bash scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

clean:
	rm -rf build build-asan build-cov build-scan build-deb build-fuzz
