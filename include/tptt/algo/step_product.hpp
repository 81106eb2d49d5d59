#pragma once
// The product of one recurrent step, out (H × B) = A (H × K) · in (K × B), with B small (a
// minibatch, 1 … a few hundred columns) and A fixed over many steps.
//
// Eigen's general product re-packs A into its panel format at every call; for an (H × H)·(H × B)
// step with B = 20 that packing is a large share of the step's time. This kernel reads A in its
// own column-major layout instead: each register tile holds a slice of rows × a few columns of
// `out` and adds A(rows, k) · in(k, col) for k = 0 … K−1 (an unaligned load of the rows of
// column k of A, a broadcast of in(k, col), one fused multiply-add per packet). Rows that do not
// fill a full packet use Eigen's half and quarter packets, then scalars: nothing is padded.
//
// Every element of `out` is the same sequence of operations whatever the tiling of the other
// elements: out(i, j) = init + A(i, 0)·in(0, j) + … in order of the terms and of k, each step
// one multiply-add. So a split of the rows over threads gives the same bits as one thread.
#include <algorithm>

#include "tptt/core/types.hpp"

// Eigen's packet types carry vector attributes that GCC reports as ignored when they are
// template arguments (-Wignored-attributes); Eigen silences the same report in its own headers.
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wignored-attributes"
#endif

