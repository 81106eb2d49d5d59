// The step-product kernel (algo/step_product.hpp) against Eigen's product, on shapes that
// exercise every tile: rows not a multiple of any packet size, one column, the minibatch
// sizes of the benchmarks, H = 1024; two terms; accumulation; epilogues; row splits.
#include <doctest/doctest.h>

#include <tuple>
#include <vector>

#include "tptt/algo/step_product.hpp"

using namespace tptt;

namespace {

template <class S>
S max_abs(const Mat<S>& m) {
  return m.size() ? m.cwiseAbs().maxCoeff() : S(0);
}

// |step product − Eigen| ≤ tol · K · max|A| · max|in| elementwise (the rounding of K terms).
template <class S>
void check_shape(int rows, int depth, int cols, S tol) {
  CAPTURE(rows);
  CAPTURE(depth);
  CAPTURE(cols);
  const Mat<S> A = Mat<S>::Random(rows, depth), in = Mat<S>::Random(depth, cols), init = Mat<S>::Random(rows, cols);
  const S scale = tol * static_cast<S>(depth + 1);

  Mat<S> out = Mat<S>::Constant(rows, cols, S(7));  // overwritten, not read
  const StepTerm<S> term = make_step_term(A, in);
  step_product(&term, 1, false, out.data(), out.outerStride(), rows, cols);
  const Mat<S> expected = A * in;
  CHECK(max_abs<S>(out - expected) <= scale);

  Mat<S> acc = init;
  step_product(&term, 1, true, acc.data(), acc.outerStride(), rows, cols);
  const Mat<S> expected_acc = init + A * in;
  CHECK(max_abs<S>(acc - expected_acc) <= scale);
}

}  // namespace

TEST_CASE("step product: equals Eigen's product on every tile shape (float)") {
  for (int rows : {1, 3, 4, 7, 8, 13, 16, 17, 31, 47, 48, 49, 64, 95, 100, 101, 145})
    for (int cols : {1, 2, 3, 5, 8, 9, 16, 20, 21})
      for (int depth : {1, 6, 100}) check_shape<float>(rows, depth, cols, 2e-6f);
}

TEST_CASE("step product: double, and the trainer's sizes") {
  for (int rows : {1, 5, 9, 24, 100, 101}) check_shape<double>(rows, rows, 20, 1e-14);
  check_shape<float>(100, 100, 20, 2e-6f);
  check_shape<float>(100, 100, 250, 2e-6f);
  check_shape<float>(1024, 1024, 20, 2e-6f);
  check_shape<float>(1024, 1024, 1, 2e-6f);
}

TEST_CASE("step product: two terms, strided operands, epilogue on every column once") {
  const int H = 37, I = 6, B = 70;  // three slabs of columns
  const MatF W = MatF::Random(H, H), Wx = MatF::Random(H, I), Xall = MatF::Random(I, 3 * B), h = MatF::Random(H, B);
  const VecF b = VecF::Random(H);
  const auto x = Xall.middleCols(B, B);  // a block with outer stride I
  MatF big = MatF::Zero(H + 5, B);       // out is a block with outer stride H + 5
  auto out = big.topRows(H);
  const StepTerm<float> terms[2] = {make_step_term(W, h), make_step_term(Wx, x)};
  std::vector<int> seen(B, 0);
  step_product_rows(terms, 2, false, out.data(), out.outerStride(), out.cols(), 0, H,
                    [&](Eigen::Index c0, Eigen::Index c1) {
                      for (Eigen::Index c = c0; c < c1; ++c) ++seen[static_cast<std::size_t>(c)];
                      auto z = out.middleCols(c0, c1 - c0);
                      z.colwise() += b;
                      z.array() = z.array().tanh();
                    });
  for (int c = 0; c < B; ++c) CHECK(seen[static_cast<std::size_t>(c)] == 1);
  const MatF expected = ((W * h + Wx * x).colwise() + b).array().tanh().matrix();
  CHECK(max_abs<float>(out - expected) <= 1e-5f);
  CHECK(big.bottomRows(5).cwiseAbs().maxCoeff() == 0.0f);  // nothing written below the block
}

TEST_CASE("step product: a split of the rows at panel bounds gives the same bits") {
  const int H = 1024 + 13, B = 20;
  const MatF A = MatF::Random(H, H), in = MatF::Random(H, B);
  const StepTerm<float> term = make_step_term(A, in);
  MatF whole(H, B), split(H, B);
  step_product(&term, 1, false, whole.data(), whole.outerStride(), H, B);
  const StepPanels<float> panels{H};
  const Eigen::Index half = panels.first(panels.count() / 2);
  const auto none = [](Eigen::Index, Eigen::Index) {};
  step_product_rows(&term, 1, false, split.data(), split.outerStride(), B, half, Eigen::Index(H), none);
  step_product_rows(&term, 1, false, split.data(), split.outerStride(), B, Eigen::Index(0), half, none);
  CHECK(whole == split);
}

TEST_CASE("step product: a transposed operand and a long depth (the gradients' products)") {
  for (const auto& shape : {std::tuple{100, 2000, 100}, {50, 2000, 100}, {37, 1500, 6}, {100, 513, 1}}) {
    const int rows = std::get<0>(shape), depth = std::get<1>(shape), cols = std::get<2>(shape);
    CAPTURE(rows);
    CAPTURE(depth);
    CAPTURE(cols);
    const MatF D = MatF::Random(rows, depth), H = MatF::Random(cols, depth), init = MatF::Random(rows, cols);
    MatF out = init;
    step_product(out, D, H.transpose(), true);
    const MatF expected = init + D * H.transpose();
    CHECK(max_abs<float>(out - expected) <= 2e-6f * static_cast<float>(depth));
    // Blocks of the depth accumulate in order: the same bits as one pass over all of it.
    MatF one_pass = init;
    const StepTerm<float> term = make_step_term(D, H.transpose());
    step_detail::rows_of_slab(&term, 1, true, one_pass.data(), one_pass.outerStride(), Eigen::Index(0),
                              Eigen::Index(rows), Eigen::Index(0), Eigen::Index(cols));
    CHECK(out == one_pass);
  }
}
