#include "tptt/train/async_validation.hpp"

namespace tptt {

BackgroundValidation::BackgroundValidation(std::shared_ptr<ValidationPass> pass, ThreadArena& arena)
    : pass_(std::move(pass)), queued_(arena.threads() > 1) {
  if (!queued_) return;
  // One queued task per item: a thread returns to the scheduler between items.
  for (std::size_t i = 0; i < pass_->items(); ++i) arena.enqueue([pass = pass_] { pass->run_next(); });
}

BackgroundValidation::~BackgroundValidation() { wait(); }

bool BackgroundValidation::poll() {
  if (!queued_) pass_->run_next();
  return pass_->finished();
}

void BackgroundValidation::wait() {
  while (pass_->run_next()) {
  }
  pass_->wait_finished();
}

}  // namespace tptt
