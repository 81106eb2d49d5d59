#include "tptt/app/options.hpp"

#include <algorithm>
#include <boost/program_options.hpp>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "tptt/core/error.hpp"

namespace po = boost::program_options;

namespace tptt {

namespace {

struct RawOptions {
  std::string task, activation, init, algorithm, optimizer, schedule, config_file, sync = "exact";
  std::string phase_order = "overlap", validation = "fresh", staleness_compensation = "none";
  std::string micro_batches;  // a count or "auto"; empty when not given
  unsigned long long seed = 1;
};

// --micro-batches: a positive count, or auto (chosen from measured costs; needs --sync pipelined).
void parse_micro_batches(const std::string& text, DistributedConfig& dist) {
  if (text == "auto") {
    dist.auto_micro_batches = true;
    dist.micro_batches = 2;  // until the choice (train/micro_batch_choice.hpp)
    return;
  }
  std::size_t used = 0;
  int m = 0;
  try {
    m = std::stoi(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size())
    throw UsageError("--micro-batches: expected a count (1, 2, ...) or auto, got '" + text + "'");
  dist.micro_batches = m;
}

// A checkpoint written before --phase-order and --validation existed continues with the
// semantics it was trained with (the overlap order, one fixed validation set).
std::string with_legacy_semantics(std::string config_text) {
  const auto lacks = [&config_text](const std::string& key) {
    return config_text.rfind(key + " = ", 0) != 0 && config_text.find("\n" + key + " = ") == std::string::npos;
  };
  if (lacks("phase-order")) config_text += "phase-order = overlap\n";
  if (lacks("validation")) config_text += "validation = fixed\n";
  return config_text;
}

// A double option whose default --help prints in the shortest form that reads back ("0.1";
// Boost's own conversion prints 0.10000000000000001).
po::typed_value<double>* number(double* target) {
  return po::value(target)->default_value(*target, json_number(*target));
}

// The options in their --help groups; `testing` (fault injection) is accepted but not shown.
struct OptionGroups {
  // A group and its caption (Boost 1.74 does not give the caption back).
  struct Group {
    const char* caption;
    po::options_description options{caption};
  };
  Group data{"Task and data"}, model{"Model"}, algo{"Algorithm and optimiser"},
      protocol{"Protocol (checks, stopping rules)"}, output{"Output and diagnostics"},
      dist{"Distributed runs (MPI; see docs/distributed.md)"}, ckpt{"Checkpoints (docs/reliability.md)"},
      command{"Option files and help"}, testing{"Testing (fault injection; not shown by --help)"};
};

// The groups --help shows, in order (train: all but testing).
std::vector<const OptionGroups::Group*> shown_groups(const OptionGroups& g) {
  return {&g.data, &g.model, &g.algo, &g.protocol, &g.output, &g.dist, &g.ckpt, &g.command};
}

// A bool option that --help shows as a flag ("--name", off unless given), which still takes a
// value (--name=false; config files and checkpoints write "name = true/false"). Boost would
// show it as "--name [=arg(=1)] (=0)".
class FlagValue final : public po::typed_value<bool> {
 public:
  explicit FlagValue(bool* target) : po::typed_value<bool>(target) {
    default_value(false, "false");
    implicit_value(true, "true");
  }
  std::string name() const override { return ""; }
};

void describe_options(OptionGroups& g, TrainConfig& c, RunOptions& run, RawOptions& raw) {
  // One option per line, as --help prints them.
  // clang-format off
  po::options_description& data = g.data.options;
  data.add_options()
      ("task", po::value(&raw.task)->default_value("temporal"), "task: temporal, temporal3, adding, perm, mnist")
      ("length,T", po::value(&c.length)->default_value(c.length), "sequence length L")
      ("min-length", po::value(&c.min_length)->default_value(0), "with --max-length: draw L per minibatch from [min, max]")
      ("max-length", po::value(&c.max_length)->default_value(0), "longest L of the range (0 = fixed --length); validation uses it")
      ("batch,B", po::value(&c.batch)->default_value(c.batch), "minibatch size B")
      ("seed", po::value(&raw.seed)->default_value(1), "seed: data of iteration n depends on (seed, n) only")
      ("data-dir", po::value(&c.data_dir), "task mnist: directory of the four MNIST IDX files (launch/fetch-mnist.sh)");
  g.model.options.add_options()
      ("hidden,H", po::value(&c.hidden)->default_value(c.hidden), "hidden units H")
      ("activation", po::value(&raw.activation)->default_value("tanh"), "tanh or sigmoid")
      ("init", po::value(&raw.init)->default_value("orthogonal"), "orthogonal (reference tanh-randorth) or gaussian")
      ("init-std", number(&c.init_std), "standard deviation of --init gaussian");
  g.algo.options.add_options()
      ("algorithm", po::value(&raw.algorithm)->default_value("tptt"), "bptt, tptt (eq. 12 for W_xh), tptt_hx (eq. 13) or lstm (an LSTM trained by BPTT with --lr; one rank)")
      ("optimizer", po::value(&raw.optimizer)->default_value("nesterov"), "nesterov or sgd")
      ("momentum", number(&c.momentum), "Nesterov momentum mu")
      ("lr", number(&c.lr), "BPTT learning rate alpha")
      ("clip", number(&c.clip_norm), "gradient-norm clipping threshold of each update (BPTT, LSTM; TPTT: the F and the G phase's gradient each); 0 = off")
      ("alpha-i", number(&c.alpha_i), "TPTT first-target step alpha_i (eq. 3)")
      ("alpha-f", number(&c.alpha_f), "TPTT learning rate of the forward set alpha_f")
      ("alpha-g", number(&c.alpha_g), "TPTT learning rate of the feedback set alpha_g")
      ("noise", number(&c.noise), "sigma of the Gaussian noise injected in the G phase")
      ("schedule", po::value(&raw.schedule)->default_value("alternate"), "alternate (G then F), random (one phase per iteration, G with probability p-g) or concurrent (G loop beside the F iterations, oneTBB tasks; needs --threads >= 2)")
      ("phase-order", po::value(&raw.phase_order)->default_value(raw.phase_order), "when an iteration runs both phases: reference (G update first, then the targets with the updated V_hh, c_h, as the authors' code) or overlap (targets with the feedback weights from before the G update, so the target chain can overlap the G phase); stale and decoupled modes always overlap")
      ("p-g", number(&c.p_g), "random: probability of the G phase; concurrent: G updates p/(1-p) per F update")
      ("threads", po::value(&c.threads)->default_value(c.threads), "threads of each rank (oneTBB). Every algorithm gives the same bits for any thread count with the alternate and random schedules; the concurrent schedule (which needs >= 2) is not bit-reproducible");
  g.protocol.options.add_options()
      ("max-iterations", po::value(&c.max_iterations)->default_value(c.max_iterations), "iteration budget")
      ("check-every", po::value(&c.check_every)->default_value(c.check_every), "validate every N iterations")
      ("validation", po::value(&raw.validation)->default_value(raw.validation), "fresh (a new validation set at every check, a function of the seed and the check's iteration, as the paper) or fixed (one set for the whole run)")
      ("validation-samples", po::value(&c.validation_samples)->default_value(c.validation_samples), "sequences in each validation set")
      ("validation-batch", po::value(&c.validation_batch)->default_value(c.validation_batch), "validation batch size")
      ("solved-error", number(&c.solved_error), "solved when the validation error is below this")
      ("patience", po::value(&c.patience)->default_value(c.patience), "abort after this many checks without a new best error")
      ("max-spectral-radius", number(&c.max_spectral_radius), "abort when rho(W_hh) or rho(V_hh) exceeds this")
      ("async-validation", new FlagValue(&c.async_validation), "validate a snapshot of the parameters while training goes on (on threads training leaves idle; with --threads 1 between iterations); the same records, decided when each result arrives; a solved run keeps the snapshot. One rank, exact mode, not the concurrent schedule. Off unless given (--async-validation=false also turns it off)");
  g.output.options.add_options()
      ("log", po::value(&c.log_path), "JSON-lines metrics file (one record per check)")
      ("overwrite", "replace an existing --log file (without it an existing log is refused, or continued by --resume)")
      ("no-progress", "no progress line on stderr")
      ("diagnostics", "at each check, log the angle between the TPTT and BPTT updates of W_hh (and W_xh for tptt_hx) and the per-step G and F local losses of that iteration's minibatch (Fig. 5 and 6 of the paper)")
      ("trace", po::value(&run.trace), "write a timeline of every rank's work and waits to this file (Chrome trace-event JSON: open it in Perfetto or chrome://tracing; launch/plot.sh trace draws it)")
      ("save-params", po::value(&run.save_params), "rank 0 writes the final parameters to this .npy file (float32, flat buffer)")
      ("param-hash", "every rank prints a hash of its final parameters; the summary says whether all replicas are identical");
  g.command.options.add_options()
      ("config", po::value(&raw.config_file), "INI-style file of options (key = value); the command line wins")
      ("help,h", "this help");
  g.dist.options.add_options()
      ("sync", po::value(&raw.sync)->default_value(raw.sync), "exact (K ranks = one rank), pipelined (exact, micro-batches flow through the ranks) or stale (gradient of minibatch n applied after iteration n+S)")
      ("staleness", po::value(&run.dist.staleness)->value_name("arg (=1)"), "S of --sync stale (1 unless given; 0 runs the stale code path as exact mode)")
      ("staleness-compensation", po::value(&raw.staleness_compensation)->default_value(raw.staleness_compensation), "--sync stale: none, momentum (lower the Nesterov momentum for the delay's implicit momentum), predict (compute each gradient at the weights extrapolated S updates ahead along the velocity), dc (DC-ASGD: correct the stale gradient by lambda*g*g*(theta_now - theta_stale)/rms(g)) or predict+dc (both: dc corrects what the prediction missed); docs/distributed.md")
      ("dc-lambda", number(&run.dist.dc_lambda), "lambda of --staleness-compensation dc and predict+dc (divided by the gradient's running RMS)")
      ("micro-batches", po::value(&raw.micro_batches), "M micro-batches per minibatch (--sync pipelined: default the number of ranks K, at least 2, or auto: chosen from kernel times measured before the first iteration; stale: default 1)")
      ("decoupled", "decoupled boundaries (tptt, tptt_hx; K >= 2): a segment predicts its boundary target (and, tptt, the boundary dE/dh of eq. 12) from its boundary state instead of waiting for them; the real values train the predictors one iteration later")
      ("decoupled-rate", number(&run.dist.decoupled_rate), "step of the boundary predictors (normalised LMS, in (0, 2))")
      ("mpi", po::value(&run.mpi)->default_value(run.mpi), "auto (use MPI when started by mpirun/mpiexec/srun), on (always; MPI singleton without a launcher), off")
      ("log-all-ranks", "with --log: rank k > 0 also writes its own log to <log>.rank<k>");
  g.testing.options.add_options()
      ("fail-at-iteration", po::value(&run.fail_at_iteration)->default_value(-1), "fault test: rank --fail-rank fails at this iteration (0-based; needs more than one rank)")
      ("fail-rank", po::value(&run.fail_rank)->default_value(0), "fault test: the rank that fails")
      ("fail-kind", po::value(&run.fail_kind)->default_value(run.fail_kind), "fault test: throw (an exception) or kill (SIGKILL to itself)");
  g.ckpt.options.add_options()
      ("checkpoint", po::value(&run.checkpoint), "write a checkpoint to this file (atomically; rank 0) every --checkpoint-every iterations, at the end and on SIGINT/SIGTERM")
      ("checkpoint-every", po::value(&run.checkpoint_every)->default_value(run.checkpoint_every), "iterations between checkpoints")
      ("resume", po::value(&run.resume), "continue the run of this checkpoint (its options are the defaults; any K)")
      ("save-best", po::value(&run.save_best), "at each check that sets a new best validation error, write the model to this file (a checkpoint, atomically; rank 0), so that `tptt eval --model` tests the best model, not the last. Not with --async-validation");
  // clang-format on
}

// Every option of `tptt train`, for parsing (fault injection included).
po::options_description all_options(const OptionGroups& g) {
  po::options_description all("tptt train [options]");
  for (const OptionGroups::Group* group : shown_groups(g)) all.add(group->options);
  all.add(g.testing.options);
  return all;
}

constexpr const char* kTrainUsage =
    "usage: tptt train [options]\n"
    "       mpirun -np K tptt train [options]   (K MPI ranks, one time segment each)\n"
    "Trains one model (an SRN by bptt, tptt or tptt_hx, or an LSTM) on a synthetic task or\n"
    "sequential MNIST and prints one JSON line with the result; --log writes a record per check.\n";

// The options a command's --help lists, group by group: those `keep` accepts, of the groups
// `groups` (train: all but testing). Without a caption the groups stand alone.
std::string help_text(const std::string& caption, const std::vector<const OptionGroups::Group*>& groups,
                      const std::function<bool(const std::string&)>& keep) {
  po::options_description shown(caption);
  for (const OptionGroups::Group* group : groups) {
    po::options_description kept(group->caption);
    for (const auto& option : group->options.options())
      if (keep(option->long_name())) kept.add(option);
    if (!kept.options().empty()) shown.add(kept);
  }
  std::ostringstream os;
  os << shown;
  return os.str();
}

// The options `keep` accepts of the groups `groups`, in one group named `caption` (a command
// that takes a few options from several groups).
std::string one_group_help_text(const std::string& caption, const std::vector<const OptionGroups::Group*>& groups,
                                const std::function<bool(const std::string&)>& keep) {
  po::options_description kept(caption);
  for (const OptionGroups::Group* group : groups)
    for (const auto& option : group->options.options())
      if (keep(option->long_name())) kept.add(option);
  std::ostringstream os;
  os << kept;
  return os.str();
}

std::string trim_blanks(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t\r") - first + 1);
}

// Stores the `key = value` lines of an INI text (a --config file, a checkpoint's configuration)
// into vm; values already there (the command line's) win. Keys are the long option names with
// '-' or '_' (as the logs print them); '#' starts a comment; a flag takes true/false (yes/no,
// 1/0, or no value for true). UsageError "<where> line N: …" for a bad line, key or value.
void store_ini(const std::string& text, const std::string& where, const po::options_description& desc,
               po::variables_map& vm) {
  std::istringstream in(text);
  std::ostringstream normalised;  // key=value lines that Boost reads, flags resolved
  std::map<std::string, int> line_of;
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    const std::string at = where + " line " + std::to_string(number) + ": ";
    const std::string content = trim_blanks(line.substr(0, line.find('#')));
    if (content.empty()) continue;
    const auto eq = content.find('=');
    if (eq == std::string::npos || content.front() == '[')
      throw UsageError(at + "expected 'key = value', got '" + content + "'");
    const std::string given = trim_blanks(content.substr(0, eq));
    std::string key = given;
    const std::string value = trim_blanks(content.substr(eq + 1));
    std::replace(key.begin(), key.end(), '_', '-');
    if (key.rfind("--", 0) == 0) key.erase(0, 2);
    const po::option_description* option = desc.find_nothrow(key, false);
    if (key.empty() || !option || key == "config" || key == "help")
      throw UsageError(at + "unknown option '" + given + "'");
    if (const auto seen = line_of.find(key); seen != line_of.end())
      throw UsageError(at + "'" + key + "' is given twice (also on line " + std::to_string(seen->second) + ")");
    line_of[key] = number;
    if (option->semantic()->max_tokens() == 0) {  // a flag
      if (value == "false" || value == "no" || value == "0") continue;
      if (!value.empty() && value != "true" && value != "yes" && value != "1")
        throw UsageError(at + "'" + key + "' is a flag: expected true or false, got '" + value + "'");
      normalised << key << "=\n";
      continue;
    }
    if (value.empty()) throw UsageError(at + "'" + key + "' needs a value");
    normalised << key << "=" << value << "\n";
  }
  std::istringstream boost_in(normalised.str());
  try {
    po::store(po::parse_config_file(boost_in, desc, /*allow_unregistered=*/false), vm);
  } catch (const po::error_with_option_name& e) {
    std::string name = e.get_option_name();
    while (!name.empty() && name.front() == '-') name.erase(0, 1);
    const auto line = line_of.find(name);
    throw UsageError(where + (line == line_of.end() ? "" : " line " + std::to_string(line->second)) + ": " + e.what());
  } catch (const po::error& e) {
    throw UsageError(where + ": " + e.what());
  }
}

// The INI text a checkpoint stores under "config" (app/checkpointing.hpp writes it).
std::string checkpoint_config_text_of(const Checkpoint& ckpt) {
  if (!ckpt.has("config"))
    throw FileError("checkpoint '" + ckpt.source() + "': no 'config' section (not a training checkpoint)");
  std::string text = ckpt.get_string("config");
  reject_boost_placeholders(text, "checkpoint '" + ckpt.source() + "'");
  return text;
}

// key = value lines of config_to_ini, as a map.
std::vector<std::pair<std::string, std::string>> ini_pairs(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> pairs;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    const auto eq = line.find(" = ");
    if (eq != std::string::npos) pairs.emplace_back(line.substr(0, eq), line.substr(eq + 3));
  }
  return pairs;
}

// Options of the resumed run that differ from the checkpoint's. The shape and meaning of the
// state (task, hidden, algorithm, optimiser) cannot change; others may, at the price of a
// result that differs from the uninterrupted run (except the budget and protocol limits).
// A ModelOnly load (eval) evaluates the model as trained: its message says that the model file
// fixes these options, and it may read the data from another --data-dir.
std::vector<std::string> changed_options(const std::string& stored, const std::string& effective,
                                         const std::string& path, ResumeScope scope) {
  const auto before = ini_pairs(stored);
  const auto after = ini_pairs(effective);
  std::vector<std::string> changed;
  for (const auto& [key, value] : after) {
    std::string old;
    bool found = false;
    for (const auto& [k, v] : before)
      if (k == key) old = v, found = true;
    if (found && same_option_value(old, value)) continue;
    if (scope == ResumeScope::ModelOnly && key == "data-dir") continue;  // where the data lives, not the model
    if (key == "task" || key == "hidden" || key == "algorithm" || key == "optimizer" || key == "data-dir") {
      const std::string trained = (found ? old : "(unset)");
      if (scope == ResumeScope::ModelOnly)
        throw UsageError("--" + key + ": the model '" + path + "' was trained with " + key + " = " + trained +
                         "; the model file fixes it, eval cannot change it");
      throw UsageError("--" + key + ": the checkpoint '" + path + "' was trained with " + key + " = " + trained +
                       "; a resumed run cannot change it");
    }
    // The budget, and where validation runs: no effect on the trajectory.
    if (key == "max-iterations" || key == "patience" || key == "async-validation") continue;
    changed.push_back(key + " = " + value + " (checkpoint: " + (found ? old : "unset") + ")");
  }
  return changed;
}

// The defaults of the distributed options that depend on the mode: --sync stale without
// --staleness delays by one iteration (S = 0 would be exact mode under another name), and
// --sync pipelined without --micro-batches uses one micro-batch per rank (resolved once the
// number of ranks is known, resolve_micro_batches). Options that would do nothing are refused.
void resolve_distributed_defaults(const po::variables_map& vm, TrainCommand& cmd) {
  DistributedConfig& dist = cmd.run.dist;
  if (!vm.count("staleness") && dist.sync == SyncMode::Stale) dist.staleness = 1;
  if (!vm.count("micro-batches") && dist.sync == SyncMode::Pipelined) {
    cmd.run.micro_batches_from_ranks = true;
    dist.micro_batches = std::min(2, cmd.config.batch);  // for validate(); resolve_micro_batches sets K
  }
  if (!vm["decoupled-rate"].defaulted() && !dist.decoupled)
    throw UsageError("--decoupled-rate applies with --decoupled only");
  if (!vm["dc-lambda"].defaulted() && !dist.uses_dc_lambda())
    throw UsageError("--dc-lambda applies with --staleness-compensation dc or predict+dc only");
}

void validate_checkpoint_options(const TrainCommand& cmd) {
  const RunOptions& run = cmd.run;
  if (run.checkpoint_every < 1) throw UsageError("--checkpoint-every: must be >= 1");
  if (!run.save_best.empty() && cmd.config.async_validation)
    throw UsageError(
        "--save-best: not with --async-validation (the best check's parameters are a snapshot that "
        "training has moved on from)");
  if (!run.save_best.empty() && run.save_best == run.checkpoint)
    throw UsageError("--save-best: '" + run.save_best + "' is also the --checkpoint file; give another");
}

}  // namespace

