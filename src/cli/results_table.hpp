#pragma once
// The result files of the experiment commands: small CSV tables that are the state of a
// resumable experiment, so every write is atomic (temporary file, fsync, rename, fsync of the
// directory) and an interruption leaves the previous complete file.
#include <optional>
#include <string>
#include <vector>

namespace tptt {

struct CsvTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;  // each as long as the header

  int column(const std::string& name) const;                                // −1 if absent
  const std::string& cell(std::size_t row, const std::string& name) const;  // "" if no such column
};

// nullopt when the file does not exist; FileError naming the file when it cannot be read or
// a row has another number of fields than the header.
std::optional<CsvTable> read_csv(const std::string& path);
// RFC 4180 text: fields with a comma, quote or line break are quoted.
std::string to_csv(const CsvTable& table);

// nullopt when the file does not exist; FileError when it exists but cannot be read.
std::optional<std::string> read_text_file(const std::string& path);
// Replaces `path` with `text` atomically; FileError naming the file.
void write_file_atomic(const std::string& path, const std::string& text);

// Left-aligned columns separated by two spaces, for the terminal.
std::string format_table(const CsvTable& table);

}  // namespace tptt
