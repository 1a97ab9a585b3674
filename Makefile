# SPDX-License-Identifier: Apache-2.0
# Entry points for people and CI. Everything real lives in CMake; this file only installs, configures and runs.
BUILD ?= build
JOBS  ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps build demo test asan test-asan bench fuzz clean

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

bench: build
	bash bench/run.sh $(BUILD)

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
	rm -rf build build-asan build-fuzz
