#include "tptt/io/paths.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "tptt/core/error.hpp"

namespace tptt {

std::string system_reason() { return std::strerror(errno); }

void ensure_directory(const std::string& dir, const std::string& option) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || !std::filesystem::is_directory(dir, ec))
    throw FileError(option + ": cannot create the directory '" + dir + "'" +
                    (ec ? ": " + ec.message() : ": a file of that name exists"));
}

void ensure_parent_directory(const std::string& path, const std::string& option) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) ensure_directory(parent.string(), option);
}

bool file_exists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(path, ec);
}

}  // namespace tptt
