#include "tptt/io/checkpoint.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstring>
#include <new>
#include <stdexcept>
#include <unordered_set>

#include "tptt/core/error.hpp"

namespace tptt {

namespace {

constexpr std::array<char, 8> kMagic = {'T', 'P', 'T', 'T', 'C', 'K', 'P', 'T'};
constexpr std::size_t kTrailerSize = 4;                // CRC-32C
constexpr std::size_t kSectionHeaderSize = 4 + 4 + 8;  // name length, type, payload length

std::string quoted(std::string_view s) {
  // Built by append: GCC 12's -Wrestrict misfires on "'" + std::string(s) (a known false positive).
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('\'');
  out.append(s);
  out.push_back('\'');
  return out;
}

// ---------------------------------------------------------------------------------------
// CRC-32C, slicing by 8 (tables built at compile time).
// ---------------------------------------------------------------------------------------

constexpr std::uint32_t kCrcPoly = 0x82F63B78u;

constexpr std::array<std::array<std::uint32_t, 256>, 8> make_crc_tables() {
  std::array<std::array<std::uint32_t, 256>, 8> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kCrcPoly : c >> 1;
    t[0][i] = c;
  }
  for (std::uint32_t i = 0; i < 256; ++i)
    for (int s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFF];
  return t;
}

constexpr auto kCrcTables = make_crc_tables();

// ---------------------------------------------------------------------------------------
// Little-endian encoding.
// ---------------------------------------------------------------------------------------

template <class U>
void put_le(std::vector<std::byte>& out, U v) {
  static_assert(std::is_unsigned_v<U>);
  for (std::size_t i = 0; i < sizeof(U); ++i) out.push_back(static_cast<std::byte>((v >> (8 * i)) & 0xFF));
}

template <class U>
U get_le(const std::byte* p) {
  static_assert(std::is_unsigned_v<U>);
  U v = 0;
  for (std::size_t i = 0; i < sizeof(U); ++i) v |= static_cast<U>(std::to_integer<unsigned>(p[i])) << (8 * i);
  return v;
}

// Copies `bytes` bytes of elements of `width` bytes, swapping each element's bytes on a
// big-endian host (the file and the in-memory payload differ only in byte order).
void copy_elements(std::byte* dst, const std::byte* src, std::size_t bytes, std::size_t width) {
  if (bytes == 0) return;
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(dst, src, bytes);
  } else {
    for (std::size_t i = 0; i < bytes; i += width)
      for (std::size_t k = 0; k < width; ++k) dst[i + k] = src[i + width - 1 - k];
  }
}

bool valid_type(std::uint32_t t) { return t >= 1 && t <= 6; }

// Printable ASCII without space: names appear in messages and must not hide anything.
std::string name_problem(std::string_view name) {
  if (name.empty()) return "an empty section name";
  if (name.size() > kCheckpointMaxNameLength)
    return "a section name of " + std::to_string(name.size()) + " bytes (at most " +
           std::to_string(kCheckpointMaxNameLength) + ")";
  for (char c : name)
    if (c < 0x21 || c > 0x7E) return "a section name with a non-printable or non-ASCII byte";
  return {};
}

// ---------------------------------------------------------------------------------------
// POSIX helpers for the atomic write.
// ---------------------------------------------------------------------------------------

[[noreturn]] void file_fail(const std::string& path, const std::string& what, int err) {
  throw FileError("checkpoint " + quoted(path) + ": " + what + ": " + std::strerror(err));
}

std::string directory_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

void fsync_directory(const std::string& dir, const std::string& path) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) file_fail(path, "written, but cannot open its directory " + quoted(dir) + " to sync it", errno);
  int rc;
  do rc = ::fsync(fd);
  while (rc != 0 && errno == EINTR);
  const int err = errno;
  ::close(fd);
  // Some file systems cannot sync a directory (EINVAL); nothing more can be done there.
  if (rc != 0 && err != EINVAL && err != EROFS)
    file_fail(path, "written, but cannot sync its directory " + quoted(dir), err);
}

std::atomic<unsigned> temp_counter{0};

}  // namespace

// ---------------------------------------------------------------------------------------
// SectionType, CRC
// ---------------------------------------------------------------------------------------

