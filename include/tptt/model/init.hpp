#pragma once
// Parameter initialisation (docs/method.md §2).
#include <cstdint>
#include <string>

#include "tptt/model/params.hpp"

namespace tptt {

enum class InitScheme {
  Orthogonal,  // reference "tanh-randorth": U·Vᵀ of the SVD of a Glorot-uniform matrix
  Gaussian,    // N(0, scale²)
};

InitScheme parse_init_scheme(const std::string& name);  // throws UsageError
std::string to_string(InitScheme s);

class CounterRng;  // core/rng.hpp

// One weight matrix drawn from the scheme out of `rng` (the SRN's and the LSTM's per-block draws).
template <class S>
void draw_weights(MatRef<S> w, InitScheme scheme, double gaussian_std, CounterRng& rng);

// Weights W_xh, W_hh, W_hy, V_hh drawn from the scheme, biases zero. Depends only on
// (seed, shape): every rank builds the same replica.
template <class S>
void initialise(Params<S>& params, InitScheme scheme, double gaussian_std, std::uint64_t seed);

}  // namespace tptt
