#include "tptt/core/activation.hpp"

#include "tptt/core/error.hpp"

namespace tptt {

Activation parse_activation(const std::string& name) {
  if (name == "tanh") return Activation::Tanh;
  if (name == "sigmoid") return Activation::Sigmoid;
  throw UsageError("--activation: unknown activation '" + name + "' (expected tanh or sigmoid)");
}

std::string to_string(Activation a) { return a == Activation::Tanh ? "tanh" : "sigmoid"; }

}  // namespace tptt