const char* to_string(SectionType t) {
  switch (t) {
    case SectionType::Bytes: return "bytes";
    case SectionType::String: return "string";
    case SectionType::F32: return "f32";
    case SectionType::F64: return "f64";
    case SectionType::I64: return "i64";
    case SectionType::U64: return "u64";
  }
  return "?";
}

std::size_t element_size(SectionType t) {
  switch (t) {
    case SectionType::Bytes:
    case SectionType::String: return 1;
    case SectionType::F32: return 4;
    case SectionType::F64:
    case SectionType::I64:
    case SectionType::U64: return 8;
  }
  return 1;
}

std::uint32_t crc32c(std::span<const std::byte> data, std::uint32_t crc) {
  crc = ~crc;
  const std::byte* p = data.data();
  std::size_t n = data.size();
  while (n >= 8) {
    const std::uint32_t lo = get_le<std::uint32_t>(p) ^ crc;
    const std::uint32_t hi = get_le<std::uint32_t>(p + 4);
    crc = kCrcTables[7][lo & 0xFF] ^ kCrcTables[6][(lo >> 8) & 0xFF] ^ kCrcTables[5][(lo >> 16) & 0xFF] ^
          kCrcTables[4][lo >> 24] ^ kCrcTables[3][hi & 0xFF] ^ kCrcTables[2][(hi >> 8) & 0xFF] ^
          kCrcTables[1][(hi >> 16) & 0xFF] ^ kCrcTables[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) crc = (crc >> 8) ^ kCrcTables[0][(crc ^ std::to_integer<std::uint32_t>(*p++)) & 0xFF];
  return ~crc;
}

// ---------------------------------------------------------------------------------------
// Checkpoint
// ---------------------------------------------------------------------------------------

void Checkpoint::fail(const std::string& what) const { throw FileError("checkpoint " + quoted(source_) + ": " + what); }

void Checkpoint::put_raw(std::string_view name, SectionType type, const void* data, std::size_t bytes) {
  if (const std::string problem = name_problem(name); !problem.empty())
    throw std::invalid_argument("Checkpoint::put: " + problem);
  Section s{std::string(name), type, std::vector<std::byte>(bytes)};
  if (bytes > 0) std::memcpy(s.data.data(), data, bytes);
  for (Section& existing : sections_)
    if (existing.name == name) {
      existing = std::move(s);
      return;
    }
  sections_.push_back(std::move(s));
}

void Checkpoint::put_bytes(std::string_view name, std::span<const std::byte> data) {
  put_raw(name, SectionType::Bytes, data.data(), data.size());
}
void Checkpoint::put_string(std::string_view name, std::string_view text) {
  put_raw(name, SectionType::String, text.data(), text.size());
}
void Checkpoint::put_f32(std::string_view name, std::span<const float> v) {
  put_raw(name, SectionType::F32, v.data(), v.size_bytes());
}
void Checkpoint::put_f64(std::string_view name, std::span<const double> v) {
  put_raw(name, SectionType::F64, v.data(), v.size_bytes());
}
void Checkpoint::put_i64(std::string_view name, std::span<const std::int64_t> v) {
  put_raw(name, SectionType::I64, v.data(), v.size_bytes());
}
void Checkpoint::put_u64(std::string_view name, std::span<const std::uint64_t> v) {
  put_raw(name, SectionType::U64, v.data(), v.size_bytes());
}

bool Checkpoint::has(std::string_view name) const {
  return std::any_of(sections_.begin(), sections_.end(), [&](const Section& s) { return s.name == name; });
}

SectionType Checkpoint::type(std::string_view name) const {
  for (const Section& s : sections_)
    if (s.name == name) return s.type;
  fail("missing section " + quoted(name));
}

std::size_t Checkpoint::count(std::string_view name) const {
  for (const Section& s : sections_)
    if (s.name == name) return s.data.size() / element_size(s.type);
  fail("missing section " + quoted(name));
}

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> out;
  out.reserve(sections_.size());
  for (const Section& s : sections_) out.push_back(s.name);
  return out;
}

void Checkpoint::erase(std::string_view name) {
  std::erase_if(sections_, [&](const Section& s) { return s.name == name; });
}

bool Checkpoint::operator==(const Checkpoint& other) const { return sections_ == other.sections_; }

const Checkpoint::Section& Checkpoint::find(std::string_view name, SectionType type) const {
  for (const Section& s : sections_) {
    if (s.name != name) continue;
    if (s.type != type)
      fail("section " + quoted(name) + " holds " + to_string(s.type) + ", expected " + to_string(type));
    return s;
  }
  fail("missing section " + quoted(name));
}

