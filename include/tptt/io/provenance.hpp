#pragma once
// Where a result comes from: the build (version, git commit, compiler, flags; fixed when the
// library was built) and the run (command line, CPU, date). `tptt --version` prints the first,
// every metrics log's header records both.
#include <string>
#include <vector>

#include "tptt/io/json.hpp"

namespace tptt {

struct BuildInfo {
  std::string version;     // "0.1.0"
  std::string commit;      // git commit (12 hex digits, "-dirty" with local changes) or "unknown"
  std::string compiler;    // "GNU 12.2.0"
  std::string flags;       // the C++ flags of the build
  std::string build_type;  // "Release", ...
};
const BuildInfo& build_info();  // generated at build time (cmake/build_info.cmake)

// The process's command line, recorded once by main() (empty in a program that does not).
void record_command_line(int argc, const char* const* argv);
const std::vector<std::string>& command_line();
// The words joined by spaces, each quoted for a POSIX shell when it needs it.
std::string shell_quoted(const std::vector<std::string>& words);

std::string cpu_model();    // /proc/cpuinfo's "model name" (or "unknown")
std::string utc_now_iso();  // "2024-05-01T12:34:56Z"

// {"version", "commit", "compiler", "flags", "build_type"}
JsonObject build_json();
// build_json() plus {"cpu", "host", "date", "command_line"}: the "provenance" of a log header.
JsonObject provenance_json();

}  // namespace tptt
