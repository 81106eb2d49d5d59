// SegmentPipeline's in-flight state in a checkpoint (docs/reliability.md): what stale and
// decoupled modes carry across iterations, written by rank 0 after settle() and read back on
// every rank.
//
// Sections (P minibatches whose reduced gradient is not applied yet, U minibatches whose real
// boundary target is not folded in yet, |θ| parameters, H hidden units, B columns):
//   pipeline_mode         the mode's label, stale(S,…) or decoupled…; resume needs the same
//   pipeline_position     {next iteration, K}
//   pending_meta          (P × 3) i64: iteration, did_g, did_f
//   pending_values        (P × 3) f64: cost, L_G, L_F (all-reduced)
//   pending_gradients     (P × |θ|) f32: the all-reduced gradients
//   pending_stash         (P × |θ|) f32: θ of their forward passes (dc and predict+dc only)
//   dc_mean_square        (|θ|) f32 (dc and predict+dc only)
//   boundary_iterations   (U) i64, decoupled only
//   boundary_state        ((K−1) × (V·H(H+1) + U·(V+1)·H·B)) f32, decoupled only, V = 2 for
//                         tptt (1 for tptt_hx): per boundary k, the target predictor [P | p]
//                         and the ∂E/∂h predictor [Q | q] (tptt), then per unfolded minibatch and
//                         micro-batch the real target, the real ∂E/∂h_b (tptt) and the boundary
//                         state h_b (column-major)
#include <algorithm>
#include <span>
#include <string>

#include "pipeline_in_flight.hpp"
#include "tptt/core/error.hpp"
#include "tptt/io/checkpoint.hpp"
#include "tptt/train/optimizer_state.hpp"