// Boost.Program_options 1.74 substitutes placeholders such as %value% into its error
// messages in a loop that never ends when the substituted text holds a placeholder itself
// (found by fuzzing, fuzz/findings/README.md). No option name or value needs one, so any
// %name% (lower-case letters and '_') is refused first — whichever placeholders a Boost
// version uses.
void reject_boost_placeholders(const std::string& text, const std::string& where) {
  for (std::size_t open = text.find('%'); open != std::string::npos; open = text.find('%', open + 1)) {
    std::size_t end = open + 1;
    while (end < text.size() && (std::islower(static_cast<unsigned char>(text[end])) || text[end] == '_')) ++end;
    if (end > open + 1 && end < text.size() && text[end] == '%')
      throw UsageError(where + ": '" + text.substr(open, end - open + 1) +
                       "' is not allowed in an option name or value");
  }
}

void reject_boost_placeholders(const std::vector<std::string>& args) {
  for (const std::string& a : args) reject_boost_placeholders(a, "argument '" + a + "'");
}

bool same_file(const std::string& a, const std::string& b) {
  std::error_code ec;
  return std::filesystem::equivalent(a, b, ec) && !ec;
}

// The stored run options of a checkpoint (run_options_to_ini), without the mode when the
// command line chooses one (a resumed run may change --sync), and without the output paths
// when the file resumed from is not the run's own checkpoint (a copy elsewhere must not
// continue, and cut, the original run's log). `note` explains the latter.
std::string stored_run_options(const Checkpoint& ckpt, const po::variables_map& vm, std::string& note) {
  if (!ckpt.has("run_options")) return "";  // written by tptt 0.1.0
  const std::string text = ckpt.get_string("run_options");
  reject_boost_placeholders(text, "checkpoint '" + ckpt.source() + "'");
  std::string stored_checkpoint;
  for (const auto& [key, value] : ini_pairs(text))
    if (key == "checkpoint") stored_checkpoint = value;
  const bool own = !stored_checkpoint.empty() && same_file(stored_checkpoint, ckpt.source());
  if (!own && !stored_checkpoint.empty())
    note = "'" + ckpt.source() + "' is not the checkpoint its run writes ('" + stored_checkpoint +
           "'): its log and checkpoint paths are not reused; give --log and --checkpoint to continue them";
  std::istringstream in(text);
  std::string kept;
  for (std::string line; std::getline(in, line);) {
    const std::string key = line.substr(0, line.find(" = "));
    // A mode given on the command line replaces the stored one whole.
    const bool mode_given = !vm["sync"].defaulted() || vm.count("decoupled") > 0;
    if (mode_given &&
        (key == "sync" || key == "micro-batches" || key == "staleness" || key == "staleness-compensation" ||
         key == "dc-lambda" || key == "decoupled" || key == "decoupled-rate"))
      continue;
    if (!own && (key == "log" || key == "checkpoint" || key == "save-params" || key == "save-best")) continue;
    kept += line + "\n";
  }
  return kept;
}

