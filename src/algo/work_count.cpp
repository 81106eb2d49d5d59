#include "tptt/algo/work_count.hpp"

namespace tptt {

IterationWork iteration_work(Algorithm algorithm, const IterationShape& s) {
  const double recurrent = double(s.hidden) * s.hidden * s.steps * s.batch;  // one H×H unit
  const double input = double(s.hidden) * s.input * s.steps * s.batch;       // one H×I product over all steps
  const double output = 3.0 * s.output * s.hidden * s.batch;                 // y, ∂E/∂W_hy, ∂E/∂h_T
  switch (algorithm) {
    case Algorithm::Bptt:  // chains: forward, W_hhᵀ; batched: ∂W_hh; U and ∂W_xh
      return {2 * recurrent, 2 * recurrent, recurrent + 2 * input + output};
    case Algorithm::Tptt:  // chains: forward, G(ĥ) targets, W_hhᵀ (eq. 12, beside the targets);
                           // batched: G(h), ∂V_hh, ∂W_hh; U and ∂W_xh (eq. 12)
      return {3 * recurrent, 2 * recurrent, 3 * recurrent + 2 * input + output};
    case Algorithm::TpttHx:  // as TPTT without the W_hhᵀ chain; ∂W_xh local (eq. 13)
      return {2 * recurrent, 2 * recurrent, 3 * recurrent + 2 * input + output};
    case Algorithm::Lstm:  // four gate blocks: chains forward, W_hᵀ; batched ∂W_h, projection, ∂W_x
      return {8 * recurrent, 8 * recurrent, 4 * recurrent + 8 * input + output};
  }
  return {};
}

double iteration_multiply_adds(Algorithm algorithm, const IterationShape& s) {
  return iteration_work(algorithm, s).total();
}

}  // namespace tptt
