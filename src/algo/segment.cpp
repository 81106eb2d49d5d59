#include "tptt/algo/segment.hpp"

#include <stdexcept>

namespace tptt {

SegmentRange segment_of(int total_steps, int segments, int index) {
  if (segments < 1 || segments > total_steps || index < 0 || index >= segments)
    throw std::invalid_argument("segment_of: need 1 <= segments <= steps and 0 <= index < segments");
  const int base = total_steps / segments;
  const int extra = total_steps % segments;  // the first `extra` segments are one step longer
  const int first = 1 + index * base + (index < extra ? index : extra);
  const int length = base + (index < extra ? 1 : 0);
  return {first, first + length - 1};
}

template <class S>
void SegmentBuffers<S>::resize(int hidden_size, int segment_steps, int batch_size) {
  if (hidden_size == hidden && segment_steps == steps && batch_size == batch) return;
  hidden = hidden_size;
  steps = segment_steps;
  batch = batch_size;
  const Eigen::Index nb = static_cast<Eigen::Index>(steps) * batch;
  U.resize(hidden, nb);
  Hs.resize(hidden, nb + batch);
  Gz.resize(hidden, nb);
  Gh.resize(hidden, nb);
  Delta.resize(hidden, nb + batch);
  Dg.resize(hidden, nb);
  Df.resize(hidden, nb);
  Dz.resize(hidden, nb);
  Hn.resize(0, 0);  // sized on first use: most runs have no noise
  Fn.resize(0, 0);
  Gn.resize(0, 0);
}

template struct SegmentBuffers<float>;
template struct SegmentBuffers<double>;

}  // namespace tptt
