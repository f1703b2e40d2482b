#!/usr/bin/env bash
# The README's speed table for both ISA builds from one run: builds cgmbench for this machine (.build, native:
# AVX-512 on an AVX-512 CPU) and for any AVX2 machine (CGMTRAIN_TARGET_CPU=haswell, .build-avx2), then runs each
# section on the two builds one after the other, alternating, each side by side with the PyTorch reference (the
# AVX2 build holds OpenBLAS and PyTorch to AVX2 too, see cgmbench's MachineInfo). Logs go to $OUT.
#
#   TORCH_PYTHON=/path/to/venv/bin/python bash launch/bench/both-isas.sh
# Environment: TORCH_PYTHON (a Python with torch 2.13 and pytorch-forecasting; required), TORCH_SCRIPT
# (default ../shared/bench-reference/pytorch_models.py), OUT (default bench-both-isas.log), SECTIONS
# (default "kernels seq2seq tft mamba"), MAMBA_LENGTHS (default "144 576"), ROUNDS, TRIALS, TRIAL_SECONDS.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${TORCH_PYTHON:?set TORCH_PYTHON to a Python with torch and pytorch-forecasting}"
TORCH_SCRIPT=${TORCH_SCRIPT:-../shared/bench-reference/pytorch_models.py}
OUT=${OUT:-bench-both-isas.log}
SECTIONS=${SECTIONS:-kernels seq2seq tft mamba}
MAMBA_LENGTHS=${MAMBA_LENGTHS:-144 576}
ROUNDS=${ROUNDS:-2}
TRIALS=${TRIALS:-3}
TRIAL_SECONDS=${TRIAL_SECONDS:-2}

swift build -c release --product cgmbench
CGMTRAIN_TARGET_CPU=haswell swift build -c release --product cgmbench --scratch-path .build-avx2

: > "$OUT"
for section in $SECTIONS; do
    for build in .build .build-avx2; do
        extra=()
        trials=$TRIALS seconds=$TRIAL_SECONDS
        if [ "$section" = kernels ]; then seconds=0.5; fi
        if [ "$section" = mamba ]; then
            for l in $MAMBA_LENGTHS; do extra+=(--mamba-lengths "$l"); done
        fi
        {
            echo "=== $section, $build, $(date -u +%H:%M:%S) UTC, uptime:$(uptime | sed 's/.*load average//')"
            "$build/release/cgmbench" --only "$section" --torch-python "$TORCH_PYTHON" --torch-script "$TORCH_SCRIPT" \
                --rounds "$ROUNDS" --trials "$trials" --trial-seconds "$seconds" "${extra[@]}"
            echo
        } 2>&1 | tee -a "$OUT"
    done
done
