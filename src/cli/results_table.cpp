#include "results_table.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "tptt/core/error.hpp"

namespace tptt {

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what, int err = 0) {
  std::string message = "'" + path + "': " + what;
  if (err != 0) message += ": " + std::string(std::strerror(err));
  throw FileError(message);
}

// Splits CSV text into records of fields (quoted fields may hold commas, quotes, newlines).
std::vector<std::vector<std::string>> parse_records(const std::string& text, const std::string& path) {
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> fields;
  std::string field;
  bool quoted = false, in_record = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c != '"')
        field += c;
      else if (i + 1 < text.size() && text[i + 1] == '"')
        field += '"', ++i;
      else
        quoted = false;
      continue;
    }
    in_record = true;
    if (c == '"')
      quoted = true;
    else if (c == ',')
      fields.push_back(std::move(field)), field.clear();
    else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      fields.push_back(std::move(field)), field.clear();
      records.push_back(std::move(fields)), fields.clear();
      in_record = false;
    } else
      field += c;
  }
  if (quoted) fail(path, "not a CSV file (a quoted field is not closed)");
  if (in_record) fields.push_back(std::move(field)), records.push_back(std::move(fields));
  return records;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string directory_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

int CsvTable::column(const std::string& name) const {
  const auto it = std::find(header.begin(), header.end(), name);
  return it == header.end() ? -1 : static_cast<int>(it - header.begin());
}

const std::string& CsvTable::cell(std::size_t row, const std::string& name) const {
  static const std::string empty;
  const int c = column(name);
  return c < 0 ? empty : rows.at(row).at(static_cast<std::size_t>(c));
}

std::optional<std::string> read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (::access(path.c_str(), F_OK) != 0 && errno == ENOENT) return std::nullopt;
    fail(path, "cannot be read", errno);
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) fail(path, "cannot be read");
  return text.str();
}

std::optional<CsvTable> read_csv(const std::string& path) {
  const std::optional<std::string> text = read_text_file(path);
  if (!text) return std::nullopt;
  auto records = parse_records(*text, path);
  if (records.empty() || records.front().empty() || records.front().front().empty())
    fail(path, "not a result table (no header line)");
  CsvTable table;
  table.header = std::move(records.front());
  for (std::size_t r = 1; r < records.size(); ++r) {
    if (records[r].size() == 1 && records[r][0].empty()) continue;  // a blank line
    if (records[r].size() != table.header.size())
      fail(path, "line " + std::to_string(r + 1) + " has " + std::to_string(records[r].size()) +
                     " fields, the header " + std::to_string(table.header.size()));
    table.rows.push_back(std::move(records[r]));
  }
  return table;
}

std::string to_csv(const CsvTable& table) {
  std::string out;
  const auto line = [&out](const std::vector<std::string>& fields) {
    for (std::size_t i = 0; i < fields.size(); ++i) {
      if (i > 0) out += ',';
      out += csv_field(fields[i]);
    }
    out += '\n';
  };
  line(table.header);
  for (const auto& row : table.rows) line(row);
  return out;
}

void write_file_atomic(const std::string& path, const std::string& text) {
  const std::string temp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) fail(path, "cannot be written (temporary file '" + temp + "')", errno);
  const auto abandon = [&](const std::string& step, int err) {
    ::close(fd);
    ::unlink(temp.c_str());
    fail(path, "not written (the previous version, if any, is intact): cannot " + step + " '" + temp + "'", err);
  };
  for (std::size_t done = 0; done < text.size();) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) abandon("write", n < 0 ? errno : EIO);
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) abandon("sync", errno);
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    fail(path, "not written: cannot close '" + temp + "'", err);
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    fail(path, "not written: cannot rename '" + temp + "' over it", err);
  }
  // The rename is durable only once the directory is on disk.
  const int dir = ::open(directory_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);  // some file systems cannot sync a directory; nothing more to do there
    ::close(dir);
  }
}

std::string format_table(const CsvTable& table) {
  std::vector<std::size_t> width(table.header.size(), 0);
  const auto measure = [&width](const std::vector<std::string>& fields) {
    for (std::size_t i = 0; i < fields.size() && i < width.size(); ++i) width[i] = std::max(width[i], fields[i].size());
  };
  measure(table.header);
  for (const auto& row : table.rows) measure(row);
  std::string out;
  const auto line = [&](const std::vector<std::string>& fields) {
    std::string text;
    for (std::size_t i = 0; i < fields.size(); ++i) {
      text += fields[i];
      if (i + 1 < fields.size()) text += std::string(width[i] - fields[i].size() + 2, ' ');
    }
    out += text + '\n';
  };
  line(table.header);
  for (const auto& row : table.rows) line(row);
  return out;
}

}  // namespace tptt
