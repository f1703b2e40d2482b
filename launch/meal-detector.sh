#!/usr/bin/env bash
# Issue 9's proof on the built-in simulated cohort (SSM-CGM Appendix A.2), end to end:
#   1 simulate a cohort (MEALS_SUBJECTS × MEALS_DAYS, seed 42)
#   2 prepare the meal_detection windows (configs/meal-detector.yaml: L = 72, trapezoid labels, stratified split)
#   3 train the meal_detector (A.2 protocol, MEALS_RANKS ranks)
#   4 detect-meals --tune on the validation subjects (θ, ρ sweep maximizing event F1; Figure 6 heatmap)
#   5 detect-meals on the held-out test subjects at the tuned (θ, ρ): event recall / precision (A.2 targets 0.80 / 0.72);
#     then the same for the causal flags (--causal --lag MEALS_LAG, θ tuned on val), which the forecasts use
#   6 forecasting comparison: Seq2Seq (configs/meal-flags-forecast.yaml, meal_flag past-only) trained with meal_flag
#     from the data, from the causal detector (prepare --meal-detector) and without it; test MAE of each
# Outputs go to checkpoints/meals/ (replaced on every run); the summary is printed at the end and written to
# checkpoints/meals/summary.txt. Uses .build/release/cgmtrain unless CGMTRAIN is set.
# Knobs: MEALS_SUBJECTS (40), MEALS_DAYS (7), MEALS_RANKS (2), MEALS_OBJECTIVE (paper | one_to_one),
#   MEALS_LAG (0): causal read-out lag in 5-min steps (step L − 1 − lag of the window ending at t),
#   MEALS_LR (1.0e-4, the paper's; 1.0e-3 learns much more in 10 epochs on this small cohort),
#   MEALS_LABELS (logged | all): the simulator writes only *logged* meals into cgm.csv (70–95 % of meals per
#   group); `all` appends every eating event of truth/meals.csv (the simulator knows when meals happened) as
#   event-only rows of cgm-all.csv, used for the detector's labels, the metrics and the forecasting data.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
bin="${CGMTRAIN:-.build/release/cgmtrain}"
out="${MEALS_OUT:-checkpoints/meals}"
subjects="${MEALS_SUBJECTS:-40}" days="${MEALS_DAYS:-7}" ranks="${MEALS_RANKS:-2}"
objective="${MEALS_OBJECTIVE:-paper}"        # paper | one_to_one (what the θ, ρ sweep maximizes)
lag="${MEALS_LAG:-0}"
lr="${MEALS_LR:-1.0e-4}" labels="${MEALS_LABELS:-logged}"
mpirun=(mpirun --allow-run-as-root --oversubscribe -np "$ranks")
start=$(date +%s)
rm -rf "$out"
mkdir -p "$out"

echo "== 1/6 simulate $subjects subjects × $days days"
"$bin" simulate --subjects "$subjects" --days "$days" --seed 42 --out "$out/cohort"
cgm="$out/cohort/cgm.csv" table="$out/cohort/subjects.csv"
if [ "$labels" = all ]; then
    # Unlogged meals of truth/meals.csv (logged = 0) as event-only rows: carbs_g and meal_flag = 1.
    awk -F, -v OFS=, 'NR == FNR { if (FNR == 1) for (i = 1; i <= NF; i++) col[$i] = i; n = NF; print; next }
        FNR > 1 && $10 == 0 { for (i = 1; i <= n; i++) f[i] = ""; f[1] = $1; f[2] = $2; f[col["carbs_g"]] = $4;
                              f[col["meal_flag"]] = 1; line = f[1]; for (i = 2; i <= n; i++) line = line OFS f[i]; print line }' \
        "$cgm" "$out/cohort/truth/meals.csv" > "$out/cohort/cgm-all.csv"
    cgm="$out/cohort/cgm-all.csv"
fi

