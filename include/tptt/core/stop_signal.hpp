#pragma once
// SIGINT, SIGTERM and SIGUSR1 as a request to stop after the current iteration (the trainer
// then writes a checkpoint and exits cleanly) instead of killing the process mid-write.
// SIGUSR1 is the one Open MPI's mpirun forwards to the ranks without aborting the job (it
// cannot forward SIGINT or SIGTERM: it kills the job and exits 1); launch/mpirun.sh turns
// Ctrl-C and SIGTERM into it.
namespace tptt {

// Installs the handlers (idempotent). A second signal of either kind while a stop is pending
// restores the default action, so that a user can still kill a stuck process.
void install_stop_handlers();
// The signal that requested a stop (SIGINT, SIGTERM, SIGUSR1), or 0.
int stop_signal();
// Test aid: behave as if `signal` had arrived.
void request_stop(int signal);
void clear_stop_request();

}  // namespace tptt
