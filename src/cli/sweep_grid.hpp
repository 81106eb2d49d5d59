#pragma once
// The --grid of `tptt sweep`: "alpha_f=0.1,0.01;alpha_g=0.01,0.001" — axes separated by ';',
// each a training option's long name (with '-' or '_') and its comma-separated values.
#include <cstddef>
#include <string>
#include <vector>

namespace tptt {

struct GridAxis {
  std::string key;     // column name: the option with '_' ("alpha_f")
  std::string option;  // "--alpha-f"
  std::string alias;   // "-T" for length, …; empty if none
  std::vector<std::string> values;
};

struct Grid {
  std::vector<GridAxis> axes;

  std::size_t combinations() const;
  // Values of combination i; the first axis varies slowest.
  std::vector<std::string> combination(std::size_t i) const;
  // The train arguments of a combination: {"--alpha-f=0.1", …}.
  std::vector<std::string> arguments(const std::vector<std::string>& values) const;
  // "alpha_f=0.1 alpha_g=0.01".
  std::string describe(const std::vector<std::string>& values) const;
};

// UsageError naming --grid (and the key) for bad syntax, an unknown or repeated key, an
// empty or repeated value. The keys are the options that define a training run (those of a
// checkpoint's configuration) except seed, which --seeds sweeps.
Grid parse_grid(const std::string& text);

}  // namespace tptt
