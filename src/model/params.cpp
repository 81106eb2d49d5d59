#include "tptt/model/params.hpp"

namespace tptt {

const char* tensor_name(Tensor t) {
  switch (t) {
    case Tensor::Wxh: return "W_xh";
    case Tensor::Whh: return "W_hh";
    case Tensor::bh: return "b_h";
    case Tensor::Why: return "W_hy";
    case Tensor::by: return "b_y";
    case Tensor::Vhh: return "V_hh";
    case Tensor::ch: return "c_h";
  }
  return "?";
}

ParamLayout::ParamLayout(ModelShape shape) : shape_(shape) {
  Eigen::Index at = 0;
  for (Tensor t : kAllTensors) {
    offset_[static_cast<int>(t)] = at;
    at += count(t);
  }
  size_ = at;
}

Eigen::Index ParamLayout::rows(Tensor t) const {
  switch (t) {
    case Tensor::Why:
    case Tensor::by: return shape_.output;
    default: return shape_.hidden;
  }
}

Eigen::Index ParamLayout::cols(Tensor t) const {
  switch (t) {
    case Tensor::Wxh: return shape_.input;
    case Tensor::Whh:
    case Tensor::Why:
    case Tensor::Vhh: return shape_.hidden;
    default: return 1;
  }
}

}  // namespace tptt
