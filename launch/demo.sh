#!/usr/bin/env bash
# The main job (README command 1, run by `make demo` after a release build), end to end on the built-in
# simulated cohort:
#   simulate → prepare (mpirun -np 2) → train (launch/mpirun.sh -n 2) → evaluate (mpirun -np 2)
# The Seq2Seq LSTM of PhysioSeq2Seq (without ODE features) learns to forecast 4 h of glucose from 3 h of
# CGM and insulin on board; evaluation prints its test table against the naive last-value forecast.
# Everything goes to checkpoints/demo/ (replaced on every run). Set DEMO_SUBJECTS / DEMO_DAYS / DEMO_RANKS
# to change the cohort or the number of ranks.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
bin=.build/release/cgmtrain
out=checkpoints/demo
subjects="${DEMO_SUBJECTS:-40}" days="${DEMO_DAYS:-7}" ranks="${DEMO_RANKS:-2}"
mpirun=(mpirun --allow-run-as-root --oversubscribe -np "$ranks")
start=$(date +%s)

echo "== demo: replacing $out"
rm -rf "$out"
mkdir -p "$out"

echo "== 1/5 system check: MPI, OpenBLAS, HDF5 on $ranks ranks"
"${mpirun[@]}" "$bin" check-system

echo "== 2/5 simulate a cohort: $subjects subjects × $days days (Hovorka 10-state model, seed 1)"
"$bin" simulate --subjects "$subjects" --days "$days" --seed 1 --out "$out/cohort"

echo "== 3/5 prepare: ingest, QC, features, windows (L=37, H=48), HDF5 shards, on $ranks ranks"
"${mpirun[@]}" "$bin" prepare --cgm "$out/cohort/cgm.csv" --subjects "$out/cohort/subjects.csv" \
    --config configs/seq2seq.yaml --out "$out/prepared"

echo "== 4/5 train: Seq2Seq LSTM (configs/seq2seq.yaml), data-parallel on $ranks ranks"
CGMTRAIN="$bin" bash launch/mpirun.sh -n "$ranks" --config configs/seq2seq.yaml \
    --data "$out/prepared" --run "$out/run"

echo "== 5/5 evaluate the best checkpoint on the held-out test subjects"
"${mpirun[@]}" "$bin" evaluate --checkpoint "$out/run/best.h5" --data "$out/prepared" --split test \
    --subjects "$out/cohort/subjects.csv" --out "$out/eval"

echo "== demo done in $(( $(date +%s) - start )) s: $out/run (checkpoints, metrics.jsonl, learning_curve.svg), $out/eval"
