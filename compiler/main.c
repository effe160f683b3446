/* main.c: the soac executable (the command itself is cli.c). */
#include "cli.h"

int main(int argc, char **argv)
{
    return soac_cli_main(argc, argv);
}
