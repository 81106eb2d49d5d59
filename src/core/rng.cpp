#include "tptt/core/rng.hpp"

#include <cmath>
#include <stdexcept>

namespace tptt {

std::uint64_t mix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

CounterRng::CounterRng(std::uint64_t seed, RngPurpose purpose, std::uint64_t counter, std::uint64_t sub)
    : state_(mix64(mix64(mix64(mix64(seed) ^ static_cast<std::uint64_t>(purpose)) ^ counter) ^ sub)) {}

std::uint64_t CounterRng::next() {
  // splitmix64: a Weyl sequence through the mixer.
  state_ += 0x9e3779b97f4a7c15ULL;
  std::uint64_t z = state_;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

int CounterRng::below(int n) {
  if (n <= 0) throw std::invalid_argument("CounterRng::below: n must be positive");
  // Lemire's multiply-shift; the bias for n < 2^31 is below 2^-32.
  return static_cast<int>((static_cast<unsigned __int128>(next()) * static_cast<unsigned>(n)) >> 64);
}

double CounterRng::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

double CounterRng::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_normal_;
  }
  double u1 = uniform();
  while (u1 <= 0.0) u1 = uniform();
  const double u2 = uniform();
  const double r = std::sqrt(-2.0 * std::log(u1));
  const double a = 2.0 * M_PI * u2;
  spare_normal_ = r * std::sin(a);
  has_spare_ = true;
  return r * std::cos(a);
}

}  // namespace tptt
