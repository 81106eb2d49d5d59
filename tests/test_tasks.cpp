// Task generators against docs/method.md §5: marker positions, labels, value ranges, class balance,
// determinism in (seed, iteration). Everything is recovered from the generated X and Y only.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "tptt/core/error.hpp"
#include "tptt/core/rng.hpp"
#include "tptt/data/tasks.hpp"

using namespace tptt;

namespace {

Eigen::Index column(const Batch& b, int t, int seq) { return static_cast<Eigen::Index>(t) * b.batch + seq; }

// Symbol (argmax) at step t (0-based) of sequence seq; checks the column is exactly one-hot.
int symbol_at(const Batch& b, int t, int seq) {
  const auto col = b.X.col(column(b, t, seq));
  Eigen::Index arg = -1;
  col.maxCoeff(&arg);
  CHECK(col.sum() == doctest::Approx(1.0));
  CHECK(col(arg) == 1.0f);
  CHECK((col.array() == 0.0f).count() == col.size() - 1);
  return static_cast<int>(arg);
}

int label_of(const Batch& b, int seq) {
  const auto col = b.Y.col(seq);
  Eigen::Index arg = -1;
  col.maxCoeff(&arg);
  CHECK(col.sum() == doctest::Approx(1.0));
  CHECK((col.array() == 0.0f).count() == col.size() - 1);
  return static_cast<int>(arg);
}

// Chi-square statistic of observed class counts against a uniform distribution.
double chi_square_uniform(const std::vector<long>& counts) {
  long total = 0;
  for (long c : counts) total += c;
  const double expected = static_cast<double>(total) / counts.size();
  double chi2 = 0;
  for (long c : counts) chi2 += (c - expected) * (c - expected) / expected;
  return chi2;
}

// Upper 0.1% points of the chi-square distribution for k − 1 degrees of freedom.
double chi_square_critical(int classes) {
  switch (classes) {
    case 2: return 10.83;
    case 4: return 16.27;
    case 8: return 24.32;
    default: return 1e300;
  }
}

bool same_batch(const Batch& a, const Batch& b) {
  return a.steps == b.steps && a.batch == b.batch && a.X.rows() == b.X.rows() && a.X.cols() == b.X.cols() &&
         a.Y.rows() == b.Y.rows() && a.Y.cols() == b.Y.cols() && a.X == b.X && a.Y == b.Y;
}

Batch make(TaskKind task, int length, int batch, std::uint64_t seed, std::uint64_t iteration) {
  CounterRng rng(seed, RngPurpose::TrainData, iteration);
  return generate_batch(task, length, batch, rng);
}

// Temporal order tasks: markers are symbols 0/1, distractors 2..5; marker m lies in
// [⌊tenths[m]·L/10⌋, ⌊tenths[m]·L/10⌋ + ⌊0.1L⌋); class = Σ v_m·2^m.
void check_temporal(TaskKind task, const std::vector<int>& tenths, int length, int batch, std::uint64_t seed,
                    std::uint64_t iteration, std::vector<long>* class_counts) {
  const Batch b = make(task, length, batch, seed, iteration);
  const TaskInfo info = task_info(task);
  REQUIRE(b.steps == length);
  REQUIRE(b.batch == batch);
  REQUIRE(b.X.rows() == info.inputs);
  REQUIRE(b.X.cols() == static_cast<Eigen::Index>(length) * batch);
  REQUIRE(b.Y.rows() == info.outputs);
  REQUIRE(b.Y.cols() == batch);
  const std::vector<int> labels = batch_labels(task, b);
  REQUIRE(static_cast<int>(labels.size()) == batch);
  const int width = length / 10;
  for (int s = 0; s < batch; ++s) {
    std::vector<int> positions, values;
    for (int t = 0; t < length; ++t) {
      const int sym = symbol_at(b, t, s);
      REQUIRE(sym >= 0);
      REQUIRE(sym <= 5);
      if (sym <= 1) {
        positions.push_back(t);
        values.push_back(sym);
      }
    }
    REQUIRE(positions.size() == tenths.size());
    int expected_label = 0;
    for (std::size_t m = 0; m < tenths.size(); ++m) {
      const int lo = tenths[m] * length / 10;  // exact ⌊tenths·L/10⌋
      INFO("task ", to_string(task), " L=", length, " marker ", m, " at ", positions[m]);
      CHECK(positions[m] >= lo);
      CHECK(positions[m] < lo + width);
      expected_label += values[m] << m;
    }
    const int label = label_of(b, s);
    CHECK(label == expected_label);
    CHECK(labels[s] == label);
    if (class_counts) ++(*class_counts)[label];
  }
}

}  // namespace

