// The checkpoint container (io/checkpoint.hpp): bit-exact round trips, every kind of damage
// rejected with a FileError that names the file, and the atomic write (a failed or
// interrupted write leaves the previous checkpoint readable).
#include <doctest/doctest.h>

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "tptt/app/options.hpp"
#include "tptt/core/error.hpp"
#include "tptt/io/checkpoint.hpp"
#include "tptt/model/params.hpp"
#include "tptt/optim/optimizer.hpp"

using namespace tptt;
namespace fs = std::filesystem;

namespace {

// A fresh directory per test case, removed afterwards.
struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() /
           ("tptt_ckpt_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::permissions(path, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
  // Names of the entries of the directory (to see that no temporary file is left).
  std::vector<std::string> entries() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(path)) out.push_back(e.path().filename().string());
    return out;
  }
};

// A checkpoint shaped like the trainer's: configuration, parameters, optimiser states,
// progress counters.
Checkpoint training_like_checkpoint(ModelShape shape = {2, 8, 1}, float scale = 1.0f) {
  Params<float> params(shape);
  for (Eigen::Index i = 0; i < params.flat().size(); ++i)
    params.flat()[i] = scale * std::sin(0.37f * static_cast<float>(i)) / static_cast<float>(1 + i);
  Optimizer forward(OptimizerKind::Nesterov, params.layout().forward_size());
  Optimizer feedback(OptimizerKind::Nesterov, params.layout().feedback_size());
  for (Eigen::Index i = 0; i < forward.state().size(); ++i) forward.state()[i] = 1e-3f * static_cast<float>(i);
  for (Eigen::Index i = 0; i < feedback.state().size(); ++i) feedback.state()[i] = -2e-3f * static_cast<float>(i);

  Checkpoint cp;
  cp.put_string("config", config_to_json(TrainConfig{}).str());
  cp.put_f32("params", std::span<const float>(params.flat().data(), params.flat().size()));
  cp.put_f32("opt_forward", std::span<const float>(forward.state().data(), forward.state().size()));
  cp.put_f32("opt_feedback", std::span<const float>(feedback.state().data(), feedback.state().size()));
  cp.put_int("iteration", 12345);
  cp.put_i64("updates", std::vector<std::int64_t>{6000, 6345});
  cp.put_double("best_error", 0.0625);
  cp.put_int("checks_without_improvement", 3);
  cp.put_uint("seed", 0xFEEDFACECAFEBEEFull);
  return cp;
}

std::vector<std::byte> bytes_of(std::string_view s) {
  std::vector<std::byte> out(s.size());
  std::memcpy(out.data(), s.data(), s.size());
  return out;
}

// Makes an edited image self-consistent again (size field and checksum), so that the
// structural checks behind the checksum are reached.
void reseal(std::vector<std::byte>& image) {
  const std::uint64_t size = image.size();
  for (int i = 0; i < 8; ++i) image[16 + i] = static_cast<std::byte>((size >> (8 * i)) & 0xFF);
  const std::uint32_t crc = crc32c(std::span<const std::byte>(image).first(image.size() - 4));
  for (int i = 0; i < 4; ++i) image[image.size() - 4 + i] = static_cast<std::byte>((crc >> (8 * i)) & 0xFF);
}

void put_u32(std::vector<std::byte>& image, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) image[at + i] = static_cast<std::byte>((v >> (8 * i)) & 0xFF);
}
void put_u64(std::vector<std::byte>& image, std::size_t at, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) image[at + i] = static_cast<std::byte>((v >> (8 * i)) & 0xFF);
}

// The message of the FileError that parsing `image` throws ("" if it does not throw).
std::string parse_error(const std::vector<std::byte>& image, std::string_view source = "test.ckpt") {
  try {
    (void)parse_checkpoint(image, source);
  } catch (const FileError& e) {
    return e.what();
  }
  return "";
}

