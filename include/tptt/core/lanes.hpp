#pragma once
// Lanes: a pass's work as sequences of items that two strands share.
//
// A lane is a sequence of items, each run by whichever strand claims it once it is ready (its
// inputs exist: a chain has passed its steps). A sequential lane's items run in order, one at
// a time: they write outputs of their own (a chain's buffers, a gradient's rows), summed in the
// lane's order. An independent lane's items write disjoint outputs and may run side by side
// (G(x_t, h_t) of different steps). Either way the result has the same bits whoever runs the
// items and on any number of threads.
//
// run_strands runs a set of lanes on two strands. The strand that starts first is the chain
// strand: it runs the lanes of its list (a sequential chain first, then everything else),
// each time the first one with a ready item. The other strand, the helper, runs the lanes of
// its own list beside it (the work independent over t; or a chain of its own, the helper's
// lane, which the chain strand then leaves to it), and waits for an item only while that
// item's inputs are still to come. So a chain runs without a break on one thread while the
// other does the batched products as soon as their inputs exist, and at the end both share
// what is left. With one thread (or while the arena's other thread is busy elsewhere) the
// chain strand runs everything in its list's order.
#include <atomic>
#include <functional>
#include <initializer_list>
#include <memory>

#include "tptt/core/parallel.hpp"

namespace tptt {

class Lane {
 public:
  enum class Order { Sequential, Independent };
  // items: how many; run(i) runs item i; ready(i) (null: always) says whether its inputs exist
  // (it is asked in the order of the items).
  Lane(int items, std::function<void(int)> run, std::function<bool(int)> ready = {}, Order order = Order::Sequential)
      : items_(items), order_(order), run_(std::move(run)), ready_(std::move(ready)) {
    if (order == Order::Independent && items > 0) item_finished_ = std::make_unique<std::atomic<bool>[]>(items);
  }
  Lane(const Lane&) = delete;
  Lane& operator=(const Lane&) = delete;

  // Items done so far; of a sequential lane, items 0 … finished() − 1. The acquire makes their
  // outputs visible to the caller.
  int finished() const { return finished_.load(std::memory_order_acquire); }
  bool done() const { return finished() >= items_; }
  // Whether item i is done (of an independent lane, finished() counts items that may have
  // completed out of order). The acquire makes its outputs visible to the caller.
  bool item_done(int i) const {
    return order_ == Order::Sequential ? finished() > i : item_finished_[i].load(std::memory_order_acquire);
  }

  // Runs the next item if it is ready and (sequential lane) no other strand is running one of
  // this lane's; whether it ran one.
  bool try_run();
  // Runs the items left, in order (one strand: no other may run this lane meanwhile).
  void run_all();

 private:
  void run_item(int i);

  int items_;
  Order order_;
  std::function<void(int)> run_;
  std::function<bool(int)> ready_;
  std::atomic<int> next_{0};                            // the next item to claim
  std::atomic<int> finished_{0};                        // items done
  std::atomic<bool> busy_{false};                       // a sequential lane's item is running
  std::unique_ptr<std::atomic<bool>[]> item_finished_;  // (items) an independent lane's items done
};

// Runs every lane of chain_order to its end on the arena's threads, as described above.
// helper_order lists the lanes the helper may take, in its order of preference (a subset of
// chain_order). helper_lane (if not null): a lane of both lists that the chain strand runs
// only until the helper has started. filler (if not null): a lane of the lists that fills a
// strand's waits but need not finish; the strands return once every other lane is done (the
// caller runs the rest of it later). An item's readiness may depend only on the progress of
// other lanes, without cycles, so that the chain strand alone always finds an item to run. An
// exception from an item stops both strands and is rethrown.
void run_strands(const ThreadArena& arena, std::initializer_list<Lane*> chain_order,
                 std::initializer_list<Lane*> helper_order, const Lane* helper_lane = nullptr,
                 const Lane* filler = nullptr);

}  // namespace tptt
