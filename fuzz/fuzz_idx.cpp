// libFuzzer target: the IDX reader (io/idx.hpp), the parser behind the MNIST loader.
// Every input is parsed as a label file and as an image file, as it is and again with the
// magic of that kind written over its first four bytes (so that mutations reach the size
// checks behind the magic). A parse either throws FileError or yields an array whose
// dimensions match the magic and whose data are exactly the bytes after the header;
// anything else (a crash, another exception, a sanitizer report, a mismatch) is a finding.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "tptt/core/error.hpp"
#include "tptt/io/idx.hpp"

namespace {

void check(std::span<const std::uint8_t> bytes, tptt::IdxKind kind) {
  try {
    const tptt::IdxArray a = tptt::parse_idx(bytes, kind, "fuzz");
    const std::size_t header = tptt::idx_header_size(kind);
    if (a.dims.size() != static_cast<std::size_t>(kind)) __builtin_trap();
    unsigned __int128 product = 1;  // 3 × 32 bits fit in 128
    for (std::uint32_t d : a.dims) product *= d;
    if (product != a.data.size() || bytes.size() != header + a.data.size()) __builtin_trap();
    if (!a.data.empty() && std::memcmp(a.data.data(), bytes.data() + header, a.data.size()) != 0) __builtin_trap();
  } catch (const tptt::FileError&) {
    // rejected with a message: fine
  }
}

void check_as(std::span<const std::uint8_t> bytes, tptt::IdxKind kind) {
  check(bytes, kind);
  if (bytes.size() < 4) return;
  std::vector<std::uint8_t> fixed(bytes.begin(), bytes.end());
  const std::uint32_t magic = tptt::idx_magic(kind);
  for (int i = 0; i < 4; ++i) fixed[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(magic >> (24 - 8 * i));
  check(fixed, kind);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  check_as(bytes, tptt::IdxKind::Labels);
  check_as(bytes, tptt::IdxKind::Images);
  return 0;
}
