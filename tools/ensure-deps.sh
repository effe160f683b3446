#!/bin/sh
# Makes sure the tools the build and the tests need are here: gcc and g++,
# clang (the headers are checked with clang and clang++, kernels'
# vectorisation too, and `make fuzz` uses libFuzzer), flex, bison, cmocka,
# pkg-config and cmake (the integration test uses them); and, if they can
# be had, emscripten, nodejs and chromium (the wasm and browser tests) and
# Open MPI (libsoa_mpi and its tests; the build goes on without it).
# As root, installs what is missing with apt-get; otherwise names the command.
missing=""
command -v gcc   >/dev/null 2>&1 || missing="$missing gcc"
command -v g++   >/dev/null 2>&1 || missing="$missing g++"
command -v clang >/dev/null 2>&1 || missing="$missing clang"
command -v flex  >/dev/null 2>&1 || missing="$missing flex"
command -v bison >/dev/null 2>&1 || missing="$missing bison"
[ -f /usr/include/cmocka.h ]     || missing="$missing libcmocka-dev"
command -v pkg-config >/dev/null 2>&1 || missing="$missing pkg-config"
command -v cmake >/dev/null 2>&1 || missing="$missing cmake"
# For the wasm builds and their tests (make wasm, tests/wasm_*.sh):
# emscripten, Node and Chromium; for libsoa_mpi and its tests: Open MPI.
# Wanted, not required: when one cannot be installed those tests say
# SKIPPED.
optional=""
command -v emcc >/dev/null 2>&1 || optional="$optional emscripten"
command -v node >/dev/null 2>&1 || optional="$optional nodejs"
command -v chromium >/dev/null 2>&1 || optional="$optional chromium"
command -v mpicc  >/dev/null 2>&1 || optional="$optional libopenmpi-dev"
command -v mpirun >/dev/null 2>&1 || optional="$optional openmpi-bin"
if [ -n "$optional" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "ensure-deps: installing$optional (for the wasm and MPI tests)" >&2
    export DEBIAN_FRONTEND=noninteractive
    if ! { apt-get update -qq && apt-get install -y -qq $optional; } >&2; then
        # one missing package must not keep the others out
        for p in $optional; do
            apt-get install -y -qq "$p" >&2 ||
                echo "ensure-deps: could not install $p: its tests will be SKIPPED" >&2
        done
    fi
elif [ -n "$optional" ]; then
    echo "ensure-deps: for the wasm and MPI tests (else SKIPPED): sudo apt-get install -y$optional" >&2
fi
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "ensure-deps: installing$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 && apt-get install -y -qq $missing >&2 && exit 0
    echo "ensure-deps: apt-get failed to install$missing" >&2
    exit 1
fi
echo "ensure-deps: missing$missing. Install them with:" >&2
echo "    sudo apt-get install -y$missing" >&2
exit 1
