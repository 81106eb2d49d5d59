#pragma once
// The small training configuration the multi-segment tests share: T = 13 (not divisible by
// 2, 3 or 4), H = 16, a tiny validation set, so that a run of K segments takes milliseconds.
#include "tptt/train/config.hpp"
#include "tptt/train/distributed_config.hpp"

namespace tptt::testing {

inline TrainConfig small_config(Algorithm algorithm, int batch = 4, TaskKind task = TaskKind::Temporal,
                                int length = 13) {
  TrainConfig c;
  c.task = task;
  c.length = length;
  c.batch = batch;
  c.hidden = 16;
  c.algorithm = algorithm;
  c.lr = 0.01;
  c.alpha_f = algorithm == Algorithm::TpttHx ? 0.2 : 0.01;
  c.alpha_g = 0.01;
  c.validation_samples = 30;
  c.validation_batch = 10;
  c.progress = false;
  return c;
}

// A distributed mode: sync, staleness S, micro-batches M, decoupled boundaries, compensation.
inline DistributedConfig mode(SyncMode sync, int S = 0, int M = 1, bool decoupled = false,
                              StalenessCompensation compensation = StalenessCompensation::None) {
  DistributedConfig d;
  d.sync = sync;
  d.compensation = compensation;
  d.staleness = S;
  d.micro_batches = M;
  d.decoupled = decoupled;
  return d;
}

}  // namespace tptt::testing
