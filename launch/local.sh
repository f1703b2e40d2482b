#!/usr/bin/env bash
# One-rank training run, for debugging: no mpirun, so a debugger, a profiler or prints work directly.
#
#   launch/local.sh --config configs/seq2seq.yaml --data data/prepared --run checkpoints/debug [--set k=v ...]
#
# Every argument is passed to `cgmtrain train`. Without MPI the trainer uses a single-process
# communicator: the same code path as a multi-rank run, with collectives that are identities.
#
# Environment:
#   CGMTRAIN              the cgmtrain binary (default: .build/release/cgmtrain, else .build/debug/cgmtrain,
#                         else `cgmtrain` on PATH)
#   OPENBLAS_NUM_THREADS  BLAS threads (default 1, as in multi-rank runs, so numbers match np = 1 of mpirun.sh;
#   OMP_NUM_THREADS       raise both to use more cores in a single-rank run)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
if [[ -z "${CGMTRAIN:-}" ]]; then
    for candidate in "$root/.build/release/cgmtrain" "$root/.build/debug/cgmtrain"; do
        if [[ -x "$candidate" ]]; then CGMTRAIN="$candidate"; break; fi
    done
fi
CGMTRAIN="${CGMTRAIN:-cgmtrain}"

export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-$OPENBLAS_NUM_THREADS}"

export CGMTRAIN_LAUNCH_COMMAND="$0"     # for the trainer's "resume with: ..." message
# exec: SIGTERM/SIGINT reach the trainer directly (it finishes the step, writes last.h5 and exits 0).
exec "$CGMTRAIN" train "$@"
