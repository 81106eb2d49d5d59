// Small building blocks: time segments, the counter-based RNG, the JSON writer, the flat
// parameter layout, the `tptt train` option parser and the benchmark's work count.
#include <doctest/doctest.h>

#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>
#include "temp_file.hpp"
#include "tptt/algo/segment.hpp"
#include "tptt/algo/work_count.hpp"
#include "tptt/app/options.hpp"
#include "tptt/core/error.hpp"
#include "tptt/core/float_mode.hpp"
#include "tptt/core/rng.hpp"
#include "tptt/io/checkpoint.hpp"
#include "tptt/io/json.hpp"
#include "tptt/model/params.hpp"
#include "tptt/train/micro_batch_choice.hpp"

using namespace tptt;

// ---------------------------------------------------------------------------------------
// segment_of
// ---------------------------------------------------------------------------------------

TEST_CASE("segment_of: contiguous cover of 1..T, lengths differ by at most one, longer first") {
  for (int total = 1; total <= 64; ++total) {
    for (int k = 1; k <= total; ++k) {
      CAPTURE(total);
      CAPTURE(k);
      int expected_first = 1, shortest = total, longest = 0, previous_len = total + 1;
      for (int i = 0; i < k; ++i) {
        const SegmentRange r = segment_of(total, k, i);
        CHECK(r.first == expected_first);
        CHECK(r.steps() >= 1);
        CHECK(r.steps() == r.last - r.first + 1);
        CHECK(r.steps() <= previous_len);  // non-increasing: the longer segments come first
        previous_len = r.steps();
        shortest = std::min(shortest, r.steps());
        longest = std::max(longest, r.steps());
        expected_first = r.last + 1;
      }
      CHECK(expected_first == total + 1);  // the last segment ends at T
      CHECK(longest - shortest <= 1);
    }
  }
}

TEST_CASE("segment_of: examples and invalid arguments") {
  CHECK(segment_of(10, 1, 0).first == 1);
  CHECK(segment_of(10, 1, 0).last == 10);
  // 10 steps on 3 segments: 4 + 3 + 3.
  CHECK(segment_of(10, 3, 0).first == 1);
  CHECK(segment_of(10, 3, 0).last == 4);
  CHECK(segment_of(10, 3, 1).first == 5);
  CHECK(segment_of(10, 3, 1).last == 7);
  CHECK(segment_of(10, 3, 2).first == 8);
  CHECK(segment_of(10, 3, 2).last == 10);
  CHECK_THROWS_AS(segment_of(10, 0, 0), std::invalid_argument);
  CHECK_THROWS_AS(segment_of(10, 11, 0), std::invalid_argument);
  CHECK_THROWS_AS(segment_of(10, 3, 3), std::invalid_argument);
  CHECK_THROWS_AS(segment_of(10, 3, -1), std::invalid_argument);
}

// ---------------------------------------------------------------------------------------
// CounterRng
// ---------------------------------------------------------------------------------------

TEST_CASE("CounterRng: a stream is a pure function of (seed, purpose, counter, sub)") {
  auto draw = [](std::uint64_t seed, RngPurpose p, std::uint64_t counter, std::uint64_t sub) {
    CounterRng r(seed, p, counter, sub);
    std::vector<std::uint64_t> v(16);
    for (auto& x : v) x = r.next();
    return v;
  };
  const auto base = draw(42, RngPurpose::TrainData, 7, 0);
  CHECK(base == draw(42, RngPurpose::TrainData, 7, 0));
  CHECK(base != draw(43, RngPurpose::TrainData, 7, 0));
  CHECK(base != draw(42, RngPurpose::ValidationData, 7, 0));
  CHECK(base != draw(42, RngPurpose::TrainData, 8, 0));
  CHECK(base != draw(42, RngPurpose::TrainData, 7, 1));
  // Nearby streams share no values at the start.
  std::set<std::uint64_t> seen(base.begin(), base.end());
  for (std::uint64_t c = 0; c < 64; ++c) {
    if (c == 7) continue;
    for (std::uint64_t x : draw(42, RngPurpose::TrainData, c, 0)) CHECK(seen.count(x) == 0);
  }
  CHECK(mix64(12345) == mix64(12345));
  CHECK(mix64(12345) != mix64(12346));
}

TEST_CASE("CounterRng: below(n) stays in range and is roughly uniform") {
  CounterRng rng(1, RngPurpose::TrainData, 0);
  for (int n : {1, 2, 3, 4, 7, 98, 1000}) {
    CAPTURE(n);
    std::vector<long> counts(n, 0);
    const long draws = 200L * n;
    for (long i = 0; i < draws; ++i) {
      const int v = rng.below(n);
      REQUIRE(v >= 0);
      REQUIRE(v < n);
      ++counts[v];
    }
    for (long c : counts) {
      CHECK(c > 100);  // expected 200 per value
      CHECK(c < 310);
    }
  }
  CHECK_THROWS_AS(rng.below(0), std::invalid_argument);
  CHECK_THROWS_AS(rng.below(-3), std::invalid_argument);
}