namespace {
template <class T>
std::vector<T> as_vector(const Checkpoint::Section& s) {
  std::vector<T> out(s.data.size() / sizeof(T));
  if (!out.empty()) std::memcpy(out.data(), s.data.data(), out.size() * sizeof(T));
  return out;
}
}  // namespace

std::vector<std::byte> Checkpoint::get_bytes(std::string_view name) const {
  return find(name, SectionType::Bytes).data;
}
std::string Checkpoint::get_string(std::string_view name) const {
  const Section& s = find(name, SectionType::String);
  return std::string(reinterpret_cast<const char*>(s.data.data()), s.data.size());
}
std::vector<float> Checkpoint::get_f32(std::string_view name) const {
  return as_vector<float>(find(name, SectionType::F32));
}
std::vector<double> Checkpoint::get_f64(std::string_view name) const {
  return as_vector<double>(find(name, SectionType::F64));
}
std::vector<std::int64_t> Checkpoint::get_i64(std::string_view name) const {
  return as_vector<std::int64_t>(find(name, SectionType::I64));
}
std::vector<std::uint64_t> Checkpoint::get_u64(std::string_view name) const {
  return as_vector<std::uint64_t>(find(name, SectionType::U64));
}

namespace {
template <class T>
T scalar_of(const Checkpoint::Section& s, const std::string& source) {
  if (s.data.size() != sizeof(T))
    throw FileError("checkpoint " + quoted(source) + ": section " + quoted(s.name) + " holds " +
                    std::to_string(s.data.size() / sizeof(T)) + " values, expected 1");
  T v;
  std::memcpy(&v, s.data.data(), sizeof(T));
  return v;
}
}  // namespace

std::int64_t Checkpoint::get_int(std::string_view name) const {
  return scalar_of<std::int64_t>(find(name, SectionType::I64), source_);
}
std::uint64_t Checkpoint::get_uint(std::string_view name) const {
  return scalar_of<std::uint64_t>(find(name, SectionType::U64), source_);
}
double Checkpoint::get_double(std::string_view name) const {
  return scalar_of<double>(find(name, SectionType::F64), source_);
}

void Checkpoint::get_f32_into(std::string_view name, std::span<float> out) const {
  const Section& s = find(name, SectionType::F32);
  if (s.data.size() != out.size_bytes())
    fail("section " + quoted(name) + " holds " + std::to_string(s.data.size() / sizeof(float)) + " values, expected " +
         std::to_string(out.size()));
  if (!out.empty()) std::memcpy(out.data(), s.data.data(), s.data.size());
}

void Checkpoint::get_f64_into(std::string_view name, std::span<double> out) const {
  const Section& s = find(name, SectionType::F64);
  if (s.data.size() != out.size_bytes())
    fail("section " + quoted(name) + " holds " + std::to_string(s.data.size() / sizeof(double)) + " values, expected " +
         std::to_string(out.size()));
  if (!out.empty()) std::memcpy(out.data(), s.data.data(), s.data.size());
}

// ---------------------------------------------------------------------------------------
// Serialisation
// ---------------------------------------------------------------------------------------

std::vector<std::byte> serialize_checkpoint(const Checkpoint& checkpoint) {
  std::size_t total = kCheckpointHeaderSize + kTrailerSize;
  for (const auto& s : checkpoint.sections()) total += kSectionHeaderSize + s.name.size() + s.data.size();
  if (checkpoint.size() > 0xFFFFFFFFu) throw std::length_error("serialize_checkpoint: too many sections");

  std::vector<std::byte> out;
  out.reserve(total);
  for (char c : kMagic) out.push_back(static_cast<std::byte>(c));
  put_le<std::uint32_t>(out, kCheckpointVersion);
  put_le<std::uint32_t>(out, static_cast<std::uint32_t>(checkpoint.size()));
  put_le<std::uint64_t>(out, total);
  for (const auto& s : checkpoint.sections()) {
    put_le<std::uint32_t>(out, static_cast<std::uint32_t>(s.name.size()));
    put_le<std::uint32_t>(out, static_cast<std::uint32_t>(s.type));
    put_le<std::uint64_t>(out, s.data.size());
    for (char c : s.name) out.push_back(static_cast<std::byte>(c));
    const std::size_t at = out.size();
    out.resize(at + s.data.size());
    copy_elements(out.data() + at, s.data.data(), s.data.size(), element_size(s.type));
  }
  put_le<std::uint32_t>(out, crc32c(out));
  return out;
}

