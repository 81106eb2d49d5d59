#pragma once
// Counter-based random numbers: a stream is a pure function of (seed, purpose, counter, sub),
// so the data of iteration n is generated identically on every rank and thread without
// any shared state or messages.
#include <cstdint>

namespace tptt {

// What a stream is used for; keeps the streams of one seed independent.
enum class RngPurpose : std::uint64_t {
  TrainData = 1,
  ValidationData = 2,
  Init = 3,
  Noise = 4,
  Schedule = 5,
  Length = 6,
  MnistOrder = 7,           // the permutation of each epoch of the MNIST training set
  EvaluationData = 8,       // tptt eval: sequences no training minibatch or check ever draws
  FreshValidationData = 9,  // --validation fresh: the set of each check
};

class CounterRng {
 public:
  CounterRng(std::uint64_t seed, RngPurpose purpose, std::uint64_t counter, std::uint64_t sub = 0);

  std::uint64_t next();
  // Uniform integer in {0, …, n−1}; n must be positive.
  int below(int n);
  // Uniform in [0, 1).
  double uniform();
  // Standard normal (Box–Muller, both values used).
  double normal();

 private:
  std::uint64_t state_;
  double spare_normal_ = 0.0;
  bool has_spare_ = false;
};

// Stateless 64-bit mixer (splitmix64 finaliser).
std::uint64_t mix64(std::uint64_t x);

}  // namespace tptt