echo "== 2/6 prepare meal_detection windows"
"${mpirun[@]}" "$bin" prepare --cgm "$cgm" --subjects "$table" --config configs/meal-detector.yaml --out "$out/meals"

echo "== 3/6 train the meal detector (configs/meal-detector.yaml)"
CGMTRAIN="$bin" bash launch/mpirun.sh -n "$ranks" --config configs/meal-detector.yaml --data "$out/meals" --run "$out/detector" \
    --set "train.optimizer.lr=$lr"
ckpt="$out/detector/best.h5"

echo "== 4/6 tune θ, ρ on the validation subjects (objective $objective)"
"$bin" detect-meals --checkpoint "$ckpt" --cgm "$cgm" --data "$out/meals" --split val --tune --objective "$objective" \
    --report "$out/tune" | tee "$out/tune.txt"
theta=$(sed -n 's/.*"theta": \([0-9.]*\).*/\1/p' "$out/tune/meal-metrics.json")
rho=$(sed -n 's/.*"rho": \([0-9.]*\).*/\1/p' "$out/tune/meal-metrics.json")

echo "== 5/6 held-out test subjects at θ = $theta, ρ = $rho"
"$bin" detect-meals --checkpoint "$ckpt" --cgm "$cgm" --data "$out/meals" --split test --theta "$theta" --rho "$rho" \
    --report "$out/test" --out "$out/test/flags.csv" | tee "$out/test.txt"

echo "== 5b causal flags (lag $lag): θ on val, then test"
"$bin" detect-meals --checkpoint "$ckpt" --cgm "$cgm" --data "$out/meals" --split val --tune --causal --lag "$lag" \
    --objective "$objective" --report "$out/tune-causal" | tee "$out/tune-causal.txt"
ctheta=$(sed -n 's/.*"theta": \([0-9.]*\).*/\1/p' "$out/tune-causal/meal-metrics.json")
"$bin" detect-meals --checkpoint "$ckpt" --cgm "$cgm" --data "$out/meals" --split test --causal --lag "$lag" \
    --theta "$ctheta" --report "$out/test-causal" | tee "$out/test-causal.txt"

echo "== 6/6 forecasting with true, predicted and no meal flags (configs/meal-flags-forecast.yaml)"
sed -e 's/past_features: \[cgm_scaled, iob_scaled, meal_flag\]/past_features: [cgm_scaled, iob_scaled]/' \
    configs/meal-flags-forecast.yaml > "$out/forecast-none.yaml"
for variant in true predicted none; do
    config=configs/meal-flags-forecast.yaml
    extra=()
    [ "$variant" = none ] && config="$out/forecast-none.yaml"
    [ "$variant" = predicted ] && extra=(--meal-detector "$ckpt" --meal-theta "$ctheta" --meal-lag "$lag")
    "${mpirun[@]}" "$bin" prepare --cgm "$cgm" --subjects "$table" --config "$config" --out "$out/flags-$variant" "${extra[@]}"
    CGMTRAIN="$bin" bash launch/mpirun.sh -n "$ranks" --config "$config" --data "$out/flags-$variant" --run "$out/forecast-$variant"
    "${mpirun[@]}" "$bin" evaluate --checkpoint "$out/forecast-$variant/best.h5" --data "$out/flags-$variant" --split test \
        --bootstrap 200 --out "$out/eval-$variant" > "$out/eval-$variant.txt"
done

{
    echo "meal detector (A.2), $subjects simulated subjects × $days days, $ranks ranks, lr $lr, labels $labels, objective $objective:"
    grep -h "sweep on\|^val:\|^test:" "$out/tune.txt" "$out/test.txt" "$out/tune-causal.txt" "$out/test-causal.txt"
    echo "forecasting (Seq2Seq, test split):"
    for variant in true predicted none; do
        echo "  meal_flag $variant (horizon, MAE, RMSE, …, naive MAE …): $(grep -m1 "^all" "$out/eval-$variant.txt")"
    done
    echo "done in $(( $(date +%s) - start )) s"
} | tee "$out/summary.txt"