void write_file(const std::string& path, std::span<const std::byte> data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Checksum and round trip
// ---------------------------------------------------------------------------------------

TEST_CASE("crc32c: standard check value, incremental equals one pass") {
  CHECK(crc32c(bytes_of("123456789")) == 0xE3069283u);
  CHECK(crc32c({}) == 0u);
  const auto data = bytes_of("The quick brown fox jumps over the lazy dog, twice: the quick brown fox.");
  for (std::size_t cut = 0; cut <= data.size(); ++cut) {
    const std::span<const std::byte> all(data);
    CHECK(crc32c(all.subspan(cut), crc32c(all.first(cut))) == crc32c(all));
  }
}

TEST_CASE("checkpoint: round trip is bit-exact for every section type and special value") {
  Checkpoint cp = training_like_checkpoint();
  const float nan_payload = std::bit_cast<float>(0x7FC12345u);
  cp.put_f32(
      "specials_f32",
      std::vector<float>{0.0f, -0.0f, std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                         nan_payload, std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::max()});
  cp.put_f64("specials_f64", std::vector<double>{-0.0, std::bit_cast<double>(0x7FF8000000ABCDEFull),
                                                 std::numeric_limits<double>::denorm_min(), 1.0 / 3.0});
  cp.put_i64("extremes", std::vector<std::int64_t>{std::numeric_limits<std::int64_t>::min(), -1, 0,
                                                   std::numeric_limits<std::int64_t>::max()});
  cp.put_string("binary_text", std::string("a\0b\n\xff", 5));
  cp.put_bytes("raw", bytes_of("\x01\x02\x03"));
  cp.put_f32("empty_f32", std::span<const float>{});
  cp.put_string("empty_string", "");

  const std::vector<std::byte> image = serialize_checkpoint(cp);
  const Checkpoint back = parse_checkpoint(image, "mem");
  CHECK(back == cp);
  CHECK(back.names() == cp.names());
  CHECK(serialize_checkpoint(back) == image);  // same content, same bytes
  CHECK(back.source() == "mem");

  // Bits, not values: NaN payloads and signed zeros survive.
  const std::vector<float> s = back.get_f32("specials_f32");
  REQUIRE(s.size() == 7);
  CHECK(std::bit_cast<std::uint32_t>(s[1]) == 0x80000000u);
  CHECK(std::bit_cast<std::uint32_t>(s[4]) == 0x7FC12345u);
  CHECK(std::bit_cast<std::uint64_t>(back.get_f64("specials_f64")[1]) == 0x7FF8000000ABCDEFull);
  CHECK(back.get_i64("extremes") == cp.get_i64("extremes"));
  CHECK(back.get_string("binary_text") == std::string("a\0b\n\xff", 5));
  CHECK(back.get_string("config") == config_to_json(TrainConfig{}).str());
  CHECK(back.get_int("iteration") == 12345);
  CHECK(back.get_uint("seed") == 0xFEEDFACECAFEBEEFull);
  CHECK(back.get_double("best_error") == 0.0625);
  CHECK(back.count("empty_f32") == 0);
  CHECK(back.get_string("empty_string").empty());

  // Into the model's own buffer.
  Params<float> params(ModelShape{2, 8, 1});
  back.get_f32_into("params", std::span<float>(params.flat().data(), params.flat().size()));
  const std::vector<float> flat = cp.get_f32("params");
  CHECK(std::memcmp(params.flat().data(), flat.data(), flat.size() * sizeof(float)) == 0);

  // Through a file.
  TempDir dir;
  write_checkpoint_atomic(dir.file("a.ckpt"), cp);
  const Checkpoint from_file = read_checkpoint(dir.file("a.ckpt"));
  CHECK(from_file == cp);
  CHECK(from_file.source() == dir.file("a.ckpt"));
}

TEST_CASE("checkpoint: a large parameter buffer round-trips through a file") {
  std::vector<float> big(1 << 20);
  for (std::size_t i = 0; i < big.size(); ++i)
    big[i] = std::bit_cast<float>(static_cast<std::uint32_t>(i * 2654435761u));
  Checkpoint cp;
  cp.put_f32("params", big);
  TempDir dir;
  write_checkpoint_atomic(dir.file("big.ckpt"), cp);
  CHECK(read_checkpoint(dir.file("big.ckpt")) == cp);
}

TEST_CASE("checkpoint: put replaces, erase removes, names are validated") {
  Checkpoint cp;
  cp.put_int("a", 1);
  cp.put_string("b", "x");
  cp.put_double("a", 2.5);  // replaces, keeps the position
  CHECK(cp.names() == std::vector<std::string>{"a", "b"});
  CHECK(cp.type("a") == SectionType::F64);
  CHECK(cp.get_double("a") == 2.5);
  cp.erase("a");
  CHECK(!cp.has("a"));
  CHECK(cp.size() == 1);
  CHECK_THROWS_AS(cp.put_int("", 1), std::invalid_argument);
  CHECK_THROWS_AS(cp.put_int("has space", 1), std::invalid_argument);
  CHECK_THROWS_AS(cp.put_int("tab\t", 1), std::invalid_argument);
  CHECK_THROWS_AS(cp.put_int("\xc3\xa9", 1), std::invalid_argument);
  CHECK_THROWS_AS(cp.put_int(std::string(256, 'x'), 1), std::invalid_argument);
  CHECK_NOTHROW(cp.put_int(std::string(255, 'x'), 1));
}

TEST_CASE("checkpoint: missing sections, wrong types and wrong sizes are FileErrors naming the file") {
  Checkpoint cp = training_like_checkpoint();
  cp.set_source("run7.ckpt");
  auto message = [&](auto&& f) -> std::string {
    try {
      f();
    } catch (const FileError& e) {
      return e.what();
    }
    return "";
  };
  std::string m = message([&] { (void)cp.get_f32("nope"); });
  CHECK(m == "checkpoint 'run7.ckpt': missing section 'nope'");
  m = message([&] { (void)cp.get_f64("params"); });
  CHECK(m == "checkpoint 'run7.ckpt': section 'params' holds f32, expected f64");
  m = message([&] { (void)cp.get_int("updates"); });
  CHECK(m == "checkpoint 'run7.ckpt': section 'updates' holds 2 values, expected 1");
  std::vector<float> wrong(3);
  m = message([&] { cp.get_f32_into("params", wrong); });
  CHECK(m.find("section 'params' holds") != std::string::npos);
  CHECK(m.find("expected 3") != std::string::npos);
  CHECK_THROWS_AS((void)cp.type("nope"), FileError);
  CHECK_THROWS_AS((void)cp.count("nope"), FileError);
}

// ---------------------------------------------------------------------------------------
// Damage
// ---------------------------------------------------------------------------------------

TEST_CASE("checkpoint: every single-bit and single-byte corruption is rejected with a clear message") {
  Checkpoint cp;
  cp.put_string("config", "{\"hidden\":8}");
  cp.put_f32("params", std::vector<float>{1.0f, -2.0f, 0.5f});
  cp.put_int("iteration", 7);
  const std::vector<std::byte> image = serialize_checkpoint(cp);
  REQUIRE(image.size() < 200);
  int checksum_rejections = 0;
  for (std::size_t at = 0; at < image.size(); ++at) {
    for (unsigned mask : {0x01u, 0x02u, 0x04u, 0x08u, 0x10u, 0x20u, 0x40u, 0x80u, 0xFFu}) {
      CAPTURE(at);
      CAPTURE(mask);
      std::vector<std::byte> damaged = image;
      damaged[at] ^= static_cast<std::byte>(mask);
      const std::string m = parse_error(damaged);
      REQUIRE(!m.empty());
      CHECK(m.rfind("checkpoint 'test.ckpt': ", 0) == 0);
      if (at < 8) {
        CHECK(m.find("not a tptt checkpoint (bad magic)") != std::string::npos);
      } else if (at < 12) {
        CHECK(m.find("version") != std::string::npos);
      } else if (at >= 16 && at < 24) {
        CHECK(m.find("the header declares") != std::string::npos);
      } else {
        CHECK(m.find("checksum mismatch") != std::string::npos);
        ++checksum_rejections;
      }
    }
  }
  CHECK(checksum_rejections == static_cast<int>((image.size() - 20) * 9));
}

TEST_CASE("checkpoint: truncation at every length, trailing bytes, empty input") {
  const std::vector<std::byte> image = serialize_checkpoint(training_like_checkpoint({1, 3, 1}));
  CHECK(parse_error({}) == "checkpoint 'test.ckpt': empty file");
  for (std::size_t len = 1; len < image.size(); ++len) {
    CAPTURE(len);
    const std::vector<std::byte> cut(image.begin(), image.begin() + static_cast<std::ptrdiff_t>(len));
    const std::string m = parse_error(cut);
    CHECK(m.rfind("checkpoint 'test.ckpt': truncated: ", 0) == 0);
  }
  std::vector<std::byte> longer = image;
  longer.push_back(std::byte{0});
  CHECK(parse_error(longer).find("trailing data") != std::string::npos);
}

TEST_CASE("checkpoint: future and invalid versions, foreign files") {
  const std::vector<std::byte> image = serialize_checkpoint(training_like_checkpoint({1, 3, 1}));
  std::vector<std::byte> future = image;
  put_u32(future, 8, kCheckpointVersion + 1);
  reseal(future);  // a genuine file from a newer writer
  CHECK(parse_error(future) ==
        "checkpoint 'test.ckpt': format version 2 is newer than this build reads (1); "
        "use a newer tptt");
  put_u32(future, 8, 0xFFFFFFFFu);
  CHECK(parse_error(future).find("format version 4294967295 is newer") != std::string::npos);
  std::vector<std::byte> zero = image;
  put_u32(zero, 8, 0);
  reseal(zero);
  CHECK(parse_error(zero) == "checkpoint 'test.ckpt': invalid format version 0");

  const std::string foreign[] = {
      std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16),  // an image
      "{\"task\": \"temporal\", \"hidden\": 100}\n",     // JSON
      std::string("\0\0\x08\x03\0\0\xea\x60", 8),        // an IDX header
      "TPTT",                                            // a prefix of the magic, then nothing
      "TPTTCKPX" + std::string(40, '\0'),                // almost the magic
      "hidden = 100\nalgorithm = tptt\n",                // a config file
  };
  for (const std::string& f : foreign) {
    CAPTURE(f);
    const std::string m = parse_error(bytes_of(f));
    if (f == "TPTT")
      CHECK(m.find("truncated") != std::string::npos);
    else
      CHECK(m == "checkpoint 'test.ckpt': not a tptt checkpoint (bad magic)");
  }
}