TrainCommand parse_train_command(const std::vector<std::string>& args, ResumeScope scope) {
  reject_boost_placeholders(args);
  TrainCommand cmd;
  RawOptions raw;
  std::string resume_text;
  OptionGroups groups;
  describe_options(groups, cmd.config, cmd.run, raw);
  const po::options_description desc = all_options(groups);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(desc).run(), vm);
    if (vm.count("help")) {
      cmd.help = true;
      cmd.help_text = kTrainUsage + help_text("", shown_groups(groups), [](const std::string&) { return true; });
      return cmd;
    }
    if (vm.count("config")) {
      const std::string path = vm["config"].as<std::string>();
      std::ifstream file(path);
      if (!file) throw UsageError("--config: cannot read config file '" + path + "': " + std::strerror(errno));
      std::ostringstream text;
      text << file.rdbuf();
      reject_boost_placeholders(text.str(), "config file '" + path + "'");
      store_ini(text.str(), "config file '" + path + "'", desc, vm);
    }
    if (vm.count("resume")) {
      const std::string path = vm["resume"].as<std::string>();
      cmd.resume_from = std::make_shared<const Checkpoint>(read_checkpoint(path));  // FileError: exit 3
      resume_text = with_legacy_semantics(checkpoint_config_text_of(*cmd.resume_from));
      try {
        store_ini(resume_text, "checkpoint '" + path + "': stored configuration", desc, vm);
        if (scope == ResumeScope::Run)
          store_ini(stored_run_options(*cmd.resume_from, vm, cmd.resume_note),
                    "checkpoint '" + path + "': stored run options", desc, vm);
      } catch (const UsageError& e) {
        throw FileError(e.what());
      }
    }
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(e.what());
  }
  TrainConfig& c = cmd.config;
  c.task = parse_task(raw.task);
  // A task of one length (mnist: 784 pixels) has it as its default; validate() refuses another.
  if (task_info(c.task).fixed_length > 0 && vm["length"].defaulted()) c.length = task_info(c.task).fixed_length;
  c.activation = parse_activation(raw.activation);
  c.init = parse_init_scheme(raw.init);
  c.algorithm = parse_algorithm(raw.algorithm);
  c.optimizer = parse_optimizer(raw.optimizer);
  c.schedule = parse_schedule(raw.schedule);
  c.phase_order = parse_phase_order(raw.phase_order);
  c.validation = parse_validation_mode(raw.validation);
  c.seed = raw.seed;
  c.progress = !vm.count("no-progress");
  cmd.run.config_file = raw.config_file;
  cmd.run.log_all_ranks = vm.count("log-all-ranks") > 0;
  cmd.run.overwrite = vm.count("overwrite") > 0;
  cmd.run.dist.sync = parse_sync_mode(raw.sync);
  cmd.run.dist.decoupled = vm.count("decoupled") > 0;
  cmd.run.dist.compensation = parse_staleness_compensation(raw.staleness_compensation);
  if (!raw.micro_batches.empty()) parse_micro_batches(raw.micro_batches, cmd.run.dist);
  resolve_distributed_defaults(vm, cmd);
  // Stale and decoupled modes compute a minibatch's targets before its G update is applied:
  // they run in the overlap order unless reference is asked for (which they refuse).
  if (cmd.run.dist.delay() > 0 || cmd.run.dist.decoupled) {
    if (!vm["phase-order"].defaulted() && c.phase_order == PhaseOrder::Reference)
      throw UsageError(
          "--phase-order reference needs exact semantics (--sync exact or pipelined, not --decoupled): "
          "stale and decoupled modes compute a minibatch's targets before its G update applies");
    c.phase_order = PhaseOrder::Overlap;
  }
  if (c.async_validation && !cmd.run.dist.is_plain_exact())
    throw UsageError(
        "--async-validation: runs with --sync exact only (the in-flight state of the other modes "
        "cannot be set back to a solving check's snapshot)");
  cmd.run.param_hash = vm.count("param-hash") > 0;
  cmd.run.diagnostics = vm.count("diagnostics") > 0;
  if (cmd.run.diagnostics && c.algorithm != Algorithm::Tptt && c.algorithm != Algorithm::TpttHx)
    throw UsageError("--diagnostics: compares the TPTT update with the BPTT update; not available with --algorithm " +
                     to_string(c.algorithm));
  if (cmd.run.mpi != "auto" && cmd.run.mpi != "on" && cmd.run.mpi != "off")
    throw UsageError("--mpi: expected auto, on or off, got '" + cmd.run.mpi + "'");
  if (cmd.run.fail_kind != "throw" && cmd.run.fail_kind != "kill")
    throw UsageError("--fail-kind: expected throw or kill, got '" + cmd.run.fail_kind + "'");
  if (cmd.run.fail_rank < 0) throw UsageError("--fail-rank: must be >= 0");
  c.validate();
  cmd.run.dist.validate(c);
  validate_checkpoint_options(cmd);
  if (cmd.resume_from) cmd.changed_on_resume = changed_options(resume_text, config_to_ini(c), cmd.run.resume, scope);
  return cmd;
}

