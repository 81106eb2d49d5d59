#include "tptt/core/memory.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>

namespace tptt {

namespace {

// The number after `key` on its line of a /proc file such as /proc/meminfo ("MemAvailable:
// 22792376 kB"), in KiB; 0 when the file or the key is missing.
double proc_kib(const char* path, const std::string& key) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) != 0) continue;
    std::istringstream fields(line.substr(key.size()));
    double kib = 0;
    return fields >> kib ? kib : 0.0;
  }
  return 0;
}

// The first number of a file such as memory.max ("max" or unreadable: 0).
double file_number(const std::string& path) {
  std::ifstream in(path);
  double value = 0;
  return in >> value ? value : 0.0;
}

// Room under the cgroup v2 limit of this process (memory.max − memory.current); 0 when there
// is no limit or no cgroup v2.
double cgroup_room_bytes() {
  std::ifstream self("/proc/self/cgroup");
  std::string line;
  while (std::getline(self, line)) {
    if (line.rfind("0::", 0) != 0) continue;  // the unified (v2) hierarchy
    const std::string dir = "/sys/fs/cgroup" + line.substr(3);
    const double limit = file_number(dir + "/memory.max");
    if (limit <= 0) return 0;
    return std::max(1.0, limit - file_number(dir + "/memory.current"));
  }
  return 0;
}

}  // namespace

double peak_resident_mib() {
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) != 0) return 0;
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

double current_resident_mib() { return proc_kib("/proc/self/status", "VmRSS:") / 1024.0; }

double available_memory_bytes() {
  double available = proc_kib("/proc/meminfo", "MemAvailable:") * 1024.0;
  if (available <= 0) {
    const long pages = sysconf(_SC_AVPHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0) available = static_cast<double>(pages) * static_cast<double>(page);
  }
  const double room = cgroup_room_bytes();
  if (room > 0) available = available > 0 ? std::min(available, room) : room;
  return available;
}

}  // namespace tptt
