#pragma once
// A versioned, checksummed binary container of named sections, and its atomic write.
// What goes into a training checkpoint (sections "config", "params", "opt_forward",
// "opt_feedback", "progress", ...) is the trainer's business; this module only guarantees
// that what was put is what is read back, bit for bit, or a FileError naming the file.
//
// File layout (version 1; every integer little-endian, docs/reliability.md):
//
//   offset  size  field
//   0       8     magic "TPTTCKPT"
//   8       4     u32 format version (1)
//   12      4     u32 number of sections
//   16      8     u64 total file size in bytes, trailer included
//   24      ...   sections, each:
//                   u32 name length n (1..255), u32 type (SectionType),
//                   u64 payload length in bytes (a multiple of the element size),
//                   n bytes of name (printable ASCII, no space), payload
//   size-4  4     u32 CRC-32C (Castagnoli) of every byte before it
//
// Magic and version stay at offsets 0 and 8 in every future version, so that any reader
// can say "written by a newer version" instead of "corrupted".
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tptt {

inline constexpr std::uint32_t kCheckpointVersion = 1;
inline constexpr std::size_t kCheckpointHeaderSize = 24;
inline constexpr std::size_t kCheckpointMaxNameLength = 255;

enum class SectionType : std::uint32_t {
  Bytes = 1,   // opaque bytes
  String = 2,  // text (e.g. the effective configuration as JSON)
  F32 = 3,     // float32 values (IEEE 754 bits preserved exactly, NaN payloads included)
  F64 = 4,     // float64 values
  I64 = 5,     // signed 64-bit integers
  U64 = 6,     // unsigned 64-bit integers (seeds, RNG counters)
};
const char* to_string(SectionType t);
std::size_t element_size(SectionType t);

// A checkpoint in memory: named, typed sections in insertion order (so that writing the
// same content twice gives the same bytes). put_* replaces a section of the same name.
// get_* throws FileError "checkpoint '<source>': ..." when the section is missing, has
// another type, or (for the scalar and *_into forms) another number of elements.
class Checkpoint {
 public:
  Checkpoint() = default;

  // Where the checkpoint came from (a path, or "<memory>"); used in error messages.
  const std::string& source() const { return source_; }
  void set_source(std::string source) { source_ = std::move(source); }

  void put_bytes(std::string_view name, std::span<const std::byte> data);
  void put_string(std::string_view name, std::string_view text);
  void put_f32(std::string_view name, std::span<const float> values);
  void put_f64(std::string_view name, std::span<const double> values);
  void put_i64(std::string_view name, std::span<const std::int64_t> values);
  void put_u64(std::string_view name, std::span<const std::uint64_t> values);
  // One-element sections.
  void put_int(std::string_view name, std::int64_t value) { put_i64(name, std::span(&value, 1)); }
  void put_uint(std::string_view name, std::uint64_t value) { put_u64(name, std::span(&value, 1)); }
  void put_double(std::string_view name, double value) { put_f64(name, std::span(&value, 1)); }

  std::vector<std::byte> get_bytes(std::string_view name) const;
  std::string get_string(std::string_view name) const;
  std::vector<float> get_f32(std::string_view name) const;
  std::vector<double> get_f64(std::string_view name) const;
  std::vector<std::int64_t> get_i64(std::string_view name) const;
  std::vector<std::uint64_t> get_u64(std::string_view name) const;
  std::int64_t get_int(std::string_view name) const;
  std::uint64_t get_uint(std::string_view name) const;
  double get_double(std::string_view name) const;
  // Copies into a buffer of the expected length (e.g. the flat parameters); throws
  // FileError when the section holds another number of values.
  void get_f32_into(std::string_view name, std::span<float> out) const;
  void get_f64_into(std::string_view name, std::span<double> out) const;

  bool has(std::string_view name) const;
  SectionType type(std::string_view name) const;   // throws FileError if missing
  std::size_t count(std::string_view name) const;  // elements (bytes for Bytes/String)
  std::vector<std::string> names() const;          // in insertion order
  std::size_t size() const { return sections_.size(); }
  void erase(std::string_view name);

  // Same sections (names, types, order, payload bits); the source is not compared.
  bool operator==(const Checkpoint& other) const;

  struct Section {
    std::string name;
    SectionType type = SectionType::Bytes;
    std::vector<std::byte> data;  // native byte order; a multiple of element_size(type)
    bool operator==(const Section&) const = default;
  };
  const std::vector<Section>& sections() const { return sections_; }

 private:
  friend Checkpoint parse_checkpoint(std::span<const std::byte> image, std::string_view source);

  void put_raw(std::string_view name, SectionType type, const void* data, std::size_t bytes);
  const Section& find(std::string_view name, SectionType type) const;
  [[noreturn]] void fail(const std::string& what) const;

  std::vector<Section> sections_;
  std::string source_ = "<memory>";
};

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) as in iSCSI/ext4;
// crc32c of "123456789" is 0xE3069283. `crc` continues an earlier value.
std::uint32_t crc32c(std::span<const std::byte> data, std::uint32_t crc = 0);

// The file image of a checkpoint (layout above).
std::vector<std::byte> serialize_checkpoint(const Checkpoint& checkpoint);

// Parses a file image. Rejects, with FileError "checkpoint '<source>': <what is wrong>":
// an empty or truncated image, a foreign one (bad magic), a newer format version, a size
// that disagrees with the header, a checksum mismatch, section lengths that overflow the
// image, unknown section types, bad or duplicate names. Never allocates more than the
// image's size, whatever its length fields say.
Checkpoint parse_checkpoint(std::span<const std::byte> image, std::string_view source = "<memory>");

// Reads and parses a checkpoint file (FileError for an unreadable file, a directory, ...).
Checkpoint read_checkpoint(const std::string& path);

// Writes atomically: a temporary file in the same directory (path + ".tmp.<pid>.<n>"),
// written completely, fsync'ed, renamed over `path`, then the directory fsync'ed. On any
// failure the temporary file is removed, FileError names the file and the failing step,
// and an existing checkpoint at `path` is left as it was. After a crash at any point,
// `path` holds either the old or the new checkpoint, never a mix; a crash before the rename
// may leave a stale "<path>.tmp.*" file behind, which no reader looks at.
void write_checkpoint_atomic(const std::string& path, const Checkpoint& checkpoint);

namespace checkpoint_detail {
// The two halves of write_checkpoint_atomic, exposed so that tests can stop between them
// (a crash after the temporary file is complete but before the rename).
// write_temp_file: creates, writes and fsyncs a new temporary file next to `path` and
// returns its name. commit_temp_file: renames it over `path` and fsyncs the directory.
std::string write_temp_file(const std::string& path, std::span<const std::byte> image);
void commit_temp_file(const std::string& temp_path, const std::string& path);
}  // namespace checkpoint_detail

}  // namespace tptt
