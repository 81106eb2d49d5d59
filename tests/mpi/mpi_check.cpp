// Checks and timings under real mpirun (tests/mpi/mpi_tests.sh runs it):
//
//   mpirun -np K tptt_mpi_check check
//     MpiCommunicator: messages, the blocking and the non-blocking all-reduce (several in
//     flight, interleaved with blocking ones) against the rank-order sum; then every mode of
//     SegmentPipeline (exact, pipelined, stale, decoupled) and the plain Trainer, trained over
//     the K MPI ranks, must give parameters bitwise equal to the same run over K in-process
//     ranks (both sum in rank order) and identical on every rank. Exit 0 when all pass.
//
//   mpirun -np K tptt_mpi_check bench [--sync exact|pipelined|stale] [--staleness S]
//       [--micro-batches M] [--decoupled] [--algorithm A] [-T 400] [-H 100] [-B 20]
//       [--threads N] [--iterations 200] [--warmup 20] [--trace FILE]
//     Iterations per second of one mode (rank 0 prints one JSON line); plain exact mode runs
//     the Trainer's own step, as `tptt train` does.
//
//   mpirun -np K tptt_mpi_check pingpong [--bytes N]
//     The message latency and bandwidth between ranks 0 and 1 through the Communicator (its
//     polling included), and the time of one all-reduce of N bytes over all K ranks (default
//     the gradient of the bench model, H = 100); rank 0 prints one JSON line.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "small_config.hpp"
#include "tptt/comm/inprocess_communicator.hpp"
#include "tptt/comm/mpi_communicator.hpp"
#include "tptt/core/error.hpp"
#include "tptt/core/trace.hpp"
#include "tptt/io/param_file.hpp"
#include "tptt/train/distributed_modes.hpp"
#include "tptt/train/trainer.hpp"

using namespace tptt;

