#pragma once
// The MPI implementation of Communicator: one rank per time segment. Every MPI call of tptt
// is in src/comm/mpi_communicator.cpp; this header does not include <mpi.h>.
//
// Threading: MPI is initialised with MPI_THREAD_SERIALIZED, and the communicator serialises its
// own MPI calls with a mutex, so any thread (a oneTBB task, say) may call it. A library that
// grants less (SimGrid's SMPI grants MPI_THREAD_SINGLE) serves ranks of one thread: max_threads()
// is then 1, and the commands refuse --threads > 1. Blocking operations poll MPI_Test and
// release the mutex between polls, so two threads waiting on different messages do not
// deadlock each other.
//
// Errors: MPI_ERRORS_RETURN is set on the communicators; every return code is checked and a
// failure throws CommError naming the call, the file and the line. Callers that cannot
// recover call abort() (MPI_Abort): it ends every rank of the job, so no rank waits forever.
//
// Shutdown: the destructor never calls MPI_Finalize — it may run because this rank threw,
// and MPI_Finalize would then wait for ranks that will never arrive. Call finalize() on the
// normal path only (every rank, after the last communication).
#include <memory>
#include <string>

#include "tptt/comm/communicator.hpp"

namespace tptt {

// True when this process was started by an MPI launcher (mpirun/mpiexec of Open MPI, MPICH
// or MVAPICH, srun with PMI/PMIx): the environment variables they set are present. Always true
// in a simulated-cluster build (smpirun).
bool launched_by_mpi_launcher();

class MpiCommunicator final : public Communicator {
 public:
  // Initialises MPI unless the program already has (then checks the thread level it has).
  // Works without a launcher too (MPI singleton: one rank).
  MpiCommunicator();
  ~MpiCommunicator() override;  // frees nothing of MPI's; see the header comment
  MpiCommunicator(const MpiCommunicator&) = delete;
  MpiCommunicator& operator=(const MpiCommunicator&) = delete;

  int rank() const override;
  int size() const override;
  void send(int to, MessageTag tag, std::span<const float> data) override;
  void recv(int from, MessageTag tag, std::span<float> data) override;
  bool has_message(int from, MessageTag tag) override;  // MPI_Iprobe
  void progress() override;                             // MPI_Test on the sends in flight
  void allreduce_sum(std::span<float> data) override;
  void allreduce_sum(std::span<double> data) override;
  // All-reduces as a reduce-scatter and an all-gather: each rank sums one slice of the buffer in
  // rank order (the in-process hub's order, so the same bits) and sends and sums n/K elements.
  // Non-blocking: an MPI_Ialltoallv at the start, the sum and an MPI_Iallgatherv at the wait, on
  // a communicator of their own.
  ReduceHandle start_allreduce_sum(std::span<float> data) override;
  void wait_allreduce(ReduceHandle handle) override;
  // Prints "tptt: <why>" on stderr and calls MPI_Abort(code): every rank of the job ends.
  [[noreturn]] void abort(int code, const std::string& why) override;

  // Completes the outstanding sends, frees the communicator and calls MPI_Finalize (if this
  // object initialised MPI). Collective: every rank must call it. Idempotent.
  void finalize();

  // The thread level MPI granted, as a name ("MPI_THREAD_SERIALIZED", …).
  std::string thread_level() const;
  // "Open MPI v4.1.4, …" (MPI_Get_library_version, first line).
  std::string library_version() const;
  // The threads a rank may run: 1 when MPI granted less than MPI_THREAD_SERIALIZED.
  int max_threads() const;
  // On a simulated cluster (a build with SimGrid's smpicxx): "<platform>, host <name> at <speed>
  // flop/s", the platform named by TPTT_SIMULATED_PLATFORM. Empty on a real one.
  std::string simulated_platform() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Ends the job with `code` after printing `why` (if not empty) on stderr: MPI_Abort when MPI
// is initialised and not finalised, else std::exit. For failures before or outside a
// communicator (MPI_Init_thread granted too little, say).
[[noreturn]] void abort_job(int code, const std::string& why);

}  // namespace tptt
