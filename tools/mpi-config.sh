#!/bin/sh
# Writes make variables for libsoa_mpi on stdout: MPI_HAVE (1 when mpicc
# and mpirun are installed) and the compile and link flags mpicc would use
# (Open MPI's --showme, MPICH's -compile_info/-link_info), so the MPI
# sources build with the project's own compiler and flags.
cc=$(command -v mpicc 2>/dev/null)
run=$(command -v mpirun 2>/dev/null)
if [ -z "$cc" ] || [ -z "$run" ]; then
    echo "MPI_HAVE :="
    exit 0
fi
if cflags=$(mpicc --showme:compile 2>/dev/null) && libs=$(mpicc --showme:link 2>/dev/null); then :; else
    cflags=$(mpicc -compile_info 2>/dev/null | cut -d' ' -f2- | tr ' ' '\n' | grep '^-[ID]' | tr '\n' ' ')
    libs=$(mpicc -link_info 2>/dev/null | cut -d' ' -f2- | tr ' ' '\n' | grep '^-[LlW]' | tr '\n' ' ')
fi
echo "MPI_HAVE := 1"
echo "MPI_CPPFLAGS := $cflags"
echo "MPI_LDLIBS := $libs"
echo "MPIRUN := $run"
