#!/usr/bin/env bash
# Installs what CGMTrain needs from Debian and is missing: Open MPI, OpenBLAS, HDF5 (with h5dump), pkg-config, and
# python3 (make test checks the target map with Tests/check-architecture.py).
# Idempotent: installed packages are left alone and `apt-get update` runs once, only when something is missing.
set -euo pipefail

packages=(libopenmpi-dev openmpi-bin libopenblas-dev libhdf5-dev hdf5-tools pkg-config python3)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
    echo "install-deps: installing ${missing[*]}"
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

for pc in ompi-c openblas hdf5; do
    pkg-config --exists "$pc" || { echo "install-deps: pkg-config cannot find '$pc' after install" >&2; exit 1; }
done
command -v swift >/dev/null || {
    echo "install-deps: no Swift toolchain on PATH (Swift 6.x is required; Debian does not package it)" >&2; exit 1; }
echo "install-deps: Open MPI $(pkg-config --modversion ompi-c), OpenBLAS $(pkg-config --modversion openblas), HDF5 $(pkg-config --modversion hdf5) ready"