namespace {

int failures = 0;

void expect(bool ok, const std::string& what, const Communicator& comm) {
  if (ok) return;
  ++failures;
  std::fprintf(stderr, "FAIL (rank %d): %s\n", comm.rank(), what.c_str());
}

void check_communicator(MpiCommunicator& comm) {
  const int K = comm.size(), k = comm.rank();
  // Messages: a ring, two tags, in order.
  if (K > 1) {
    const int next = (k + 1) % K, prev = (k + K - 1) % K;
    for (int i = 0; i < 3; ++i) {
      const float v[2] = {static_cast<float>(k), static_cast<float>(i)};
      comm.send(next, MessageTag::State, v);
      comm.send(next, MessageTag::Target, std::span<const float>(v, 1));
    }
    for (int i = 0; i < 3; ++i) {
      float got[2], one[1];
      comm.recv(prev, MessageTag::Target, one);
      comm.recv(prev, MessageTag::State, got);
      expect(got[0] == static_cast<float>(prev) && got[1] == static_cast<float>(i) && one[0] == got[0],
             "ring message " + std::to_string(i), comm);
    }
  }
  // Rank-order float sums whose value depends on the order.
  const auto contribution = [](int r, int round, int i) {
    return (r == 0 ? 1e8f : 1.0f) + static_cast<float>(round) * 0.25f +
           static_cast<float>(i) / static_cast<float>(r + 3);
  };
  const auto expected = [&](int round, int i) {
    float s = contribution(0, round, i);
    for (int r = 1; r < K; ++r) s += contribution(r, round, i);
    return s;
  };
  constexpr int kRounds = 5, kLen = 1000;
  std::vector<std::vector<float>> bufs(kRounds, std::vector<float>(kLen));
  std::vector<Communicator::ReduceHandle> handles;
  for (int round = 0; round < kRounds; ++round) {
    for (int i = 0; i < kLen; ++i) bufs[round][static_cast<std::size_t>(i)] = contribution(k, round, i);
    handles.push_back(comm.start_allreduce_sum(bufs[round]));
    if (round == 2) {  // a blocking all-reduce while non-blocking ones are in flight
      double d[2] = {static_cast<double>(k), 1.0};
      comm.allreduce_sum(std::span<double>(d, 2));
      expect(d[0] == K * (K - 1) / 2.0 && d[1] == K, "blocking all-reduce among non-blocking ones", comm);
    }
  }
  comm.wait_allreduce(handles[3]);  // out of order
  for (int round : {0, 1, 2, 4}) comm.wait_allreduce(handles[static_cast<std::size_t>(round)]);
  bool all = true;
  for (int round = 0; round < kRounds; ++round)
    for (int i = 0; i < kLen; ++i) {
      const float want = expected(round, i);
      all = all && std::memcmp(&bufs[round][static_cast<std::size_t>(i)], &want, sizeof want) == 0;
    }
  expect(all, "non-blocking all-reduce = rank-order sum, bit for bit", comm);
  std::vector<float> blocking(kLen);
  for (int i = 0; i < kLen; ++i) blocking[static_cast<std::size_t>(i)] = contribution(k, 0, i);
  comm.allreduce_sum(std::span<float>(blocking));
  expect(blocking == bufs[0], "blocking and non-blocking all-reduce agree", comm);
}


struct Case {
  std::string name;
  TrainConfig config;
  DistributedConfig dist;
  bool plain_trainer = false;  // Trainer::step instead of a pipeline
};

// Trains `c` over `comm` and returns the parameter hash.
std::uint64_t train(const Case& c, Communicator& comm, int iterations) {
  Trainer trainer(c.config, comm);
  if (c.plain_trainer) {
    for (long it = 0; it < iterations; ++it) trainer.step(it);
  } else {
    SegmentPipeline pipeline(trainer, c.dist, comm);
    for (long it = 0; it < iterations; ++it) pipeline.step(it);
    pipeline.drain();
  }
  trainer.validate();  // a blocking collective after the pipeline
  return param_hash(trainer.params().flat());
}

void check_modes(MpiCommunicator& comm) {
  using testing::mode;
  TrainConfig reference = testing::small_config(Algorithm::Tptt, 6);
  reference.phase_order = PhaseOrder::Reference;  // its G all-reduce comes before the targets
  std::vector<Case> cases = {
      {"trainer exact reference", reference, {}, true},
      {"pipelined M=2 reference", reference, mode(SyncMode::Pipelined, 0, 2, false)},
      {"trainer exact tptt", testing::small_config(Algorithm::Tptt, 6), {}, true},
      {"exact bptt", testing::small_config(Algorithm::Bptt, 6), mode(SyncMode::Exact, 0, 1, false)},
      {"pipelined M=3 tptt", testing::small_config(Algorithm::Tptt, 6), mode(SyncMode::Pipelined, 0, 3, false)},
      {"stale S=1 bptt", testing::small_config(Algorithm::Bptt, 6), mode(SyncMode::Stale, 1, 1, false)},
      {"stale S=2 tptt", testing::small_config(Algorithm::Tptt, 6), mode(SyncMode::Stale, 2, 1, false)},
      {"stale S=3 M=2 tptt_hx", testing::small_config(Algorithm::TpttHx, 6), mode(SyncMode::Stale, 3, 2, false)},
      {"decoupled S=1 tptt_hx", testing::small_config(Algorithm::TpttHx, 6), mode(SyncMode::Stale, 1, 1, true)},
      {"decoupled S=1 M=2 tptt", testing::small_config(Algorithm::Tptt, 6), mode(SyncMode::Stale, 1, 2, true)},
  };
  const int K = comm.size();
  constexpr int kIterations = 25;
  for (const Case& c : cases) {
    const std::uint64_t mpi_hash = train(c, comm, kIterations);
    // Every rank holds the same replica: sums of the hash's 16-bit pieces and their squares.
    double sums[8];
    for (int j = 0; j < 4; ++j) {
      const double piece = static_cast<double>((mpi_hash >> (16 * j)) & 0xffffu);
      sums[j] = piece;
      sums[4 + j] = piece * piece;
    }
    comm.allreduce_sum(std::span<double>(sums, 8));
    bool identical = true;
    for (int j = 0; j < 4; ++j) {
      const double piece = static_cast<double>((mpi_hash >> (16 * j)) & 0xffffu);
      identical = identical && sums[j] == K * piece && sums[4 + j] == K * piece * piece;
    }
    expect(identical, c.name + ": replicas differ across ranks", comm);
    if (comm.rank() == 0) {
      std::vector<std::uint64_t> local(static_cast<std::size_t>(K));
      InProcessHub::run(K, [&](Communicator& inproc) {
        local[static_cast<std::size_t>(inproc.rank())] = train(c, inproc, kIterations);
      });
      expect(local[0] == mpi_hash,
             c.name + ": MPI run " + hash_hex(mpi_hash) + " differs from the in-process run " + hash_hex(local[0]),
             comm);
      std::printf("%s %-24s K=%d: mpi %s, in-process %s\n", local[0] == mpi_hash && identical ? "ok  " : "FAIL",
                  c.name.c_str(), K, hash_hex(mpi_hash).c_str(), hash_hex(local[0]).c_str());
    }
  }
}

struct BenchArgs {
  TrainConfig config;
  DistributedConfig dist;
  int iterations = 200, warmup = 20;
  std::string trace;  // rank 0's spans of the timed iterations (launch/perf_model.py reads them)
};

BenchArgs parse_bench(int argc, char** argv) {
  BenchArgs a;
  TrainConfig& c = a.config;
  c.task = TaskKind::Temporal;
  c.length = 400;
  c.hidden = 100;
  c.batch = 20;
  c.algorithm = Algorithm::Tptt;
  c.progress = false;
  c.validation_samples = 20;
  c.validation_batch = 20;
  for (int i = 2; i < argc; ++i) {
    const std::string o = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw UsageError(o + ": needs a value");
      return argv[++i];
    };
    if (o == "--sync")
      a.dist.sync = parse_sync_mode(value());
    else if (o == "--staleness")
      a.dist.staleness = std::stoi(value());
    else if (o == "--micro-batches")
      a.dist.micro_batches = std::stoi(value());
    else if (o == "--decoupled")
      a.dist.decoupled = true;
    else if (o == "--algorithm")
      c.algorithm = parse_algorithm(value());
    else if (o == "-T")
      c.length = std::stoi(value());
    else if (o == "-H")
      c.hidden = std::stoi(value());
    else if (o == "-B")
      c.batch = std::stoi(value());
    else if (o == "--trace")
      a.trace = value();
    else if (o == "--threads")
      c.threads = std::stoi(value());
    else if (o == "--iterations")
      a.iterations = std::stoi(value());
    else if (o == "--warmup")
      a.warmup = std::stoi(value());
    else
      throw UsageError("unknown option " + o);
  }
  return a;
}

