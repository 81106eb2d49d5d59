#pragma once
// Command-line and config-file options of `tptt train`, in one place (Boost.Program_options).
#include <optional>
#include <string>
#include <vector>

#include "tptt/io/json.hpp"
#include "tptt/train/config.hpp"

namespace tptt {

struct TrainCommand {
  TrainConfig config;
  bool help = false;
  std::string help_text;  // filled when help is true
};

// Parses `tptt train` arguments (argv without the program and command names). Options may
// also come from an INI-style file given by --config; the command line wins. Throws
// UsageError (unknown option, bad value, failed validation) or FileError (unreadable config).
TrainCommand parse_train_command(const std::vector<std::string>& args);

// The effective configuration, as stored in the metrics log and printed at start.
JsonObject config_to_json(const TrainConfig& config);

}  // namespace tptt
