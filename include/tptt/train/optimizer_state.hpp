#pragma once
// The optimiser state of a checkpoint, shared by Trainer and SegmentPipeline: sections
// "opt_forward" and "opt_feedback" (the Nesterov velocities) and "phase_counts" (G and F
// updates so far).
#include "tptt/io/checkpoint.hpp"
#include "tptt/optim/optimizer.hpp"

namespace tptt {

void save_optimizers(Checkpoint& ckpt, const Optimizer& forward, const Optimizer& feedback, long g_updates,
                     long f_updates);
void load_optimizers(const Checkpoint& ckpt, Optimizer& forward, Optimizer& feedback, long& g_updates,
                     long& f_updates);  // FileError on a section of the wrong size

}  // namespace tptt