void bench(MpiCommunicator& comm, int argc, char** argv) {
  const BenchArgs a = parse_bench(argc, argv);
  const std::unique_ptr<Learner> trainer = make_learner(a.config, comm, a.dist);
  using Clock = std::chrono::steady_clock;
  long it = 0;
  for (; it < a.warmup; ++it) trainer->step(it);
  double barrier = 0;
  comm.allreduce_sum(std::span<double>(&barrier, 1));
  if (!a.trace.empty() && comm.rank() == 0) start_trace(0);
  const auto start = Clock::now();
  for (; it < a.warmup + a.iterations; ++it) trainer->step(it);
  trainer->finish();
  comm.allreduce_sum(std::span<double>(&barrier, 1));
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (comm.rank() == 0) {
    JsonObject j;
    j.add("ranks", comm.size()).add("algorithm", to_string(a.config.algorithm)).add("T", a.config.length);
    j.add("H", a.config.hidden).add("B", a.config.batch).add("threads", a.config.threads);
    j.add("dist", a.dist.to_json());
    j.add("iterations", a.iterations).add("seconds", seconds).add("iterations_per_s", a.iterations / seconds);
    std::printf("%s\n", j.str().c_str());
    if (!a.trace.empty()) {
      std::ofstream out(a.trace);
      out << "[" << trace_events_json() << "]\n";
      if (!out) throw FileError("--trace: cannot write '" + a.trace + "'");
    }
  }
}

