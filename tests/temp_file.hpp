#pragma once
// A temporary file with the given contents, removed at the end of the scope (test helper).
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>

struct TempFile {
  std::filesystem::path path;
  explicit TempFile(const std::string& contents, const std::string& extension = ".ini") {
    static std::atomic<int> counter{0};
    path = std::filesystem::temp_directory_path() /
           ("tptt_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + extension);
    std::ofstream(path) << contents;
  }
  ~TempFile() {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  std::string str() const { return path.string(); }
};
