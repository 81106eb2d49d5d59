#pragma once
// Comparing two runs: the fields of every check record that do not depend on wall-clock time,
// and the bits of parameter vectors.
#include <cstring>
#include <vector>

#include "tptt/train/protocol.hpp"

namespace tptt::testing {

struct Recorder final : RunObserver {
  std::vector<std::vector<double>> records;
  void on_check(const CheckRecord& r) override {
    std::vector<double> v = {double(r.iteration), r.train_cost,        r.loss_g,           r.loss_f,
                             r.validation.error,  r.validation.cost,   r.best_error,       r.rho_whh,
                             r.rho_vhh,           double(r.g_updates), double(r.f_updates)};
    for (const auto& [name, norm] : r.update_norm) v.push_back(norm);
    records.push_back(v);
  }
};

inline bool same_bits(const VecF& a, const VecF& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), sizeof(float) * a.size()) == 0;
}

}  // namespace tptt::testing
