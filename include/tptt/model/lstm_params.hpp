#pragma once
// The parameters of the LSTM baseline (docs/method.md §7, Table 5) in one flat buffer with named views,
// as the SRN's Params: the optimiser and the checkpoint each touch one contiguous block.
//
// Layout (column-major blocks):  W_x (4H×I) | W_h (4H×H) | b (4H) | W_hy (O×H) | b_y (O)
// The 4H rows of W_x, W_h and b stack the gates in the order i (input), f (forget),
// o (output), g (candidate): gate k owns rows [k·H, (k+1)·H).
#include <array>
#include <cstdint>

#include "tptt/model/init.hpp"
#include "tptt/model/params.hpp"

namespace tptt {

enum class LstmTensor { Wx, Wh, b, Why, by };
inline constexpr int kLstmTensorCount = 5;
inline constexpr std::array<LstmTensor, kLstmTensorCount> kAllLstmTensors = {
    LstmTensor::Wx, LstmTensor::Wh, LstmTensor::b, LstmTensor::Why, LstmTensor::by};
const char* lstm_tensor_name(LstmTensor t);  // "W_x", "W_h", "b", "W_hy", "b_y"

enum class Gate { Input = 0, Forget = 1, Output = 2, Candidate = 3 };
inline constexpr int kGateCount = 4;

class LstmLayout {
 public:
  explicit LstmLayout(ModelShape shape);
  const ModelShape& shape() const { return shape_; }
  Eigen::Index offset(LstmTensor t) const { return offset_[static_cast<int>(t)]; }
  Eigen::Index rows(LstmTensor t) const;
  Eigen::Index cols(LstmTensor t) const;
  Eigen::Index count(LstmTensor t) const { return rows(t) * cols(t); }
  Eigen::Index size() const { return size_; }

 private:
  ModelShape shape_;
  std::array<Eigen::Index, kLstmTensorCount> offset_{};
  Eigen::Index size_ = 0;
};

template <class S>
class LstmParams {
 public:
  explicit LstmParams(ModelShape shape) : layout_(shape), flat_(Vec<S>::Zero(layout_.size())) {}

  const LstmLayout& layout() const { return layout_; }
  const ModelShape& shape() const { return layout_.shape(); }
  int hidden() const { return layout_.shape().hidden; }
  Vec<S>& flat() { return flat_; }
  const Vec<S>& flat() const { return flat_; }

  MatMap<S> view(LstmTensor t) { return MatMap<S>(flat_.data() + layout_.offset(t), layout_.rows(t), layout_.cols(t)); }
  ConstMatMap<S> view(LstmTensor t) const {
    return ConstMatMap<S>(flat_.data() + layout_.offset(t), layout_.rows(t), layout_.cols(t));
  }
  VecMap<S> vec(LstmTensor t) { return VecMap<S>(flat_.data() + layout_.offset(t), layout_.count(t)); }
  ConstVecMap<S> vec(LstmTensor t) const { return ConstVecMap<S>(flat_.data() + layout_.offset(t), layout_.count(t)); }

  MatMap<S> Wx() { return view(LstmTensor::Wx); }
  MatMap<S> Wh() { return view(LstmTensor::Wh); }
  VecMap<S> b() { return vec(LstmTensor::b); }
  MatMap<S> Why() { return view(LstmTensor::Why); }
  VecMap<S> by() { return vec(LstmTensor::by); }
  ConstMatMap<S> Wx() const { return view(LstmTensor::Wx); }
  ConstMatMap<S> Wh() const { return view(LstmTensor::Wh); }
  ConstVecMap<S> b() const { return vec(LstmTensor::b); }
  ConstMatMap<S> Why() const { return view(LstmTensor::Why); }
  ConstVecMap<S> by() const { return vec(LstmTensor::by); }

  // First row of gate k's (H-row) block in W_x, W_h and b.
  Eigen::Index gate_row(Gate k) const { return static_cast<Eigen::Index>(k) * hidden(); }

  void set_zero() { flat_.setZero(); }

 private:
  LstmLayout layout_;
  Vec<S> flat_;  // (size())
};

// Each gate block of W_x (H×I) and of W_h (H×H), and W_hy, drawn independently from the scheme
// (model/init: orthogonal per block, as for the SRN's matrices, or Gaussian). Biases are zero
// except the forget gate's b_f = 1 (Gers et al. 2000; Jozefowicz et al. 2015): the cell starts
// out keeping its content, so the error reaches early steps from the first iteration on.
// Depends only on (seed, shape).
template <class S>
void initialise(LstmParams<S>& params, InitScheme scheme, double gaussian_std, std::uint64_t seed);

}  // namespace tptt
