#!/usr/bin/env bash
# The main job (README command 1), run by `make demo` after a release build.
# Until the data and trainer issues land this checks the system libraries under mpirun and trains the
# toy sequence task end to end; later issues replace it with simulate → prepare → mpirun train → evaluate.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
bin=.build/release/cgmtrain
mpirun --allow-run-as-root --oversubscribe -np 2 "$bin" check-system
"$bin" demo --config configs/toy.yaml