TEST_CASE("task names and shapes") {
  CHECK(parse_task("temporal") == TaskKind::Temporal);
  CHECK(parse_task("temporal3") == TaskKind::Temporal3);
  CHECK(parse_task("adding") == TaskKind::Adding);
  CHECK(parse_task("perm") == TaskKind::Perm);
  CHECK_THROWS_AS(parse_task("foo"), UsageError);
  for (TaskKind t : {TaskKind::Temporal, TaskKind::Temporal3, TaskKind::Adding, TaskKind::Perm})
    CHECK(parse_task(to_string(t)) == t);

  CHECK(task_info(TaskKind::Temporal).inputs == 6);
  CHECK(task_info(TaskKind::Temporal).outputs == 4);
  CHECK_FALSE(task_info(TaskKind::Temporal).regression);
  CHECK(task_info(TaskKind::Temporal3).inputs == 6);
  CHECK(task_info(TaskKind::Temporal3).outputs == 8);
  CHECK(task_info(TaskKind::Adding).inputs == 2);
  CHECK(task_info(TaskKind::Adding).outputs == 1);
  CHECK(task_info(TaskKind::Adding).regression);
  CHECK(task_info(TaskKind::Perm).inputs == 100);
  CHECK(task_info(TaskKind::Perm).outputs == 100);
  CHECK_FALSE(task_info(TaskKind::Perm).regression);
}

TEST_CASE("generate_batch rejects a length below the task minimum and an empty batch") {
  CounterRng rng(1, RngPurpose::TrainData, 0);
  for (TaskKind t : {TaskKind::Temporal, TaskKind::Temporal3, TaskKind::Adding, TaskKind::Perm}) {
    const int min_len = task_info(t).min_length;
    CHECK_THROWS_AS(generate_batch(t, min_len - 1, 4, rng), UsageError);
    CHECK_THROWS_AS(generate_batch(t, min_len, 0, rng), UsageError);
    CHECK_NOTHROW(generate_batch(t, min_len, 1, rng));
  }
}

TEST_CASE("temporal: two markers in their ranges, label = v0 + 2 v1") {
  for (int length : {10, 11, 19, 30, 37, 60, 100, 123}) {
    CAPTURE(length);
    for (std::uint64_t it = 0; it < 20; ++it) check_temporal(TaskKind::Temporal, {1, 5}, length, 20, 7, it, nullptr);
  }
}

TEST_CASE("temporal3: three markers in their ranges, label = v0 + 2 v1 + 4 v2") {
  for (int length : {10, 13, 30, 70, 101}) {
    CAPTURE(length);
    for (std::uint64_t it = 0; it < 20; ++it)
      check_temporal(TaskKind::Temporal3, {1, 3, 6}, length, 20, 11, it, nullptr);
  }
}