Checkpoint parse_checkpoint(std::span<const std::byte> image, std::string_view source) {
  const std::string src(source);
  auto fail = [&](const std::string& what) -> void { throw FileError("checkpoint " + quoted(src) + ": " + what); };
  const std::size_t size = image.size();
  const std::byte* p = image.data();

  if (size == 0) fail("empty file");
  const std::size_t magic_len = std::min(size, kMagic.size());
  if (std::memcmp(p, kMagic.data(), magic_len) != 0) fail("not a tptt checkpoint (bad magic)");
  if (size < kCheckpointHeaderSize + kTrailerSize)
    fail("truncated: " + std::to_string(size) + " bytes, shorter than the smallest checkpoint (" +
         std::to_string(kCheckpointHeaderSize + kTrailerSize) + " bytes)");
  const std::uint32_t version = get_le<std::uint32_t>(p + 8);
  if (version == 0) fail("invalid format version 0");
  if (version > kCheckpointVersion)
    fail("format version " + std::to_string(version) + " is newer than this build reads (" +
         std::to_string(kCheckpointVersion) + "); use a newer tptt");
  const std::uint32_t section_count = get_le<std::uint32_t>(p + 12);
  const std::uint64_t declared = get_le<std::uint64_t>(p + 16);
  if (declared > size)
    fail("truncated: " + std::to_string(size) + " bytes, but the header declares " + std::to_string(declared));
  if (declared < size)
    fail(std::to_string(size) + " bytes, but the header declares " + std::to_string(declared) +
         " (trailing data or a damaged header)");
  const std::uint32_t stored_crc = get_le<std::uint32_t>(p + size - kTrailerSize);
  const std::uint32_t actual_crc = crc32c(image.first(size - kTrailerSize));
  if (stored_crc != actual_crc) fail("checksum mismatch (the file is corrupted)");

  // Structure. Every length is checked against the bytes that remain before it is used,
  // so a hostile length can neither overflow an offset nor make us allocate.
  const std::size_t end = size - kTrailerSize;
  std::size_t pos = kCheckpointHeaderSize;
  if (section_count > (end - pos) / (kSectionHeaderSize + 1))
    fail("the header declares " + std::to_string(section_count) + " sections, more than the file can hold");
  Checkpoint cp;
  cp.set_source(src);
  std::vector<Checkpoint::Section> sections;
  sections.reserve(section_count);            // bounded above by the image size
  std::unordered_set<std::string_view> seen;  // names, viewed in the image
  for (std::uint32_t i = 0; i < section_count; ++i) {
    const std::string where = "section " + std::to_string(i);
    if (end - pos < kSectionHeaderSize) fail(where + ": header runs past the end of the data");
    const std::uint32_t name_len = get_le<std::uint32_t>(p + pos);
    const std::uint32_t type = get_le<std::uint32_t>(p + pos + 4);
    const std::uint64_t payload_len = get_le<std::uint64_t>(p + pos + 8);
    pos += kSectionHeaderSize;
    if (name_len == 0 || name_len > kCheckpointMaxNameLength)
      fail(where + ": name length " + std::to_string(name_len) + " (expected 1.." +
           std::to_string(kCheckpointMaxNameLength) + ")");
    if (name_len > end - pos) fail(where + ": name runs past the end of the data");
    std::string name(reinterpret_cast<const char*>(p + pos), name_len);
    pos += name_len;
    if (const std::string problem = name_problem(name); !problem.empty()) fail(where + ": " + problem);
    const std::string named = "section " + quoted(name);
    if (!valid_type(type)) fail(named + ": unknown type " + std::to_string(type));
    const auto stype = static_cast<SectionType>(type);
    if (payload_len > end - pos)
      fail(named + ": length " + std::to_string(payload_len) + " runs past the end of the data (" +
           std::to_string(end - pos) + " bytes left)");
    if (payload_len % element_size(stype) != 0)
      fail(named + ": length " + std::to_string(payload_len) + " is not a multiple of the " + to_string(stype) +
           " element size");
    if (!seen.insert(std::string_view(reinterpret_cast<const char*>(p + pos - name_len), name_len)).second)
      fail("duplicate section " + quoted(name));
    Checkpoint::Section s{std::move(name), stype, std::vector<std::byte>(static_cast<std::size_t>(payload_len))};
    copy_elements(s.data.data(), p + pos, s.data.size(), element_size(stype));
    pos += static_cast<std::size_t>(payload_len);
    sections.push_back(std::move(s));
  }
  if (pos != end) fail(std::to_string(end - pos) + " unexpected bytes after the last section");
  cp.sections_ = std::move(sections);
  return cp;
}