TEST_CASE("CounterRng: uniform in [0, 1), normal with mean 0 and variance 1") {
  CounterRng rng(9, RngPurpose::Noise, 3);
  const int n = 200000;
  double sum = 0, lo = 1, hi = 0;
  for (int i = 0; i < n; ++i) {
    const double u = rng.uniform();
    REQUIRE(u >= 0.0);
    REQUIRE(u < 1.0);
    sum += u;
    lo = std::min(lo, u);
    hi = std::max(hi, u);
  }
  CHECK(sum / n == doctest::Approx(0.5).epsilon(0.01));
  CHECK(lo < 1e-3);
  CHECK(hi > 1 - 1e-3);

  double s1 = 0, s2 = 0;
  for (int i = 0; i < n; ++i) {
    const double z = rng.normal();
    REQUIRE(std::isfinite(z));
    s1 += z;
    s2 += z * z;
  }
  const double mean = s1 / n, var = s2 / n - mean * mean;
  CHECK(std::abs(mean) < 0.01);
  CHECK(var == doctest::Approx(1.0).epsilon(0.02));

  CounterRng a(5, RngPurpose::Noise, 1), b(5, RngPurpose::Noise, 1);
  for (int i = 0; i < 9; ++i) CHECK(a.normal() == b.normal());  // odd count: exercises the spare value
}

// ---------------------------------------------------------------------------------------
// JsonObject
// ---------------------------------------------------------------------------------------

TEST_CASE("JsonObject: values, nesting, escaping and non-finite numbers") {
  CHECK(JsonObject().str() == "{}");
  JsonObject j;
  j.add("i", 3).add("l", -7L).add("u", std::numeric_limits<std::uint64_t>::max()).add("t", true).add("f", false);
  CHECK(j.str() == R"({"i":3,"l":-7,"u":18446744073709551615,"t":true,"f":false})");

  JsonObject d;
  d.add("half", 0.5).add("three", 3.0).add("nan", std::nan("")).add("inf", std::numeric_limits<double>::infinity());
  d.add("minf", -std::numeric_limits<double>::infinity());
  CHECK(d.str() == R"({"half":0.5,"three":3,"nan":null,"inf":null,"minf":null})");

  JsonObject s;
  s.add("s", "a\"b\\c\nd\te").add("view", std::string_view("x")).add_null("n").add_raw("raw", "[1,2]");
  CHECK(s.str() == R"({"s":"a\"b\\c\nd\te","view":"x","n":null,"raw":[1,2]})");

  JsonObject outer;
  outer.add("inner", JsonObject().add("k", 1)).add("after", "v");
  CHECK(outer.str() == R"({"inner":{"k":1},"after":"v"})");

  CHECK(json_escape("\x01") == "\"\\u0001\"");
  CHECK(json_escape("key\"") == "\"key\\\"\"");
  CHECK(json_number(std::nan("")) == "null");
}

TEST_CASE("json_number: shortest form that reads back exactly") {
  for (double v : {0.1, 1e-4, 1e-3, 0.9, 123456.789, 1e300, -2.5e-8, 1.0 / 3.0, 100000.0}) {
    CAPTURE(v);
    const std::string text = json_number(v);
    CHECK(std::stod(text) == v);
    CHECK(text.find(' ') == std::string::npos);
  }
  CHECK(json_number(0.1) == "0.1");
  CHECK(json_number(-2) == "-2");
}

// ---------------------------------------------------------------------------------------
// ParamLayout / Params
// ---------------------------------------------------------------------------------------

