#include "sweep_grid.hpp"

#include <algorithm>
#include <sstream>

#include "tptt/app/options.hpp"
#include "tptt/core/error.hpp"

namespace tptt {

namespace {

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (std::size_t at; (at = s.find(sep, start)) != std::string::npos; start = at + 1)
    parts.push_back(s.substr(start, at - start));
  parts.push_back(s.substr(start));
  return parts;
}

// The options a sweep may vary: every key of the configuration a checkpoint stores (the
// options that define a run, not where or how it is reported), seed excepted.
std::vector<std::string> sweepable_options() {
  std::vector<std::string> names;
  std::istringstream ini(config_to_ini(TrainConfig{}));
  for (std::string line; std::getline(ini, line);) {
    const auto eq = line.find(" = ");
    if (eq != std::string::npos && line.substr(0, eq) != "seed") names.push_back(line.substr(0, eq));
  }
  return names;
}

std::string alias_of(const std::string& option) {
  if (option == "--length") return "-T";
  if (option == "--hidden") return "-H";
  if (option == "--batch") return "-B";
  return "";
}

}  // namespace

std::size_t Grid::combinations() const {
  std::size_t n = 1;
  for (const GridAxis& a : axes) n *= a.values.size();
  return n;
}

std::vector<std::string> Grid::combination(std::size_t i) const {
  std::vector<std::string> values(axes.size());
  for (std::size_t a = axes.size(); a-- > 0;) {
    values[a] = axes[a].values[i % axes[a].values.size()];
    i /= axes[a].values.size();
  }
  return values;
}

std::vector<std::string> Grid::arguments(const std::vector<std::string>& values) const {
  std::vector<std::string> args;
  // One "--opt=value" argument each, so that a value such as -1 cannot read as an option.
  for (std::size_t a = 0; a < axes.size(); ++a) args.push_back(axes[a].option + "=" + values[a]);
  return args;
}

std::string Grid::describe(const std::vector<std::string>& values) const {
  std::string text;
  for (std::size_t a = 0; a < axes.size(); ++a) text += (a ? " " : "") + axes[a].key + "=" + values[a];
  return text;
}

Grid parse_grid(const std::string& text) {
  const std::string usage = " (expected key=v1,v2;key2=v3,… with keys such as alpha_f, alpha_g, noise, length)";
  if (trim(text).empty()) throw UsageError("--grid: empty" + usage);
  const std::vector<std::string> allowed = sweepable_options();
  Grid grid;
  for (const std::string& part : split(text, ';')) {
    if (trim(part).empty()) continue;  // "a=1;" is fine
    const auto eq = part.find('=');
    if (eq == std::string::npos) throw UsageError("--grid: '" + trim(part) + "' has no '='" + usage);
    GridAxis axis;
    std::string name = trim(part.substr(0, eq));
    if (name.rfind("--", 0) == 0) name.erase(0, 2);
    if (name.empty()) throw UsageError("--grid: a part without a key: '" + trim(part) + "'" + usage);
    std::string dashed = name;
    std::replace(dashed.begin(), dashed.end(), '_', '-');
    if (dashed == "seed") throw UsageError("--grid: seed: sweep seeds with --seeds 1,2,3");
    if (std::find(allowed.begin(), allowed.end(), dashed) == allowed.end()) {
      std::string list;
      for (const std::string& a : allowed) list += (list.empty() ? "" : ", ") + a;
      throw UsageError("--grid: unknown key '" + name + "' (a sweep varies one of: " + list + ")");
    }
    axis.option = "--" + dashed;
    axis.alias = alias_of(axis.option);
    axis.key = dashed;
    std::replace(axis.key.begin(), axis.key.end(), '-', '_');
    for (const GridAxis& other : grid.axes)
      if (other.key == axis.key) throw UsageError("--grid: key " + axis.key + " is given twice");
    for (const std::string& raw : split(part.substr(eq + 1), ',')) {
      const std::string value = trim(raw);
      if (value.empty()) throw UsageError("--grid: " + axis.key + ": an empty value in '" + trim(part) + "'");
      if (std::find(axis.values.begin(), axis.values.end(), value) != axis.values.end())
        throw UsageError("--grid: " + axis.key + ": value " + value + " is given twice");
      axis.values.push_back(value);
    }
    grid.axes.push_back(std::move(axis));
  }
  if (grid.axes.empty()) throw UsageError("--grid: no key" + usage);
  return grid;
}

}  // namespace tptt
