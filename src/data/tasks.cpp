#include "tptt/data/tasks.hpp"

#include <stdexcept>
#include <vector>

#include "tptt/core/error.hpp"

namespace tptt {

TaskKind parse_task(const std::string& name) {
  if (name == "temporal") return TaskKind::Temporal;
  if (name == "temporal3") return TaskKind::Temporal3;
  if (name == "adding") return TaskKind::Adding;
  if (name == "perm") return TaskKind::Perm;
  if (name == "mnist") return TaskKind::Mnist;
  throw UsageError("--task: unknown task '" + name + "' (expected temporal, temporal3, adding, perm or mnist)");
}

std::string to_string(TaskKind t) {
  switch (t) {
    case TaskKind::Temporal: return "temporal";
    case TaskKind::Temporal3: return "temporal3";
    case TaskKind::Adding: return "adding";
    case TaskKind::Perm: return "perm";
    case TaskKind::Mnist: return "mnist";
  }
  return "?";
}

TaskInfo task_info(TaskKind t) {
  switch (t) {
    case TaskKind::Temporal: return {6, 4, false, 10};  // rand(⌊0.1L⌋) needs L ≥ 10
    case TaskKind::Temporal3: return {6, 8, false, 10};
    case TaskKind::Adding: return {2, 1, true, 10};
    case TaskKind::Perm: return {100, 100, false, 2};       // symbols 0 and L must differ
    case TaskKind::Mnist: return {1, 10, false, 784, 784};  // one pixel per step, 28×28 pixels
  }
  return {};
}

namespace {

// Temporal order with markers starting at ⌊tenths·L/10⌋: symbols 0,1 = X,Y; 2..5 distractors.
// The markers are placed as in a sequence of `marker_length` (= length for the task itself),
// `offset` steps later.
void temporal_order(const std::vector<int>& tenths, int length, int marker_length, int offset, int batch,
                    CounterRng& rng, Batch& out) {
  const int width = marker_length / 10;  // ⌊0.1L⌋
  for (int b = 0; b < batch; ++b) {
    std::vector<int> symbols(length);
    for (int& s : symbols) s = 2 + rng.below(4);
    int label = 0;
    for (std::size_t m = 0; m < tenths.size(); ++m) {
      const int pos = offset + tenths[m] * marker_length / 10 + rng.below(width);
      const int v = rng.below(2);
      symbols[pos] = v;
      label += v << m;
    }
    for (int t = 0; t < length; ++t) out.X(symbols[t], static_cast<Eigen::Index>(t) * batch + b) = 1;
    out.Y(label, b) = 1;
  }
}

void adding(int length, int batch, CounterRng& rng, Batch& out) {
  const int l = out.steps;
  (void)length;
  const int tenth = l / 10;
  for (int b = 0; b < batch; ++b) {
    std::vector<double> values(l);
    for (double& v : values) v = rng.uniform();
    const int p0 = rng.below(tenth);
    const int p1 = tenth + rng.below((4 * l) / 10);
    for (int t = 0; t < l; ++t) {
      const Eigen::Index col = static_cast<Eigen::Index>(t) * batch + b;
      out.X(0, col) = (t == p0 || t == p1) ? 1 : 0;
      out.X(1, col) = static_cast<Scalar>(values[t]);
    }
    out.Y(0, b) = static_cast<Scalar>((values[p0] + values[p1]) / 2.0);
  }
}

void permutation(int length, int batch, CounterRng& rng, Batch& out) {
  for (int b = 0; b < batch; ++b) {
    const int v = rng.below(2);
    for (int t = 0; t < length; ++t) {
      const int symbol = (t == 0) ? v : 2 + rng.below(98);
      out.X(symbol, static_cast<Eigen::Index>(t) * batch + b) = 1;
    }
    out.Y(v, b) = 1;  // symbol L, equal to symbol 0
  }
}

}  // namespace

Batch generate_batch(TaskKind task, int length, int batch, CounterRng& rng, MarkerLayout layout) {
  const TaskInfo info = task_info(task);
  const bool temporal = task == TaskKind::Temporal || task == TaskKind::Temporal3;
  if (!layout.is_default() && !temporal)
    throw UsageError("--marker-length/--marker-offset: only for the tasks temporal and temporal3, not " +
                     to_string(task));
  if (task == TaskKind::Mnist) throw std::logic_error("generate_batch: task mnist reads its batches from MnistTask");
  if (length < info.min_length)
    throw UsageError("--length: task " + to_string(task) + " needs a length of at least " +
                     std::to_string(info.min_length) + ", got " + std::to_string(length));
  if (batch < 1) throw UsageError("--batch: must be at least 1");
  if (!layout.is_default()) {
    if (layout.length == 0) layout.length = length;
    if (layout.length < info.min_length || layout.offset < 0 || layout.offset + layout.length > length)
      throw UsageError("--marker-length/--marker-offset: the markers of a length-" + std::to_string(layout.length) +
                       " sequence (at least " + std::to_string(info.min_length) + ") moved " +
                       std::to_string(layout.offset) + " steps must fit in the length " + std::to_string(length));
  }
  const int marker_length = layout.length > 0 ? layout.length : length;
  Batch out;
  out.batch = batch;
  out.steps = (task == TaskKind::Adding) ? length + rng.below(length / 10) : length;  // one l per batch
  out.X = MatF::Zero(info.inputs, static_cast<Eigen::Index>(out.steps) * batch);
  out.Y = MatF::Zero(info.outputs, batch);
  switch (task) {
    case TaskKind::Temporal: temporal_order({1, 5}, length, marker_length, layout.offset, batch, rng, out); break;
    case TaskKind::Temporal3: temporal_order({1, 3, 6}, length, marker_length, layout.offset, batch, rng, out); break;
    case TaskKind::Adding: adding(length, batch, rng, out); break;
    case TaskKind::Perm: permutation(length, batch, rng, out); break;
    case TaskKind::Mnist: break;  // refused above
  }
  return out;
}

std::vector<int> batch_labels(TaskKind task, const Batch& b) {
  std::vector<int> labels(b.batch, -1);
  if (task_info(task).regression) return labels;
  for (int i = 0; i < b.batch; ++i) b.Y.col(i).maxCoeff(&labels[i]);
  return labels;
}

}  // namespace tptt