TEST_CASE("ParamLayout: offsets, sizes and the θ_F / θ_G split") {
  const ParamLayout layout({6, 100, 4});  // temporal: I = 6, H = 100, O = 4
  CHECK(layout.offset(Tensor::Wxh) == 0);
  CHECK(layout.offset(Tensor::Whh) == 600);
  CHECK(layout.offset(Tensor::bh) == 10600);
  CHECK(layout.offset(Tensor::Why) == 10700);
  CHECK(layout.offset(Tensor::by) == 11100);
  CHECK(layout.offset(Tensor::Vhh) == 11104);
  CHECK(layout.offset(Tensor::ch) == 21104);
  CHECK(layout.size() == 21204);
  CHECK(layout.forward_size() == 11104);
  CHECK(layout.feedback_size() == 10100);

  CHECK(layout.rows(Tensor::Wxh) == 100);
  CHECK(layout.cols(Tensor::Wxh) == 6);
  CHECK(layout.rows(Tensor::Whh) == 100);
  CHECK(layout.cols(Tensor::Whh) == 100);
  CHECK(layout.rows(Tensor::bh) == 100);
  CHECK(layout.cols(Tensor::bh) == 1);
  CHECK(layout.rows(Tensor::Why) == 4);
  CHECK(layout.cols(Tensor::Why) == 100);
  CHECK(layout.rows(Tensor::by) == 4);
  CHECK(layout.cols(Tensor::by) == 1);
  CHECK(layout.rows(Tensor::Vhh) == 100);
  CHECK(layout.cols(Tensor::Vhh) == 100);
  CHECK(layout.rows(Tensor::ch) == 100);
  CHECK(layout.cols(Tensor::ch) == 1);

  // The tensors tile the buffer without gaps or overlap, in kAllTensors order.
  Eigen::Index at = 0;
  for (Tensor t : kAllTensors) {
    CHECK(layout.offset(t) == at);
    at += layout.count(t);
  }
  CHECK(at == layout.size());

  CHECK(std::string(tensor_name(Tensor::Wxh)) == "W_xh");
  CHECK(std::string(tensor_name(Tensor::Whh)) == "W_hh");
  CHECK(std::string(tensor_name(Tensor::bh)) == "b_h");
  CHECK(std::string(tensor_name(Tensor::Why)) == "W_hy");
  CHECK(std::string(tensor_name(Tensor::by)) == "b_y");
  CHECK(std::string(tensor_name(Tensor::Vhh)) == "V_hh");
  CHECK(std::string(tensor_name(Tensor::ch)) == "c_h");
}

TEST_CASE("Params: named views alias the flat buffer (column-major)") {
  Params<double> p({2, 3, 1});
  CHECK(p.flat().size() == p.layout().size());
  CHECK(p.flat().isZero());
  p.Whh()(1, 2) = 5.0;  // column 2, row 1 → offset + 2·3 + 1
  CHECK(p.flat()(p.layout().offset(Tensor::Whh) + 7) == 5.0);
  p.ch()(2) = -1.0;
  CHECK(p.flat()(p.layout().size() - 1) == -1.0);
  p.flat()(p.layout().offset(Tensor::by)) = 2.0;
  CHECK(p.by()(0) == 2.0);
  const Params<double>& cp = p;
  CHECK(cp.Whh()(1, 2) == 5.0);
  p.set_zero();
  CHECK(p.flat().isZero());
}

// ---------------------------------------------------------------------------------------
// parse_train_command
// ---------------------------------------------------------------------------------------