std::string run_options_to_ini(const TrainCommand& cmd) {
  const RunOptions& run = cmd.run;
  const auto absolute = [](const std::string& path) {
    return std::filesystem::absolute(path).lexically_normal().string();
  };
  std::ostringstream os;
  const auto line = [&os](const char* key, const std::string& value) { os << key << " = " << value << '\n'; };
  if (!cmd.config.log_path.empty()) line("log", absolute(cmd.config.log_path));
  if (!run.checkpoint.empty()) line("checkpoint", absolute(run.checkpoint));
  line("checkpoint-every", std::to_string(run.checkpoint_every));
  if (!run.save_params.empty()) line("save-params", absolute(run.save_params));
  if (!run.save_best.empty()) line("save-best", absolute(run.save_best));
  line("threads", std::to_string(cmd.config.threads));
  line("sync", to_string(run.dist.sync));
  if (run.dist.sync != SyncMode::Exact)
    line("micro-batches", run.dist.auto_micro_batches ? "auto" : std::to_string(run.dist.micro_batches));
  if (run.dist.sync == SyncMode::Stale) line("staleness", std::to_string(run.dist.staleness));
  if (run.dist.compensation != StalenessCompensation::None)
    line("staleness-compensation", to_string(run.dist.compensation));
  if (run.dist.uses_dc_lambda()) line("dc-lambda", json_number(run.dist.dc_lambda));
  if (run.dist.decoupled) line("decoupled", "true");
  if (run.dist.decoupled) line("decoupled-rate", json_number(run.dist.decoupled_rate));
  if (run.log_all_ranks) line("log-all-ranks", "true");
  if (run.diagnostics) line("diagnostics", "true");
  return os.str();
}

