#pragma once
// Error types that map onto the command line's exit codes.
#include <stdexcept>
#include <string>

namespace tptt {

// Bad usage: an option out of range, a contradictory combination (exit code 2).
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A file that cannot be read or is not what it claims to be (exit code 3).
struct FileError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline constexpr int kExitUsage = 2;
inline constexpr int kExitBadFile = 3;

}  // namespace tptt
