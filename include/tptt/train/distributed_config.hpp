#pragma once
// The options of a distributed run's synchronisation mode (docs/distributed.md; the modes
// themselves are in train/distributed_modes.hpp). Light: no Trainer, no TBB.
#include <string>

#include "tptt/io/json.hpp"
#include "tptt/train/config.hpp"
#include "tptt/train/staleness_compensation.hpp"

namespace tptt {

enum class SyncMode { Exact, Pipelined, Stale };
SyncMode parse_sync_mode(const std::string& name);  // exact | pipelined | stale; throws UsageError
std::string to_string(SyncMode mode);

struct DistributedConfig {
  SyncMode sync = SyncMode::Exact;
  int staleness = 0;      // S (stale): minibatch n's gradient is applied after iteration n+S
  int micro_batches = 1;  // M (pipelined, stale): micro-batches per minibatch
  // --micro-batches auto (pipelined): M is chosen from costs measured before the first iteration
  // (train/micro_batch_choice.hpp); micro_batches holds 2 until then.
  bool auto_micro_batches = false;
  bool decoupled = false;       // decoupled boundaries (tptt, tptt_hx)
  double decoupled_rate = 0.5;  // η of the boundary predictors' normalised LMS step, in (0, 2)
  StalenessCompensation compensation = StalenessCompensation::None;  // stale: how the delay is offset
  double dc_lambda = 50.0;                                           // λ of --staleness-compensation dc and predict+dc

  // Throws UsageError naming the option (--sync, --staleness, --micro-batches, --decoupled).
  void validate(const TrainConfig& config) const;
  // The default exact mode: Trainer::step does it without a pipeline.
  bool uses_dc_lambda() const {
    return compensation == StalenessCompensation::DelayCompensated || compensation == StalenessCompensation::PredictDc;
  }
  bool is_plain_exact() const { return sync == SyncMode::Exact && micro_batches == 1 && !decoupled; }
  // Iterations between a minibatch's forward pass and its update (S; 0 unless stale).
  int delay() const { return sync == SyncMode::Stale ? staleness : 0; }
  // What ran, as labels print it: "exact", "pipelined(M)", "stale(S)" ("stale(S,M=4)" with
  // micro-batches; "stale(S,predict)" and so on with a staleness compensation), "decoupled" or
  // "decoupled+stale(S)".
  std::string mode_name() const;
  // {"mode", "staleness", "micro_batches", "decoupled"[, "decoupled_rate"], "staleness_compensation"[, "dc_lambda"]}
  JsonObject to_json() const;
};

}  // namespace tptt