std::string train_options_help(HelpFor command) {
  TrainConfig c;
  RunOptions run;
  RawOptions raw;
  OptionGroups g;
  describe_options(g, c, run, raw);
  // The training options of a run the command sets up itself: no outputs, checkpoints or
  // distribution of its own (refuse_per_run_options); the curriculum sets the length.
  const auto experiment_option = [command](const std::string& name) {
    if (name == "log" || name == "overwrite" || name == "diagnostics" || name == "trace" || name == "save-params" ||
        name == "param-hash")
      return false;
    if (command == HelpFor::Curriculum) return name != "length" && name != "min-length" && name != "max-length";
    return true;
  };
  switch (command) {
    case HelpFor::Curriculum:
      return help_text("Training options of every level",
                       {&g.data, &g.model, &g.algo, &g.protocol, &g.output, &g.command}, experiment_option);
    case HelpFor::Sweep:
      return help_text(
          "Training options of every run (a grid axis may be any of them)",
          {&g.data, &g.model, &g.algo, &g.protocol, &g.output, &g.dist, &g.command}, [&](const std::string& name) {
            return experiment_option(name) &&
                   (name == "mpi" || name == "help" || g.dist.options.find_nothrow(name, false) == nullptr);
          });
    case HelpFor::Eval:
      return one_group_help_text("Options of the evaluation (the model's own options cannot change)",
                                 {&g.data, &g.algo, &g.protocol, &g.command}, [](const std::string& name) {
                                   return name == "data-dir" || name == "threads" || name == "validation-batch" ||
                                          name == "config" || name == "help";
                                 });
  }
  return "";
}

