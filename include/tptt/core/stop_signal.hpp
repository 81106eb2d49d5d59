#pragma once
// SIGINT and SIGTERM as a request to stop after the current iteration (the trainer then
// writes a checkpoint and exits cleanly) instead of killing the process mid-write.
namespace tptt {

// Installs the handlers (idempotent). A second signal of either kind while a stop is pending
// restores the default action, so that a user can still kill a stuck process.
void install_stop_handlers();
// The signal that requested a stop (SIGINT, SIGTERM), or 0.
int stop_signal();
// Test aid: behave as if `signal` had arrived.
void request_stop(int signal);
void clear_stop_request();

}  // namespace tptt
