#pragma once
// <immintrin.h> behind a guard against one false compiler warning.
//
// GCC 12 reports -Wmaybe-uninitialized inside its own AVX and AVX-512 intrinsic headers
// (_mm256_undefined_pd() and friends initialise a variable with itself: GCC bug 105593, fixed in
// GCC 13) wherever Eigen's vectorised code is inlined, about 1,600 lines per build under
// -march=native on an AVX-512 machine (at -O1, as -Wuninitialized). The report is located in the intrinsic header,
// which is a system header, yet survives inlining into our code, so -isystem does not hide it. A diagnostic pragma
// applies to the lines it encloses: the intrinsic headers must be first included inside it, that is, this header must
// come before Eigen (types.hpp includes it) and oneTBB (core/parallel.hpp includes it), both of which include
// <immintrin.h>.
#if defined(__x86_64__) || defined(__i386__)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"  // the same report at -O1 (the sanitizer builds)
#endif
#include <immintrin.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif
