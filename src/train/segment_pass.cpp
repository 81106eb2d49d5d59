#include "tptt/train/segment_pass.hpp"

#include <algorithm>
#include <atomic>
#include <thread>

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
                     const PassBoundaries<S>& io, SegmentBuffers<S>& seg, const ThreadArena& arena) {
  input_projection<S>(p, X, seg);
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
  // G(x_t, h_t) chunk by chunk as the forward chain produces the states: the forward strand
  // publishes how many steps are done; the other strand claims ready chunks. A chunk is
  // computed exactly once, by whichever strand claims it, with the same bits. The helper waits
  // only while the forward strand is running, so one thread alone cannot deadlock: the forward
  // strand claims whatever is left when it is done.
  const int chunks = step_chunks(seg.steps);
  std::atomic<int> steps_done{0}, next_chunk{0};
  std::atomic<bool> forward_claimed{false}, forward_running{true};
  const auto claim_chunks = [&](bool forward_done) {
    for (;;) {
      int c = next_chunk.load();
      if (c >= chunks) return;
      const int needed = std::min(seg.steps, (c + 1) * kStepChunk);
      if (steps_done.load(std::memory_order_acquire) < needed) {
        if (forward_done || !forward_running.load()) return;
        std::this_thread::yield();
        continue;
      }
      if (next_chunk.compare_exchange_weak(c, c + 1)) {
        TraceSpan span("G(x,h) chunk");
        feedback_of_states<S>(p, act, seg, c, c + 1);
      }
    }
  };
  // Whichever of the two tasks starts first runs the forward strand, so the calling thread never
  // waits for a strand that another thread has yet to start (the arena's other threads may be
  // busy, e.g. with a background validation); the other task claims ready chunks beside it, or
  // finds none left. h_b leaves from whichever thread ran the chain (callers' boundary functions
  // are safe to call from any thread; the communicator serialises its calls).
  const auto strand = [&] {
    if (forward_claimed.exchange(true)) return claim_chunks(false);
    for (int c = 0; c < chunks; ++c) {
      TraceSpan span("forward chain");
      const int end = std::min(seg.steps, (c + 1) * kStepChunk);
      forward_states<S>(p, act, seg, c * kStepChunk + 1, end + 1);
      steps_done.store(end, std::memory_order_release);
    }
    send_state();
    forward_running = false;
    claim_chunks(true);
  };
  arena.invoke(strand, strand);
}

template <class S>
PassLosses<S> segment_backward(const Params<S>& p, Activation act, const ConstMatRef<S>& X, const Mat<S>* noise,
                               PassParts parts, const PassBoundaries<S>& io, SegmentBuffers<S>& seg, MatRef<S> dh,
                               Params<S>& grad, const ThreadArena& arena, bool per_step) {
  PassLosses<S> losses;
  const int n = seg.steps;
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
  const auto target_chain = [&] {
    if (!parts.targets) return;
    if (receive_in_steps) receive_target();
    {
      TraceSpan span("target chain (eq. 8)");
      propagate_targets<S>(p, act, seg);
    }
    if (io.target_out) io.target_out(seg.block(seg.Delta, 0));
  };
  const auto gradient_chain = [&] {
    if (!parts.chain) return;
    if (receive_in_steps) receive_gradient();
    {
      TraceSpan span(parts.bptt ? "BPTT" : "dE/dh chain (eq. 12)");
      backprop_through_time<S>(p, act, X, parts.bptt, seg, dh, grad);
    }
    if (io.gradient_out) io.gradient_out(dh);
  };
  const auto f_gradient = [&] {
    if (!parts.f_gradient) return;
    // Two fixed halves of the hidden units: parallel when threads allow, and the same bits for
    // any thread count.
    const int half = seg.hidden / 2;
    S low = 0, high = 0;
    std::vector<S> low_steps, high_steps;
    arena.invoke(
        [&] {
          TraceSpan span("F gradient (eq. 10)");
          low = forward_local_gradient<S>(p, act, X, parts.hx, seg, grad, per_step ? &low_steps : nullptr, {0, half});
        },
        [&] {
          TraceSpan span("F gradient (eq. 10)");
          high = forward_local_gradient<S>(p, act, X, parts.hx, seg, grad, per_step ? &high_steps : nullptr,
                                           {half, -1});
        });
    losses.loss_f = low + high;
    if (per_step) {
      losses.f_steps = low_steps;
      for (std::size_t j = 0; j < high_steps.size(); ++j) losses.f_steps[j] += high_steps[j];
    }
  };
  const auto g_gradient = [&] {
    if (!parts.g_phase) return;
    TraceSpan span("G gradient (eq. 9)");
    losses.loss_g = feedback_gradient<S>(p, act, noise, seg, grad, per_step ? &losses.g_steps : nullptr);
  };

  if (receive_in_steps) {
    // One thread: a list schedule. The chains send boundary values that a neighbour waits for,
    // so each runs as soon as its message is in (the targets first: the last segment's Δ_T is
    // read from dh, which the ∂E/∂h chain overwrites). While a message is in flight, work that
    // needs none fills the wait; with none left, the rank waits for the targets, then ∂E/∂h.
    bool targets_left = parts.targets, chain_left = parts.chain, f_left = parts.f_gradient, g_left = parts.g_phase;
    const auto arrived = [](const std::function<bool()>& probe) { return !probe || probe(); };
    enum class Step { Targets, Chain, G, F };
    const auto next = [&]() -> Step {
      if (targets_left && arrived(io.target_arrived)) return Step::Targets;
      if (chain_left && !targets_left && arrived(io.gradient_arrived)) return Step::Chain;
      if (g_left) return Step::G;
      if (f_left && !targets_left) return Step::F;
      return targets_left ? Step::Targets : Step::Chain;  // nothing else to do: wait for a message
    };
    while (targets_left || chain_left || f_left || g_left) {
      if (io.progress) io.progress();
      switch (next()) {
        case Step::Targets:
          target_chain();
          targets_left = false;
          break;
        case Step::Chain:
          gradient_chain();
          chain_left = false;
          break;
        case Step::G:
          g_gradient();
          g_left = false;
          break;
        case Step::F:
          f_gradient();
          f_left = false;
          break;
      }
    }
    return losses;
  }
  // Several threads: the boundary values are received on this thread first (communication
  // stays out of the tasks, whose threads a blocked receive would hold), then two strands.
  if (parts.targets) receive_target();
  if (parts.chain) receive_gradient();
  if (parts.bptt) {
    gradient_chain();
    return losses;
  }
  // oneTBB runs the last function of an invoke on the calling thread and leaves the first to be
  // stolen: the target chain, on the critical path with the F gradient after it, goes last so
  // that it starts at once (first, it waited for the ∂E/∂h chain while the G gradient ran).
  arena.invoke(gradient_chain, [&] {
    arena.invoke(g_gradient, [&] {
      target_chain();
      f_gradient();
    });
  });
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
                                   const PassBoundaries<S>&, SegmentBuffers<S>&, const ThreadArena&);            \
  template PassLosses<S> segment_backward<S>(const Params<S>&, Activation, const ConstMatRef<S>&, const Mat<S>*, \
                                             PassParts, const PassBoundaries<S>&, SegmentBuffers<S>&, MatRef<S>, \
                                             Params<S>&, const ThreadArena&, bool);

TPTT_INSTANTIATE_SEGMENT_PASS(float)
TPTT_INSTANTIATE_SEGMENT_PASS(double)

}  // namespace tptt
