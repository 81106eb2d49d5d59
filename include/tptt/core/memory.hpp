#pragma once
// What the operating system says about memory: this process's peak resident set (reported by
// the run summary and the benchmark) and the memory a new allocation can still get (against
// which a run's estimate is checked before it starts, train/memory_estimate.hpp).
namespace tptt {

// Peak resident set size of this process so far, in MiB (getrusage); 0 when unknown.
double peak_resident_mib();

// Resident set size of this process now, in MiB (VmRSS of /proc/self/status); 0 when unknown.
double current_resident_mib();

// Bytes that can still be allocated without swapping: MemAvailable of /proc/meminfo, lowered
// to the room left under this process's cgroup (v2) memory limit when it has one; elsewhere
// the available physical pages (sysconf). 0 when unknown.
double available_memory_bytes();

}  // namespace tptt
