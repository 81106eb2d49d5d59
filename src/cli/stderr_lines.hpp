#pragma once
// Whole lines on stderr: under mpirun the ranks share one stderr, and a line that leaves a
// process in pieces (one write per `<<`) can interleave with another rank's. After
// install_line_buffered_stderr(), std::cerr collects each line and writes it with a single
// write(2) when it ends ('\n', a carriage return for in-place progress, or a flush).
namespace tptt {

void install_line_buffered_stderr();

}  // namespace tptt
