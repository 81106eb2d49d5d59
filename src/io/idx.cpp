#include "tptt/io/idx.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>
#include <optional>
#include <stdexcept>

#include "tptt/core/error.hpp"

namespace tptt {

namespace {

[[noreturn]] void fail(const std::string& name, const std::string& what) {
  throw FileError("idx file '" + name + "': " + what);
}

const char* kind_name(IdxKind kind) { return kind == IdxKind::Labels ? "label" : "image"; }

std::string hex32(std::uint32_t v) {
  char buf[11];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

std::uint32_t big_endian_u32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
}

// "60000 images of 28x28" / "60000 labels": what the header promises, for messages.
std::string described(IdxKind kind, const std::vector<std::uint32_t>& dims) {
  std::string s = std::to_string(dims[0]) + (kind == IdxKind::Labels ? " labels" : " images");
  for (std::size_t i = 1; i < dims.size(); ++i) s += (i == 1 ? " of " : "x") + std::to_string(dims[i]);
  return s;
}

// Header + product of the dimensions in bytes; nullopt when it does not fit in 64 bits
// (a header no real file can satisfy).
std::optional<std::uint64_t> expected_size(IdxKind kind, const std::vector<std::uint32_t>& dims) {
  std::uint64_t product = 1;
  for (std::uint32_t d : dims)
    if (d == 0) return idx_header_size(kind);  // an empty array, whatever the other sizes say
  for (std::uint32_t d : dims)
    if (__builtin_mul_overflow(product, std::uint64_t{d}, &product)) return std::nullopt;
  std::uint64_t total = 0;
  if (__builtin_add_overflow(product, std::uint64_t{idx_header_size(kind)}, &total)) return std::nullopt;
  return total;
}

// Checks everything and returns the dimensions: the body is then exactly bytes[header, end).
std::vector<std::uint32_t> checked_dims(std::span<const std::uint8_t> bytes, IdxKind kind, const std::string& name) {
  const std::size_t header = idx_header_size(kind);
  const std::string expected_magic = hex32(idx_magic(kind));
  if (bytes.empty()) fail(name, std::string("empty file, expected an IDX ") + kind_name(kind) + " file");
  if (bytes.size() < 4)
    fail(name, "truncated header: " + std::to_string(bytes.size()) + " bytes, an IDX " + kind_name(kind) +
                   " file's header has " + std::to_string(header));
  const std::uint32_t magic = big_endian_u32(bytes.data());
  if (magic != idx_magic(kind)) {
    const std::string what = std::string("not an IDX ") + kind_name(kind) + " file: magic " + hex32(magic) +
                             ", expected " + expected_magic;
    // The other MNIST kind is a likely mix-up (images given for labels): say so.
    if (magic == idx_magic(IdxKind::Labels) || magic == idx_magic(IdxKind::Images))
      fail(name, what + " (this is an IDX " + (kind == IdxKind::Labels ? "image" : "label") + " file)");
    fail(name, what);
  }
  if (bytes.size() < header)
    fail(name, "truncated header: " + std::to_string(bytes.size()) + " bytes, an IDX " + kind_name(kind) +
                   " file's header has " + std::to_string(header));

  std::vector<std::uint32_t> dims;
  for (std::size_t i = 0; i < static_cast<std::size_t>(kind); ++i) dims.push_back(big_endian_u32(&bytes[4 + 4 * i]));
  const std::optional<std::uint64_t> want = expected_size(kind, dims);
  const std::string held = "file holds " + std::to_string(bytes.size()) + " bytes";
  if (!want || *want > bytes.size())
    fail(name, "truncated: header says " + described(kind, dims) + " (" +
                   (want ? std::to_string(*want) + " bytes" : std::string("more than 2^64 bytes")) + "), " + held);
  if (*want < bytes.size())
    fail(name,
         "trailing data: header says " + described(kind, dims) + " (" + std::to_string(*want) + " bytes), " + held);
  return dims;
}

}  // namespace

IdxArray parse_idx(std::span<const std::uint8_t> bytes, IdxKind kind, const std::string& name) {
  IdxArray out;
  out.dims = checked_dims(bytes, kind, name);
  // The body's size is now the input's less the header: the allocation is bounded by the input.
  out.data.assign(bytes.begin() + static_cast<std::ptrdiff_t>(idx_header_size(kind)), bytes.end());
  return out;
}

IdxArray read_idx(const std::string& path, IdxKind kind) {
  // O_NONBLOCK: a FIFO must not block the open (it is then refused as not a regular file).
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) fail(path, std::string("cannot open: ") + std::strerror(errno));
  struct FdGuard {
    int fd;
    ~FdGuard() { ::close(fd); }
  } guard{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail(path, std::string("cannot stat: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) fail(path, "not a regular file");
  // The buffer is bounded by the file's real size, never by a size read from it.
  std::vector<std::uint8_t> image;
  try {
    image.resize(static_cast<std::size_t>(st.st_size));
  } catch (const std::bad_alloc&) {
    fail(path, "too large to read (" + std::to_string(st.st_size) + " bytes)");
  } catch (const std::length_error&) {
    fail(path, "too large to read (" + std::to_string(st.st_size) + " bytes)");
  }
  std::size_t got = 0;
  while (got < image.size()) {
    const ssize_t n = ::read(fd, image.data() + got, image.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(path, std::string("cannot read: ") + std::strerror(errno));
    }
    if (n == 0) break;  // shrank while reading: parse what is there (it will be truncated)
    got += static_cast<std::size_t>(n);
  }
  image.resize(got);
  IdxArray out;
  out.dims = checked_dims(image, kind, path);
  image.erase(image.begin(), image.begin() + static_cast<std::ptrdiff_t>(idx_header_size(kind)));  // no second copy
  out.data = std::move(image);
  return out;
}

}  // namespace tptt
