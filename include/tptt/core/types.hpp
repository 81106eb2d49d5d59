#pragma once
// Scalar and matrix aliases shared by every module.
// Convention: one column per sequence of the batch; a sequence of T steps is stored as
// T consecutive (rows × B) column blocks, so block t of a (rows × T·B) matrix is
// middleCols(t·B, B).
#include "tptt/core/intrinsics.hpp"  // first: see there

#include <Eigen/Core>
#include <cstdint>

namespace tptt {

using Scalar = float;  // the trainer's precision; kernels are also instantiated for double (tests)

template <class S>
using Mat = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>;
template <class S>
using Vec = Eigen::Matrix<S, Eigen::Dynamic, 1>;
template <class S>
using MatMap = Eigen::Map<Mat<S>>;
template <class S>
using ConstMatMap = Eigen::Map<const Mat<S>>;
template <class S>
using VecMap = Eigen::Map<Vec<S>>;
template <class S>
using ConstVecMap = Eigen::Map<const Vec<S>>;
template <class S>
using MatRef = Eigen::Ref<Mat<S>>;
template <class S>
using ConstMatRef = Eigen::Ref<const Mat<S>>;
template <class S>
using VecRef = Eigen::Ref<Vec<S>>;
template <class S>
using ConstVecRef = Eigen::Ref<const Vec<S>>;

using MatF = Mat<Scalar>;
using VecF = Vec<Scalar>;

}  // namespace tptt