TEST_CASE("temporal tasks: classes are balanced and marker positions cover their ranges") {
  SUBCASE("temporal") {
    std::vector<long> counts(4, 0);
    for (std::uint64_t it = 0; it < 400; ++it) check_temporal(TaskKind::Temporal, {1, 5}, 60, 20, 3, it, &counts);
    for (long c : counts) CHECK(c > 0);
    CHECK(chi_square_uniform(counts) < chi_square_critical(4));
  }
  SUBCASE("temporal3") {
    std::vector<long> counts(8, 0);
    for (std::uint64_t it = 0; it < 400; ++it) check_temporal(TaskKind::Temporal3, {1, 3, 6}, 70, 20, 3, it, &counts);
    for (long c : counts) CHECK(c > 0);
    CHECK(chi_square_uniform(counts) < chi_square_critical(8));
  }
  SUBCASE("every position of the first marker's range occurs, and all four distractors") {
    const int length = 60, width = 6;
    std::vector<long> first(width, 0), second(width, 0), distractor(6, 0);
    for (std::uint64_t it = 0; it < 100; ++it) {
      const Batch b = make(TaskKind::Temporal, length, 20, 5, it);
      for (int s = 0; s < b.batch; ++s) {
        int seen = 0;
        for (int t = 0; t < length; ++t) {
          Eigen::Index sym;
          b.X.col(column(b, t, s)).maxCoeff(&sym);
          if (sym <= 1) {
            if (seen == 0)
              ++first[t - 6];
            else
              ++second[t - 30];
            ++seen;
          } else {
            ++distractor[sym];
          }
        }
      }
    }
    for (long c : first) CHECK(c > 0);
    for (long c : second) CHECK(c > 0);
    for (int sym = 2; sym <= 5; ++sym) CHECK(distractor[sym] > 0);
    std::vector<long> d(distractor.begin() + 2, distractor.end());
    CHECK(chi_square_uniform(d) < chi_square_critical(4));
  }
}

TEST_CASE("adding: length, markers, values and target") {
  for (int length : {10, 20, 37, 60, 100}) {
    CAPTURE(length);
    const int extra = length / 10;
    int shortest = 1 << 30, longest = 0;
    for (std::uint64_t it = 0; it < 60; ++it) {
      const int batch = 20;
      const Batch b = make(TaskKind::Adding, length, batch, 13, it);
      const int l = b.steps;
      shortest = std::min(shortest, l);
      longest = std::max(longest, l);
      REQUIRE(l >= length);
      REQUIRE(l < length + extra);
      REQUIRE(b.batch == batch);
      REQUIRE(b.X.rows() == 2);
      REQUIRE(b.X.cols() == static_cast<Eigen::Index>(l) * batch);
      REQUIRE(b.Y.rows() == 1);
      REQUIRE(b.Y.cols() == batch);
      const std::vector<int> labels = batch_labels(TaskKind::Adding, b);
      REQUIRE(static_cast<int>(labels.size()) == batch);
      for (int lab : labels) CHECK(lab == -1);
      const int tenth = l / 10, forty = (4 * l) / 10;
      for (int s = 0; s < batch; ++s) {
        std::vector<int> markers;
        for (int t = 0; t < l; ++t) {
          const float m = b.X(0, column(b, t, s));
          const float v = b.X(1, column(b, t, s));
          CHECK((m == 0.0f || m == 1.0f));
          if (m == 1.0f) markers.push_back(t);
          CHECK(v >= 0.0f);
          CHECK(v < 1.0f);
        }
        REQUIRE(markers.size() == 2);
        INFO("l=", l, " p0=", markers[0], " p1=", markers[1]);
        CHECK(markers[0] >= 0);
        CHECK(markers[0] < tenth);
        CHECK(markers[1] >= tenth);
        CHECK(markers[1] < tenth + forty);
        const double expected = (static_cast<double>(b.X(1, column(b, markers[0], s))) +
                                 b.X(1, column(b, markers[1], s))) /
                                2.0;
        CHECK(b.Y(0, s) == doctest::Approx(expected).epsilon(1e-6));
      }
    }
    // One l per batch, drawn from [L, L + ⌊0.1L⌋): with 60 batches both ends occur.
    CHECK(shortest == length);
    CHECK(longest == length + extra - 1);
  }
}

