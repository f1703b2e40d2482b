#!/usr/bin/env bash
# Writes the compatibility fixtures of CompatibilityTests.swift (this directory) with the code of the
# current checkout: every config in configs/ resolved, a tiny prepared dataset, and tiny seq2seq / tft /
# ssm_cgm runs stopped mid-epoch with a digest of the uninterrupted run's last.h5.
#
# The committed fixtures were written at commit 22c7ab5 (before the issue-16 restructuring). Regenerate
# them only for an intended change of the config or checkpoint format, and say so in the commit: the
# point of the tests is that later code reads what earlier code wrote.
set -euo pipefail
cd "$(dirname "$0")/../../../.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
CGMTRAIN_WRITE_COMPAT_FIXTURES=1 swift test --filter CompatibilityFixtureWriter
du -sh Tests/TrainingTests/Fixtures/compat
