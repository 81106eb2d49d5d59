#pragma once
// Reader of the IDX files of MNIST (unsigned-byte data only). Layout, big-endian:
//
//   offset  size   field
//   0       4      magic: 0x00 0x00 0x08 (unsigned byte) <number of dimensions>
//                  0x00000801 = labels (1 dimension), 0x00000803 = images (3 dimensions)
//   4       4·d    u32 size of each dimension
//   4+4d    ...    exactly the product of the sizes, in bytes, row-major
//
// Anything else — another magic, a short header, a body shorter or longer than the header
// says — is a FileError "idx file '<name>': <what is wrong>". The reader never allocates
// more than the input's size, whatever the header claims.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace tptt {

// What a file must hold; the value is the number of dimensions the magic announces.
enum class IdxKind : std::uint8_t { Labels = 1, Images = 3 };

inline constexpr std::uint32_t idx_magic(IdxKind kind) { return 0x00000800u | static_cast<std::uint32_t>(kind); }
inline constexpr std::size_t idx_header_size(IdxKind kind) { return 4 + 4 * static_cast<std::size_t>(kind); }

struct IdxArray {
  std::vector<std::uint32_t> dims;  // e.g. {60000, 28, 28} or {60000}
  std::vector<std::uint8_t> data;   // (dims[0] × dims[1] × …) row-major
};

// Parses an in-memory image of a file; `name` (a path, or "<memory>") names it in messages.
IdxArray parse_idx(std::span<const std::uint8_t> bytes, IdxKind kind, const std::string& name);

// Reads and parses the regular file `path` (missing, unreadable, not a regular file:
// FileError naming it).
IdxArray read_idx(const std::string& path, IdxKind kind);

}  // namespace tptt
