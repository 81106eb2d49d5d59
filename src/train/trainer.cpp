#include "tptt/train/trainer.hpp"

#include <cmath>

#include "tptt/algo/kernels.hpp"
#include "tptt/core/error.hpp"
#include "tptt/core/rng.hpp"
#include "tptt/model/init.hpp"

namespace tptt {

namespace {

std::span<float> block_span(MatF& m, Eigen::Index first_col, Eigen::Index cols) {
  return {m.data() + first_col * m.rows(), static_cast<std::size_t>(cols * m.rows())};
}

}  // namespace

Trainer::Trainer(const TrainConfig& config, Communicator& comm)
    : config_(config),
      comm_(comm),
      task_(task_info(config.task)),
      output_kind_(task_.regression ? OutputKind::Linear : OutputKind::Softmax),
      params_(ModelShape{task_.inputs, config.hidden, task_.outputs}),
      grad_(params_.shape()),
      forward_opt_(config.optimizer, params_.layout().forward_size(), static_cast<Scalar>(config.momentum)),
      feedback_opt_(config.optimizer, params_.layout().feedback_size(), static_cast<Scalar>(config.momentum)) {
  config_.validate();
  if (comm_.size() > (config_.varying_length() ? config_.min_length : config_.length))
    throw UsageError("more ranks (" + std::to_string(comm_.size()) + ") than time steps (" +
                     std::to_string(config_.varying_length() ? config_.min_length : config_.length) +
                     "): every segment needs at least one step");
  initialise(params_, config_.init, config_.init_std, config_.seed);
}

Batch Trainer::training_batch(long iteration) const {
  int length = config_.length;
  if (config_.varying_length()) {
    CounterRng pick(config_.seed, RngPurpose::Length, static_cast<std::uint64_t>(iteration));
    length = config_.min_length + pick.below(config_.max_length - config_.min_length + 1);
  }
  CounterRng rng(config_.seed, RngPurpose::TrainData, static_cast<std::uint64_t>(iteration));
  return generate_batch(config_.task, length, config_.batch, rng);
}

void Trainer::forward_segment(const Batch& batch, const SegmentRange& range) {
  const int B = batch.batch;
  seg_.resize(config_.hidden, range.steps(), B);
  const auto X = batch.X.middleCols(static_cast<Eigen::Index>(range.first - 1) * B,
                                    static_cast<Eigen::Index>(range.steps()) * B);
  input_projection<Scalar>(params_, X, seg_);
  auto h_in = seg_.block(seg_.Hs, 0);
  if (comm_.rank() == 0) {
    h_in.setZero();  // h_0 = 0
  } else {
    comm_.recv(comm_.rank() - 1, MessageTag::State, block_span(seg_.Hs, 0, B));
  }
  forward_states<Scalar>(params_, config_.activation, seg_);
  if (comm_.rank() + 1 < comm_.size())
    comm_.send(comm_.rank() + 1, MessageTag::State, block_span(seg_.Hs, static_cast<Eigen::Index>(range.steps()) * B, B));
}

void Trainer::fill_noise(long iteration, const SegmentRange& range) {
  // ε for h̃_{t−1}, one stream per global step t: identical for any segmentation.
  const int B = seg_.batch;
  noise_.resize(config_.hidden, static_cast<Eigen::Index>(range.steps()) * B);
  for (int t = range.first; t <= range.last; ++t) {
    CounterRng rng(config_.seed, RngPurpose::Noise, static_cast<std::uint64_t>(iteration), static_cast<std::uint64_t>(t));
    auto block = noise_.middleCols(static_cast<Eigen::Index>(t - range.first) * B, B);
    for (Eigen::Index j = 0; j < block.cols(); ++j)
      for (Eigen::Index i = 0; i < block.rows(); ++i) block(i, j) = static_cast<Scalar>(config_.noise * rng.normal());
  }
}

IterationResult Trainer::step(long iteration) {
  const Batch batch = training_batch(iteration);
  const int K = comm_.size(), k = comm_.rank(), B = batch.batch;
  if (K > batch.steps)
    throw UsageError("more ranks (" + std::to_string(K) + ") than time steps (" + std::to_string(batch.steps) + ")");
  const SegmentRange range = segment_of(batch.steps, K, k);
  const bool last = (k == K - 1);
  const auto X = batch.X.middleCols(static_cast<Eigen::Index>(range.first - 1) * B,
                                    static_cast<Eigen::Index>(range.steps()) * B);
  const Eigen::Index nB = static_cast<Eigen::Index>(range.steps()) * B;

  IterationResult result;
  if (config_.algorithm == Algorithm::Bptt) {
    result.did_f = true;
  } else if (config_.schedule == Schedule::Alternate) {
    result.did_g = result.did_f = true;
  } else {
    CounterRng coin(config_.seed, RngPurpose::Schedule, static_cast<std::uint64_t>(iteration));
    result.did_g = coin.uniform() < config_.p_g;
    result.did_f = !result.did_g;
  }

  forward_segment(batch, range);
  grad_.set_zero();
  dh_.resize(config_.hidden, B);
  if (last) {
    const auto hT = seg_.block(seg_.Hs, range.steps());
    output_pass<Scalar>(params_, output_kind_, hT, batch.Y, out_);
    output_backward<Scalar>(params_, hT, out_, grad_, dh_);  // dh_ = ∂E/∂h_T
    result.cost = out_.cost;
  }

  const auto receive_from_next = [&](MessageTag tag, MatF& m, Eigen::Index first_col) {
    comm_.recv(k + 1, tag, block_span(m, first_col, B));
  };
  const auto send_to_previous = [&](MessageTag tag, MatF& m, Eigen::Index first_col) {
    if (k > 0) comm_.send(k - 1, tag, block_span(m, first_col, B));
  };
  // ∂E/∂h chain through the segment (BPTT, and eq. 12 of TPTT).
  const auto backprop = [&](bool recurrent_weights) {
    if (!last) receive_from_next(MessageTag::Gradient, dh_, 0);
    backprop_through_time<Scalar>(params_, config_.activation, X, recurrent_weights, seg_, dh_, grad_);
    send_to_previous(MessageTag::Gradient, dh_, 0);
  };

  if (config_.algorithm == Algorithm::Bptt) {
    backprop(true);
  } else {
    if (result.did_f || (result.did_g && config_.noise == 0))
      feedback_of_states<Scalar>(params_, config_.activation, seg_);
    if (result.did_f) {
      auto first_target = seg_.block(seg_.Ht, range.steps());
      if (last) {
        first_target = seg_.block(seg_.Hs, range.steps()) - static_cast<Scalar>(config_.alpha_i) * dh_;  // eq. 3
      } else {
        receive_from_next(MessageTag::Target, seg_.Ht, nB);
      }
      propagate_targets<Scalar>(params_, config_.activation, seg_);
      send_to_previous(MessageTag::Target, seg_.Ht, 0);
      result.loss_f = forward_local_gradient<Scalar>(params_, config_.activation, X,
                                                     config_.algorithm == Algorithm::TpttHx, seg_, grad_);
      if (config_.algorithm == Algorithm::Tptt) backprop(false);
    }
    if (result.did_g) {
      if (config_.noise > 0) fill_noise(iteration, range);
      result.loss_g = feedback_gradient<Scalar>(params_, config_.activation, config_.noise > 0 ? &noise_ : nullptr,
                                                seg_, grad_);
    }
  }
  if (K > 1) reduce_across_ranks(result);
  apply_updates(result);
  return result;
}

void Trainer::reduce_across_ranks(IterationResult& result) {
  const Eigen::Index n = grad_.flat().size();
  reduce_buf_.resize(static_cast<std::size_t>(n) + 3);
  std::copy(grad_.flat().data(), grad_.flat().data() + n, reduce_buf_.begin());
  reduce_buf_[n] = static_cast<float>(result.cost);
  reduce_buf_[n + 1] = static_cast<float>(result.loss_g);
  reduce_buf_[n + 2] = static_cast<float>(result.loss_f);
  comm_.allreduce_sum(std::span<float>(reduce_buf_));
  std::copy(reduce_buf_.begin(), reduce_buf_.begin() + n, grad_.flat().data());
  result.cost = reduce_buf_[n];
  result.loss_g = reduce_buf_[n + 1];
  result.loss_f = reduce_buf_[n + 2];
}

void Trainer::apply_updates(const IterationResult& result) {
  const Eigen::Index nf = params_.layout().forward_size();
  const Eigen::Index ng = params_.layout().feedback_size();
  auto theta = params_.flat();
  auto g = grad_.flat();
  if (config_.algorithm == Algorithm::Bptt) {
    if (config_.clip_norm > 0) {
      const double norm = g.head(nf).norm();
      if (norm > config_.clip_norm) g.head(nf) *= static_cast<Scalar>(config_.clip_norm / norm);
    }
    forward_opt_.step(theta.head(nf), g.head(nf), static_cast<Scalar>(config_.lr));
    ++f_updates_;
    return;
  }
  if (result.did_g) {
    feedback_opt_.step(theta.tail(ng), g.tail(ng), static_cast<Scalar>(config_.alpha_g));
    ++g_updates_;
  }
  if (result.did_f) {
    forward_opt_.step(theta.head(nf), g.head(nf), static_cast<Scalar>(config_.alpha_f));
    ++f_updates_;
  }
}

ValidationResult Trainer::validate(int length) {
  if (length == 0) length = config_.longest_length();
  const int batches = (config_.validation_samples + config_.validation_batch - 1) / config_.validation_batch;
  SegmentBuffers<Scalar> seg;
  MatF y;
  double sums[3] = {0, 0, 0};  // errors, summed loss, samples
  // Batches are dealt round-robin over the ranks; each rank runs whole sequences.
  for (int v = comm_.rank(); v < batches; v += comm_.size()) {
    const int size = std::min(config_.validation_batch, config_.validation_samples - v * config_.validation_batch);
    CounterRng rng(config_.seed, RngPurpose::ValidationData, static_cast<std::uint64_t>(v));
    const Batch batch = generate_batch(config_.task, length, size, rng);
    seg.resize(config_.hidden, batch.steps, size);
    input_projection<Scalar>(params_, batch.X, seg);
    seg.block(seg.Hs, 0).setZero();
    forward_states<Scalar>(params_, config_.activation, seg);
    output_forward<Scalar>(params_, output_kind_, seg.block(seg.Hs, batch.steps), y);
    sums[0] += count_errors<Scalar>(output_kind_, y, batch.Y);
    sums[1] += summed_loss<Scalar>(output_kind_, y, batch.Y);
    sums[2] += size;
  }
  comm_.allreduce_sum(std::span<double>(sums, 3));
  return {sums[0] / sums[2], sums[1] / sums[2]};
}

}  // namespace tptt