TEST_CASE("adding: values are spread over [0, 1) and the target mean is about 1/2") {
  double sum_values = 0, sum_targets = 0;
  long n_values = 0, n_targets = 0;
  std::vector<long> deciles(10, 0);
  for (std::uint64_t it = 0; it < 100; ++it) {
    const Batch b = make(TaskKind::Adding, 50, 20, 17, it);
    for (Eigen::Index c = 0; c < b.X.cols(); ++c) {
      const double v = b.X(1, c);
      sum_values += v;
      ++n_values;
      ++deciles[std::min(9, static_cast<int>(v * 10))];
    }
    for (Eigen::Index s = 0; s < b.Y.cols(); ++s) {
      sum_targets += b.Y(0, s);
      ++n_targets;
    }
  }
  CHECK(sum_values / n_values == doctest::Approx(0.5).epsilon(0.02));
  CHECK(sum_targets / n_targets == doctest::Approx(0.5).epsilon(0.05));
  // 9 degrees of freedom, upper 0.1% point 27.88.
  CHECK(chi_square_uniform(deciles) < 27.88);
}

TEST_CASE("perm: symbol 0 is the label, the others are in 2..99, classes balanced") {
  std::vector<long> counts(2, 0);
  for (int length : {2, 3, 10, 70, 150}) {
    CAPTURE(length);
    for (std::uint64_t it = 0; it < 40; ++it) {
      const int batch = 20;
      const Batch b = make(TaskKind::Perm, length, batch, 21, it);
      REQUIRE(b.steps == length);
      REQUIRE(b.X.rows() == 100);
      REQUIRE(b.X.cols() == static_cast<Eigen::Index>(length) * batch);
      REQUIRE(b.Y.rows() == 100);
      REQUIRE(b.Y.cols() == batch);
      const std::vector<int> labels = batch_labels(TaskKind::Perm, b);
      for (int s = 0; s < batch; ++s) {
        const int label = label_of(b, s);
        CHECK((label == 0 || label == 1));
        CHECK(labels[s] == label);
        CHECK(symbol_at(b, 0, s) == label);
        for (int t = 1; t < length; ++t) {
          const int sym = symbol_at(b, t, s);
          CHECK(sym >= 2);
          CHECK(sym <= 99);
        }
        ++counts[label];
      }
    }
  }
  CHECK(chi_square_uniform(counts) < chi_square_critical(2));
}

TEST_CASE("perm: the distractor symbols cover 2..99") {
  std::vector<long> seen(100, 0);
  for (std::uint64_t it = 0; it < 20; ++it) {
    const Batch b = make(TaskKind::Perm, 100, 20, 23, it);
    for (int s = 0; s < b.batch; ++s)
      for (int t = 1; t < b.steps; ++t) {
        Eigen::Index sym;
        b.X.col(column(b, t, s)).maxCoeff(&sym);
        ++seen[sym];
      }
  }
  CHECK(seen[0] == 0);
  CHECK(seen[1] == 0);
  for (int sym = 2; sym < 100; ++sym) CHECK(seen[sym] > 0);
}

TEST_CASE("a batch is a function of (seed, iteration) only") {
  for (TaskKind task : {TaskKind::Temporal, TaskKind::Temporal3, TaskKind::Adding, TaskKind::Perm}) {
    CAPTURE(to_string(task));
    const Batch a = make(task, 40, 20, 99, 1234);
    const Batch b = make(task, 40, 20, 99, 1234);
    CHECK(same_batch(a, b));
    // Generating something else in between does not disturb it.
    (void)make(task, 40, 20, 99, 1235);
    CHECK(same_batch(a, make(task, 40, 20, 99, 1234)));
    CHECK_FALSE(same_batch(a, make(task, 40, 20, 99, 1235)));
    CHECK_FALSE(same_batch(a, make(task, 40, 20, 100, 1234)));
    // The purpose keeps the validation stream apart from the training stream.
    CounterRng vrng(99, RngPurpose::ValidationData, 1234);
    CHECK_FALSE(same_batch(a, generate_batch(task, 40, 20, vrng)));
  }
}

