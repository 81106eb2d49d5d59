// libFuzzer target: the config-file parser of `tptt train` (app/options.hpp), i.e.
// parse_train_command({"--config", <file holding the input>}). Bad input must end in
// UsageError or FileError; anything else (a crash, another exception type escaping, a
// sanitizer report) is a finding. Findings 1 and 2 (fuzz/findings/README.md: a Boost
// placeholder in an option name, value or config line hung the parser) are fixed; their
// inputs are seeds of the corpus (fuzz/corpus/config/regression-*.ini).
#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "tptt/app/options.hpp"
#include "tptt/core/error.hpp"

namespace {

// One temporary file for the whole run, rewritten for every input.
struct ConfigFile {
  std::string path;
  int fd = -1;
  ConfigFile() {
    // In memory when possible (/dev/shm): on ext4, truncating and rewriting a file
    // triggers a write-back on every input and makes the run I/O-bound.
    const char* dir = std::getenv("TPTT_FUZZ_TMPDIR");
    if (!dir || !*dir) dir = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    path = std::string(dir) + "/tptt_fuzz_config_XXXXXX";
    fd = ::mkstemp(path.data());
    if (fd < 0) std::abort();
  }
  ~ConfigFile() {
    ::close(fd);
    ::unlink(path.c_str());
  }
  void set(const std::uint8_t* data, std::size_t size) {
    std::size_t done = 0;
    while (done < size) {
      const ssize_t n = ::pwrite(fd, data + done, size - done, static_cast<off_t>(done));
      if (n <= 0) std::abort();
      done += static_cast<std::size_t>(n);
    }
    if (::ftruncate(fd, static_cast<off_t>(size)) != 0) std::abort();
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static ConfigFile file;
  file.set(data, size);
  try {
    const tptt::TrainCommand cmd = tptt::parse_train_command({"--config", file.path});
    // An accepted configuration must also print (it goes into every log).
    (void)tptt::config_to_json(cmd.config).str();
  } catch (const tptt::UsageError&) {
  } catch (const tptt::FileError&) {
  }
  return 0;
}
