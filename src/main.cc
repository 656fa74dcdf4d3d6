#include "cli/cli.h"

int main(int argc, char** argv) { return plinth::RunCli(argc, argv); }