namespace tptt {

namespace {

// Appends `m` to `out` at `pos` (column-major), advancing pos.
void put_matrix(VecF& out, Eigen::Index& pos, const MatF& m) {
  out.segment(pos, m.size()) = Eigen::Map<const VecF>(m.data(), m.size());
  pos += m.size();
}

void take_matrix(const std::vector<float>& in, std::size_t& pos, MatF& m) {
  std::copy(in.begin() + static_cast<std::ptrdiff_t>(pos),
            in.begin() + static_cast<std::ptrdiff_t>(pos + static_cast<std::size_t>(m.size())), m.data());
  pos += static_cast<std::size_t>(m.size());
}

bool is_in_flight_mode(const std::string& mode) { return mode != "exact" && mode.rfind("pipelined", 0) != 0; }

// The number of boundary values a decoupled boundary predicts: the target, and ∂E/∂h for tptt.
int predicted_values(Algorithm algorithm) { return algorithm == Algorithm::Tptt ? 2 : 1; }

// One boundary's share of the section boundary_state with `unfolded` minibatches of B columns.
Eigen::Index boundary_state_size(Algorithm algorithm, int H, int B, long unfolded) {
  const Eigen::Index V = predicted_values(algorithm);
  return V * H * (H + 1) + unfolded * (V + 1) * H * B;
}

}  // namespace

void require_no_state_in_flight(const Checkpoint& ckpt, const std::string& mode) {
  if (!ckpt.has("pipeline_mode")) return;
  const std::string written = ckpt.get_string("pipeline_mode");
  if (is_in_flight_mode(written))
    throw UsageError("--resume: checkpoint '" + ckpt.source() + "' holds the gradients in flight of a " + written +
                     " run; resume it in that mode (the stored options do so when no --sync, --staleness, "
                     "--staleness-compensation or --decoupled is given), not " +
                     mode);
}

bool SegmentPipeline::has_real_boundary(const InFlight& f) const { return f.did_f && f.backward_done; }

// One boundary's predictors and unfolded real values, as the section boundary_state lays them out.
void SegmentPipeline::gather_boundary_state() {
  const int K = comm_.size(), k = comm_.rank(), H = config_.hidden, B = config_.batch;
  if (K < 2) return;  // one segment has no boundary
  long unfolded = 0;
  for (const auto& f : in_flight_)
    if (!f->folded && has_real_boundary(*f)) ++unfolded;
  const Eigen::Index size = boundary_state_size(config_.algorithm, H, B, unfolded);
  VecF mine;
  if (k + 1 < K) {
    mine.resize(size);
    Eigen::Index pos = 0;
    put_matrix(mine, pos, target_predictor_);
    if (gradient_predictor_.size() > 0) put_matrix(mine, pos, gradient_predictor_);
    for (const auto& f : in_flight_) {
      if (f->folded || !has_real_boundary(*f)) continue;
      for (const MicroBatch& mb : f->micro) {
        put_matrix(mine, pos, mb.real_target);
        if (gradient_predictor_.size() > 0) put_matrix(mine, pos, mb.real_gradient);
        put_matrix(mine, pos, mb.boundary_state);
      }
    }
  }
  if (k == 0) {
    gathered_boundaries_.assign(static_cast<std::size_t>(K - 1), VecF(size));
    gathered_boundaries_[0] = mine;
    for (int r = 1; r + 1 < K; ++r) {
      VecF& theirs = gathered_boundaries_[static_cast<std::size_t>(r)];
      comm_.recv(r, MessageTag::CheckpointState, std::span<float>(theirs.data(), static_cast<std::size_t>(size)));
    }
  } else if (k + 1 < K) {
    comm_.send(0, MessageTag::CheckpointState, std::span<const float>(mine.data(), static_cast<std::size_t>(size)));
  }
}

void SegmentPipeline::save_state(Checkpoint& checkpoint) const {
  save_optimizers(checkpoint, forward_opt_, feedback_opt_, g_updates_, f_updates_);
  checkpoint.put_string("pipeline_mode", dist_.mode_name());
  const std::int64_t position[2] = {next_iteration_, comm_.size()};
  checkpoint.put_i64("pipeline_position", position);
  if (!is_in_flight_mode(dist_.mode_name())) return;
  for (const auto& f : in_flight_)
    if (f->handle || !f->backward_done)
      throw std::logic_error("SegmentPipeline::save_state: settle() first (work in flight)");

  const Eigen::Index np = params_.flat().size();
  std::vector<std::int64_t> meta;
  std::vector<double> values;
  std::vector<float> gradients, stashes;
  for (const auto& f : in_flight_) {
    if (f->applied) continue;
    meta.insert(meta.end(), {f->iteration, f->did_g ? 1 : 0, f->did_f ? 1 : 0});
    values.insert(values.end(), {f->cost, f->loss_g, f->loss_f});
    gradients.insert(gradients.end(), f->grad.flat().data(), f->grad.flat().data() + np);
    if (compensates_) stashes.insert(stashes.end(), f->stash->flat().data(), f->stash->flat().data() + np);
  }
  checkpoint.put_i64("pending_meta", meta);
  checkpoint.put_f64("pending_values", values);
  checkpoint.put_f32("pending_gradients", gradients);
  if (compensates_) {
    checkpoint.put_f32("pending_stash", stashes);
    checkpoint.put_f32("dc_mean_square", std::span<const float>(dc_mean_square_.data(), dc_mean_square_.size()));
  }
  if (dist_.decoupled) {
    std::vector<std::int64_t> unfolded;
    for (const auto& f : in_flight_)
      if (!f->folded && has_real_boundary(*f)) unfolded.push_back(f->iteration);
    checkpoint.put_i64("boundary_iterations", unfolded);
    std::vector<float> boundaries;
    for (const VecF& b : gathered_boundaries_) boundaries.insert(boundaries.end(), b.data(), b.data() + b.size());
    checkpoint.put_f32("boundary_state", boundaries);
  }
}

void SegmentPipeline::load_state(const Checkpoint& checkpoint) {
  load_optimizers(checkpoint, forward_opt_, feedback_opt_, g_updates_, f_updates_);
  const std::string mode = dist_.mode_name();
  if (!is_in_flight_mode(mode)) return require_no_state_in_flight(checkpoint, mode);
  if (!checkpoint.has("pipeline_mode") || !is_in_flight_mode(checkpoint.get_string("pipeline_mode")))
    return;  // written with nothing in flight (exact, pipelined): start this mode afresh
  const auto fail = [&](const std::string& what) {
    return FileError("checkpoint '" + checkpoint.source() + "': " + what);
  };
  const std::string written = checkpoint.get_string("pipeline_mode");
  const std::vector<std::int64_t> position = checkpoint.get_i64("pipeline_position");
  if (position.size() != 2)
    throw fail("section 'pipeline_position' holds " + std::to_string(position.size()) + " values, expected 2");
  const int K = comm_.size(), k = comm_.rank(), H = config_.hidden, B = config_.batch;
  if (written != mode)
    throw UsageError("--resume: checkpoint '" + checkpoint.source() + "' holds the gradients in flight of a " +
                     written + " run, not " + mode + "; resume it in its own mode (the stored options do so)");
  if (dist_.decoupled && position[1] != K)
    throw UsageError("--resume: checkpoint '" + checkpoint.source() + "' holds the boundary predictors of " +
                     std::to_string(position[1]) + " ranks; a decoupled run resumes on as many ranks, not " +
                     std::to_string(K));
  in_flight_.clear();
  next_iteration_ = static_cast<long>(position[0]);
  position_known_ = true;

  const auto entry = [&](long iteration) -> InFlight& {
    for (auto& f : in_flight_)
      if (f->iteration == iteration) return *f;
    auto f = std::make_unique<InFlight>(params_.shape());
    f->iteration = iteration;
    f->backward_done = f->applied = f->folded = true;  // until a section says otherwise
    auto at = std::find_if(in_flight_.begin(), in_flight_.end(),
                           [&](const std::unique_ptr<InFlight>& g) { return g->iteration > iteration; });
    return **in_flight_.insert(at, std::move(f));
  };

  const auto np = static_cast<std::size_t>(params_.flat().size());
  const std::vector<std::int64_t> meta = checkpoint.get_i64("pending_meta");
  const std::vector<double> values = checkpoint.get_f64("pending_values");
  const std::vector<float> gradients = checkpoint.get_f32("pending_gradients");
  const std::size_t pending = meta.size() / 3;
  if (meta.size() % 3 != 0 || values.size() != 3 * pending || gradients.size() != pending * np)
    throw fail("pending gradient sections of inconsistent sizes");
  std::vector<float> stashes;
  if (compensates_) {
    stashes = checkpoint.get_f32("pending_stash");
    if (stashes.size() != pending * np) throw fail("section 'pending_stash' of the wrong size");
    checkpoint.get_f32_into("dc_mean_square", std::span<float>(dc_mean_square_.data(), dc_mean_square_.size()));
  }
  for (std::size_t i = 0; i < pending; ++i) {
    InFlight& f = entry(static_cast<long>(meta[3 * i]));
    f.did_g = meta[3 * i + 1] != 0;
    f.did_f = meta[3 * i + 2] != 0;
    f.applied = false;
    f.cost = values[3 * i], f.loss_g = values[3 * i + 1], f.loss_f = values[3 * i + 2];
    std::copy(gradients.begin() + static_cast<std::ptrdiff_t>(i * np),
              gradients.begin() + static_cast<std::ptrdiff_t>((i + 1) * np), f.grad.flat().data());
    if (compensates_) {
      f.stash = std::make_unique<Params<Scalar>>(params_.shape());
      std::copy(stashes.begin() + static_cast<std::ptrdiff_t>(i * np),
                stashes.begin() + static_cast<std::ptrdiff_t>((i + 1) * np), f.stash->flat().data());
    }
  }

  if (!dist_.decoupled) return;
  const std::vector<std::int64_t> unfolded = checkpoint.get_i64("boundary_iterations");
  const std::vector<float> boundaries = checkpoint.get_f32("boundary_state");
  const auto per_rank = static_cast<std::size_t>(
      boundary_state_size(config_.algorithm, H, B, static_cast<long>(unfolded.size())));
  if (boundaries.size() != static_cast<std::size_t>(K - 1) * per_rank)
    throw fail("section 'boundary_state' of the wrong size");
  if (k + 1 == K) return;  // the last rank has no boundary below it
  std::size_t pos = static_cast<std::size_t>(k) * per_rank;
  take_matrix(boundaries, pos, target_predictor_);
  const bool gradient = gradient_predictor_.size() > 0;
  if (gradient) take_matrix(boundaries, pos, gradient_predictor_);
  const int M = std::min(dist_.micro_batches, B);
  for (std::int64_t iteration : unfolded) {
    InFlight& f = entry(static_cast<long>(iteration));
    f.did_f = true;  // a real target was sent
    f.folded = false;
    f.micro.resize(static_cast<std::size_t>(M));
    for (int u = 0; u < M; ++u) {
      MicroBatch& mb = f.micro[static_cast<std::size_t>(u)];
      mb.cols = micro_batch_columns(B, M, u);
      mb.weight = static_cast<double>(mb.cols) / B;
      mb.real_target.resize(H, mb.cols);
      mb.boundary_state.resize(H, mb.cols);
      take_matrix(boundaries, pos, mb.real_target);
      if (gradient) {
        mb.real_gradient.resize(H, mb.cols);
        take_matrix(boundaries, pos, mb.real_gradient);
      }
      take_matrix(boundaries, pos, mb.boundary_state);
      mb.has_real_boundary = true;
    }
  }
}

}  // namespace tptt