namespace {

// The message of the exception of type E thrown by parsing args ("" when none is thrown).
template <class E>
std::string parse_error(const std::vector<std::string>& args) {
  try {
    (void)parse_train_command(args);
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    FAIL("unexpected exception type: " << e.what());
    return "";
  }
  FAIL("no exception thrown");
  return "";
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("parse_train_command: defaults are the TrainConfig defaults (docs/method.md §6, TPTT common model)") {
  const TrainCommand cmd = parse_train_command({});
  CHECK_FALSE(cmd.help);
  const TrainConfig& c = cmd.config;
  const TrainConfig d;
  CHECK(c.task == TaskKind::Temporal);
  CHECK(c.length == d.length);
  CHECK(c.min_length == 0);
  CHECK(c.max_length == 0);
  CHECK(c.batch == 20);
  CHECK(c.seed == 1);
  CHECK(c.hidden == 100);
  CHECK(c.activation == d.activation);
  CHECK(c.init == d.init);
  CHECK(c.init_std == d.init_std);
  CHECK(c.algorithm == Algorithm::Tptt);
  CHECK(c.optimizer == OptimizerKind::Nesterov);
  CHECK(c.momentum == doctest::Approx(0.9));
  CHECK(c.lr == d.lr);
  CHECK(c.clip_norm == 0);
  CHECK(c.alpha_i == doctest::Approx(0.1));
  CHECK(c.alpha_f == doctest::Approx(0.01));
  CHECK(c.alpha_g == doctest::Approx(0.001));
  CHECK(c.noise == 0);
  CHECK(c.schedule == Schedule::Alternate);
  CHECK(c.p_g == 1.0);
  CHECK(c.max_iterations == 100000);
  CHECK(c.check_every == 100);
  CHECK(c.validation_samples == 10000);
  CHECK(c.validation_batch == 1000);
  CHECK(c.solved_error == doctest::Approx(1e-4));
  CHECK(c.patience == 300);
  CHECK(c.max_spectral_radius == doctest::Approx(20));
  CHECK(c.log_path.empty());
  CHECK(c.progress);
}

TEST_CASE("parse_train_command: command-line values") {
  const TrainCommand cmd = parse_train_command(
      {"--task",           "perm",     "--length",      "70",      "--batch",      "16",
       "--seed",           "123",      "--hidden",      "64",      "--activation", "sigmoid",
       "--init",           "gaussian", "--algorithm",   "tptt_hx", "--optimizer",  "sgd",
       "--alpha-i",        "0.5",      "--alpha-f",     "0.2",     "--alpha-g",    "0.07",
       "--noise",          "0.1",      "--schedule",    "random",  "--p-g",        "0.5",
       "--max-iterations", "5000",     "--check-every", "50",      "--log",        "/tmp/x.jsonl",
       "--no-progress"});
  const TrainConfig& c = cmd.config;
  CHECK(c.task == TaskKind::Perm);
  CHECK(c.length == 70);
  CHECK(c.batch == 16);
  CHECK(c.seed == 123);
  CHECK(c.hidden == 64);
  CHECK(c.activation == parse_activation("sigmoid"));
  CHECK(c.init == parse_init_scheme("gaussian"));
  CHECK(c.algorithm == Algorithm::TpttHx);
  CHECK(c.optimizer == OptimizerKind::Sgd);
  CHECK(c.alpha_i == doctest::Approx(0.5));
  CHECK(c.alpha_f == doctest::Approx(0.2));
  CHECK(c.alpha_g == doctest::Approx(0.07));
  CHECK(c.noise == doctest::Approx(0.1));
  CHECK(c.schedule == Schedule::Random);
  CHECK(c.p_g == doctest::Approx(0.5));
  CHECK(c.max_iterations == 5000);
  CHECK(c.check_every == 50);
  CHECK(c.log_path == "/tmp/x.jsonl");
  CHECK_FALSE(c.progress);

  const TrainCommand b = parse_train_command(
      {"--algorithm", "bptt", "--lr", "0.01", "--clip", "1", "-T", "30", "-B", "4"});
  CHECK(b.config.algorithm == Algorithm::Bptt);
  CHECK(b.config.lr == doctest::Approx(0.01));
  CHECK(b.config.clip_norm == doctest::Approx(1));
  CHECK(b.config.length == 30);
  CHECK(b.config.batch == 4);
}

TEST_CASE("parse_train_command: --help returns the option list") {
  const TrainCommand cmd = parse_train_command({"--help"});
  CHECK(cmd.help);
  for (const char* opt : {"--task", "--length", "--batch", "--algorithm", "--alpha-i", "--alpha-f", "--alpha-g", "--lr",
                          "--config", "--log", "--max-iterations"})
    CHECK_MESSAGE(contains(cmd.help_text, opt), opt);
}

TEST_CASE("parse_train_command: config file, command line wins") {
  TempFile ini(
      "# a comment\n"
      "task = temporal3\n"
      "length = 30\n"
      "algorithm = bptt\n"
      "lr = 0.01\n"
      "batch = 8\n"
      "no-progress = \n");
  const TrainCommand cmd = parse_train_command({"--config", ini.str(), "--length", "40"});
  CHECK(cmd.config.task == TaskKind::Temporal3);
  CHECK(cmd.config.length == 40);  // command line wins
  CHECK(cmd.config.algorithm == Algorithm::Bptt);
  CHECK(cmd.config.lr == doctest::Approx(0.01));
  CHECK(cmd.config.batch == 8);
  CHECK_FALSE(cmd.config.progress);

  // Order does not matter: the command line wins even when --config comes last.
  const TrainCommand later = parse_train_command({"--batch", "3", "--config", ini.str()});
  CHECK(later.config.batch == 3);
  CHECK(later.config.length == 30);
}

TEST_CASE("parse_train_command: bad usage throws UsageError naming the option") {
  struct Case {
    std::vector<std::string> args;
    std::string needle;
  };
  const std::vector<Case> cases = {
      {{"--frobnicate"}, "frobnicate"},
      {{"--alpha-f", "-1"}, "alpha-f"},
      {{"--alpha-g", "-0.5"}, "alpha-g"},
      {{"--alpha-i", "-0.1"}, "alpha-i"},
      {{"--lr", "-1"}, "lr"},
      {{"--lr", "0"}, "lr"},
      {{"--length", "0"}, "length"},
      {{"--length", "5"}, "length"},
      {{"--length", "abc"}, "length"},
      {{"--batch", "0"}, "batch"},
      {{"--batch", "-2"}, "batch"},
      {{"--hidden", "0"}, "hidden"},
      {{"--task", "foo"}, "task"},
      {{"--algorithm", "backprop"}, "algorithm"},
      {{"--optimizer", "adam"}, "optimizer"},
      {{"--schedule", "sometimes"}, "schedule"},
      {{"--p-g", "2", "--schedule", "random"}, "p-g"},
      {{"--p-g", "0.5"}, "p-g"},  // needs --schedule random
      {{"--momentum", "1"}, "momentum"},
      {{"--max-iterations", "0"}, "max-iterations"},
      {{"--check-every", "0"}, "check-every"},
      {{"--min-length", "20"}, "min-length"},  // without --max-length
      {{"--clip", "-1"}, "clip"},              // non-negative
      {{"--algorithm", "bptt", "--noise", "0.1"}, "noise"},
  };
  for (const Case& c : cases) {
    std::string joined;
    for (const auto& a : c.args) joined += a + " ";
    CAPTURE(joined);
    const std::string msg = parse_error<UsageError>(c.args);
    CHECK_MESSAGE(contains(msg, c.needle), "message: " << msg);
  }
}

TEST_CASE("parse_train_command: config file errors") {
  SUBCASE("unreadable config file → UsageError naming the file") {
    const std::string missing = "/nonexistent/tptt-no-such-config.ini";
    const std::string msg = parse_error<UsageError>({"--config", missing});
    CHECK(contains(msg, missing));
  }
  SUBCASE("unknown key → UsageError naming the key and the file") {
    TempFile ini("length = 30\nwibble = 3\n");
    const std::string msg = parse_error<UsageError>({"--config", ini.str()});
    CHECK(contains(msg, "wibble"));
    CHECK(contains(msg, ini.str()));
  }
  SUBCASE("bad value in the file → UsageError naming the option") {
    TempFile ini("batch = many\n");
    const std::string msg = parse_error<UsageError>({"--config", ini.str()});
    CHECK(contains(msg, "batch"));
  }
  SUBCASE("out-of-range value in the file → UsageError naming the option") {
    TempFile ini("alpha-f = -1\n");
    const std::string msg = parse_error<UsageError>({"--config", ini.str()});
    CHECK(contains(msg, "alpha-f"));
  }
}

TEST_CASE("config_to_json: the effective configuration") {
  const TrainCommand cmd = parse_train_command({"--task", "adding", "--length", "50", "--seed", "9"});
  const std::string j = config_to_json(cmd.config).str();
  CHECK(j.front() == '{');
  CHECK(j.back() == '}');
  CHECK(contains(j, R"("task":"adding")"));
  CHECK(contains(j, R"("length":50)"));
  CHECK(contains(j, R"("seed":9)"));
  CHECK(contains(j, R"("algorithm":"tptt")"));
  CHECK(contains(j, R"("alpha_f":0.01)"));
}

TEST_CASE("command_to_json: the log's config holds every option that train --help lists") {
  const std::string help = parse_train_command({"--help"}).help_text;
  const std::string j = command_to_json(parse_train_command({"--checkpoint", "c.ckpt", "--trace", "t.json"})).str();
  std::istringstream lines(help);
  int options = 0;
  for (std::string line; std::getline(lines, line);) {
    const auto dashes = line.find("--");
    if (line.rfind("  -", 0) != 0 || dashes == std::string::npos) continue;  // not an option's first line
    std::string name = line.substr(dashes + 2, line.find_first_of(" ]", dashes) - dashes - 2);
    if (name == "help") continue;
    std::replace(name.begin(), name.end(), '-', '_');
    if (name == "config") name = "config_file";  // the file the options were read from
    ++options;
    CHECK_MESSAGE(contains(j, "\"" + name + "\":"), name);
  }
  CHECK(options > 40);
  CHECK(contains(j, R"("checkpoint":"c.ckpt")"));
  CHECK(contains(j, R"("trace":"t.json")"));
  CHECK(contains(j, R"("sync":"exact")"));
}

TEST_CASE("a model loaded for eval: the model file fixes its options, not where its data lives") {
  TempFile ckpt("", ".ckpt");
  Checkpoint cp;
  cp.put_string("config", "task = mnist\ndata-dir = /old/mnist\nhidden = 8\nalgorithm = tptt\noptimizer = nesterov\n");
  write_checkpoint_atomic(ckpt.str(), cp);
  const auto usage_error = [&ckpt](const std::vector<std::string>& extra, ResumeScope scope) {
    std::vector<std::string> args = {"--resume", ckpt.str()};
    args.insert(args.end(), extra.begin(), extra.end());
    try {
      (void)parse_train_command(args, scope);
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  const std::string eval = usage_error({"--hidden", "50"}, ResumeScope::ModelOnly);
  CHECK(contains(eval, "--hidden: the model"));
  CHECK(contains(eval, "the model file fixes it"));
  CHECK_FALSE(contains(eval, "resumed run"));
  CHECK(contains(usage_error({"--hidden", "50"}, ResumeScope::Run), "a resumed run cannot change it"));
  const std::string moved = usage_error({"--data-dir", "/new/mnist"}, ResumeScope::ModelOnly);
  CHECK_MESSAGE(moved.empty(), moved);
  CHECK(contains(usage_error({"--data-dir", "/new/mnist"}, ResumeScope::Run), "--data-dir"));
}

TEST_CASE("parse_train_command: Boost placeholders in names or values are refused, not looped on") {
  // Found by fuzz_config: Boost 1.74 loops forever formatting an error that quotes them.
  CHECK_THROWS_AS(parse_train_command({"--x%canonical_option%"}), UsageError);
  CHECK_THROWS_AS(parse_train_command({"--length=%value%"}), UsageError);
  TempFile ini("x%canonical_option% = 1\n");
  CHECK_THROWS_AS(parse_train_command({"--config", ini.str()}), UsageError);
  TempFile line("x%invalid_line%\n");
  CHECK_THROWS_AS(parse_train_command({"--config", line.str()}), UsageError);
  CHECK(parse_train_command({"--log", "out/100%.jsonl"}).config.log_path == "out/100%.jsonl");  // a lone % is fine
}

// ---------------------------------------------------------------------------------------
// What a user sees (issue 14): labels, config files, numbers, stored run options
// ---------------------------------------------------------------------------------------

TEST_CASE("mode and schedule labels name what runs") {
  DistributedConfig d;
  CHECK(d.mode_name() == "exact");
  d.sync = SyncMode::Pipelined, d.micro_batches = 4;
  CHECK(d.mode_name() == "pipelined(4)");
  d.sync = SyncMode::Stale, d.staleness = 2, d.micro_batches = 1;
  CHECK(d.mode_name() == "stale(2)");
  d.micro_batches = 3;
  CHECK(d.mode_name() == "stale(2,M=3)");
  d.compensation = StalenessCompensation::PredictDc;
  CHECK(d.mode_name() == "stale(2,M=3,predict+dc)");
  d.compensation = StalenessCompensation::None;
  d.micro_batches = 1, d.decoupled = true;
  CHECK(d.mode_name() == "decoupled+stale(2)");
  d.sync = SyncMode::Exact;
  CHECK(d.mode_name() == "decoupled");

  CHECK(schedule_label(parse_train_command({}).config) == "alternate");
  CHECK(schedule_label(parse_train_command({"--schedule", "random", "--p-g", "0.5"}).config) == "random(p_G=0.5)");
  CHECK(schedule_label(parse_train_command({"--algorithm", "bptt"}).config) == "none");
}

TEST_CASE("micro-batch choice: candidates, the model and the best M") {
  CHECK(micro_batch_candidates(20) == std::vector<int>{2, 3, 4, 5, 7, 10, 20});
  CHECK(micro_batch_candidates(2) == std::vector<int>{2});
  CHECK(micro_batch_candidates(1).empty());
  const MicroBatchCosts c{0.002, 0.003};  // chains 2 ms, the rest 3 ms
  CHECK(predicted_iteration_seconds(c, 4, 3) == doctest::Approx(4 * 0.005 + 2 * 0.002));
  // Narrow micro-batches cost more per column: the best M balances that against the pipeline's ends.
  const std::vector<int> m{2, 4, 10};
  const std::vector<MicroBatchCosts> costs{{0.004, 0.006}, {0.002, 0.0032}, {0.001, 0.0016}};
  CHECK(best_micro_batches(m, costs, 1) == 2);   // 2·10 = 20 ms, 4·5.2 = 20.8, 10·2.6 = 26
  CHECK(best_micro_batches(m, costs, 8) == 10);  // 20 + 7·4 = 48, 20.8 + 7·2 = 34.8, 26 + 7·1 = 33
  CHECK(best_micro_batches({2, 4}, {{0.001, 0.001}, {0.0005, 0.0005}}, 1) == 2);  // a tie: the smaller M
  CHECK_THROWS_AS(best_micro_batches({2}, {}, 1), std::logic_error);
  const std::string line = describe_micro_batch_choice(4, m, costs, 8);
  CHECK(line.find("--micro-batches auto: M = 4 (predicted ms per iteration: M=2 48 M=4 34.8 M=10 33)") == 0);
}

TEST_CASE("parse_train_command: --micro-batches auto") {
  const TrainCommand a = parse_train_command({"--sync", "pipelined", "--micro-batches", "auto"});
  CHECK(a.run.dist.auto_micro_batches);
  CHECK_FALSE(a.run.micro_batches_from_ranks);
  CHECK(a.run.dist.mode_name() == "pipelined(auto)");
  CHECK(contains(run_options_to_ini(a), "micro-batches = auto\n"));
  CHECK(contains(parse_error<UsageError>({"--sync", "stale", "--micro-batches", "auto"}),
                 "--micro-batches auto needs --sync pipelined"));
  CHECK(contains(parse_error<UsageError>({"--sync", "pipelined", "--micro-batches", "4x"}),
                 "--micro-batches: expected a count (1, 2, ...) or auto, got '4x'"));
}

TEST_CASE("parse_train_command: mode defaults and refusals of options that would do nothing") {
  const TrainCommand stale = parse_train_command({"--sync", "stale"});
  CHECK(stale.run.dist.staleness == 1);
  CHECK(parse_train_command({"--sync", "stale", "--staleness", "0"}).run.dist.staleness == 0);
  TrainCommand pipelined = parse_train_command({"--sync", "pipelined"});
  CHECK(pipelined.run.micro_batches_from_ranks);
  resolve_micro_batches(pipelined, 1);
  CHECK(pipelined.run.dist.micro_batches == 2);
  resolve_micro_batches(pipelined, 5);
  CHECK(pipelined.run.dist.micro_batches == 5);
  CHECK_FALSE(parse_train_command({"--sync", "pipelined", "--micro-batches", "3"}).run.micro_batches_from_ranks);
  CHECK(contains(parse_error<UsageError>({"--algorithm", "bptt", "--diagnostics"}), "--diagnostics"));
  CHECK(contains(parse_error<UsageError>({"--algorithm", "lstm", "--diagnostics"}), "--diagnostics"));
  CHECK(contains(parse_error<UsageError>({"--decoupled-rate", "0.3"}), "--decoupled-rate"));
}

TEST_CASE("parse_train_command: config keys with dashes or underscores; errors name the file and the line") {
  TempFile ini(
      "# keys as the log prints them\nvalidation_samples = 123\nmax-iterations=7 # a comment\n"
      "check_every = 5\nno_progress = true\ndiagnostics = false\nalgorithm = tptt_hx\n");
  const TrainCommand cmd = parse_train_command({"--config", ini.str()});
  CHECK(cmd.config.validation_samples == 123);
  CHECK(cmd.config.max_iterations == 7);
  CHECK(cmd.config.check_every == 5);
  CHECK_FALSE(cmd.config.progress);
  CHECK_FALSE(cmd.run.diagnostics);
  CHECK(cmd.config.algorithm == Algorithm::TpttHx);

  const auto error_of = [](const std::string& text) {
    TempFile bad(text);
    std::string msg = parse_error<UsageError>({"--config", bad.str()});
    CHECK(contains(msg, "config file '" + bad.str() + "'"));
    return msg;
  };
  CHECK(contains(error_of("length = 30\n\nwibble_wobble = 3\n"), "line 3: unknown option 'wibble_wobble'"));
  CHECK(contains(error_of("length = 30\nbatch = many\n"), "line 2: the argument ('many') for option 'batch'"));
  CHECK(contains(error_of("length = 30\nlength = 40\n"), "line 2: 'length' is given twice (also on line 1)"));
  CHECK(contains(error_of("no_progress = maybe\n"), "line 1: 'no-progress' is a flag"));
  CHECK(contains(error_of("just words\n"), "line 1: expected 'key = value'"));
  CHECK(contains(error_of("[section]\n"), "line 1: expected 'key = value'"));
  CHECK(contains(error_of("config = other.ini\n"), "unknown option 'config'"));
}

TEST_CASE("numbers print in shortest round-trip form: help defaults, config echo, INI") {
  const std::string help = parse_train_command({"--help"}).help_text;
  CHECK(contains(help, "--init-std arg (=0.1)"));
  CHECK(contains(help, "--alpha-g arg (=0.001)"));
  CHECK_FALSE(contains(help, "0000000"));
  CHECK_FALSE(contains(help, "--fail-at-iteration"));                                   // the hidden testing group
  CHECK(parse_train_command({"--fail-at-iteration", "3"}).run.fail_at_iteration == 3);  // still accepted
  const TrainCommand cmd = parse_train_command({"--init-std", "0.1", "--p-g", "0.3", "--schedule", "random"});
  CHECK(contains(config_to_json(cmd.config).str(), R"("init_std":0.1,)"));
  CHECK(contains(config_to_ini(cmd.config), "init-std = 0.1\n"));
  CHECK(contains(config_to_ini(cmd.config), "p-g = 0.3\n"));
  CHECK(same_option_value("0.1", "0.10000000000000001"));
  CHECK(same_option_value("tptt", "tptt"));
  CHECK_FALSE(same_option_value("0.1", "0.2"));
  CHECK_FALSE(same_option_value("0.1x", "0.1"));
}

TEST_CASE("train_options_help: each command lists the train options that apply to it") {
  const std::string eval = train_options_help(HelpFor::Eval);
  CHECK(contains(eval, "--validation-batch"));
  CHECK(contains(eval, "--threads"));
  for (const char* absent : {"--alpha-f", "--resume", "--checkpoint", "--sync", "--fail-kind", "--log "})
    CHECK_MESSAGE(!contains(eval, absent), absent);
  const std::string curriculum = train_options_help(HelpFor::Curriculum);
  CHECK(contains(curriculum, "--alpha-f"));
  for (const char* absent : {"--max-length", "--min-length", "[ --length ]", "--resume", "--sync", "--diagnostics"})
    CHECK_MESSAGE(!contains(curriculum, absent), absent);
  const std::string sweep = train_options_help(HelpFor::Sweep);
  CHECK(contains(sweep, "--length"));
  CHECK(contains(sweep, "--mpi"));
  for (const char* absent : {"--checkpoint", "--save-params", "--sync", "--log-all-ranks"})
    CHECK_MESSAGE(!contains(sweep, absent), absent);
}

TEST_CASE("run_options_to_ini: what a bare --resume restores") {
  TrainCommand cmd = parse_train_command({"--log", "out/x.jsonl", "--checkpoint", "c.ckpt", "--threads", "2", "--sync",
                                          "pipelined", "--micro-batches", "4", "--checkpoint-every", "7"});
  const std::string ini = run_options_to_ini(cmd);
  CHECK(contains(ini, "log = " + (std::filesystem::current_path() / "out/x.jsonl").string() + "\n"));
  CHECK(contains(ini, "checkpoint = " + (std::filesystem::current_path() / "c.ckpt").string() + "\n"));
  CHECK(contains(ini, "threads = 2\n"));
  CHECK(contains(ini, "sync = pipelined\nmicro-batches = 4\n"));
  CHECK(contains(ini, "checkpoint-every = 7\n"));
  CHECK_FALSE(contains(ini, "save-params"));
}

// ---------------------------------------------------------------------------------------
// iteration_work: the benchmark's multiply-add count and the split behind its bound
// ---------------------------------------------------------------------------------------

TEST_CASE("iteration_work: chain, span and batched products of each algorithm") {
  const IterationShape s{100, 20, 6, 100, 4};  // T, B, I, H, O
  const double unit = 100.0 * 100 * 100 * 20, input = 100.0 * 6 * 100 * 20, output = 3.0 * 4 * 100 * 20;
  const IterationWork tptt = iteration_work(Algorithm::Tptt, s);
  CHECK(tptt.chain == 3 * unit);  // forward, targets (eq. 8), ∂E/∂h (eq. 12)
  CHECK(tptt.span == 2 * unit);   // the two backward chains side by side
  CHECK(tptt.batched == 3 * unit + 2 * input + output);
  CHECK(iteration_multiply_adds(Algorithm::Tptt, s) == 6 * unit + 2 * input + output);
  const IterationWork bptt = iteration_work(Algorithm::Bptt, s);
  CHECK(bptt.chain == 2 * unit);
  CHECK(bptt.span == bptt.chain);
  CHECK(bptt.total() == 3 * unit + 2 * input + output);
  CHECK(iteration_work(Algorithm::TpttHx, s).total() == 5 * unit + 2 * input + output);
  CHECK(iteration_work(Algorithm::Lstm, s).total() == 12 * unit + 8 * input + output);
}

// main sets flush-to-zero and denormals-are-zero (core/float_mode.hpp): subnormal floats become
// zero, and oneTBB's worker threads run in the same mode as the thread that started them, so
// that results do not depend on the number of threads.
TEST_CASE("FloatMode: subnormals flush to zero on the calling thread and on oneTBB's workers") {
  tptt::flush_subnormals_to_zero();
  CHECK(tptt::subnormals_flushed());
  volatile float tiny = 1e-30f;
  volatile float product = tiny * 1e-10f;  // 1e-40: subnormal in IEEE arithmetic
  CHECK(product == 0.0f);
  std::atomic<int> unflushed{0};
  tbb::task_arena arena(2);
  arena.execute([&] {
    tbb::parallel_for(0, 64, [&](int) {
      if (!tptt::subnormals_flushed()) ++unflushed;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));  // so that a worker takes some
    });
  });
  CHECK(unflushed.load() == 0);
}
