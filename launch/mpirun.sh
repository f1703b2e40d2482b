#!/usr/bin/env bash
# Multi-rank (and multi-node) training with Open MPI's mpirun. Stop it with Ctrl-C, `kill PID` or SIGTERM
# from a scheduler: the ranks finish the current step, write last.h5 and exit 0; continue with --resume.
#
#   launch/mpirun.sh -n 4 [--hostfile hosts.txt] [--] --config configs/seq2seq.yaml --data DIR --run DIR [...]
#
# Options (before the training arguments; `--` ends them explicitly):
#   -n, --np NP          number of ranks (default 2). Each rank holds a model replica and reads its own
#                        shards; gradients are averaged by all-reduce every step.
#   --hostfile FILE      Open MPI hostfile ("node01 slots=8" per line) for multi-node runs. The prepared
#                        dataset (--data) must be on a filesystem every node sees (NFS, Lustre, ...); the run
#                        directory only needs to be visible to the node of rank 0.
#   --oversubscribe      allow more ranks than cores (testing on a laptop; slow for real runs).
# Everything else is passed to `cgmtrain train`.
#
# Environment (all passed to every rank, including remote ones, with mpirun -x):
#   CGMTRAIN                     the cgmtrain binary; the same path must exist on every node (default:
#                                .build/release/cgmtrain of this checkout, else `cgmtrain` on PATH)
#   OPENBLAS_NUM_THREADS=1       one BLAS thread per rank by default: ranks are the parallelism, and extra
#   OMP_NUM_THREADS=1            threads per rank would oversubscribe the cores. Override both together
#                                (e.g. 2 ranks × 4 threads on an 8-core node); they are set consistently.
#   CGMTRAIN_STOP_GRACE_SECONDS  seconds a rank gets to finish its step and write last.h5 after a stop
#                                signal before its watchdog exits it (default 10). Also mpirun's delay between
#                                SIGTERM and SIGKILL when it tears a job down itself (odls_base_sigkill_timeout,
#                                Open MPI's default 1 s). Open MPI waits that delay twice when a rank dies, so a
#                                dead rank ends the whole job after about 2 × grace + 1 s (≈ 21 s by default);
#                                keep it ≤ 14 s to stay under 30 s.
#   MPIRUN_ARGS                  extra mpirun options, e.g. "--allow-run-as-root" in containers, or binding:
#
# Binding: none by default (--bind-to none). With one BLAS thread per rank and ranks ≤ cores the kernel
# scheduler does well; on dedicated nodes `MPIRUN_ARGS="--bind-to core --map-by core"` can help, and with
# several threads per rank use e.g. `--map-by slot:PE=$OMP_NUM_THREADS --bind-to core`.
set -euo pipefail

np=2
hostfile=""
oversubscribe=()
while (($#)); do
    case "$1" in
        -n|--np) np="$2"; shift 2 ;;
        --hostfile) hostfile="$2"; shift 2 ;;
        --oversubscribe) oversubscribe=(--oversubscribe); shift ;;
        --) shift; break ;;
        *) break ;;
    esac
done
[[ "$np" =~ ^[1-9][0-9]*$ ]] || { echo "mpirun.sh: -n needs a positive number of ranks (got '$np')" >&2; exit 2; }

root="$(cd "$(dirname "$0")/.." && pwd)"
if [[ -z "${CGMTRAIN:-}" ]]; then
    if [[ -x "$root/.build/release/cgmtrain" ]]; then CGMTRAIN="$root/.build/release/cgmtrain"; else CGMTRAIN=cgmtrain; fi
fi

export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-$OPENBLAS_NUM_THREADS}"
export CGMTRAIN_STOP_GRACE_SECONDS="${CGMTRAIN_STOP_GRACE_SECONDS:-10}"
grace_int="${CGMTRAIN_STOP_GRACE_SECONDS%.*}"
((grace_int >= 1)) || grace_int=1

hosts=()
[[ -n "$hostfile" ]] && hosts=(--hostfile "$hostfile")
read -r -a extra <<< "${MPIRUN_ARGS:-}"

# -x NAME exports a variable to every rank (remote nodes included); --bind-to none: see above.
exports=(-x OPENBLAS_NUM_THREADS -x OMP_NUM_THREADS -x CGMTRAIN_STOP_GRACE_SECONDS -x PATH)
[[ -n "${LD_LIBRARY_PATH:-}" ]] && exports+=(-x LD_LIBRARY_PATH)
# Ranks' stdout reaches mpirun through a pseudo-terminal, so they cannot tell whether the user sees a
# terminal: tell rank 0 whether to draw a progress bar or print plain lines.
if [[ -t 1 ]]; then export CGMTRAIN_PROGRESS=bar; else export CGMTRAIN_PROGRESS=plain; fi
exports+=(-x CGMTRAIN_PROGRESS)
# SIGTERM and SIGINT reach the ranks as SIGUSR1 and SIGUSR2 (below): the ranks report them by the names sent.
export CGMTRAIN_FORWARDED_SIGNALS=1
exports+=(-x CGMTRAIN_FORWARDED_SIGNALS)
# How to relaunch, for the trainer's "resume with: ..." message.
export CGMTRAIN_LAUNCH_COMMAND="$0 -n $np${hostfile:+ --hostfile $hostfile}${oversubscribe:+ --oversubscribe}"
exports+=(-x CGMTRAIN_LAUNCH_COMMAND)

# mpirun runs in its own session (setsid), so a terminal's Ctrl-C reaches only this script; SIGTERM and SIGINT
# sent to this script are forwarded to mpirun as SIGUSR1 and SIGUSR2, which mpirun passes on to every rank
# (on SIGTERM or SIGINT it would instead tear the job down and exit 1). Each rank then finishes its step, rank 0 writes last.h5,
# and the job exits 0. A second signal is forwarded too and makes the ranks exit at once.
# odls_base_sigkill_timeout: mpirun's SIGTERM → SIGKILL delay when it tears the job down itself (a rank
# died, or mpirun was signalled directly).
setsid mpirun -np "$np" "${hosts[@]}" "${oversubscribe[@]}" --bind-to none \
    --mca odls_base_sigkill_timeout "$grace_int" "${exports[@]}" \
    "${extra[@]}" "$CGMTRAIN" train "$@" &
mpirun_pid=$!
trap 'kill -USR1 "$mpirun_pid" 2>/dev/null || true' TERM
trap 'kill -USR2 "$mpirun_pid" 2>/dev/null || true' INT
set +e
while :; do
    wait "$mpirun_pid"
    status=$?
    kill -0 "$mpirun_pid" 2>/dev/null || break     # still running: wait was interrupted by a forwarded signal
done
exit "$status"
