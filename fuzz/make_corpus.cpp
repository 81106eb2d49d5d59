// Writes the seed corpus of fuzz_checkpoint: a few valid checkpoints (empty, every section
// type, one shaped like a training checkpoint). Usage: make_corpus <directory>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

#include "tptt/io/checkpoint.hpp"

namespace {
void save(const std::string& dir, const std::string& name, const tptt::Checkpoint& cp) {
  const std::vector<std::byte> image = tptt::serialize_checkpoint(cp);
  std::ofstream out(dir + "/" + name, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(image.data()), static_cast<std::streamsize>(image.size()));
  if (!out) {
    std::cerr << "make_corpus: cannot write " << dir << "/" << name << "\n";
    std::exit(1);
  }
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_corpus <directory>\n";
    return 2;
  }
  const std::string dir = argv[1];
  save(dir, "empty.ckpt", tptt::Checkpoint{});

  tptt::Checkpoint one;
  one.put_int("iteration", 42);
  save(dir, "one_int.ckpt", one);

  tptt::Checkpoint types;
  types.put_bytes("raw", std::vector<std::byte>{std::byte{1}, std::byte{0}, std::byte{255}});
  types.put_string("text", "hello");
  types.put_f32("f", std::vector<float>{1.0f, -0.0f, std::numeric_limits<float>::infinity()});
  types.put_f64("d", std::vector<double>{0.5, -1e300});
  types.put_i64("i", std::vector<std::int64_t>{std::numeric_limits<std::int64_t>::min(), 7});
  types.put_u64("u", std::vector<std::uint64_t>{std::numeric_limits<std::uint64_t>::max()});
  types.put_f32("empty", std::vector<float>{});
  save(dir, "all_types.ckpt", types);

  tptt::Checkpoint training;
  training.put_string("config", "{\"task\":\"temporal\",\"length\":10,\"hidden\":4,\"algorithm\":\"tptt\"}");
  std::vector<float> params(2 * 4 + 4 * 4 + 4 + 4 + 1 + 4 * 4 + 4);
  for (std::size_t i = 0; i < params.size(); ++i) params[i] = 0.01f * static_cast<float>(i) - 0.3f;
  training.put_f32("params", params);
  training.put_f32("opt_forward", std::vector<float>(33, 0.001f));
  training.put_f32("opt_feedback", std::vector<float>(20, -0.002f));
  training.put_int("iteration", 1000);
  training.put_i64("updates", std::vector<std::int64_t>{500, 1000});
  training.put_double("best_error", 0.125);
  training.put_int("checks_without_improvement", 2);
  training.put_uint("seed", 1);
  save(dir, "training.ckpt", training);
  return 0;
}
