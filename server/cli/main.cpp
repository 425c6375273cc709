// signet: the operator CLI. All logic is in signet_cli_lib (app.cpp) and common/.
#include "app.h"

int main(int argc, char** argv) { return signet::cli::run(argc, argv); }
