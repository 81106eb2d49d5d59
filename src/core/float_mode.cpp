#include "tptt/core/float_mode.hpp"

#include <cstdlib>
#include <string_view>

#if defined(__SSE2__)
#include <pmmintrin.h>
#include <xmmintrin.h>
#endif

namespace tptt {

void flush_subnormals_to_zero() {
#if defined(__SSE2__)
  _MM_SET_FLUSH_ZERO_MODE(_MM_FLUSH_ZERO_ON);
  _MM_SET_DENORMALS_ZERO_MODE(_MM_DENORMALS_ZERO_ON);
#endif
}

void set_float_mode_from_environment() {
  const char* mode = std::getenv("TPTT_SUBNORMALS");
  if (mode == nullptr || std::string_view(mode) != "keep") flush_subnormals_to_zero();
}

bool subnormals_flushed() {
#if defined(__SSE2__)
  return _MM_GET_FLUSH_ZERO_MODE() == _MM_FLUSH_ZERO_ON && _MM_GET_DENORMALS_ZERO_MODE() == _MM_DENORMALS_ZERO_ON;
#else
  return true;
#endif
}

}  // namespace tptt