TEST_CASE("checkpoint: hostile lengths and structure behind a valid checksum") {
  Checkpoint cp;
  cp.put_f32("params", std::vector<float>{1.0f, 2.0f});
  cp.put_int("iteration", 7);
  const std::vector<std::byte> image = serialize_checkpoint(cp);
  // First section header at 24: name length, type, payload length, then the name "params".
  const std::size_t s0 = kCheckpointHeaderSize;
  auto edited = [&](auto&& edit) {
    std::vector<std::byte> v = image;
    edit(v);
    reseal(v);
    return parse_error(v);
  };
  CHECK(edited([&](auto& v) { put_u32(v, 12, 0xFFFFFFFFu); }).find("more than the file can hold") != std::string::npos);
  CHECK(edited([&](auto& v) { put_u32(v, 12, 3); }).find("section 2: header runs past the end") != std::string::npos);
  CHECK(edited([&](auto& v) { put_u32(v, 12, 1); }).find("unexpected bytes after the last section") !=
        std::string::npos);
  CHECK(edited([&](auto& v) { put_u32(v, 12, 0); }).find("unexpected bytes after the last section") !=
        std::string::npos);
  CHECK(edited([&](auto& v) { put_u32(v, s0, 0); }).find("section 0: name length 0") != std::string::npos);
  CHECK(edited([&](auto& v) { put_u32(v, s0, 256); }).find("section 0: name length 256") != std::string::npos);
  CHECK(edited([&](auto& v) { put_u32(v, s0, 200); }).find("name runs past the end") != std::string::npos);
  CHECK(edited([&](auto& v) { put_u32(v, s0 + 4, 0); }).find("section 'params': unknown type 0") != std::string::npos);
  CHECK(edited([&](auto& v) { put_u32(v, s0 + 4, 7); }).find("unknown type 7") != std::string::npos);
  for (std::uint64_t len :
       {std::numeric_limits<std::uint64_t>::max(), std::uint64_t{1} << 63,
        std::numeric_limits<std::uint64_t>::max() - 3, std::uint64_t{1} << 32, std::uint64_t{4096}}) {
    CAPTURE(len);
    CHECK(edited([&](auto& v) { put_u64(v, s0 + 8, len); }).find("runs past the end of the data") != std::string::npos);
  }
  CHECK(edited([&](auto& v) { put_u64(v, s0 + 8, 6); }).find("not a multiple of the f32 element size") !=
        std::string::npos);
  CHECK(edited([&](auto& v) { v[s0 + 16] = std::byte{' '}; }).find("non-printable") != std::string::npos);
  CHECK(edited([&](auto& v) { v[s0 + 16] = std::byte{0xC3}; }).find("non-printable") != std::string::npos);

  // The same name twice.
  std::vector<std::byte> dup;
  {
    Checkpoint a;
    a.put_int("iteration", 1);
    a.put_int("iteratioX", 2);
    dup = serialize_checkpoint(a);
    const std::string needle = "iteratioX";
    for (std::size_t i = 0; i + needle.size() <= dup.size(); ++i)
      if (std::memcmp(dup.data() + i, needle.data(), needle.size()) == 0) dup[i + 8] = std::byte{'n'};
    reseal(dup);
  }
  CHECK(parse_error(dup) == "checkpoint 'test.ckpt': duplicate section 'iteration'");
}

TEST_CASE("checkpoint: read_checkpoint names the file for missing, unreadable and odd files") {
  TempDir dir;
  auto message = [](const std::string& path) -> std::string {
    try {
      (void)read_checkpoint(path);
    } catch (const FileError& e) {
      return e.what();
    }
    return "";
  };
  const std::string missing = dir.file("missing.ckpt");
  CHECK(message(missing) == "checkpoint '" + missing + "': cannot open: No such file or directory");
  CHECK(message(dir.path.string()) == "checkpoint '" + dir.path.string() + "': not a regular file");
  const std::string fifo = dir.file("fifo.ckpt");  // must not block
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK(message(fifo) == "checkpoint '" + fifo + "': not a regular file");
  CHECK(message("/dev/zero") == "checkpoint '/dev/zero': not a regular file");
  const std::string empty = dir.file("empty.ckpt");
  write_file(empty, {});
  CHECK(message(empty) == "checkpoint '" + empty + "': empty file");
  const std::string torn = dir.file("torn.ckpt");
  const std::vector<std::byte> image = serialize_checkpoint(training_like_checkpoint());
  write_file(torn, std::span<const std::byte>(image).first(image.size() / 2));
  CHECK(message(torn).find("checkpoint '" + torn + "': truncated") == 0);
}

// ---------------------------------------------------------------------------------------
// Atomic write
// ---------------------------------------------------------------------------------------

TEST_CASE("checkpoint: rewriting replaces the file and leaves no temporary file") {
  TempDir dir;
  const std::string path = dir.file("run.ckpt");
  for (int i = 0; i < 5; ++i) {
    Checkpoint cp = training_like_checkpoint({2, 8, 1}, static_cast<float>(i + 1));
    cp.put_int("iteration", i);
    write_checkpoint_atomic(path, cp);
    CHECK(read_checkpoint(path) == cp);
    CHECK(dir.entries() == std::vector<std::string>{"run.ckpt"});
  }
  // A relative path (directory ".").
  const fs::path old_cwd = fs::current_path();
  fs::current_path(dir.path);
  Checkpoint cp;
  cp.put_int("iteration", 99);
  write_checkpoint_atomic("relative.ckpt", cp);
  fs::current_path(old_cwd);
  CHECK(read_checkpoint(dir.file("relative.ckpt")).get_int("iteration") == 99);
}

TEST_CASE("checkpoint: a failing write throws FileError naming the file and keeps the old checkpoint") {
  TempDir dir;
  const Checkpoint old_cp = training_like_checkpoint({2, 8, 1}, 1.0f);
  const Checkpoint new_cp = training_like_checkpoint({2, 8, 1}, 2.0f);
  const std::string path = dir.file("run.ckpt");
  write_checkpoint_atomic(path, old_cp);

  SUBCASE("directory does not exist") {
    const std::string bad = dir.file("no/such/dir/run.ckpt");
    try {
      write_checkpoint_atomic(bad, new_cp);
      FAIL("no exception");
    } catch (const FileError& e) {
      const std::string m = e.what();
      CHECK(m.find("checkpoint '" + bad + "'") == 0);
      CHECK(m.find("No such file or directory") != std::string::npos);
      CHECK(m.find("intact") != std::string::npos);
    }
  }
  SUBCASE("parent is a regular file") {
    CHECK_THROWS_AS(write_checkpoint_atomic(path + "/run.ckpt", new_cp), FileError);
  }
  SUBCASE("target is a non-empty directory: the rename fails, the temporary file is removed") {
    const std::string target = dir.file("occupied");
    fs::create_directories(target + "/child");
    try {
      write_checkpoint_atomic(target, new_cp);
      FAIL("no exception");
    } catch (const FileError& e) {
      const std::string m = e.what();
      CHECK(m.find("checkpoint '" + target + "'") == 0);
      CHECK(m.find("cannot rename") != std::string::npos);
    }
    CHECK(fs::is_directory(target + "/child"));
    fs::remove_all(target);
  }
  SUBCASE("the disk fills up during the write (RLIMIT_FSIZE)") {
    // A write past the file-size limit fails with EFBIG, as one past a full disk fails with
    // ENOSPC; it works for root too, unlike a read-only directory.
    struct rlimit saved {};
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
    auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
    struct rlimit small = saved;
    small.rlim_cur = 4096;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
    std::string m;
    try {
      Checkpoint huge;
      huge.put_f32("params", std::vector<float>(100000, 1.0f));
      write_checkpoint_atomic(path, huge);
    } catch (const FileError& e) {
      m = e.what();
    }
    ::setrlimit(RLIMIT_FSIZE, &saved);
    std::signal(SIGXFSZ, old_handler);
    CHECK(m.find("checkpoint '" + path + "'") == 0);
    CHECK(m.find("cannot write temporary file") != std::string::npos);
    CHECK(m.find("File too large") != std::string::npos);
  }
  SUBCASE("read-only directory") {
    if (::geteuid() == 0) {
      MESSAGE("running as root: a read-only directory does not stop root; covered by the other cases");
    } else {
      fs::permissions(dir.path, fs::perms::owner_read | fs::perms::owner_exec, fs::perm_options::replace);
      CHECK_THROWS_AS(write_checkpoint_atomic(path, new_cp), FileError);
      fs::permissions(dir.path, fs::perms::owner_all, fs::perm_options::replace);
    }
  }
  // Whatever failed, the previous checkpoint is there, complete, and nothing else is.
  CHECK(read_checkpoint(path) == old_cp);
  CHECK(dir.entries() == std::vector<std::string>{"run.ckpt"});
}

