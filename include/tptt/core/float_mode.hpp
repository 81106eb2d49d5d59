#pragma once

namespace tptt {

// Sets flush-to-zero and denormals-are-zero on this thread (x86 SSE/AVX). Called first in
// main, so that every thread started after it (oneTBB's workers) inherits the mode.
// Why: gradients that vanish over long sequences reach subnormal floats (below 1.2e-38), on
// which x86 arithmetic takes a slow path: a BPTT run on perm at T = 100 ran 14.5 times slower
// once its gradients had vanished (docs/performance.md). Treated as zero they change no result
// that matters: an update of 1e-38 is lost against weights of order 0.1 anyway.
void flush_subnormals_to_zero();

// main's mode: flush_subnormals_to_zero() unless the environment has TPTT_SUBNORMALS=keep, which
// keeps IEEE subnormals (to measure what they cost, docs/performance.md).
void set_float_mode_from_environment();

// Whether flush-to-zero and denormals-are-zero are on for the calling thread.
bool subnormals_flushed();

}  // namespace tptt
