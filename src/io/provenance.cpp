#include "tptt/io/provenance.hpp"

#include <unistd.h>

#include <ctime>
#include <fstream>

namespace tptt {

namespace {

std::vector<std::string>& recorded_command_line() {
  static std::vector<std::string> words;
  return words;
}

}  // namespace

void record_command_line(int argc, const char* const* argv) { recorded_command_line().assign(argv, argv + argc); }

const std::vector<std::string>& command_line() { return recorded_command_line(); }

std::string shell_quoted(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) {
    if (!out.empty()) out += ' ';
    const bool plain = !w.empty() && w.find_first_not_of(
                                         "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                         "0123456789-_./=:,+@%") == std::string::npos;
    if (plain) {
      out += w;
      continue;
    }
    out += '\'';
    for (char c : w) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    out += '\'';
  }
  return out;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) != 0) continue;
    const auto colon = line.find(':');
    if (colon == std::string::npos) break;
    const auto first = line.find_first_not_of(" \t", colon + 1);
    return first == std::string::npos ? "unknown" : line.substr(first);
  }
  return "unknown";
}

std::string utc_now_iso() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

JsonObject build_json() {
  const BuildInfo& b = build_info();
  JsonObject j;
  j.add("version", b.version)
      .add("commit", b.commit)
      .add("compiler", b.compiler)
      .add("flags", b.flags)
      .add("build_type", b.build_type);
  return j;
}

JsonObject provenance_json() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return build_json()
      .add("cpu", cpu_model())
      .add("host", host)
      .add("date", utc_now_iso())
      .add("command_line", shell_quoted(command_line()));
}

}  // namespace tptt
