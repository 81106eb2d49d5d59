// Checkpoint and resume (issue 6): a run stopped after N iterations and resumed from its
// checkpoint gives the parameters and check records of the uninterrupted run bit for bit,
// for every learner and the reproducible schedules, for K segments, and across K.
#include <doctest/doctest.h>

#include <cstring>
#include <mutex>
#include <vector>

#include "check_records.hpp"
#include "tptt/app/checkpointing.hpp"
#include "tptt/app/options.hpp"
#include "tptt/comm/inprocess_communicator.hpp"
#include "tptt/core/error.hpp"
#include "tptt/io/checkpoint.hpp"
#include "tptt/train/protocol.hpp"

using namespace tptt;
using testing::Recorder;
using testing::same_bits;

namespace {

TrainConfig small(Algorithm algorithm, Schedule schedule = Schedule::Alternate) {
  TrainConfig c;
  c.task = TaskKind::Temporal;
  c.length = 13;
  c.batch = 4;
  c.hidden = 16;
  c.algorithm = algorithm;
  c.schedule = schedule;
  c.p_g = schedule == Schedule::Random ? 0.5 : 1.0;
  c.lr = 0.01;
  c.alpha_f = 0.01;
  c.alpha_g = 0.01;
  c.noise = algorithm == Algorithm::Tptt ? 0.05 : 0.0;  // the G-phase noise stream resumes too
  c.validation_samples = 30;
  c.validation_batch = 10;
  c.check_every = 10;
  c.max_iterations = 80;
  c.solved_error = 1e-9;  // zero errors only: short runs of this size do not get there
  c.progress = false;
  return c;
}

// Runs to the budget, or stops after `stop_after` iterations with the checkpoint written into
// `*checkpoint` (serialised and parsed back, as from a file).
VecF run(const TrainConfig& cfg, Communicator& comm, Recorder& rec, long stop_after = -1,
         Checkpoint* checkpoint = nullptr, const Checkpoint* resume = nullptr) {
  TrainCommand cmd;
  cmd.config = cfg;
  auto learner = make_learner(cfg, comm);
  ProtocolProgress start;
  if (resume) start = restore_training_checkpoint(*resume, *learner);
  ProtocolHooks hooks;
  hooks.after_iteration = [&](const ProtocolProgress& p) {
    if (p.iteration != stop_after) return false;
    learner->settle();  // as the CLI's checkpoint writer
    if (checkpoint) *checkpoint = parse_checkpoint(serialize_checkpoint(make_training_checkpoint(cmd, *learner, p)));
    return true;
  };
  run_protocol(*learner, {&rec}, start, hooks);
  return learner->flat_params();
}

}  // namespace

TEST_CASE("resume: N iterations, stop, resume to 2N equals 2N uninterrupted, bit for bit") {
  struct Case {
    Algorithm algorithm;
    Schedule schedule;
  };
  for (const Case c : {Case{Algorithm::Bptt, Schedule::Alternate}, Case{Algorithm::Tptt, Schedule::Alternate},
                       Case{Algorithm::Tptt, Schedule::Random}, Case{Algorithm::TpttHx, Schedule::Alternate},
                       Case{Algorithm::TpttHx, Schedule::Random}, Case{Algorithm::Lstm, Schedule::Alternate}}) {
    const TrainConfig cfg = small(c.algorithm, c.schedule);
    CAPTURE(to_string(c.algorithm));
    CAPTURE(to_string(c.schedule));
    SoloCommunicator solo;
    Recorder whole, first, second;
    const VecF uninterrupted = run(cfg, solo, whole);
    for (long n : {37L, 40L}) {  // mid-interval (the sums since the last check resume too) and at a check
      CAPTURE(n);
      first.records.clear();
      second.records.clear();
      Checkpoint ckpt;
      run(cfg, solo, first, n, &ckpt);
      const VecF resumed = run(cfg, solo, second, -1, nullptr, &ckpt);
      CHECK(same_bits(resumed, uninterrupted));
      std::vector<std::vector<double>> joined = first.records;
      joined.insert(joined.end(), second.records.begin(), second.records.end());
      CHECK(joined == whole.records);
    }
  }
}

TEST_CASE("resume: the concurrent schedule resumes from its G loop's last published state (valid, not bit-exact)") {
  TrainConfig cfg = small(Algorithm::Tptt, Schedule::Concurrent);
  cfg.p_g = 0.5;  // one G update per F update
  cfg.threads = 2;
  SoloCommunicator solo;
  Recorder first, second;
  Checkpoint ckpt;
  run(cfg, solo, first, 40, &ckpt);
  const std::vector<std::int64_t> counts = ckpt.get_i64("phase_counts");
  REQUIRE(counts.size() == 2);
  CHECK(counts[1] == 40);  // F updates
  CHECK(counts[0] >= 37);  // G updates: the loops stay within a few updates of each other
  CHECK(counts[0] <= 41);
  const VecF resumed = run(cfg, solo, second, -1, nullptr, &ckpt);
  CHECK(resumed.allFinite());
  REQUIRE(second.records.size() == 4);  // the checks at 50, 60, 70, 80
}

