#pragma once
// All parameters of the SRN and of its feedback function in one flat buffer with named views,
// so that the optimiser, the all-reduce and the checkpoint each touch one contiguous block.
//
// Layout (column-major blocks):
//   forward set θ_F  : W_xh (H×I) | W_hh (H×H) | b_h (H) | W_hy (O×H) | b_y (O)
//   feedback set θ_G : V_hh (H×H) | c_h (H)
// θ_F occupies [0, forward_size()), θ_G [forward_size(), size()).
#include <array>
#include <string>

#include "tptt/core/types.hpp"

namespace tptt {

struct ModelShape {
  int input = 0;   // I
  int hidden = 0;  // H
  int output = 0;  // O
};

enum class Tensor { Wxh, Whh, bh, Why, by, Vhh, ch };
inline constexpr int kTensorCount = 7;
inline constexpr std::array<Tensor, kTensorCount> kAllTensors = {Tensor::Wxh, Tensor::Whh, Tensor::bh, Tensor::Why,
                                                                 Tensor::by,  Tensor::Vhh, Tensor::ch};
const char* tensor_name(Tensor t);  // "W_xh", "W_hh", ...

class ParamLayout {
 public:
  explicit ParamLayout(ModelShape shape);
  const ModelShape& shape() const { return shape_; }
  Eigen::Index offset(Tensor t) const { return offset_[static_cast<int>(t)]; }
  Eigen::Index rows(Tensor t) const;
  Eigen::Index cols(Tensor t) const;
  Eigen::Index count(Tensor t) const { return rows(t) * cols(t); }
  Eigen::Index forward_size() const { return offset(Tensor::Vhh); }
  Eigen::Index feedback_size() const { return size() - forward_size(); }
  Eigen::Index size() const { return size_; }

 private:
  ModelShape shape_;
  std::array<Eigen::Index, kTensorCount> offset_{};
  Eigen::Index size_ = 0;
};

template <class S>
class Params {
 public:
  explicit Params(ModelShape shape) : layout_(shape), flat_(Vec<S>::Zero(layout_.size())) {}

  const ParamLayout& layout() const { return layout_; }
  const ModelShape& shape() const { return layout_.shape(); }
  Vec<S>& flat() { return flat_; }
  const Vec<S>& flat() const { return flat_; }

  MatMap<S> view(Tensor t) { return MatMap<S>(flat_.data() + layout_.offset(t), layout_.rows(t), layout_.cols(t)); }
  ConstMatMap<S> view(Tensor t) const {
    return ConstMatMap<S>(flat_.data() + layout_.offset(t), layout_.rows(t), layout_.cols(t));
  }
  VecMap<S> vec(Tensor t) { return VecMap<S>(flat_.data() + layout_.offset(t), layout_.count(t)); }
  ConstVecMap<S> vec(Tensor t) const { return ConstVecMap<S>(flat_.data() + layout_.offset(t), layout_.count(t)); }

  MatMap<S> Wxh() { return view(Tensor::Wxh); }
  MatMap<S> Whh() { return view(Tensor::Whh); }
  VecMap<S> bh() { return vec(Tensor::bh); }
  MatMap<S> Why() { return view(Tensor::Why); }
  VecMap<S> by() { return vec(Tensor::by); }
  MatMap<S> Vhh() { return view(Tensor::Vhh); }
  VecMap<S> ch() { return vec(Tensor::ch); }
  ConstMatMap<S> Wxh() const { return view(Tensor::Wxh); }
  ConstMatMap<S> Whh() const { return view(Tensor::Whh); }
  ConstVecMap<S> bh() const { return vec(Tensor::bh); }
  ConstMatMap<S> Why() const { return view(Tensor::Why); }
  ConstVecMap<S> by() const { return vec(Tensor::by); }
  ConstMatMap<S> Vhh() const { return view(Tensor::Vhh); }
  ConstVecMap<S> ch() const { return vec(Tensor::ch); }

  void set_zero() { flat_.setZero(); }

 private:
  ParamLayout layout_;
  Vec<S> flat_;  // (size())
};

}  // namespace tptt
