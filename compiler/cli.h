/*
 * cli.h: the soac command, as a function: main.c calls it, and so does the
 * fuzzer of the command line (tests/fuzz/fuzz_soac_cli.c).
 */
#ifndef SOAC_CLI_H
#define SOAC_CLI_H

/*
 * Runs `soac ARGS...` (argv[0] is the program name): parses the arguments,
 * compiles the schema, writes the outputs (write.h), prints diagnostics to
 * stderr and --help, --version and --explain to stdout.  Returns the exit
 * status: 0 success, 1 schema errors, 2 usage or I/O errors.  Never exits
 * (out of memory aside).  Ignores SIGXFSZ from then on, so that a file
 * size limit fails a write instead of killing the process.
 */
int soac_cli_main(int argc, char **argv);

#endif /* SOAC_CLI_H */
