#!/usr/bin/env bash
# PhysioSeq2Seq's model comparison (Table 2, Figure 3, Appendix D) end to end on the simulated cohort, with
# the paper's protocol (configs/physio-seq2seq-paper.yaml):
#   simulate → prepare (twin matching + ODE states, np ranks) → train every model (np ranks) → compare (np ranks)
# Models, all trained on the same prepared windows: seq2seq ("Seq2Seq - ODE"), physio_seq2seq ("Seq2Seq + ODE"),
# recursive_lstm ("Recursive LSTM", skipped with a message when this cgmtrain does not register it), and the
# parameter-less naive and digital_twin ("Digital Twin"), which `train` validates once without optimizing.
# The wall time of every phase is printed at the end and written to OUT/times.tsv.
#
#   launch/physio-paper.sh                     # the full protocol (up to 100 epochs per model), 2 ranks
#   PAPER_RANKS=1 PAPER_EPOCHS=3 launch/physio-paper.sh
#
# Environment:
#   PAPER_RANKS      ranks for prepare, training and evaluation (default 2)
#   PAPER_SUBJECTS   simulated subjects (default 40, the README main job's cohort)
#   PAPER_DAYS       days per subject (default 7)
#   PAPER_SEED       simulator seed (default 1)
#   PAPER_EPOCHS     cap train.max_epochs (default: the config's 100; early stopping usually ends sooner)
#   PAPER_MODELS     models to train, in table order (default "digital_twin recursive_lstm seq2seq physio_seq2seq naive")
#   PAPER_OUT        output directory, replaced on every run (default checkpoints/physio-paper)
#   CGMTRAIN         the cgmtrain binary (default .build/release/cgmtrain)
set -euo pipefail
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
bin="${CGMTRAIN:-.build/release/cgmtrain}"
config=configs/physio-seq2seq-paper.yaml
ranks="${PAPER_RANKS:-2}" subjects="${PAPER_SUBJECTS:-40}" days="${PAPER_DAYS:-7}" seed="${PAPER_SEED:-1}"
models="${PAPER_MODELS:-digital_twin recursive_lstm seq2seq physio_seq2seq naive}"
out="${PAPER_OUT:-checkpoints/physio-paper}"
mpirun=(mpirun --allow-run-as-root --oversubscribe -np "$ranks")
epochs=()
[[ -n "${PAPER_EPOCHS:-}" ]] && epochs=(--set "train.max_epochs=$PAPER_EPOCHS")
[[ -x "$bin" ]] || { echo "physio-paper.sh: $bin not found; build it first (swift build -c release)" >&2; exit 2; }

label() {
    case "$1" in
        digital_twin) echo "Digital Twin" ;; recursive_lstm) echo "Recursive LSTM" ;;
        seq2seq) echo "Seq2Seq - ODE" ;; physio_seq2seq) echo "Seq2Seq + ODE" ;; *) echo "$1" ;;
    esac
}
# The paper's heads forecast eq. 11-scaled glucose itself: the learned models get residual: false (the baselines
# have no such key).
residual_key() { case "$1" in seq2seq|physio_seq2seq|recursive_lstm) echo ", residual: false" ;; esac; }
now() { date +%s.%N; }
times=()
phase() {   # phase NAME START END
    local s; s=$(awk -v a="$2" -v b="$3" 'BEGIN { printf "%.1f", b - a }')
    times+=("$1"$'\t'"$s")
    echo "== $1: $s s"
}

# Models this cgmtrain registers (from `train --help`, "Models: a, b, c.").
registered=$("$bin" train --help | tr '\n' ' ' | sed -n 's/.*Models: \([^.]*\)\..*/\1/p' | tr -d ',')

echo "== physio-paper: $subjects subjects × $days days, $ranks rank(s), $config${PAPER_EPOCHS:+, max_epochs $PAPER_EPOCHS}; replacing $out"
rm -rf "$out"
mkdir -p "$out"
total=$(now)

t=$(now)
"$bin" simulate --subjects "$subjects" --days "$days" --seed "$seed" --no-truth --out "$out/cohort"
phase simulate "$t" "$(now)"

t=$(now)
"${mpirun[@]}" "$bin" prepare --cgm "$out/cohort/cgm.csv" --subjects "$out/cohort/subjects.csv" \
    --config "$config" --out "$out/prepared"
phase "prepare (np $ranks)" "$t" "$(now)"

checkpoints=()
for m in $models; do
    if [[ " $registered " != *" $m "* ]]; then
        echo "== train $m: skipped, this cgmtrain does not register model '$m' (registered: $registered)"
        continue
    fi
    echo "== train $m ($(label "$m"))"
    t=$(now)
    CGMTRAIN="$bin" bash launch/mpirun.sh -n "$ranks" --oversubscribe --config "$config" --data "$out/prepared" \
        --run "$out/runs/$m" --set "model={name: $m$(residual_key "$m")}" "${epochs[@]}"
    phase "train $m (np $ranks)" "$t" "$(now)"
    checkpoints+=(--checkpoint "$(label "$m")=$out/runs/$m/best.h5")
done

t=$(now)
"${mpirun[@]}" "$bin" compare --data "$out/prepared" --split test --subjects "$out/cohort/subjects.csv" \
    --out "$out/compare" "${checkpoints[@]}"
phase "evaluate: compare (np $ranks)" "$t" "$(now)"
phase total "$total" "$(now)"

printf 'phase\tseconds\n' > "$out/times.tsv"
printf '%s\n' "${times[@]}" >> "$out/times.tsv"
echo "== wall times (also in $out/times.tsv)"
column -t -s $'\t' "$out/times.tsv"
echo "== results: $out/compare (compare.csv, compare_per_horizon.csv, compare_*.svg, worst-segment lists)"
