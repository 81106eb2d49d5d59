#include "tptt/train/segment_pass.hpp"

#include <array>
#include <stdexcept>

#include "tptt/algo/step_product.hpp"
#include "tptt/core/lanes.hpp"
#include "tptt/core/rng.hpp"
#include "tptt/core/trace.hpp"

namespace tptt {

PassParts pass_parts(Algorithm algorithm, Phases phases) {
  PassParts parts;
  parts.bptt = algorithm == Algorithm::Bptt;
  parts.targets = !parts.bptt && phases.f;
  parts.f_gradient = parts.targets;
  parts.chain = parts.bptt || (algorithm == Algorithm::Tptt && phases.f);
  parts.g_phase = !parts.bptt && phases.g;
  parts.hx = algorithm == Algorithm::TpttHx;
  return parts;
}

template <class S>
void segment_forward(const Params<S>& p, Activation act, const ConstMatRef<S>& X, bool with_feedback,
                     const PassBoundaries<S>& io, SegmentBuffers<S>& seg, const ThreadArena& arena,
                     ForwardGPhase<S>* g_phase) {
  if (g_phase && !with_feedback) throw std::logic_error("segment_forward: the G phase needs with_feedback");
  // Without a boundary state to wait for, the input term W_xh x_t runs chunk by chunk as a lane
  // ahead of the chain (on the other thread, off the chain's path); otherwise it fills the wait.
  const bool projection_in_lanes = with_feedback && !io.state_in;
  if (!projection_in_lanes) input_projection<S>(p, X, seg);
  if (io.state_in) {
    TraceSpan wait("recv h", "wait");
    io.state_in(seg.block(seg.Hs, 0));
  } else {
    seg.block(seg.Hs, 0).setZero();  // h_0 = 0
  }
  const auto send_state = [&] {
    if (io.state_out) io.state_out(seg.block(seg.Hs, seg.steps));
  };
  if (!with_feedback) {
    {
      TraceSpan span("forward chain");
      forward_states<S>(p, act, seg);
    }
    send_state();
    return;
  }
  // The chain chunk by chunk, h_b out after the last; G(x_t, h_t) of a chunk as soon as the
  // chain has passed it, beside the chain on two threads (core/lanes.hpp). h_b leaves from
  // whichever thread ran the chain (callers' boundary functions are safe to call from any
  // thread; the communicator serialises its calls).
  const int chunks = step_chunks(seg.steps);
  Lane projection(projection_in_lanes ? chunks : 0, [&](int c) {
    TraceSpan span("input projection");
    input_projection<S>(p, X, seg, chunk_steps(c, seg.steps));
  });
  Lane chain(
      chunks,
      [&](int c) {
        {
          TraceSpan span("forward chain");
          const StepRange steps = chunk_steps(c, seg.steps);
          forward_states<S>(p, act, seg, steps.first, steps.end);
        }
        if (c == chunks - 1) send_state();
      },
      [&](int c) { return !projection_in_lanes || projection.finished() > c; });
  Lane feedback(
      chunks,
      [&](int c) {
        TraceSpan span("G(x,h) chunk");
        feedback_of_states<S>(p, act, seg, c, c + 1);
      },
      [&](int c) { return chain.finished() > c; }, Lane::Order::Independent);
  // The G-phase gradient of a chunk reads its states (un-noised: and its G(x_t, h_t)); in chunk
  // order, as the backward half sums it. It fills the strands' waits; the backward half does
  // what is left.
  Lane feedback_gradient_lane(
      g_phase ? chunks : 0,
      [&](int c) {
        TraceSpan span("G gradient (eq. 9)");
        g_phase->loss += feedback_gradient<S>(p, act, g_phase->noise, seg, *g_phase->grad, nullptr,
                                              chunk_steps(c, seg.steps));
      },
      [&](int c) { return g_phase->noise ? chain.finished() > c : feedback.item_done(c); });
  run_strands(arena, {&chain, &projection, &feedback, &feedback_gradient_lane},
              {&projection, &feedback, &feedback_gradient_lane}, nullptr, &feedback_gradient_lane);
  if (g_phase) g_phase->chunks_done = feedback_gradient_lane.finished();
}

namespace {

// The two row ranges of the F-phase gradient, its lanes: halves of the hidden units, split at a
// multiple of the vector width where there is room (a split inside a packet would cost the
// step kernel a partial packet on either side). Fixed for a given H: the same bits on any
// number of threads.
template <class S>
std::array<RowRange, 2> f_gradient_rows(int hidden) {
  constexpr int packet = static_cast<int>(kStepPacketRows<S>);
  const int split = hidden / 2 >= packet ? hidden / 2 / packet * packet : hidden / 2;
  return {RowRange{0, split}, RowRange{split, hidden - split}};
}

}  // namespace

template <class S>
PassLosses<S> segment_backward(const Params<S>& p, Activation act, const ConstMatRef<S>& X, const Mat<S>* noise,
                               PassParts parts, const PassBoundaries<S>& io, SegmentBuffers<S>& seg, MatRef<S> dh,
                               Params<S>& grad, const ThreadArena& arena, bool per_step,
                               const ForwardGPhase<S>* g_begun) {
  PassLosses<S> losses;
  const int g_first = g_begun ? g_begun->chunks_done : 0;  // G-phase chunks done in the forward half
  if (g_begun) {
    noise = g_begun->noise;
    losses.loss_g = g_begun->loss;
  }
  const int n = seg.steps, chunks = step_chunks(n);
  const bool receive_in_steps = arena.threads() == 1;  // else received up front, below
  const auto receive_target = [&] {
    TraceSpan wait("recv target", "wait");
    io.target_in(seg.block(seg.Delta, n));
  };
  const auto receive_gradient = [&] {
    if (!io.gradient_in) return;
    TraceSpan wait("recv dE/dh", "wait");
    io.gradient_in(dh);
  };

  // The work as lanes (core/lanes.hpp), each in a fixed order of fixed pieces whoever runs it:
  // the target chain (eq. 8) chunk by chunk from the last step, Δ_{a−1} out after the last;
  // the ∂E/∂h chain, ∂E/∂h_{a−1} out after it; the G-phase gradient chunk by chunk; the F-phase
  // gradient in two lanes of rows, each chunk as soon as the target chain has passed it.
  Lane targets(parts.targets ? chunks : 0, [&](int i) {
    if (i == 0 && receive_in_steps) receive_target();
    {
      TraceSpan span("target chain (eq. 8)");
      propagate_targets<S>(p, act, seg, chunk_steps(chunks - 1 - i, n));
    }
    if (i == chunks - 1 && io.target_out) io.target_out(seg.block(seg.Delta, 0));
  });
  Lane gradient_chain(parts.chain ? 1 : 0, [&](int) {
    if (receive_in_steps) receive_gradient();
    {
      TraceSpan span(parts.bptt ? "BPTT" : "dE/dh chain (eq. 12)");
      backprop_through_time<S>(p, act, X, parts.bptt, seg, dh, grad);
    }
    if (io.gradient_out) io.gradient_out(dh);
  });
  Lane g_gradient(parts.g_phase ? chunks - g_first : 0, [&](int i) {
    TraceSpan span("G gradient (eq. 9)");
    losses.loss_g += feedback_gradient<S>(p, act, noise, seg, grad, per_step && !g_begun ? &losses.g_steps : nullptr,
                                          chunk_steps(g_first + i, n));
  });
  const std::array<RowRange, 2> f_rows = f_gradient_rows<S>(seg.hidden);
  std::array<S, 2> f_loss{};
  std::array<std::vector<S>, 2> f_steps;
  const auto f_lane = [&](int r) {
    return [&, r](int i) {
      TraceSpan span("F gradient (eq. 10)");
      f_loss[r] += forward_local_gradient<S>(p, act, X, parts.hx, seg, grad, per_step ? &f_steps[r] : nullptr,
                                             f_rows[r], chunk_steps(chunks - 1 - i, n));
    };
  };
  // The two row lanes run side by side and keep within a chunk of each other (item i of one
  // once the other has finished its items before i − 1), so that at the end both hold work and
  // either thread can take one.
  Lane* f_lanes[2] = {};
  const auto f_ready = [&](int r) {
    // Targets computed by an earlier call on the same buffers (parts.targets false) are all there.
    return [&, r](int i) { return (!parts.targets || targets.finished() > i) && f_lanes[1 - r]->finished() >= i - 1; };
  };
  Lane f_low(parts.f_gradient ? chunks : 0, f_lane(0), f_ready(0));
  Lane f_high(parts.f_gradient ? chunks : 0, f_lane(1), f_ready(1));
  f_lanes[0] = &f_low;
  f_lanes[1] = &f_high;
  const auto collect_f = [&] {
    losses.loss_f = f_loss[0] + f_loss[1];
    if (per_step && parts.f_gradient) {
      losses.f_steps = f_steps[0];
      for (std::size_t j = 0; j < f_steps[1].size(); ++j) losses.f_steps[j] += f_steps[1][j];
    }
  };

  if (receive_in_steps) {
    // One thread: a list schedule. The chains send boundary values that a neighbour waits for,
    // so each runs as soon as its message is in (the targets first: the last segment's Δ_T is
    // read from dh, which the ∂E/∂h chain overwrites). While a message is in flight, work that
    // needs none fills the wait; with none left, the rank waits for the targets, then ∂E/∂h.
    const auto arrived = [](const std::function<bool()>& probe) { return !probe || probe(); };
    const auto next = [&]() -> Lane* {
      if (!targets.done() && arrived(io.target_arrived)) return &targets;
      if (!gradient_chain.done() && targets.done() && arrived(io.gradient_arrived)) return &gradient_chain;
      if (!g_gradient.done()) return &g_gradient;
      if (!f_low.done() && targets.done()) return &f_low;
      if (!f_high.done() && targets.done()) return &f_high;
      return targets.done() ? &gradient_chain : &targets;  // nothing else to do: wait for a message
    };
    while (!(targets.done() && gradient_chain.done() && g_gradient.done() && f_low.done() && f_high.done())) {
      if (io.progress) io.progress();
      next()->run_all();
    }
    collect_f();
    return losses;
  }
  // Several threads: the boundary values are received on this thread first (communication
  // stays out of the strands, whose threads a blocked receive would hold), then two strands.
  if (parts.targets) receive_target();
  if (parts.chain) receive_gradient();
  if (parts.bptt) {
    gradient_chain.run_all();
    return losses;
  }
  // This thread, which ran the forward chain (it starts first, in either half), runs the ∂E/∂h
  // chain over the states it wrote, then what the forward half left of the G-phase gradient; the
  // target chain goes to the other thread, which wrote the G(x_t, h_t) that the targets read,
  // and which then runs the F-phase gradient over the targets it wrote: most of each buffer is
  // read on the core that wrote it (a cache line from the other core costs much more). Both
  // finish what is left.
  run_strands(arena, {&gradient_chain, &g_gradient, &f_low, &f_high, &targets},
              {&targets, &f_low, &f_high, &g_gradient, &gradient_chain}, &targets);
  collect_f();
  return losses;
}

PassBoundaries<float> neighbour_boundaries(Communicator& comm, MessageTag state_tag) {
  const int K = comm.size(), k = comm.rank();
  PassBoundaries<float> io;
  if (K > 1) io.progress = [&comm] { comm.progress(); };
  if (k > 0) {
    io.state_in = [&comm, k, state_tag](MatRef<float> h) { comm.recv(k - 1, state_tag, contiguous_span(h)); };
    io.state_arrived = [&comm, k, state_tag] { return comm.has_message(k - 1, state_tag); };
    io.target_out = [&comm, k](const ConstMatRef<float>& d) {
      comm.send(k - 1, MessageTag::Target, contiguous_span(d));
    };
    io.gradient_out = [&comm, k](const ConstMatRef<float>& g) {
      comm.send(k - 1, MessageTag::Gradient, contiguous_span(g));
    };
  }
  if (k + 1 < K) {
    io.state_out = [&comm, k, state_tag](const ConstMatRef<float>& h) {
      comm.send(k + 1, state_tag, contiguous_span(h));
    };
    io.target_in = [&comm, k](MatRef<float> d) { comm.recv(k + 1, MessageTag::Target, contiguous_span(d)); };
    io.gradient_in = [&comm, k](MatRef<float> g) { comm.recv(k + 1, MessageTag::Gradient, contiguous_span(g)); };
    io.target_arrived = [&comm, k] { return comm.has_message(k + 1, MessageTag::Target); };
    io.gradient_arrived = [&comm, k] { return comm.has_message(k + 1, MessageTag::Gradient); };
  }
  return io;
}

void fill_g_noise(const TrainConfig& config, long iteration, const SegmentRange& range, int batch, MatF& noise) {
  noise.resize(config.hidden, static_cast<Eigen::Index>(range.steps()) * batch);
  for (int t = range.first; t <= range.last; ++t) {
    CounterRng rng(config.seed, RngPurpose::Noise, static_cast<std::uint64_t>(iteration),
                   static_cast<std::uint64_t>(t));
    auto block = noise.middleCols(static_cast<Eigen::Index>(t - range.first) * batch, batch);
    for (Eigen::Index j = 0; j < block.cols(); ++j)
      for (Eigen::Index i = 0; i < block.rows(); ++i) block(i, j) = static_cast<Scalar>(config.noise * rng.normal());
  }
}

#define TPTT_INSTANTIATE_SEGMENT_PASS(S)                                                                         \
  template void segment_forward<S>(const Params<S>&, Activation, const ConstMatRef<S>&, bool,                    \
                                   const PassBoundaries<S>&, SegmentBuffers<S>&, const ThreadArena&,             \
                                   ForwardGPhase<S>*);                                                           \
  template PassLosses<S> segment_backward<S>(const Params<S>&, Activation, const ConstMatRef<S>&, const Mat<S>*, \
                                             PassParts, const PassBoundaries<S>&, SegmentBuffers<S>&, MatRef<S>, \
                                             Params<S>&, const ThreadArena&, bool, const ForwardGPhase<S>*);

TPTT_INSTANTIATE_SEGMENT_PASS(float)
TPTT_INSTANTIATE_SEGMENT_PASS(double)

}  // namespace tptt
