// Asynchronous validation (--async-validation): a check validates a snapshot while training
// goes on, and every record, the solved iteration and the kept model equal the synchronous
// run's bit for bit; a checkpoint written while a check is pending resumes to the same run.
#include <doctest/doctest.h>

#include <cstring>
#include <vector>

#include "check_records.hpp"
#include "tptt/app/checkpointing.hpp"
#include "tptt/app/options.hpp"
#include "tptt/io/checkpoint.hpp"
#include "tptt/train/protocol.hpp"
#include "tptt/train/validation.hpp"

using namespace tptt;
using testing::Recorder;
using testing::same_bits;

namespace {

// Solves temporal order in 110 (tptt) and 80 (lstm) iterations; a validation set of three
// work items (batches of 400 and 200 sequences: chunks of 250 + 150, and 200).
TrainConfig quick(Algorithm algorithm, int threads) {
  TrainConfig c;
  c.task = TaskKind::Temporal;
  c.length = 10;
  c.hidden = 16;
  c.algorithm = algorithm;
  c.lr = 0.05;
  c.threads = threads;
  c.check_every = 10;
  c.max_iterations = 400;
  c.validation_samples = 600;
  c.validation_batch = 400;
  c.progress = false;
  return c;
}

struct Run {
  RunSummary summary;
  std::vector<std::vector<double>> records;
  VecF params;          // at the end
  VecF params_stepped;  // after one more iteration from the end: the optimiser state agrees too
};

Run run(const TrainConfig& cfg) {
  SoloCommunicator solo;
  auto learner = make_learner(cfg, solo);
  Recorder rec;
  Run r;
  r.summary = run_protocol(*learner, {&rec});
  r.records = rec.records;
  r.params = learner->flat_params();
  learner->step(r.summary.progress.iteration);
  r.params_stepped = learner->flat_params();
  return r;
}

}  // namespace

TEST_CASE("async validation: every record, solved_at and the kept model equal the synchronous run's") {
  for (Algorithm algorithm : {Algorithm::Tptt, Algorithm::Lstm}) {
    for (int threads : {1, 2}) {
      CAPTURE(to_string(algorithm));
      CAPTURE(threads);
      TrainConfig cfg = quick(algorithm, threads);
      const Run sync = run(cfg);
      cfg.async_validation = true;
      const Run async = run(cfg);
      REQUIRE(sync.summary.solved);
      MESSAGE(to_string(algorithm) << ", " << threads << " thread(s): solved at " << sync.summary.solved_at
                                   << "; async trained " << async.summary.iterations << " iterations");
      REQUIRE(async.records.size() == sync.records.size());
      for (std::size_t i = 0; i < sync.records.size(); ++i) {
        CAPTURE(i);
        CHECK(std::memcmp(async.records[i].data(), sync.records[i].data(), sizeof(double) * sync.records[i].size()) ==
              0);
      }
      CHECK(async.summary.solved);
      CHECK(async.summary.solved_at == sync.summary.solved_at);
      CHECK(async.summary.reason == StopReason::Solved);
      CHECK(async.summary.iterations >= async.summary.solved_at);
      if (threads == 1)  // one item per iteration after the check: three items
        CHECK(async.summary.iterations == async.summary.solved_at + 3);
      CHECK(async.summary.progress.iteration == sync.summary.progress.iteration);
      CHECK(async.summary.progress.best_error == sync.summary.progress.best_error);
      CHECK(async.summary.progress.checks_without_improvement == sync.summary.progress.checks_without_improvement);
      CHECK(same_bits(async.params, sync.params));
      CHECK(same_bits(async.params_stepped, sync.params_stepped));
      const std::string json = async.summary.to_json().str();
      CHECK(json.find("\"iterations_after_solved\":" +
                      std::to_string(async.summary.iterations - async.summary.solved_at)) != std::string::npos);
    }
  }
}

TEST_CASE("async validation: a checkpoint due while a check is pending waits for it and resumes exactly") {
  TrainConfig cfg = quick(Algorithm::Tptt, 1);
  cfg.async_validation = true;
  cfg.max_iterations = 30;
  cfg.solved_error = 1e-9;        // run the whole budget
  cfg.validation_samples = 1000;  // five work items: the check at 20 is pending until 25
  TrainCommand cmd;
  cmd.config = cfg;

  const long stop_after = 22;
  SoloCommunicator solo;
  Recorder whole;
  auto uninterrupted = make_learner(cfg, solo);
  bool pending_uninterrupted = false;
  ProtocolHooks watch;
  watch.after_iteration = [&](const ProtocolProgress& p) {
    if (p.iteration == stop_after) pending_uninterrupted = p.check_pending;
    return false;
  };
  run_protocol(*uninterrupted, {&whole}, {}, watch);
  CHECK(pending_uninterrupted);  // without a checkpoint due, the check of 20 is still running at 22

  // Stop after 22 iterations, writing a checkpoint as `tptt train --checkpoint` would.
  Recorder first, second;
  Checkpoint ckpt;
  bool pending_at_write = true;
  {
    auto learner = make_learner(cfg, solo);
    ProtocolHooks hooks;
    hooks.checkpoint_due = [&](long iteration) { return iteration == stop_after; };
    hooks.after_iteration = [&](const ProtocolProgress& p) {
      if (p.iteration != stop_after) return false;
      pending_at_write = p.check_pending;
      ckpt = parse_checkpoint(serialize_checkpoint(make_training_checkpoint(cmd, *learner, p)));
      return true;
    };
    run_protocol(*learner, {&first}, {}, hooks);
  }
  CHECK_FALSE(pending_at_write);
  REQUIRE(first.records.size() == 2);  // the check at 20 was completed before the checkpoint
  auto resumed = make_learner(cfg, solo);
  const ProtocolProgress start = restore_training_checkpoint(ckpt, *resumed);
  CHECK(start.iteration == stop_after);
  run_protocol(*resumed, {&second}, start);
  std::vector<std::vector<double>> joined = first.records;
  joined.insert(joined.end(), second.records.begin(), second.records.end());
  REQUIRE(joined.size() == whole.records.size());
  for (std::size_t i = 0; i < joined.size(); ++i) CHECK(joined[i] == whole.records[i]);
  CHECK(same_bits(resumed->flat_params(), uninterrupted->flat_params()));
}

TEST_CASE("validation pass: the same bits whichever threads run the items") {
  const TrainConfig cfg = quick(Algorithm::Tptt, 2);
  SoloCommunicator solo;
  auto learner = make_learner(cfg, solo);
  const ValidationSet set{.length = 0, .draw = 7};
  const auto in_parallel = learner->validation_pass(set);
  in_parallel->run(learner->arena());
  const auto one_by_one = learner->validation_pass(set);
  CHECK(one_by_one->items() == 3);
  while (one_by_one->run_next()) {
  }
  REQUIRE(one_by_one->finished());
  const auto a = in_parallel->sums(), b = one_by_one->sums();
  CHECK(std::memcmp(a.data(), b.data(), sizeof a) == 0);
  CHECK(b[2] == 600);
}