namespace tptt {

// One term A · in of a step product: A (rows × depth), column-major with leading dimension
// lda; in (depth × cols) with element (k, j) at in[k·in_k + j·in_j]: column-major (in_k = 1) or
// the transpose of a column-major matrix (in_j = 1), as in the gradients' products Δ · Hᵀ.
template <class S>
struct StepTerm {
  const S* a = nullptr;
  Eigen::Index lda = 0;
  Eigen::Index depth = 0;
  const S* in = nullptr;
  Eigen::Index in_k = 1;
  Eigen::Index in_j = 0;
};

// A term from Eigen objects with direct access (Mat, Ref, Map, blocks of them); `in` may be a
// transpose of one.
template <class DA, class DI>
StepTerm<typename DA::Scalar> make_step_term(const DA& a, const DI& in) {
  static_assert(!(DA::Flags & Eigen::RowMajorBit), "A is column-major");
  eigen_assert(a.innerStride() == 1 && in.innerStride() == 1 && a.cols() == in.rows());
  constexpr bool transposed = (DI::Flags & Eigen::RowMajorBit) != 0;
  return {a.data(),
          a.outerStride(),
          a.cols(),
          in.data(),
          transposed ? in.outerStride() : 1,
          transposed ? 1 : in.outerStride()};
}

namespace step_detail {

namespace ei = Eigen::internal;

// Register tiles: kRowPackets full packets of rows × kTileCols columns of accumulators, sized
// to the vector registers (24 of 32 with AVX-512, 12 of 16 otherwise), leaving room for the
// loaded column of A and the broadcast.
inline constexpr int kRowPackets = 3;
inline constexpr int kTileCols = (EIGEN_ARCH_DEFAULT_NUMBER_OF_REGISTERS) >= 32 ? 8 : 4;  // not an #if: SSE's
                                                                                          // value is an expression

// acc[m][n] += Σ_k A(rows of packet m, k) · in(k, c0 + n) for one term (see tile).
template <class P, int M, int N, class S>
EIGEN_ALWAYS_INLINE void madd_term(const StepTerm<S>& term, P (&acc)[M][N], Eigen::Index r0, Eigen::Index c0,
                                   Eigen::Index shift) {
  constexpr Eigen::Index size = ei::unpacket_traits<P>::size;
  const S* a = term.a + r0;
  const S* in = term.in + c0 * term.in_j;
  for (Eigen::Index k = 0; k < term.depth; ++k, a += term.lda, in += term.in_k) {
    P col[M];
    for (int m = 0; m < M; ++m) col[m] = ei::ploadu<P>(a + m * size - (m == M - 1 ? shift : 0));
    for (int n = 0; n < N; ++n) {
      const P x = ei::pset1<P>(in[n * term.in_j]);
      for (int m = 0; m < M; ++m) acc[m][n] = ei::pmadd(col[m], x, acc[m][n]);
    }
  }
}

// acc[m][n] (+)= Σ_terms Σ_k A(rows of packet m, k) · in(k, c0 + n), then stored to out. Packet
// m covers rows r0 + m·size …; with Partial, the last packet holds only `valid` rows, r_last …
// r_last + valid − 1 with r_last = r0 + (M−1)·size, and is computed over rows r_last + valid −
// size … (inside A, which has at least `size` rows): its first size − valid lanes are not read
// from or written to `out`, so a row's operations and bits do not depend on the partial packet.
template <class P, int M, int N, bool Partial, class S>
EIGEN_ALWAYS_INLINE void tile(const StepTerm<S>* terms, int n_terms, bool accumulate, S* out, Eigen::Index ldo,
                              Eigen::Index r0, Eigen::Index c0, int valid) {
  constexpr Eigen::Index size = ei::unpacket_traits<P>::size;
  const Eigen::Index shift = Partial ? size - valid : 0;  // the last packet's start, back from r_last
  const auto offset = [&](int m) { return m * size - (m == M - 1 ? shift : 0); };
  alignas(64) S buffer[size];
  P acc[M][N];
  for (int n = 0; n < N; ++n)
    for (int m = 0; m < M; ++m) {
      S* o = out + (c0 + n) * ldo + r0 + offset(m);
      if (!accumulate) {
        acc[m][n] = ei::pset1<P>(S(0));
      } else if (Partial && m == M - 1) {
        for (int i = 0; i < size; ++i) buffer[i] = i < shift ? S(0) : o[i];
        acc[m][n] = ei::ploadu<P>(buffer);
      } else {
        acc[m][n] = ei::ploadu<P>(o);
      }
    }
  // One k loop per term, each unrolled on its own: a runtime loop over the terms around it
  // keeps GCC from holding acc in registers.
  madd_term<P, M, N>(terms[0], acc, r0, c0, shift);
  if (n_terms > 1) madd_term<P, M, N>(terms[1], acc, r0, c0, shift);
  for (int n = 0; n < N; ++n)
    for (int m = 0; m < M; ++m) {
      S* o = out + (c0 + n) * ldo + r0 + offset(m);
      if (Partial && m == M - 1) {
        ei::pstoreu<S>(buffer, acc[m][n]);
        for (int i = static_cast<int>(shift); i < size; ++i) o[i] = buffer[i];
      } else {
        ei::pstoreu<S>(o, acc[m][n]);
      }
    }
}

// The last tile of a slice of rows when fewer than kTileCols columns are left: n = N … 1 columns.
template <class P, int M, bool Partial, int N = kTileCols - 1, class S>
void narrow_tile(int n, const StepTerm<S>* terms, int n_terms, bool accumulate, S* out, Eigen::Index ldo,
                 Eigen::Index r0, Eigen::Index c0, int valid) {
  if constexpr (N >= 1) {
    if (n == N) {
      tile<P, M, N, Partial>(terms, n_terms, accumulate, out, ldo, r0, c0, valid);
    } else {
      narrow_tile<P, M, Partial, N - 1>(n, terms, n_terms, accumulate, out, ldo, r0, c0, valid);
    }
  }
}

// Columns [c0, c1) of a slice of rows (see tile): full tiles of kTileCols, then the rest.
template <class P, int M, bool Partial = false, class S>
void row_panel(const StepTerm<S>* terms, int n_terms, bool accumulate, S* out, Eigen::Index ldo, Eigen::Index r0,
               Eigen::Index c0, Eigen::Index c1, int valid = ei::unpacket_traits<P>::size) {
  Eigen::Index c = c0;
  for (; c + kTileCols <= c1; c += kTileCols)
    tile<P, M, kTileCols, Partial>(terms, n_terms, accumulate, out, ldo, r0, c, valid);
  if (c < c1) narrow_tile<P, M, Partial>(static_cast<int>(c1 - c), terms, n_terms, accumulate, out, ldo, r0, c, valid);
}

// Fewer than kRowPackets packets of rows, [r0, r1) with r1 ≥ size: M packets, the last partial
// unless the rows fill it.
template <class P, int M, class S>
void last_panel(const StepTerm<S>* terms, int n_terms, bool accumulate, S* out, Eigen::Index ldo, Eigen::Index r0,
                Eigen::Index r1, Eigen::Index c0, Eigen::Index c1) {
  constexpr Eigen::Index size = ei::unpacket_traits<P>::size;
  const int valid = static_cast<int>(r1 - r0 - (M - 1) * size);
  if (valid == size) {
    row_panel<P, M>(terms, n_terms, accumulate, out, ldo, r0, c0, c1);
  } else {
    row_panel<P, M, true>(terms, n_terms, accumulate, out, ldo, r0, c0, c1, valid);
  }
}

// Rows [r0, r1) of a product with fewer rows than a packet of P: half packets, down to scalars.
template <class P, class S>
void small_rows(const StepTerm<S>* terms, int n_terms, bool accumulate, S* out, Eigen::Index ldo, Eigen::Index r0,
                Eigen::Index r1, Eigen::Index c0, Eigen::Index c1) {
  using Half = typename ei::unpacket_traits<P>::half;
  constexpr Eigen::Index size = ei::unpacket_traits<P>::size;
  if constexpr (size == 1) {
    for (Eigen::Index r = r0; r < r1; ++r) row_panel<S, 1>(terms, n_terms, accumulate, out, ldo, r, c0, c1);
  } else {
    for (; r0 + size <= r1; r0 += size) row_panel<P, 1>(terms, n_terms, accumulate, out, ldo, r0, c0, c1);
    if constexpr (ei::unpacket_traits<Half>::size < size) {
      small_rows<Half>(terms, n_terms, accumulate, out, ldo, r0, r1, c0, c1);
    } else {
      small_rows<S>(terms, n_terms, accumulate, out, ldo, r0, r1, c0, c1);
    }
  }
}

// Rows [row_first, row_end) × columns [c0, c1): full panels of kRowPackets packets, then the
// rest as one panel.
template <class S>
void rows_of_slab(const StepTerm<S>* terms, int n_terms, bool accumulate, S* out, Eigen::Index ldo,
                  Eigen::Index row_first, Eigen::Index row_end, Eigen::Index c0, Eigen::Index c1) {
  using P = typename ei::packet_traits<S>::type;
  constexpr Eigen::Index size = ei::unpacket_traits<P>::size;
  Eigen::Index r = row_first;
  for (; r + kRowPackets * size <= row_end; r += kRowPackets * size)
    row_panel<P, kRowPackets>(terms, n_terms, accumulate, out, ldo, r, c0, c1);
  if (r == row_end) return;
  if (row_end < size) {
    small_rows<P>(terms, n_terms, accumulate, out, ldo, r, row_end, c0, c1);
  } else if (row_end - r <= size) {
    last_panel<P, 1>(terms, n_terms, accumulate, out, ldo, r, row_end, c0, c1);
  } else if (row_end - r <= 2 * size) {
    last_panel<P, 2>(terms, n_terms, accumulate, out, ldo, r, row_end, c0, c1);
  } else {
    last_panel<P, 3>(terms, n_terms, accumulate, out, ldo, r, row_end, c0, c1);
  }
}

// Columns per slab: the epilogue runs on a slab (all rows × these columns) while it is still in
// the first or second level cache. A minibatch (B ≤ 32) is one slab.
inline constexpr Eigen::Index kSlabCols = 32;

}  // namespace step_detail

// Rows of one packet (vector register) of S: a range of rows that starts at a multiple of it
// costs the step kernel no partial packet before its end.
template <class S>
inline constexpr Eigen::Index kStepPacketRows =
    Eigen::internal::unpacket_traits<typename Eigen::internal::packet_traits<S>::type>::size;

// The row panels of a step product with `rows` rows: [first(i), first(i + 1)), full panels of
// kRowPackets packets, then one panel for the rest. A split of a product at panel bounds (over
// threads) gives the same bits as running it whole.
template <class S>
struct StepPanels {
  static constexpr Eigen::Index height = Eigen::Index(step_detail::kRowPackets) * kStepPacketRows<S>;
  Eigen::Index rows = 0;
  Eigen::Index count() const { return (rows + height - 1) / height; }
  Eigen::Index first(Eigen::Index i) const { return std::min(rows, i * height); }
};

// out(r, j) for rows r in [row_first, row_end) and all `cols` columns, with one or two terms:
//   out ← (accumulate ? out : 0) + Σ_terms A · in,
// then epilogue(c0, c1) for each finished slab of columns [c0, c1) of those rows, while it is
// still in cache: the element-wise work of the step (bias, σ, …) fused into the product's pass.
// row_first and row_end must be panel bounds (StepPanels::first).
template <class S, class Epilogue>
void step_product_rows(const StepTerm<S>* terms, int n_terms, bool accumulate, S* out, Eigen::Index ldo,
                       Eigen::Index cols, Eigen::Index row_first, Eigen::Index row_end, Epilogue&& epilogue) {
  eigen_assert(n_terms == 1 || n_terms == 2);
  using step_detail::kSlabCols;
  for (Eigen::Index c0 = 0; c0 < cols; c0 += kSlabCols) {
    const Eigen::Index c1 = std::min(cols, c0 + kSlabCols);
    step_detail::rows_of_slab(terms, n_terms, accumulate, out, ldo, row_first, row_end, c0, c1);
    epilogue(c0, c1);
  }
}

// The whole product, no epilogue: out (rows × cols) (+)= Σ_terms A · in. A single term of a
// long depth (the gradients' products, depth n·B) runs in blocks of kDepthBlock, so that a
// panel of A stays in the second level cache while every tile of its rows reads it; the sum
// of each element still runs over k in order, the same bits as one pass.
inline constexpr Eigen::Index kDepthBlock = 512;

template <class S>
void step_product(const StepTerm<S>* terms, int n_terms, bool accumulate, S* out, Eigen::Index ldo, Eigen::Index rows,
                  Eigen::Index cols) {
  eigen_assert(n_terms == 1 || n_terms == 2);
  if (n_terms == 2 || terms[0].depth <= kDepthBlock) {
    step_detail::rows_of_slab(terms, n_terms, accumulate, out, ldo, Eigen::Index(0), rows, Eigen::Index(0), cols);
    return;
  }
  for (Eigen::Index k0 = 0; k0 < terms[0].depth; k0 += kDepthBlock) {
    StepTerm<S> block = terms[0];
    block.a += k0 * block.lda;
    block.in += k0 * block.in_k;
    block.depth = std::min(kDepthBlock, terms[0].depth - k0);
    step_detail::rows_of_slab(&block, 1, accumulate || k0 > 0, out, ldo, Eigen::Index(0), rows, Eigen::Index(0), cols);
  }
}

// out (+)= A · in for Eigen operands (see make_step_term); out is column-major with direct access.
template <class DO, class DA, class DI>
void step_product(Eigen::MatrixBase<DO>& out, const DA& a, const DI& in, bool accumulate) {
  eigen_assert(out.rows() == a.rows() && out.cols() == in.cols() && out.innerStride() == 1);
  const StepTerm<typename DA::Scalar> term = make_step_term(a, in);
  step_product(&term, 1, accumulate, out.derived().data(), out.outerStride(), out.rows(), out.cols());
}

}  // namespace tptt

#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
