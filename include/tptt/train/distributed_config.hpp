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
  int staleness = 0;            // S (stale): minibatch n's gradient is applied after iteration n+S
  int micro_batches = 1;        // M (pipelined, stale): micro-batches per minibatch
  bool decoupled = false;       // decoupled boundary targets (tptt_hx)
  double decoupled_rate = 0.5;  // η of the boundary predictor's normalised LMS step, in (0, 2)

  // Throws UsageError naming the option (--sync, --staleness, --micro-batches, --decoupled).
  void validate(const TrainConfig& config) const;
  // The default exact mode: Trainer::step does it without a pipeline.
  bool is_plain_exact() const { return sync == SyncMode::Exact && micro_batches == 1 && !decoupled; }
  // Iterations between a minibatch's forward pass and its update (S; 0 unless stale).
  int delay() const { return sync == SyncMode::Stale ? staleness : 0; }
  // What ran, as labels print it: "exact", "pipelined(M)", "stale(S)" ("stale(S,M=4)" with
  // micro-batches), "decoupled" or "decoupled+stale(S)".
  std::string mode_name() const {
    std::string m = sync == SyncMode::Pipelined ? "pipelined(" + std::to_string(micro_batches) + ")"
                    : sync == SyncMode::Stale
                        ? "stale(" + std::to_string(staleness) +
                              (micro_batches > 1 ? ",M=" + std::to_string(micro_batches) : "") + ")"
                        : "exact";
    if (!decoupled) return m;
    return sync == SyncMode::Exact ? "decoupled" : "decoupled+" + m;
  }
  JsonObject to_json() const;  // {"mode", "staleness", "micro_batches", "decoupled"}
};

}  // namespace tptt