namespace {

// The 0-based steps of the marker symbols (0 or 1) of sequence seq, in order.
std::vector<int> marker_steps_of(const Batch& b, int seq) {
  std::vector<int> steps;
  for (int t = 0; t < b.steps; ++t)
    if (symbol_at(b, t, seq) <= 1) steps.push_back(t);
  return steps;
}

}  // namespace

TEST_CASE("temporal3 at T = 200: markers in [20,40), [60,80), [120,140), as the reference's TempOrder3bitTask") {
  // The reference (tempOrder3bit.py): p_m = randint(int(0.1 l)) + int(f_m l), f = 0.1, 0.3, 0.6.
  CounterRng rng(7, RngPurpose::EvaluationData, 0, 0);
  const Batch b = generate_batch(TaskKind::Temporal3, 200, 500, rng);
  int lo[3] = {1000, 1000, 1000}, hi[3] = {-1, -1, -1};
  for (int s = 0; s < b.batch; ++s) {
    const std::vector<int> m = marker_steps_of(b, s);
    REQUIRE(m.size() == 3);
    for (int k = 0; k < 3; ++k) lo[k] = std::min(lo[k], m[k]), hi[k] = std::max(hi[k], m[k]);
  }
  CHECK(lo[0] == 20);
  CHECK(hi[0] == 39);
  CHECK(lo[1] == 60);
  CHECK(hi[1] == 79);
  CHECK(lo[2] == 120);
  CHECK(hi[2] == 139);
}

TEST_CASE("MarkerLayout: the default is the task's batch; L0 = 100 at D = 0 and D = 100 in a length-200 sequence") {
  for (const TaskKind task : {TaskKind::Temporal, TaskKind::Temporal3}) {
    CounterRng a(3, RngPurpose::EvaluationData, 0, 1), b(3, RngPurpose::EvaluationData, 0, 1);
    CHECK(same_batch(generate_batch(task, 200, 64, a), generate_batch(task, 200, 64, b, MarkerLayout{})));
  }
  // temporal3, markers of a length-100 sequence: [10,20), [30,40), [60,70); moved by 100: [110,120), ...
  const int want_lo[2][3] = {{10, 30, 60}, {110, 130, 160}};
  for (int which = 0; which < 2; ++which) {
    const int offset = which * 100;
    CounterRng r1(5, RngPurpose::EvaluationData, 0, 0), r2(5, RngPurpose::EvaluationData, 0, 0);
    const Batch plain = generate_batch(TaskKind::Temporal3, 200, 400, r1);
    const Batch moved = generate_batch(TaskKind::Temporal3, 200, 400, r2, MarkerLayout{100, offset});
    REQUIRE(moved.steps == 200);
    int lo[3] = {1000, 1000, 1000}, hi[3] = {-1, -1, -1};
    for (int s = 0; s < moved.batch; ++s) {
      const std::vector<int> m = marker_steps_of(moved, s);
      REQUIRE(m.size() == 3);
      for (int k = 0; k < 3; ++k) lo[k] = std::min(lo[k], m[k]), hi[k] = std::max(hi[k], m[k]);
      CHECK(label_of(moved, s) == label_of(plain, s));  // the same draws: the same labels
    }
    for (int k = 0; k < 3; ++k) {
      CHECK(lo[k] == want_lo[which][k]);
      CHECK(hi[k] == want_lo[which][k] + 9);
    }
  }
  CounterRng r(1, RngPurpose::EvaluationData, 0, 0);
  CHECK_THROWS_AS(generate_batch(TaskKind::Temporal3, 200, 4, r, MarkerLayout{100, 101}), UsageError);
  CHECK_THROWS_AS(generate_batch(TaskKind::Perm, 200, 4, r, MarkerLayout{100, 0}), UsageError);
  CHECK_THROWS_AS(generate_batch(TaskKind::Mnist, 784, 4, r, MarkerLayout{100, 0}), UsageError);
}
