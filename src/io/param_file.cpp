#include "tptt/io/param_file.hpp"

#include <bit>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <ostream>
#include <vector>

#include "tptt/core/error.hpp"
#include "tptt/io/paths.hpp"

namespace tptt {

static_assert(std::endian::native == std::endian::little, "the .npy writer assumes a little-endian machine");
static_assert(sizeof(Scalar) == 4, "the .npy writer stores float32");

namespace {

constexpr char kMagic[] = "\x93NUMPY";  // 6 bytes

std::string npy_header(Eigen::Index n) {
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(n) + ",), }";
  const std::size_t prefix = 6 + 2 + 2;  // magic, version, header length
  std::size_t total = prefix + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict.push_back('\n');
  return dict;
}

}  // namespace

void write_params_npy(std::ostream& out, const VecF& flat) {
  const std::string header = npy_header(flat.size());
  const auto len = static_cast<std::uint16_t>(header.size());
  out.write(kMagic, 6);
  const char version[2] = {1, 0};
  out.write(version, 2);
  const char len_bytes[2] = {static_cast<char>(len & 0xff), static_cast<char>(len >> 8)};
  out.write(len_bytes, 2);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(reinterpret_cast<const char*>(flat.data()), static_cast<std::streamsize>(flat.size() * sizeof(float)));
  out.flush();
  if (!out) throw FileError("--save-params: writing the parameter file failed: " + system_reason());
}

VecF read_params_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FileError("cannot read parameter file '" + path + "': " + system_reason());
  char pre[10];
  if (!in.read(pre, 10) || std::memcmp(pre, kMagic, 6) != 0 || pre[6] != 1)
    throw FileError("'" + path + "' is not a version-1 .npy file");
  const std::size_t len = static_cast<unsigned char>(pre[8]) |
                          (static_cast<std::size_t>(static_cast<unsigned char>(pre[9])) << 8);
  std::string header(len, '\0');
  if (!in.read(header.data(), static_cast<std::streamsize>(len))) throw FileError("'" + path + "': truncated header");
  if (header.find("'descr': '<f4'") == std::string::npos || header.find("'fortran_order': False") == std::string::npos)
    throw FileError("'" + path + "': expected a C-order float32 array");
  const auto shape = header.find("'shape': (");
  if (shape == std::string::npos) throw FileError("'" + path + "': no shape in the header");
  const long n = std::stol(header.substr(shape + 10));
  VecF flat(n);
  if (!in.read(reinterpret_cast<char*>(flat.data()), static_cast<std::streamsize>(n * sizeof(float))))
    throw FileError("'" + path + "': truncated data");
  return flat;
}

std::uint64_t param_hash(const VecF& flat) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  const auto* bytes = reinterpret_cast<const unsigned char*>(flat.data());
  for (std::size_t i = 0; i < static_cast<std::size_t>(flat.size()) * sizeof(float); ++i) {
    h ^= bytes[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

std::string hash_hex(std::uint64_t hash) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
  return text;
}

}  // namespace tptt