void resolve_micro_batches(TrainCommand& cmd, int ranks) {
  if (!cmd.run.micro_batches_from_ranks) return;
  cmd.run.dist.micro_batches = std::min(std::max(ranks, 2), cmd.config.batch);
  cmd.run.dist.validate(cmd.config);
}

bool same_option_value(const std::string& a, const std::string& b) {
  if (a == b) return true;
  double x = 0, y = 0;
  const auto [ea, ca] = std::from_chars(a.data(), a.data() + a.size(), x);
  const auto [eb, cb] = std::from_chars(b.data(), b.data() + b.size(), y);
  return ca == std::errc() && cb == std::errc() && ea == a.data() + a.size() && eb == b.data() + b.size() && x == y;
}

std::string schedule_label(const TrainConfig& c) {
  if (c.algorithm != Algorithm::Tptt && c.algorithm != Algorithm::TpttHx) return "none";  // no G and F phases
  if (c.schedule == Schedule::Alternate) return "alternate";
  return to_string(c.schedule) + "(p_G=" + json_number(c.p_g) + ")";
}

JsonObject config_to_json(const TrainConfig& c) {
  JsonObject j;
  j.add("task", to_string(c.task))
      .add("length", c.length)
      .add("min_length", c.min_length)
      .add("max_length", c.max_length)
      .add("batch", c.batch)
      .add("seed", c.seed)
      .add("data_dir", c.data_dir)
      .add("hidden", c.hidden)
      .add("activation", to_string(c.activation))
      .add("init", to_string(c.init))
      .add("init_std", c.init_std)
      .add("algorithm", to_string(c.algorithm))
      .add("optimizer", to_string(c.optimizer))
      .add("momentum", c.momentum)
      .add("lr", c.lr)
      .add("clip", c.clip_norm)
      .add("alpha_i", c.alpha_i)
      .add("alpha_f", c.alpha_f)
      .add("alpha_g", c.alpha_g)
      .add("noise", c.noise)
      .add("schedule", to_string(c.schedule))
      .add("phase_order", to_string(c.phase_order))
      .add("p_g", c.p_g)
      .add("threads", c.threads)
      .add("max_iterations", c.max_iterations)
      .add("check_every", c.check_every)
      .add("validation", to_string(c.validation))
      .add("validation_samples", c.validation_samples)
      .add("validation_batch", c.validation_batch)
      .add("solved_error", c.solved_error)
      .add("patience", c.patience)
      .add("max_spectral_radius", c.max_spectral_radius)
      .add("async_validation", c.async_validation)
      .add("log", c.log_path);
  return j;
}

