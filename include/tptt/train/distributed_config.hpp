#pragma once
// The options of a distributed run's synchronisation mode (docs/distributed.md; the modes
// themselves are in train/distributed_modes.hpp). Light: no Trainer, no TBB.
#include <string>

#include "tptt/io/json.hpp"
#include "tptt/train/config.hpp"

namespace tptt {

enum class SyncMode { Exact, Pipelined, Stale };
SyncMode parse_sync_mode(const std::string& name);  // exact | pipelined | stale; throws UsageError
std::string to_string(SyncMode mode);

struct DistributedConfig {
  SyncMode sync = SyncMode::Exact;
  int staleness = 0;             // S (stale): minibatch n's gradient is applied after iteration n+S
  int micro_batches = 1;         // M (pipelined, stale): micro-batches per minibatch
  bool decoupled = false;        // decoupled boundary targets (tptt_hx)
  double decoupled_rate = 0.5;   // η of the boundary predictor's normalised LMS step, in (0, 2)

  // Throws UsageError naming the option (--sync, --staleness, --micro-batches, --decoupled).
  void validate(const TrainConfig& config) const;
  // The default exact mode: Trainer::step does it without a pipeline.
  bool is_plain_exact() const { return sync == SyncMode::Exact && micro_batches == 1 && !decoupled; }
  // Iterations between a minibatch's forward pass and its update (S; 0 unless stale).
  int delay() const { return sync == SyncMode::Stale ? staleness : 0; }
  // "exact", "pipelined", "stale" (+ the numbers in to_json()).
  std::string mode_name() const { return to_string(sync); }
  JsonObject to_json() const;  // {"mode", "staleness", "micro_batches", "decoupled"}
};

}  // namespace tptt
