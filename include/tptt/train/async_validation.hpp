#pragma once
// A check's validation beside training (--async-validation; train/protocol.hpp). The work
// items of a pass over a snapshot of the parameters (train/validation.hpp) are queued on the
// rank's arena: a thread that training leaves idle picks them up, while training's own
// parallel work stays on its threads (ThreadArena::execute isolates it). With one thread
// nothing is idle: poll() runs one item between iterations, which spreads the check's cost
// over the iterations that follow it but hides none of it.
#include <memory>

#include "tptt/train/validation.hpp"

namespace tptt {

class BackgroundValidation {
 public:
  BackgroundValidation(std::shared_ptr<ValidationPass> pass, ThreadArena& arena);
  ~BackgroundValidation();  // wait()s: no item outlives the arena
  BackgroundValidation(const BackgroundValidation&) = delete;
  BackgroundValidation& operator=(const BackgroundValidation&) = delete;

  // Between iterations: true when every item has finished. With one thread, runs one first.
  bool poll();
  // Runs the items nobody has started on this thread, then waits for those in flight.
  void wait();
  const ValidationPass& pass() const { return *pass_; }

 private:
  std::shared_ptr<ValidationPass> pass_;
  bool queued_;  // the items were queued on the arena's threads
};

}  // namespace tptt
