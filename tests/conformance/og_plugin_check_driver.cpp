// A stand-in for `ordergate plugin …` until host/app exists: runs the test kit's command with the
// arguments given (og_plugin_check_driver check <file.so> --config plugin.yaml).
#include <iostream>
#include <string>
#include <vector>

#include "testkit/testkit.hpp"

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    return ordergate::testkit::run_plugin_command(args, std::cout, std::cerr);
}