// Round trips of `floats` floats between ranks 0 and 1; returns the seconds of one way.
double one_way_seconds(Communicator& comm, std::size_t floats, int repeats) {
  std::vector<float> buf(floats, 1.0f);
  const auto once = [&] {
    if (comm.rank() == 0) {
      comm.send(1, MessageTag::State, buf);
      comm.recv(1, MessageTag::State, buf);
    } else if (comm.rank() == 1) {
      comm.recv(0, MessageTag::State, buf);
      comm.send(0, MessageTag::State, buf);
    }
  };
  for (int r = 0; r < 10; ++r) once();
  const auto start = std::chrono::steady_clock::now();
  for (int r = 0; r < repeats; ++r) once();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / (2.0 * repeats);
}

void pingpong(MpiCommunicator& comm, int argc, char** argv) {
  const TaskInfo task = task_info(TaskKind::Temporal);
  const Params<Scalar> model(ModelShape{task.inputs, 100, task.outputs});     // the bench model
  long bytes = static_cast<long>((model.flat().size() + 3) * sizeof(float));  // its all-reduce: |θ| + 3 costs
  for (int i = 2; i < argc; ++i) {
    if (std::strcmp(argv[i], "--bytes") == 0 && i + 1 < argc) {
      bytes = std::stol(argv[++i]);
    } else {
      throw UsageError(std::string("pingpong: unknown option ") + argv[i]);
    }
  }
  if (comm.size() < 2) throw UsageError("pingpong needs at least 2 ranks");
  // Latency from a one-float message; bandwidth from the slope between 8 KiB and 4 MiB.
  const double small = one_way_seconds(comm, 1, 2000);
  const double mid = one_way_seconds(comm, 2048, 500);
  const double large = one_way_seconds(comm, 1 << 20, 50);
  const double bandwidth = static_cast<double>(((1 << 20) - 2048) * sizeof(float)) / (large - mid);
  std::vector<float> reduce(static_cast<std::size_t>(bytes) / sizeof(float), 1.0f);
  for (int r = 0; r < 10; ++r) comm.allreduce_sum(std::span<float>(reduce));
  const int repeats = 200;
  const auto start = std::chrono::steady_clock::now();
  for (int r = 0; r < repeats; ++r) comm.allreduce_sum(std::span<float>(reduce));
  const double allreduce = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / repeats;
  if (comm.rank() == 0) {
    JsonObject j;
    j.add("ranks", comm.size()).add("latency_us", small * 1e6).add("bandwidth_gb_per_s", bandwidth / 1e9);
    j.add("message_8k_us", mid * 1e6).add("allreduce_bytes", bytes).add("allreduce_us", allreduce * 1e6);
    std::printf("%s\n", j.str().c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::string what = argc > 1 ? argv[1] : "check";
  int rank = -1;
  try {
    MpiCommunicator comm;
    rank = comm.rank();
    if (what == "check") {
      check_communicator(comm);
      check_modes(comm);
      double f = failures;
      comm.allreduce_sum(std::span<double>(&f, 1));
      if (comm.rank() == 0)
        std::printf("%s: %g failure(s) over %d ranks\n", f == 0 ? "all passed" : "FAILED", f, comm.size());
      comm.finalize();
      return f == 0 ? 0 : 1;
    }
    if (what == "bench" || what == "pingpong") {
      if (what == "bench") {
        bench(comm, argc, argv);
      } else {
        pingpong(comm, argc, argv);
      }
      comm.finalize();
      return 0;
    }
    std::fprintf(stderr, "usage: tptt_mpi_check check | bench [options] | pingpong [--bytes N]\n");
    comm.finalize();
    return 2;
  } catch (const std::exception& e) {
    abort_job(1, "rank " + std::to_string(rank) + ": " + e.what());
  }
}
