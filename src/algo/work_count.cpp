#include "tptt/algo/work_count.hpp"

namespace tptt {

double iteration_multiply_adds(Algorithm algorithm, const IterationShape& s) {
  const double recurrent = double(s.hidden) * s.hidden * s.steps * s.batch;  // one H×H product over all steps
  const double input = double(s.hidden) * s.input * s.steps * s.batch;      // one H×I product over all steps
  const double output = 3.0 * s.output * s.hidden * s.batch;                // y, ∂E/∂W_hy, ∂E/∂h_T
  switch (algorithm) {
    case Algorithm::Bptt:  // forward, W_hhᵀ chain, ∂W_hh; U and ∂W_xh
      return 3 * recurrent + 2 * input + output;
    case Algorithm::Tptt:  // forward, G(h), G(ĥ) chain, ∂V_hh, ∂W_hh, W_hhᵀ chain; U and ∂W_xh (eq. 12)
      return 6 * recurrent + 2 * input + output;
    case Algorithm::TpttHx:  // as TPTT without the W_hhᵀ chain; ∂W_xh local (eq. 13)
      return 5 * recurrent + 2 * input + output;
    case Algorithm::Lstm:  // as BPTT with four gate blocks: forward, W_hᵀ chain, ∂W_h; projection and ∂W_x
      return 12 * recurrent + 8 * input + output;
  }
  return 0;
}

}  // namespace tptt
