// The Learner side of the SRN Trainer that the protocol and checkpoints use: named parameter
// blocks, spectral radii, and the optimiser state and counters of a checkpoint.
#include <span>

#include "tptt/core/error.hpp"
#include "tptt/io/checkpoint.hpp"
#include "tptt/model/spectral_radius.hpp"
#include "tptt/train/distributed_modes.hpp"
#include "tptt/train/optimizer_state.hpp"
#include "tptt/train/trainer.hpp"

namespace tptt {

void save_optimizers(Checkpoint& ckpt, const Optimizer& forward, const Optimizer& feedback, long g_updates,
                     long f_updates) {
  ckpt.put_f32("opt_forward", std::span<const float>(forward.state().data(), forward.state().size()));
  ckpt.put_f32("opt_feedback", std::span<const float>(feedback.state().data(), feedback.state().size()));
  const std::int64_t counts[2] = {g_updates, f_updates};
  ckpt.put_i64("phase_counts", counts);
}

void load_optimizers(const Checkpoint& ckpt, Optimizer& forward, Optimizer& feedback, long& g_updates,
                     long& f_updates) {
  ckpt.get_f32_into("opt_forward", std::span<float>(forward.state().data(), forward.state().size()));
  ckpt.get_f32_into("opt_feedback", std::span<float>(feedback.state().data(), feedback.state().size()));
  const std::vector<std::int64_t> counts = ckpt.get_i64("phase_counts");
  if (counts.size() != 2)
    throw FileError("checkpoint '" + ckpt.source() + "': section 'phase_counts' holds " +
                    std::to_string(counts.size()) + " values, expected 2");
  g_updates = static_cast<long>(counts[0]);
  f_updates = static_cast<long>(counts[1]);
}

std::vector<TensorSlice> Trainer::tensor_slices() const {
  std::vector<TensorSlice> slices;
  slices.reserve(std::size(kAllTensors));
  for (Tensor t : kAllTensors)
    slices.push_back({tensor_name(t), params_.layout().offset(t), params_.layout().count(t)});
  return slices;
}

SpectralRadii Trainer::spectral_radii() const {
  return {spectral_radius<Scalar>(params_.Whh()), spectral_radius<Scalar>(params_.Vhh())};
}

void Trainer::settle() {
  if (pipeline_) pipeline_->settle();
  if (concurrent_) concurrent_checkpoint_ = concurrent_snapshot();
}

void Trainer::save_state(Checkpoint& checkpoint) const {
  if (concurrent_) {  // the G loop's snapshot of settle(); feedback_opt_ belongs to the running loop
    Optimizer feedback(config_.optimizer, params_.layout().feedback_size(), static_cast<Scalar>(config_.momentum));
    feedback.state() = concurrent_checkpoint_.velocity;
    return save_optimizers(checkpoint, forward_opt_, feedback, concurrent_checkpoint_.g_updates, f_updates_);
  }
  if (pipeline_) return pipeline_->save_state(checkpoint);
  save_optimizers(checkpoint, forward_opt_, feedback_opt_, g_updates_, f_updates_);
}

void Trainer::load_state(const Checkpoint& checkpoint) {
  if (pipeline_) return pipeline_->load_state(checkpoint);
  require_no_state_in_flight(checkpoint, "exact");
  load_optimizers(checkpoint, forward_opt_, feedback_opt_, g_updates_, f_updates_);
  if (concurrent_) restore_concurrent();
}

}  // namespace tptt