TEST_CASE("resume: K segments resume bit for bit on K, and within 1e-5 on K' != K") {
  const TrainConfig cfg = small(Algorithm::Tptt);
  std::mutex m;
  // K = 1 reference, uninterrupted.
  SoloCommunicator solo;
  Recorder ref_rec;
  const VecF reference = run(cfg, solo, ref_rec);

  const auto whole_on = [&](int K) {
    VecF out;
    InProcessHub::run(K, [&](Communicator& comm) {
      Recorder rec;
      VecF p = run(cfg, comm, rec);
      std::lock_guard lock(m);
      if (comm.rank() == 0) out = p;
    });
    return out;
  };
  const auto stopped_on = [&](int K, long n) {
    Checkpoint out;
    InProcessHub::run(K, [&](Communicator& comm) {
      Recorder rec;
      Checkpoint mine;
      run(cfg, comm, rec, n, &mine);
      std::lock_guard lock(m);
      if (comm.rank() == 0) out = mine;  // rank 0 writes the file
    });
    return out;
  };
  const auto resumed_on = [&](int K, const Checkpoint& ckpt) {
    std::vector<VecF> replicas(static_cast<std::size_t>(K));
    InProcessHub::run(K, [&](Communicator& comm) {
      Recorder rec;
      VecF p = run(cfg, comm, rec, -1, nullptr, &ckpt);
      std::lock_guard lock(m);
      replicas[static_cast<std::size_t>(comm.rank())] = p;
    });
    for (const VecF& r : replicas) CHECK(same_bits(r, replicas[0]));  // replicas stay identical
    return replicas[0];
  };
  const auto rel = [](const VecF& a, const VecF& b) { return double((a - b).norm() / b.norm()); };

  const VecF whole2 = whole_on(2);
  const Checkpoint by2 = stopped_on(2, 33);
  CHECK(same_bits(resumed_on(2, by2), whole2));
  for (int K : {1, 3, 4}) {
    CAPTURE(K);
    CHECK(rel(resumed_on(K, by2), reference) < 1e-5);
  }
  const Checkpoint by3 = stopped_on(3, 50);
  CHECK(same_bits(resumed_on(3, by3), whole_on(3)));
  CHECK(rel(resumed_on(2, by3), reference) < 1e-5);
}

TEST_CASE("resume: a checkpoint of another learner or shape is refused with a FileError naming it") {
  const TrainConfig cfg = small(Algorithm::Tptt);
  SoloCommunicator solo;
  Recorder rec;
  Checkpoint ckpt;
  run(cfg, solo, rec, 20, &ckpt);
  ckpt.set_source("run.ckpt");
  TrainConfig other = cfg;
  other.hidden = 8;
  auto small_learner = make_learner(other, solo);
  CHECK_THROWS_WITH_AS(restore_training_checkpoint(ckpt, *small_learner), doctest::Contains("run.ckpt"), FileError);
  other = cfg;
  other.algorithm = Algorithm::Bptt;
  other.noise = 0;
  auto bptt = make_learner(other, solo);
  CHECK_THROWS_WITH_AS(restore_training_checkpoint(ckpt, *bptt), doctest::Contains("run.ckpt"), FileError);
  ckpt.erase("opt_forward");
  auto same = make_learner(cfg, solo);
  CHECK_THROWS_AS(restore_training_checkpoint(ckpt, *same), FileError);
}

TEST_CASE("checkpoint options: every schedule and mode checkpoints; bad values are refused") {
  const auto parse = [](const std::vector<std::string>& args) { return parse_train_command(args); };
  CHECK_NOTHROW(parse({"--checkpoint", "c", "--schedule", "concurrent", "--threads", "2", "--p-g", "0.5"}));
  // Stale and decoupled modes checkpoint their gradients in flight (test_modes.cpp, mpi_checkpoint_async).
  CHECK_NOTHROW(parse({"--checkpoint", "c", "--sync", "stale", "--staleness", "1"}));
  CHECK_THROWS_WITH_AS(parse({"--checkpoint-every", "0"}), doctest::Contains("--checkpoint-every"), UsageError);
  CHECK_THROWS_WITH_AS(parse({"--resume", "/nonexistent/run.ckpt"}), doctest::Contains("/nonexistent/run.ckpt"),
                       FileError);
}

TEST_CASE("config_to_ini reads back to the same configuration") {
  TrainConfig c = small(Algorithm::TpttHx, Schedule::Random);
  c.alpha_i = 0.1234567890123;
  c.seed = 0xfedcba9876543210ull;
  const std::string ini = config_to_ini(c);
  Checkpoint ckpt;
  ckpt.put_string("config", ini);
  const std::string path = "/tmp/tptt_test_ini.ckpt";
  write_checkpoint_atomic(path, ckpt);
  const TrainCommand back = parse_train_command({"--resume", path});
  CHECK(config_to_ini(back.config) == ini);
  CHECK(back.config.seed == c.seed);
  CHECK(back.config.alpha_i == c.alpha_i);
  CHECK(back.changed_on_resume.empty());
  const TrainCommand changed = parse_train_command({"--resume", path, "--alpha-f", "0.5", "--max-iterations", "9"});
  REQUIRE(changed.changed_on_resume.size() == 1);  // the budget is not a change of the run
  CHECK(changed.changed_on_resume[0].find("alpha-f") == 0);
  CHECK_THROWS_WITH_AS(parse_train_command({"--resume", path, "--hidden", "7"}), doctest::Contains("--hidden"),
                       UsageError);
  std::remove(path.c_str());
}