Checkpoint read_checkpoint(const std::string& path) {
  // O_NONBLOCK: a FIFO given as a checkpoint must not block the open (it is then rejected
  // as not a regular file); reads of a regular file ignore the flag.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) file_fail(path, "cannot open", errno);
  struct FdGuard {
    int fd;
    ~FdGuard() { ::close(fd); }
  } guard{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) file_fail(path, "cannot stat", errno);
  if (!S_ISREG(st.st_mode)) throw FileError("checkpoint " + quoted(path) + ": not a regular file");
  // The buffer is bounded by the file's real size, never by a length read from it.
  std::vector<std::byte> image;
  try {
    image.resize(static_cast<std::size_t>(st.st_size));
  } catch (const std::bad_alloc&) {
    throw FileError("checkpoint " + quoted(path) + ": too large to read (" + std::to_string(st.st_size) + " bytes)");
  } catch (const std::length_error&) {
    throw FileError("checkpoint " + quoted(path) + ": too large to read (" + std::to_string(st.st_size) + " bytes)");
  }
  std::size_t got = 0;
  while (got < image.size()) {
    const ssize_t n = ::read(fd, image.data() + got, image.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      file_fail(path, "cannot read", errno);
    }
    if (n == 0) break;  // shrank while reading: parse what is there (it will not verify)
    got += static_cast<std::size_t>(n);
  }
  image.resize(got);
  return parse_checkpoint(image, path);
}

// ---------------------------------------------------------------------------------------
// Atomic write
// ---------------------------------------------------------------------------------------

namespace checkpoint_detail {

std::string write_temp_file(const std::string& path, std::span<const std::byte> image) {
  if (path.empty()) throw FileError("checkpoint '': empty path");
  const std::string intact = "not written (the previous one, if any, is intact)";
  std::string temp;
  int fd = -1;
  for (int attempt = 0; attempt < 100 && fd < 0; ++attempt) {
    temp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(temp_counter.fetch_add(1));
    // 0666 less the umask, like any file the user creates; O_EXCL: never reuse a name.
    fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno != EEXIST) file_fail(path, intact + ": cannot create temporary file " + quoted(temp), errno);
  }
  if (fd < 0) file_fail(path, intact + ": cannot create a temporary file next to it", EEXIST);
  auto abandon = [&](const std::string& step, int err) {
    if (fd >= 0) ::close(fd);
    ::unlink(temp.c_str());
    file_fail(path, intact + ": cannot " + step + " temporary file " + quoted(temp), err);
  };
  const std::byte* data = image.data();
  std::size_t left = image.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) abandon("write", errno);
    if (n == 0) abandon("write", EIO);
    data += n;
    left -= static_cast<std::size_t>(n);
  }
  int rc;
  do rc = ::fsync(fd);
  while (rc != 0 && errno == EINTR);
  if (rc != 0) abandon("sync", errno);
  const int closed = ::close(fd);
  const int close_err = errno;
  fd = -1;
  if (closed != 0) abandon("close", close_err);
  return temp;
}

void commit_temp_file(const std::string& temp_path, const std::string& path) {
  if (::rename(temp_path.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp_path.c_str());
    file_fail(path,
              "not written (the previous one, if any, is intact): cannot rename " + quoted(temp_path) + " over it",
              err);
  }
  fsync_directory(directory_of(path), path);
}

}  // namespace checkpoint_detail

void write_checkpoint_atomic(const std::string& path, const Checkpoint& checkpoint) {
  const std::vector<std::byte> image = serialize_checkpoint(checkpoint);
  const std::string temp = checkpoint_detail::write_temp_file(path, image);
  checkpoint_detail::commit_temp_file(temp, path);
}

}  // namespace tptt
