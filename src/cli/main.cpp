// tptt: command dispatch and the mapping of errors to exit codes.
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "cli_commands.hpp"
#include "stderr_lines.hpp"
#include "tptt/core/error.hpp"
#include "tptt/core/float_mode.hpp"
#include "tptt/io/provenance.hpp"

namespace {

constexpr const char* kUsage =
    "usage: tptt <command> [options]\n"
    "commands:\n"
    "  train       train an SRN (bptt, tptt, tptt_hx) or an LSTM on a synthetic task or sequential\n"
    "              MNIST, on one process or on K MPI ranks (mpirun -np K tptt train ...)\n"
    "  bench       time one training iteration against the machine's matrix-product roofline\n"
    "  curriculum  the depth search of Table 1: the longest T a configuration solves (t_max)\n"
    "  sweep       a grid of train options x seeds, one run each (dealt over the ranks under mpirun)\n"
    "  eval        a trained model (tptt train --checkpoint) at any length (Table 4)\n"
    "`tptt <command> --help` lists the command's options; `tptt --version` the version and build.\n";

void print_version() {
  const tptt::BuildInfo& b = tptt::build_info();
  std::cout << "tptt " << b.version << " (commit " << b.commit << ")\n"
            << "compiler: " << b.compiler << "\nflags: " << b.flags << "\nbuild type: " << b.build_type << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  tptt::set_float_mode_from_environment();
  tptt::install_line_buffered_stderr();
  tptt::record_command_line(argc, argv);
  if (argc < 2) {
    std::cerr << kUsage;
    return tptt::kExitUsage;
  }
  const std::string command = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  try {
    if (command == "train") return tptt::run_train(args);
    if (command == "bench") return tptt::run_bench(args);
    if (command == "curriculum") return tptt::run_curriculum(args);
    if (command == "sweep") return tptt::run_sweep(args);
    if (command == "eval") return tptt::run_eval(args);
    if (command == "--version" || command == "version") {
      print_version();
      return 0;
    }
    if (command == "--help" || command == "-h" || command == "help") {
      std::cout << kUsage;
      return 0;
    }
    std::cerr << "tptt: unknown command '" << command << "'\n" << kUsage;
    return tptt::kExitUsage;
  } catch (const tptt::UsageError& e) {
    std::cerr << "tptt: " << e.what() << "\n";
    return tptt::kExitUsage;
  } catch (const tptt::FileError& e) {
    std::cerr << "tptt: " << e.what() << "\n";
    return tptt::kExitBadFile;
  } catch (const std::exception& e) {
    std::cerr << "tptt: error: " << e.what() << "\n";
    return 1;
  }
}
