#!/usr/bin/env bash
# Every forecaster against persistence on one cohort (issue 14; the README's results table):
#   simulate (or FORECASTERS_CGM=FILE) → prepare the shared windows (configs/forecasters.yaml) → train naive,
#   digital_twin, linear_ar, seq2seq, physio_seq2seq, recursive_lstm, tft and ssm_cgm on them → compare on the test
#   split (MAE, RMSE, skill with its CI, Clarke A+B at 15/30/60/120 min); GluFormer trains on its own token windows of
#   the same cohort (configs/gluformer-small.yaml: its own subject split, drawn with the same seed over the subjects
#   that have token windows) and is evaluated there against naive on those windows (1-hour horizon).
#   Writes OUT/results.md (the table), OUT/compare/ and OUT/gluformer-eval/.
#
#   launch/forecasters.sh                                            # the built-in cohort (40 × 7 days, seed 1)
#   FORECASTERS_CGM=../shared/real/iglu5/cgm.csv FORECASTERS_SPLIT=temporal_fraction launch/forecasters.sh
#
# Environment:
#   FORECASTERS_RANKS     ranks (default 2)
#   FORECASTERS_SUBJECTS  / FORECASTERS_DAYS / FORECASTERS_SEED: the simulated cohort (40 / 7 / 1: the main job's)
#   FORECASTERS_CGM       a canonical cgm.csv instead of the simulator (FORECASTERS_SUBJECTS_CSV: its subjects.csv)
#   FORECASTERS_SPLIT     data.split of the shared windows (subject, or temporal_fraction for a few subjects)
#   FORECASTERS_MODELS    models to train (default: all of the list above, then gluformer)
#   FORECASTERS_EPOCHS    cap on max_epochs (default: the config's 50; recursive_lstm is capped at 15, its epochs are
#                         the slowest)
#   FORECASTERS_OUT       output directory, replaced (default checkpoints/forecasters)
#   CGMTRAIN              the cgmtrain binary (default .build/release/cgmtrain)
# TFT and SSM-CGM run at reduced sizes here (hidden / d_model 32), as Table 1 --quick does; the paper sizes are in
# configs/tft-*.yaml and configs/ssm-cgm-*.yaml.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
bin="${CGMTRAIN:-.build/release/cgmtrain}"
ranks="${FORECASTERS_RANKS:-2}" out="${FORECASTERS_OUT:-checkpoints/forecasters}"
models="${FORECASTERS_MODELS:-naive digital_twin linear_ar seq2seq physio_seq2seq recursive_lstm tft ssm_cgm gluformer}"
mpirun=(mpirun --allow-run-as-root --oversubscribe -np "$ranks")
[[ -x "$bin" ]] || { echo "forecasters.sh: $bin not found; build it first (swift build -c release)" >&2; exit 2; }

model_section() {
    case "$1" in
        tft) echo "{name: tft, hidden: 32, heads: 4, lstm_layers: 2}" ;;
        ssm_cgm) echo "{name: ssm_cgm, d_model: 32, depth: 2, d_state: 16, expand: 2, heads: 4, chunk: 64}" ;;
        *) echo "{name: $1}" ;;
    esac
}
epochs_for() {
    local cap="${FORECASTERS_EPOCHS:-}"
    if [[ "$1" == recursive_lstm ]] && { [[ -z "$cap" ]] || ((cap > 15)); }; then cap=15; fi
    if [[ -n "$cap" ]]; then echo "--set train.max_epochs=$cap"; fi
}

echo "== forecasters: replacing $out"
rm -rf "$out"
mkdir -p "$out"
start=$(date +%s)

subjects_args=()
if [[ -n "${FORECASTERS_CGM:-}" ]]; then
    cgm="$FORECASTERS_CGM"
    [[ -n "${FORECASTERS_SUBJECTS_CSV:-}" ]] && subjects_args=(--subjects "$FORECASTERS_SUBJECTS_CSV")
else
    "$bin" simulate --subjects "${FORECASTERS_SUBJECTS:-40}" --days "${FORECASTERS_DAYS:-7}" --seed "${FORECASTERS_SEED:-1}" \
        --no-truth --out "$out/cohort"
    cgm="$out/cohort/cgm.csv"
    subjects_args=(--subjects "$out/cohort/subjects.csv")
fi

