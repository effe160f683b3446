#!/bin/sh
# Makes sure the tools the build and the tests need are here: gcc and g++,
# clang (the headers are checked with clang and clang++, kernels'
# vectorisation too, and `make fuzz` uses libFuzzer), flex, bison, cmocka,
# pkg-config and cmake (the integration test uses them), and Open MPI
# (libsoa_mpi and its tests; the build goes on without it).
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
command -v mpicc  >/dev/null 2>&1 || missing="$missing libopenmpi-dev"
command -v mpirun >/dev/null 2>&1 || missing="$missing openmpi-bin"
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "ensure-deps: installing$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 && apt-get install -y -qq $missing >&2 && exit 0
    echo "ensure-deps: apt-get failed to install$missing" >&2
    exit 1
fi
required=$(echo "$missing" | sed 's/ libopenmpi-dev//; s/ openmpi-bin//')
echo "ensure-deps: missing$missing. Install them with:" >&2
echo "    sudo apt-get install -y$missing" >&2
[ -z "$required" ] && { echo "ensure-deps: going on without MPI (libsoa_mpi and its tests are skipped)" >&2; exit 0; }
exit 1
