#!/bin/sh
# gpu_bundle.sh: build the CLI, tests and benches linked against one shared
# libmlxn (so the kernels are stored once), strip them, and gather them with
# the scripts and ../shared into .carry/ for a run on the GPU machine
# (the device tool carries ignored folders named in its `carry` list).
set -e
cd "$(dirname "$0")/.."
make -j"$(nproc)" BUILD=build-gpu LINK=shared >/dev/null
rm -rf .carry/bundle .carry/shared
mkdir -p .carry/bundle/tests .carry/bundle/bench
cp build-gpu/libmlxn.so build-gpu/mlxn .carry/bundle/
cp build-gpu/tests/test_* .carry/bundle/tests/
cp build-gpu/bench/bench_* .carry/bundle/bench/
strip .carry/bundle/mlxn .carry/bundle/libmlxn.so .carry/bundle/tests/* .carry/bundle/bench/*
cp -r ../shared .carry/shared
du -sh .carry/bundle .carry/shared
