#include "tptt/algo/kernels.hpp"

#include <algorithm>
#include <utility>

#include "tptt/algo/step_product.hpp"

namespace tptt {

namespace {

template <class S>
S local_loss_scale(const SegmentBuffers<S>& seg) {
  return S(2) / (static_cast<S>(seg.batch) * static_cast<S>(seg.hidden));
}

// Per-step MSEs (over all H·B elements) of the (rows × k·B) difference d of k steps — all H
// rows or a slice of them — before it is scaled into a delta; per_step (if not null) receives
// the k MSEs.
template <class S, class D>
S record_step_losses(const Eigen::MatrixBase<D>& diff, int hidden, int batch, S* per_step) {
  const S denom = static_cast<S>(hidden) * static_cast<S>(batch);
  if (!per_step) return diff.squaredNorm() / denom;
  S total = 0;
  for (Eigen::Index j = 0; j < diff.cols() / batch; ++j) {
    const S l = diff.middleCols(j * batch, batch).squaredNorm() / denom;
    per_step[j] = l;
    total += l;
  }
  return total;
}

// The columns of a range of local steps in the (· × n·B) per-step buffers (block j−1 for step j),
// with the range's end resolved.
struct StepColumns {
  int first = 1, end = 1;  // local steps [first, end)
  Eigen::Index col = 0, cols = 0;
};
StepColumns step_columns(StepRange steps, int segment_steps, int batch) {
  StepColumns c;
  c.first = steps.first;
  c.end = steps.end < 0 ? segment_steps + 1 : steps.end;
  c.col = static_cast<Eigen::Index>(c.first - 1) * batch;
  c.cols = static_cast<Eigen::Index>(c.end - c.first) * batch;
  return c;
}

// The entries of per_step (sized n) for a range's steps; null when not asked for.
template <class S>
S* step_entries(std::vector<S>* per_step, const StepColumns& c, int segment_steps) {
  if (!per_step) return nullptr;
  per_step->resize(static_cast<std::size_t>(segment_steps));
  return per_step->data() + (c.first - 1);
}

// Columns [c0, c1) of a block that spans all rows of its matrix (contiguous columns) as one
// vector: Eigen vectorises an element-wise pass over it whole, where a pass over a block of
// rows runs the ends of every column in scalars.
template <class D>
auto slab(Eigen::MatrixBase<D>& m, Eigen::Index c0, Eigen::Index c1) {
  eigen_assert(m.outerStride() == m.rows());
  return VecMap<typename D::Scalar>(m.derived().data() + c0 * m.outerStride(), m.rows() * (c1 - c0));
}
template <class D>
auto slab(const Eigen::MatrixBase<D>& m, Eigen::Index c0, Eigen::Index c1) {
  eigen_assert(m.outerStride() == m.rows());
  return ConstVecMap<typename D::Scalar>(m.derived().data() + c0 * m.outerStride(), m.rows() * (c1 - c0));
}

// out += a · bᵀ: a gradient, the sum of outer products over the segment's n·B columns. The
// step kernel reads bᵀ in place (Eigen's product packs it, and runs (H × n·B)·(n·B × H) at a
// fraction of its large-product rate for H ≈ 100). `out` is a view (Map, Block) of the gradient.
template <class DO, class DA, class DB>
void add_outer_products(DO out, const DA& a, const DB& b) {
  step_product(out, a, b.transpose(), true);
}

}  // namespace

template <class S>
void input_projection(const Params<S>& p, const ConstMatRef<S>& X, SegmentBuffers<S>& seg, StepRange steps) {
  const StepColumns range = step_columns(steps, seg.steps, seg.batch);
  auto U = seg.U.middleCols(range.col, range.cols);
  step_product(U, p.Wxh(), X.middleCols(range.col, range.cols), false);
}

template <class S>
void forward_states(const Params<S>& p, Activation act, SegmentBuffers<S>& seg, int first_step, int end_step) {
  const auto W = p.Whh();
  const auto b = p.bh();
  if (end_step < 0) end_step = seg.steps + 1;
  for (int j = first_step; j < end_step; ++j) {
    auto h = seg.block(seg.Hs, j);
    h = seg.block(seg.U, j - 1).colwise() + b;
    const StepTerm<S> term = make_step_term(W, seg.block(seg.Hs, j - 1));
    step_product_rows(&term, 1, true, h.data(), h.outerStride(), h.cols(), 0, h.rows(),
                      [&](Eigen::Index c0, Eigen::Index c1) {
                        auto z = slab(h, c0, c1);
                        activate_inplace<S>(act, z);
                      });
  }
}

template <class S>
void final_state(const Params<S>& p, Activation act, const ConstMatRef<S>& X, int batch, int first, int n, Mat<S>& h,
                 Mat<S>& scratch) {
  const Eigen::Index steps = X.cols() / batch;
  h.setZero(p.Whh().rows(), n);
  scratch.resize(p.Whh().rows(), n);
  const auto b = p.bh();
  for (Eigen::Index t = 0; t < steps; ++t) {
    // scratch = σ(W_xh x_t + W_hh h + b_h), in one pass over each slice of rows.
    const StepTerm<S> terms[2] = {make_step_term(p.Whh(), h),
                                  make_step_term(p.Wxh(), X.middleCols(t * batch + first, n))};
    step_product_rows(terms, 2, false, scratch.data(), scratch.outerStride(), scratch.cols(), 0, scratch.rows(),
                      [&](Eigen::Index c0, Eigen::Index c1) {
                        scratch.middleCols(c0, c1 - c0).colwise() += b;
                        auto z = slab(scratch, c0, c1);
                        activate_inplace<S>(act, z);
                      });
    h.swap(scratch);
  }
}

template <class S>
void feedback_of_states(const Params<S>& p, Activation act, SegmentBuffers<S>& seg, int first_chunk, int end_chunk) {
  if (end_chunk < 0) end_chunk = step_chunks(seg.steps);
  for (int c = first_chunk; c < end_chunk; ++c) {
    const int first = c * kStepChunk, count = std::min(kStepChunk, seg.steps - first);  // local steps first+1 ..
    const Eigen::Index col = static_cast<Eigen::Index>(first) * seg.batch,
                       cols = static_cast<Eigen::Index>(count) * seg.batch;
    auto z = seg.Gz.middleCols(col, cols);
    auto g = seg.Gh.middleCols(col, cols);
    z = seg.U.middleCols(col, cols).colwise() + p.ch();
    const StepTerm<S> term = make_step_term(p.Vhh(), seg.Hs.middleCols(col + seg.batch, cols));
    step_product_rows(&term, 1, true, z.data(), z.outerStride(), z.cols(), 0, z.rows(),
                      [&](Eigen::Index c0, Eigen::Index c1) {
                        auto a = slab(g, c0, c1);
                        a = slab(std::as_const(z), c0, c1);
                        activate_inplace<S>(act, a);
                      });
  }
}

template <class S>
void propagate_targets(const Params<S>& p, Activation act, SegmentBuffers<S>& seg, StepRange steps) {
  const auto V = p.Vhh();
  const StepColumns range = step_columns(steps, seg.steps, seg.batch);
  Mat<S> scratch(seg.hidden, seg.batch);  // (H × B)
  for (int j = range.end - 1; j >= range.first; --j) {
    auto delta = seg.block(seg.Delta, j - 1);  // Δ_{t−1}, where t = a−1+j
    const auto z = seg.block(seg.Gz, j - 1);
    const auto a = seg.block(seg.Gh, j - 1);
    const StepTerm<S> term = make_step_term(V, seg.block(seg.Delta, j));
    step_product_rows(&term, 1, false, delta.data(), delta.outerStride(), delta.cols(), 0, delta.rows(),
                      [&](Eigen::Index c0, Eigen::Index c1) {
                        auto d = slab(delta, c0, c1);
                        auto s = slab(scratch, c0, c1);
                        activation_increment<S>(act, slab(z, c0, c1), slab(a, c0, c1), d, s);
                      });
  }
}

template <class S>
S feedback_gradient(const Params<S>& p, Activation act, const Mat<S>* noise, SegmentBuffers<S>& seg, Params<S>& grad,
                    std::vector<S>* per_step, StepRange steps) {
  const StepColumns range = step_columns(steps, seg.steps, seg.batch);
  S* const step_losses = step_entries(per_step, range, seg.steps);
  const auto cols = [&](auto&& m) { return m.middleCols(range.col, range.cols); };
  const auto previous = cols(seg.previous_states());  // h_{t−1}
  auto Dg = cols(seg.Dg);
  S loss;
  if (!noise) {
    // E = G(x_t, h_t) − h_{t−1}; inputs of G are h_t. E is an expression, evaluated by the two
    // passes that read it (the losses, then the delta) rather than stored and read back.
    const auto Gh = cols(seg.Gh);
    const auto error = Gh - previous;
    loss = record_step_losses(error, seg.hidden, seg.batch, step_losses);
    scaled_derivative_product<S>(act, Gh, error, local_loss_scale(seg), Dg);
    add_outer_products(grad.Vhh(), Dg, cols(seg.states()));
  } else {
    for (Mat<S>* m : {&seg.Hn, &seg.Fn, &seg.Gn}) m->resize(seg.hidden, seg.Dg.cols());  // sized on first use
    auto Hn = cols(seg.Hn), Fn = cols(seg.Fn), Gn = cols(seg.Gn);
    const auto U = cols(seg.U);
    Hn = previous + cols(*noise);  // h̃_{t−1}
    Fn = U.colwise() + p.bh();     // F(x_t, h̃_{t−1})
    step_product(Fn, p.Whh(), Hn, true);
    activate_inplace<S>(act, Fn);
    Gn = U.colwise() + p.ch();  // G(x_t, F(x_t, h̃_{t−1}))
    step_product(Gn, p.Vhh(), Fn, true);
    activate_inplace<S>(act, Gn);
    Dg = Gn - Hn;
    loss = record_step_losses(Dg, seg.hidden, seg.batch, step_losses);
    scaled_derivative_product<S>(act, Gn, Dg, local_loss_scale(seg), Dg);
    add_outer_products(grad.Vhh(), Dg, Fn);
  }
  grad.ch() += Dg.rowwise().sum();
  return loss;
}

template <class S>
S forward_local_gradient(const Params<S>& p, Activation act, const ConstMatRef<S>& X, bool input_weights_local,
                         SegmentBuffers<S>& seg, Params<S>& grad, std::vector<S>* per_step, RowRange rows,
                         StepRange steps) {
  (void)p;
  const Eigen::Index nb = static_cast<Eigen::Index>(seg.steps) * seg.batch;
  const Eigen::Index r0 = rows.first, nr = rows.count < 0 ? seg.hidden - rows.first : rows.count;
  const StepColumns range = step_columns(steps, seg.steps, seg.batch);
  const auto cols = [&](auto&& m) { return m.middleCols(range.col, range.cols); };
  // The deltas of these rows, (nr × n·B), compact at offset r0·n·B of Df: concurrent row ranges
  // write disjoint memory (as rows of one H-row matrix they would share a cache line in every
  // column).
  auto delta = cols(MatMap<S>(seg.Df.data() + r0 * nb, nr, nb));
  const auto states = cols(seg.states()).middleRows(r0, nr);
  // ĥ_t − h_t: MSE(h_t, ĥ_t) is its mean square
  const auto gap = cols(seg.Delta.rightCols(nb)).middleRows(r0, nr);
  const S loss = record_step_losses(gap, seg.hidden, seg.batch, step_entries(per_step, range, seg.steps));
  scaled_derivative_product<S>(act, states, -gap, local_loss_scale(seg), delta);
  add_outer_products(grad.Whh().middleRows(r0, nr), delta, cols(seg.previous_states()));
  grad.bh().segment(r0, nr) += delta.rowwise().sum();
  if (input_weights_local) add_outer_products(grad.Wxh().middleRows(r0, nr), delta, cols(X));
  return loss;
}

template <class S>
void backprop_through_time(const Params<S>& p, Activation act, const ConstMatRef<S>& X, bool recurrent_weights,
                           SegmentBuffers<S>& seg, MatRef<S> dh, Params<S>& grad) {
  const Mat<S> Wt = p.Whh().transpose();  // (H × H), column-major for the step products
  for (int j = seg.steps; j >= 1; --j) {
    auto dz = seg.block(seg.Dz, j - 1);  // ∂E/∂z_t = ∂E/∂h_t ⊙ σ'(z_t)
    scaled_derivative_product<S>(act, seg.block(seg.Hs, j), dh, S(1), dz);
    const StepTerm<S> term = make_step_term(Wt, dz);
    step_product(&term, 1, false, dh.data(), dh.outerStride(), dh.rows(), dh.cols());  // ∂E/∂h_{t−1}
  }
  add_outer_products(grad.Wxh(), seg.Dz, X);
  if (recurrent_weights) {
    add_outer_products(grad.Whh(), seg.Dz, seg.previous_states());
    grad.bh() += seg.Dz.rowwise().sum();
  }
}

#define TPTT_INSTANTIATE_KERNELS(S)                                                                                   \
  template void input_projection<S>(const Params<S>&, const ConstMatRef<S>&, SegmentBuffers<S>&, StepRange);          \
  template void forward_states<S>(const Params<S>&, Activation, SegmentBuffers<S>&, int, int);                        \
  template void final_state<S>(const Params<S>&, Activation, const ConstMatRef<S>&, int, int, int, Mat<S>&, Mat<S>&); \
  template void feedback_of_states<S>(const Params<S>&, Activation, SegmentBuffers<S>&, int, int);                    \
  template void propagate_targets<S>(const Params<S>&, Activation, SegmentBuffers<S>&, StepRange);                    \
  template S feedback_gradient<S>(const Params<S>&, Activation, const Mat<S>*, SegmentBuffers<S>&, Params<S>&,        \
                                  std::vector<S>*, StepRange);                                                        \
  template S forward_local_gradient<S>(const Params<S>&, Activation, const ConstMatRef<S>&, bool, SegmentBuffers<S>&, \
                                       Params<S>&, std::vector<S>*, RowRange, StepRange);                             \
  template void backprop_through_time<S>(const Params<S>&, Activation, const ConstMatRef<S>&, bool,                   \
                                         SegmentBuffers<S>&, MatRef<S>, Params<S>&);

TPTT_INSTANTIATE_KERNELS(float)
TPTT_INSTANTIATE_KERNELS(double)

}  // namespace tptt
