#include "tptt/core/stop_signal.hpp"

#include <atomic>
#include <csignal>

namespace tptt {

namespace {

std::atomic<int> g_stop_signal{0};
static_assert(std::atomic<int>::is_always_lock_free, "the handler may only touch lock-free atomics");

extern "C" void on_stop_signal(int signal) {
  int expected = 0;
  if (!g_stop_signal.compare_exchange_strong(expected, signal)) {
    // Second signal: the run is not stopping fast enough for the user; default action next time.
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    std::signal(SIGUSR1, SIG_DFL);
  }
}

}  // namespace

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // blocking calls (file writes, MPI progress) continue
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGUSR1, &action, nullptr);
}

int stop_signal() { return g_stop_signal.load(); }
void request_stop(int signal) { g_stop_signal.store(signal); }
void clear_stop_request() { g_stop_signal.store(0); }

}  // namespace tptt