JsonObject command_to_json(const TrainCommand& cmd) {
  const RunOptions& run = cmd.run;
  const DistributedConfig& dist = run.dist;
  JsonObject j = config_to_json(cmd.config);
  j.add("no_progress", !cmd.config.progress).add("overwrite", run.overwrite).add("diagnostics", run.diagnostics);
  j.add("trace", run.trace).add("save_params", run.save_params).add("param_hash", run.param_hash);
  j.add("sync", to_string(dist.sync)).add("staleness", dist.staleness);
  if (dist.auto_micro_batches)
    j.add("micro_batches", "auto");
  else
    j.add("micro_batches", dist.micro_batches);
  j.add("staleness_compensation", to_string(dist.compensation)).add("dc_lambda", dist.dc_lambda);
  j.add("decoupled", dist.decoupled).add("decoupled_rate", dist.decoupled_rate);
  j.add("mpi", run.mpi).add("log_all_ranks", run.log_all_ranks);
  j.add("checkpoint", run.checkpoint).add("checkpoint_every", run.checkpoint_every).add("resume", run.resume);
  j.add("save_best", run.save_best);
  j.add("config_file", run.config_file);
  return j;
}

}  // namespace tptt

namespace tptt {


std::string config_to_ini(const TrainConfig& c) {
  std::ostringstream os;
  const auto line = [&os](const char* key, const std::string& value) { os << key << " = " << value << '\n'; };
  line("task", to_string(c.task));
  if (!c.data_dir.empty()) line("data-dir", c.data_dir);
  line("length", std::to_string(c.length));
  line("min-length", std::to_string(c.min_length));
  line("max-length", std::to_string(c.max_length));
  line("batch", std::to_string(c.batch));
  line("seed", std::to_string(c.seed));
  line("hidden", std::to_string(c.hidden));
  line("activation", to_string(c.activation));
  line("init", to_string(c.init));
  line("init-std", json_number(c.init_std));
  line("algorithm", to_string(c.algorithm));
  line("optimizer", to_string(c.optimizer));
  line("momentum", json_number(c.momentum));
  line("lr", json_number(c.lr));
  line("clip", json_number(c.clip_norm));
  line("alpha-i", json_number(c.alpha_i));
  line("alpha-f", json_number(c.alpha_f));
  line("alpha-g", json_number(c.alpha_g));
  line("noise", json_number(c.noise));
  line("schedule", to_string(c.schedule));
  line("phase-order", to_string(c.phase_order));
  line("p-g", json_number(c.p_g));
  line("max-iterations", std::to_string(c.max_iterations));
  line("check-every", std::to_string(c.check_every));
  line("validation", to_string(c.validation));
  line("validation-samples", std::to_string(c.validation_samples));
  line("validation-batch", std::to_string(c.validation_batch));
  line("solved-error", json_number(c.solved_error));
  line("patience", std::to_string(c.patience));
  line("max-spectral-radius", json_number(c.max_spectral_radius));
  line("async-validation", c.async_validation ? "true" : "false");
  return os.str();
}

}  // namespace tptt
