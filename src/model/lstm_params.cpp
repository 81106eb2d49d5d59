#include "tptt/model/lstm_params.hpp"

#include "tptt/core/rng.hpp"

namespace tptt {

const char* lstm_tensor_name(LstmTensor t) {
  switch (t) {
    case LstmTensor::Wx: return "W_x";
    case LstmTensor::Wh: return "W_h";
    case LstmTensor::b: return "b";
    case LstmTensor::Why: return "W_hy";
    case LstmTensor::by: return "b_y";
  }
  return "?";
}

LstmLayout::LstmLayout(ModelShape shape) : shape_(shape) {
  Eigen::Index at = 0;
  for (LstmTensor t : kAllLstmTensors) {
    offset_[static_cast<int>(t)] = at;
    at += count(t);
  }
  size_ = at;
}

Eigen::Index LstmLayout::rows(LstmTensor t) const {
  switch (t) {
    case LstmTensor::Why:
    case LstmTensor::by: return shape_.output;
    default: return static_cast<Eigen::Index>(kGateCount) * shape_.hidden;
  }
}

Eigen::Index LstmLayout::cols(LstmTensor t) const {
  switch (t) {
    case LstmTensor::Wx: return shape_.input;
    case LstmTensor::Wh:
    case LstmTensor::Why: return shape_.hidden;
    default: return 1;
  }
}

template <class S>
void initialise(LstmParams<S>& params, InitScheme scheme, double gaussian_std, std::uint64_t seed) {
  params.set_zero();
  const Eigen::Index H = params.hidden();
  // Streams of their own (counter 1; the SRN uses counter 0): sub 0–3 the gates of W_x,
  // 4–7 those of W_h, 8 W_hy.
  std::uint64_t sub = 0;
  for (LstmTensor t : {LstmTensor::Wx, LstmTensor::Wh}) {
    for (int k = 0; k < kGateCount; ++k) {
      CounterRng rng(seed, RngPurpose::Init, 1, sub++);
      draw_weights<S>(params.view(t).middleRows(params.gate_row(static_cast<Gate>(k)), H), scheme, gaussian_std, rng);
    }
  }
  CounterRng rng(seed, RngPurpose::Init, 1, sub);
  draw_weights<S>(params.Why(), scheme, gaussian_std, rng);
  params.b().segment(params.gate_row(Gate::Forget), H).setOnes();  // forget-gate bias 1: remember at first
}

template void initialise<float>(LstmParams<float>&, InitScheme, double, std::uint64_t);
template void initialise<double>(LstmParams<double>&, InitScheme, double, std::uint64_t);

}  // namespace tptt