# The shared config, with the requested split (prepare reads the data section from it; every run must match it).
config="$out/forecasters.yaml"
sed "s/^  split: subject$/  split: ${FORECASTERS_SPLIT:-subject}/" configs/forecasters.yaml > "$config"
glu_config="$out/gluformer-small.yaml"
sed -E "s/^  split: subject( .*)?$/  split: ${FORECASTERS_SPLIT:-subject}/" configs/gluformer-small.yaml > "$glu_config"

echo "== prepare the shared windows ($config)"
"${mpirun[@]}" "$bin" prepare --cgm "$cgm" ${subjects_args[@]+"${subjects_args[@]}"} --config "$config" --out "$out/data"

checkpoints=()
for m in $models; do
    [[ "$m" == gluformer ]] && continue
    echo "== train $m"
    t0=$(date +%s)
    # shellcheck disable=SC2046
    CGMTRAIN="$bin" bash launch/mpirun.sh -n "$ranks" --oversubscribe --config "$config" --data "$out/data" \
        --run "$out/runs/$m" --set "model=$(model_section "$m")" --set train.log_every_seconds=60 $(epochs_for "$m")
    echo "   $m trained in $(( $(date +%s) - t0 )) s"
    [[ "$m" == naive ]] || checkpoints+=(--checkpoint "$m=$out/runs/$m/best.h5")
done

echo "== compare on the test split"
"${mpirun[@]}" "$bin" compare --data "$out/data" --split test ${subjects_args[@]+"${subjects_args[@]}"} --out "$out/compare" \
    --minutes 15,30,60,120 "${checkpoints[@]}"

if [[ " $models " == *" gluformer "* ]]; then
    echo "== gluformer: its own token windows of the same cohort"
    "${mpirun[@]}" "$bin" prepare --cgm "$cgm" ${subjects_args[@]+"${subjects_args[@]}"} --config "$glu_config" \
        --out "$out/gluformer-data"
    CGMTRAIN="$bin" bash launch/mpirun.sh -n "$ranks" --oversubscribe --config "$glu_config" --data "$out/gluformer-data" \
        --run "$out/runs/gluformer" --set train.log_every_seconds=60 ${FORECASTERS_EPOCHS:+--set train.max_epochs=$FORECASTERS_EPOCHS}
    "${mpirun[@]}" "$bin" evaluate --checkpoint "$out/runs/gluformer/best.h5" --data "$out/gluformer-data" --split test \
        --out "$out/gluformer-eval"
fi

# results.md: MAE / RMSE / Clarke A+B at 15/30/60/120 min, and MAE skill vs naive, from compare.csv (and GluFormer's
# per_horizon.csv on its own windows).
awk -F, -v glu="$out/gluformer-eval/per_horizon.csv" '
    # One row of the table for label, from horizon minutes → values (v) with the columns named in col.
    function row(label, at, col, mae, rmse, ab,   k, m, v) {
        printf "| %s |", label
        for (k = 1; k <= 4; k++) {
            m = mins[k]
            if (m in at) { split(at[m], v, ","); printf " %.2f | %.2f | %.1f |", v[col[mae]], v[col[rmse]], v[col[ab]] }
            else printf " n/a | n/a | n/a |"
        }
        print ""
    }
    NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    { rows[++n] = $0 }
    END {
        split("15 30 60 120", mins, " ")
        printf "| model |"; for (k = 1; k <= 4; k++) printf " MAE %s | RMSE %s | Clarke A+B %s |", mins[k], mins[k], mins[k]; print ""
        printf "|---|"; for (k = 1; k <= 12; k++) printf "---|"; print ""
        for (r = 1; r <= n; r++) {   # compare.csv: one row per model, columns <metric>_<m>min
            split(rows[r], f, ",")
            printf "| %s |", f[1]
            for (k = 1; k <= 4; k++) {
                m = mins[k]
                printf " %.2f | %.2f | %.1f |", f[col["mae_" m "min"]], f[col["rmse_" m "min"]], f[col["clarke_ab_" m "min"]]
            }
            print ""
        }
        if ((getline header < glu) > 0) {   # per_horizon.csv: one row per horizon, model_/naive_ columns
            split(header, h, ","); for (i = 1; i in h; i++) g[h[i]] = i
            while ((getline l < glu) > 0) { split(l, v, ","); at[v[1]] = l }
            row("gluformer (own windows)", at, g, "model_mae", "model_rmse", "model_clarke_ab")
            row("naive (GluFormer windows)", at, g, "naive_mae", "naive_rmse", "naive_clarke_ab")
        }
    }' "$out/compare/compare.csv" > "$out/results.md"
echo "== forecasters done in $(( $(date +%s) - start )) s: $out/results.md"
cat "$out/results.md"
