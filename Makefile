# The two commands of the README. Both install what is missing first (launch/install-deps.sh).
SWIFT ?= swift
export OMPI_ALLOW_RUN_AS_ROOT ?= 1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM ?= 1

.PHONY: demo test deps build release bench fuzz

deps:
	bash launch/install-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

## The main job, end to end.
demo: release
	bash launch/demo.sh

## The target map (ARCHITECTURE.md), the test suite (debug build; the MPI tests launch the built cgmtrain
## under mpirun), then the release-build leak check (optimizer-only leaks do not show in debug builds), then
## every fuzz target if this toolchain can build -sanitize=fuzzer (skipped with a message if not): a fixed seed and
## a fixed number of executions per target, capped at TEST_FUZZ_SECONDS each, so CI replays what was verified
## (seed corpus with the regression inputs, then the same mutations) rather than exploring (`make fuzz` explores).
TEST_FUZZ_SECONDS ?= 60
TEST_FUZZ_SEED ?= 1
TEST_FUZZ_RUNS ?= csv=1000000 config=30000 manifest=1000000 checkpoint=1500 import=6000
test: build
	python3 Tests/check-architecture.py
	$(SWIFT) test
	$(SWIFT) build -c release --product cgmbench
	.build/release/cgmbench --leak-check
	FUZZ_IF_SUPPORTED=1 FUZZ_SECONDS=$(TEST_FUZZ_SECONDS) FUZZ_SEED=$(TEST_FUZZ_SEED) FUZZ_RUNS="$(TEST_FUZZ_RUNS)" \
		bash Fuzz/run.sh

## Speed: the release-built benchmark table.
bench: release
	.build/release/cgmbench

## Fuzzing: every libFuzzer target for FUZZ_SECONDS (default 60) each (Fuzz/run.sh; FUZZ_TARGETS, FUZZ_RUNS).
fuzz: deps
	bash Fuzz/run.sh