TEST_CASE("checkpoint: a crash between writing the temporary file and the rename keeps the old one") {
  TempDir dir;
  const std::string path = dir.file("run.ckpt");
  const Checkpoint old_cp = training_like_checkpoint({2, 8, 1}, 1.0f);
  Checkpoint new_cp = training_like_checkpoint({2, 8, 1}, 3.0f);
  new_cp.put_int("iteration", 20000);
  write_checkpoint_atomic(path, old_cp);
  const std::vector<std::byte> image = serialize_checkpoint(new_cp);

  SUBCASE("complete temporary file, no rename") {
    const std::string temp = checkpoint_detail::write_temp_file(path, image);
    CHECK(temp.rfind(path + ".tmp.", 0) == 0);
    CHECK(fs::exists(temp));
    // The process dies here. The checkpoint is the old one, complete.
    CHECK(read_checkpoint(path) == old_cp);
    // The temporary file is complete too (it was fsync'ed); the next run may ignore it.
    CHECK(read_checkpoint(temp) == new_cp);
    // A later run writes a new checkpoint; the stale file does not get in the way.
    write_checkpoint_atomic(path, new_cp);
    CHECK(read_checkpoint(path) == new_cp);
  }
  SUBCASE("torn temporary file (crash in the middle of the write)") {
    const std::string temp = path + ".tmp.999999.0";
    write_file(temp, std::span<const std::byte>(image).first(image.size() / 3));
    CHECK(read_checkpoint(path) == old_cp);
    CHECK_THROWS_AS((void)read_checkpoint(temp), FileError);
  }
  SUBCASE("crash right after the rename") {
    const std::string temp = checkpoint_detail::write_temp_file(path, image);
    checkpoint_detail::commit_temp_file(temp, path);
    CHECK(!fs::exists(temp));
    CHECK(read_checkpoint(path) == new_cp);
  }
  SUBCASE("no previous checkpoint: a crash before the rename leaves no checkpoint, not a torn one") {
    const std::string fresh = dir.file("fresh.ckpt");
    (void)checkpoint_detail::write_temp_file(fresh, image);
    CHECK(!fs::exists(fresh));
    CHECK_THROWS_AS((void)read_checkpoint(fresh), FileError);
  }
}
