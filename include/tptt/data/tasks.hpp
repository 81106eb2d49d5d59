#pragma once
// The paper's synthetic long-lag tasks (docs/method.md §5), generated exactly as the reference does.
// A batch is a pure function of (task, length, batch size, rng stream): every rank and
// thread that asks for iteration n of seed s gets the same data without messages.
// Sequential MNIST reads its data from files instead (data/mnist.hpp).
#include <string>

#include "tptt/core/rng.hpp"
#include "tptt/core/types.hpp"

namespace tptt {

enum class TaskKind { Temporal, Temporal3, Adding, Perm, Mnist };

TaskKind parse_task(const std::string& name);  // throws UsageError
std::string to_string(TaskKind t);

struct TaskInfo {
  int inputs = 0;           // I
  int outputs = 0;          // O
  bool regression = false;  // linear output + squared error (adding) instead of softmax
  int min_length = 1;       // shortest L the generator is defined for
  int fixed_length = 0;     // the only L the task has (mnist: 784 pixels); 0 = any L ≥ min_length
};
TaskInfo task_info(TaskKind t);

struct Batch {
  int steps = 0;  // T (for adding: the actual length l, which may exceed the requested L)
  int batch = 0;  // B
  MatF X;         // (I × T·B)  column (t−1)·B + b holds x_t of sequence b
  MatF Y;         // (O × B)    one-hot class, or the regression target
};

// Where the markers of temporal and temporal3 fall (the generalisation probe of `tptt eval
// --marker-length/--marker-offset`, docs/generalisation.md): as in a sequence of `length` steps
// (0: the batch's own length, the task's definition), moved `offset` steps later; every other
// step a distractor. The draws are the same as without a layout, so the default layout gives
// the task's own batch. Needs offset + length ≤ the batch's length; other tasks refuse a
// non-default layout (UsageError).
struct MarkerLayout {
  int length = 0;
  int offset = 0;
  bool is_default() const { return length == 0 && offset == 0; }
};

// One batch of `batch` sequences at requested length `length` (≥ task_info().min_length).
// Synthetic tasks only: mnist batches come from MnistTask (std::logic_error here).
Batch generate_batch(TaskKind task, int length, int batch, CounterRng& rng, MarkerLayout layout = {});

// Class index of each sequence (argmax of Y); −1 for regression tasks.
std::vector<int> batch_labels(TaskKind task, const Batch& b);

}  // namespace tptt
