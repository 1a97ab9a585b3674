# SPDX-License-Identifier: Apache-2.0
# Entry points for people and CI. Everything real lives in CMake; this file only installs, configures and runs.
BUILD ?= build
JOBS  ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps build demo test asan test-asan bench clean

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

clean:
	rm -rf build build-asan
