// libFuzzer target: the checkpoint reader (io/checkpoint.hpp).
// Every input is parsed twice: as it is (what a damaged or foreign file looks like), and,
// when it starts like a checkpoint, again with its size field and CRC-32C made consistent,
// so that the structural checks behind the checksum are explored too. A parse either
// throws FileError or yields a checkpoint that re-serialises to the same bytes; anything
// else (a crash, another exception, a sanitizer report, a mismatch) is a finding.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "tptt/core/error.hpp"
#include "tptt/io/checkpoint.hpp"

namespace {

void check(std::span<const std::byte> image) {
  try {
    const tptt::Checkpoint cp = tptt::parse_checkpoint(image, "fuzz");
    // A checkpoint that parses is canonical: writing it back gives the same bytes.
    const std::vector<std::byte> again = tptt::serialize_checkpoint(cp);
    if (again.size() != image.size() || std::memcmp(again.data(), image.data(), image.size()) != 0) __builtin_trap();
    // The typed accessors agree with the section table.
    for (const auto& s : cp.sections()) {
      if (cp.count(s.name) * tptt::element_size(s.type) != s.data.size()) __builtin_trap();
      if (s.type == tptt::SectionType::F32 && cp.get_f32(s.name).size() != cp.count(s.name)) __builtin_trap();
    }
  } catch (const tptt::FileError&) {
    // rejected with a message: fine
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> image(reinterpret_cast<const std::byte*>(data), size);
  check(image);
  if (size >= tptt::kCheckpointHeaderSize + 4 && std::memcmp(data, "TPTTCKPT", 8) == 0) {
    std::vector<std::byte> sealed(image.begin(), image.end());
    const std::uint64_t n = sealed.size();
    for (int i = 0; i < 8; ++i) sealed[16 + i] = static_cast<std::byte>((n >> (8 * i)) & 0xFF);
    const std::uint32_t crc = tptt::crc32c(std::span<const std::byte>(sealed).first(n - 4));
    for (int i = 0; i < 4; ++i) sealed[n - 4 + i] = static_cast<std::byte>((crc >> (8 * i)) & 0xFF);
    check(sealed);
  }
  return 0;
}
