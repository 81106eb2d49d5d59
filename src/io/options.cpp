#include "tptt/io/options.hpp"

#include <boost/program_options.hpp>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "tptt/core/error.hpp"

namespace po = boost::program_options;

namespace tptt {

namespace {

struct RawOptions {
  std::string task, activation, init, algorithm, optimizer, schedule, config_file, sync = "exact";
  std::string phase_order = "reference", validation = "fresh";
  unsigned long long seed = 1;
};

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

po::options_description describe_options(TrainConfig& c, RunOptions& run, RawOptions& raw) {
  po::options_description data("Task and data");
  data.add_options()
      ("task", po::value(&raw.task)->default_value("temporal"), "task: temporal, temporal3, adding, perm, mnist")
      ("length,T", po::value(&c.length)->default_value(c.length), "sequence length L")
      ("min-length", po::value(&c.min_length)->default_value(0), "with --max-length: draw L per minibatch from [min, max]")
      ("max-length", po::value(&c.max_length)->default_value(0), "longest L of the range (0 = fixed --length); validation uses it")
      ("batch,B", po::value(&c.batch)->default_value(c.batch), "minibatch size B")
      ("seed", po::value(&raw.seed)->default_value(1), "seed: data of iteration n depends on (seed, n) only")
      ("data-dir", po::value(&c.data_dir), "task mnist: directory of the four MNIST IDX files (launch/fetch-mnist.sh)");
  po::options_description model("Model");
  model.add_options()
      ("hidden,H", po::value(&c.hidden)->default_value(c.hidden), "hidden units H")
      ("activation", po::value(&raw.activation)->default_value("tanh"), "tanh or sigmoid")
      ("init", po::value(&raw.init)->default_value("orthogonal"), "orthogonal (reference tanh-randorth) or gaussian")
      ("init-std", po::value(&c.init_std)->default_value(c.init_std), "standard deviation of --init gaussian");
  po::options_description algo("Algorithm and optimiser");
  algo.add_options()
      ("algorithm", po::value(&raw.algorithm)->default_value("tptt"), "bptt, tptt (eq. 12 for W_xh), tptt_hx (eq. 13) or lstm (an LSTM trained by BPTT with --lr; one rank)")
      ("optimizer", po::value(&raw.optimizer)->default_value("nesterov"), "nesterov or sgd")
      ("momentum", po::value(&c.momentum)->default_value(c.momentum), "Nesterov momentum mu")
      ("lr", po::value(&c.lr)->default_value(c.lr), "BPTT learning rate alpha")
      ("clip", po::value(&c.clip_norm)->default_value(0.0), "BPTT gradient-norm clipping threshold (0 = off)")
      ("alpha-i", po::value(&c.alpha_i)->default_value(c.alpha_i), "TPTT first-target step alpha_i (eq. 3)")
      ("alpha-f", po::value(&c.alpha_f)->default_value(c.alpha_f), "TPTT learning rate of the forward set alpha_f")
      ("alpha-g", po::value(&c.alpha_g)->default_value(c.alpha_g), "TPTT learning rate of the feedback set alpha_g")
      ("noise", po::value(&c.noise)->default_value(0.0), "sigma of the Gaussian noise injected in the G phase")
      ("schedule", po::value(&raw.schedule)->default_value("alternate"), "alternate (G then F), random (one phase per iteration, G with probability p-g) or concurrent (G loop beside the F iterations, oneTBB tasks; needs --threads >= 2)")
      ("phase-order", po::value(&raw.phase_order)->default_value(raw.phase_order), "when an iteration runs both phases: reference (G update first, then the targets with the updated V_hh, c_h, as the authors' code) or overlap (targets with the feedback weights from before the G update, so the target chain can overlap the G phase); --sync stale and --decoupled always overlap")
      ("p-g", po::value(&c.p_g)->default_value(1.0), "random: probability of the G phase; concurrent: G updates p/(1-p) per F update")
      ("threads", po::value(&c.threads)->default_value(c.threads), "threads of each rank (oneTBB); results do not depend on it");
  po::options_description protocol("Protocol");
  protocol.add_options()
      ("max-iterations", po::value(&c.max_iterations)->default_value(c.max_iterations), "iteration budget")
      ("check-every", po::value(&c.check_every)->default_value(c.check_every), "validate every N iterations")
      ("validation", po::value(&raw.validation)->default_value(raw.validation), "fresh (a new validation set at every check, a function of the seed and the check's iteration, as the paper) or fixed (one set for the whole run)")
      ("validation-samples", po::value(&c.validation_samples)->default_value(c.validation_samples), "sequences in each validation set")
      ("validation-batch", po::value(&c.validation_batch)->default_value(c.validation_batch), "validation batch size")
      ("solved-error", po::value(&c.solved_error)->default_value(c.solved_error), "solved when the validation error is below this")
      ("patience", po::value(&c.patience)->default_value(c.patience), "abort after this many checks without a new best error")
      ("max-spectral-radius", po::value(&c.max_spectral_radius)->default_value(c.max_spectral_radius), "abort when rho(W_hh) or rho(V_hh) exceeds this")
      ("async-validation", po::value(&c.async_validation)->default_value(false)->implicit_value(true), "validate a snapshot of the parameters while training goes on (on threads training leaves idle; with --threads 1 between iterations); the same records, decided when each result arrives; a solved run keeps the snapshot. One rank, --sync exact, not --schedule concurrent");
  po::options_description output("Output");
  output.add_options()
      ("log", po::value(&c.log_path), "JSON-lines metrics file (one record per check)")
      ("no-progress", "no progress line on stderr")
      ("diagnostics", "at each check, log the angle between the TPTT and BPTT updates of W_hh (and W_xh for tptt_hx) and the per-step G and F local losses of that iteration's minibatch (SPEC 6, Fig. 5 and 6)")
      ("config", po::value(&raw.config_file), "INI-style file of options (key = value); the command line wins")
      ("help,h", "this help");
  po::options_description dist("Distributed runs (MPI; see docs/distributed.md)");
  dist.add_options()
      ("sync", po::value(&raw.sync)->default_value(raw.sync), "exact (K ranks = one rank), pipelined (exact, micro-batches flow through the ranks) or stale (gradient of minibatch n applied after iteration n+S)")
      ("staleness", po::value(&run.dist.staleness)->default_value(run.dist.staleness), "S of --sync stale (0 = exact)")
      ("micro-batches", po::value(&run.dist.micro_batches)->default_value(run.dist.micro_batches), "M micro-batches per minibatch (--sync pipelined, stale)")
      ("decoupled", "decoupled boundary targets (tptt_hx): a segment predicts its boundary target instead of waiting for it")
      ("decoupled-rate", po::value(&run.dist.decoupled_rate)->default_value(run.dist.decoupled_rate), "step of the boundary-target predictor (normalised LMS, in (0, 2))")
      ("mpi", po::value(&run.mpi)->default_value(run.mpi), "auto (use MPI when started by mpirun/mpiexec/srun), on (always; MPI singleton without a launcher), off")
      ("log-all-ranks", "with --log: rank k > 0 also writes its own log to <log>.rank<k>")
      ("save-params", po::value(&run.save_params), "rank 0 writes the final parameters to this .npy file (float32, flat buffer)")
      ("param-hash", "every rank prints a hash of its final parameters; the summary says whether all replicas are identical")
      ("fail-at-iteration", po::value(&run.fail_at_iteration)->default_value(-1), "fault test: rank --fail-rank fails at this iteration (0-based; needs more than one rank)")
      ("fail-rank", po::value(&run.fail_rank)->default_value(0), "fault test: the rank that fails")
      ("fail-kind", po::value(&run.fail_kind)->default_value(run.fail_kind), "fault test: throw (an exception) or kill (SIGKILL to itself)");
  po::options_description ckpt("Checkpoints (docs/reliability.md)");
  ckpt.add_options()
      ("checkpoint", po::value(&run.checkpoint), "write a checkpoint to this file (atomically; rank 0) every --checkpoint-every iterations, at the end and on SIGINT/SIGTERM")
      ("checkpoint-every", po::value(&run.checkpoint_every)->default_value(run.checkpoint_every), "iterations between checkpoints")
      ("resume", po::value(&run.resume), "continue the run of this checkpoint (its options are the defaults; any K)");
  po::options_description all("tptt train [options]");
  all.add(data).add(model).add(algo).add(protocol).add(output).add(dist).add(ckpt);
  return all;
}

// The INI text a checkpoint stores under "config" (train/checkpointing.hpp writes it).
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
std::vector<std::string> changed_options(const std::string& stored, const std::string& effective,
                                         const std::string& path) {
  const auto before = ini_pairs(stored);
  const auto after = ini_pairs(effective);
  std::vector<std::string> changed;
  for (const auto& [key, value] : after) {
    std::string old;
    bool found = false;
    for (const auto& [k, v] : before)
      if (k == key) old = v, found = true;
    if (found && old == value) continue;
    if (key == "task" || key == "hidden" || key == "algorithm" || key == "optimizer" || key == "data-dir")
      throw UsageError("--" + key + ": the checkpoint '" + path + "' was trained with " + key + " = " +
                       (found ? old : "(unset)") + "; a resumed run cannot change it");
    // The budget, and where validation runs: no effect on the trajectory.
    if (key == "max-iterations" || key == "patience" || key == "async-validation") continue;
    changed.push_back(key + " = " + value + " (checkpoint: " + (found ? old : "unset") + ")");
  }
  return changed;
}

void validate_checkpoint_options(const TrainCommand& cmd) {
  const RunOptions& run = cmd.run;
  if (run.checkpoint_every < 1) throw UsageError("--checkpoint-every: must be >= 1");
  if (run.checkpoint.empty() && run.resume.empty()) return;
  const char* option = run.checkpoint.empty() ? "--resume" : "--checkpoint";
  if (cmd.config.schedule == Schedule::Concurrent)
    throw UsageError(std::string(option) + ": not available with --schedule concurrent (its G loop runs "
                     "between iterations; use alternate or random)");
  if (run.dist.sync == SyncMode::Stale || run.dist.decoupled)
    throw UsageError(std::string(option) + ": not available with --sync stale or --decoupled (gradients and "
                     "boundary predictions are in flight across iterations); use --sync exact or pipelined");
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

TrainCommand parse_train_command(const std::vector<std::string>& args) {
  reject_boost_placeholders(args);
  TrainCommand cmd;
  RawOptions raw;
  std::string resume_text;
  po::options_description desc = describe_options(cmd.config, cmd.run, raw);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(desc).run(), vm);
    if (vm.count("help")) {
      std::ostringstream os;
      os << desc;
      cmd.help = true;
      cmd.help_text = os.str();
      return cmd;
    }
    if (vm.count("config")) {
      const std::string path = vm["config"].as<std::string>();
      std::ifstream file(path);
      if (!file) throw UsageError("--config: cannot read config file '" + path + "'");
      std::ostringstream text;
      text << file.rdbuf();
      reject_boost_placeholders(text.str(), "config file '" + path + "'");
      std::istringstream in(text.str());
      try {
        po::store(po::parse_config_file(in, desc, /*allow_unregistered=*/false), vm);
      } catch (const po::error& e) {
        throw UsageError("config file '" + path + "': " + e.what());
      }
    }
    if (vm.count("resume")) {
      const std::string path = vm["resume"].as<std::string>();
      cmd.resume_from = std::make_shared<const Checkpoint>(read_checkpoint(path));  // FileError: exit 3
      resume_text = with_legacy_semantics(checkpoint_config_text_of(*cmd.resume_from));
      std::istringstream in(resume_text);
      try {
        po::store(po::parse_config_file(in, desc, /*allow_unregistered=*/false), vm);
      } catch (const po::error& e) {
        throw FileError("checkpoint '" + path + "': stored configuration: " + e.what());
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
  cmd.run.log_all_ranks = vm.count("log-all-ranks") > 0;
  cmd.run.dist.sync = parse_sync_mode(raw.sync);
  cmd.run.dist.decoupled = vm.count("decoupled") > 0;
  // Stale and decoupled modes compute a minibatch's targets before its G update is applied:
  // they run in the overlap order unless reference is asked for (which they refuse).
  if (cmd.run.dist.delay() > 0 || cmd.run.dist.decoupled) {
    if (!vm["phase-order"].defaulted() && c.phase_order == PhaseOrder::Reference)
      throw UsageError("--phase-order reference needs exact semantics (--sync exact or pipelined, not --decoupled): "
                       "stale and decoupled modes compute a minibatch's targets before its G update applies");
    c.phase_order = PhaseOrder::Overlap;
  }
  if (c.async_validation && !cmd.run.dist.is_plain_exact())
    throw UsageError("--async-validation: runs with --sync exact only (the in-flight state of the other modes "
                     "cannot be set back to a solving check's snapshot)");
  cmd.run.param_hash = vm.count("param-hash") > 0;
  cmd.run.diagnostics = vm.count("diagnostics") > 0;
  if (cmd.run.mpi != "auto" && cmd.run.mpi != "on" && cmd.run.mpi != "off")
    throw UsageError("--mpi: expected auto, on or off, got '" + cmd.run.mpi + "'");
  if (cmd.run.fail_kind != "throw" && cmd.run.fail_kind != "kill")
    throw UsageError("--fail-kind: expected throw or kill, got '" + cmd.run.fail_kind + "'");
  if (cmd.run.fail_rank < 0) throw UsageError("--fail-rank: must be >= 0");
  c.validate();
  cmd.run.dist.validate(c);
  validate_checkpoint_options(cmd);
  if (cmd.resume_from) cmd.changed_on_resume = changed_options(resume_text, config_to_ini(c), cmd.run.resume);
  return cmd;
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

}  // namespace tptt

namespace tptt {

namespace {
std::string round_trip(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}
}  // namespace

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
  line("init-std", round_trip(c.init_std));
  line("algorithm", to_string(c.algorithm));
  line("optimizer", to_string(c.optimizer));
  line("momentum", round_trip(c.momentum));
  line("lr", round_trip(c.lr));
  line("clip", round_trip(c.clip_norm));
  line("alpha-i", round_trip(c.alpha_i));
  line("alpha-f", round_trip(c.alpha_f));
  line("alpha-g", round_trip(c.alpha_g));
  line("noise", round_trip(c.noise));
  line("schedule", to_string(c.schedule));
  line("phase-order", to_string(c.phase_order));
  line("p-g", round_trip(c.p_g));
  line("max-iterations", std::to_string(c.max_iterations));
  line("check-every", std::to_string(c.check_every));
  line("validation", to_string(c.validation));
  line("validation-samples", std::to_string(c.validation_samples));
  line("validation-batch", std::to_string(c.validation_batch));
  line("solved-error", round_trip(c.solved_error));
  line("patience", std::to_string(c.patience));
  line("max-spectral-radius", round_trip(c.max_spectral_radius));
  line("async-validation", c.async_validation ? "true" : "false");
  return os.str();
}

}  // namespace tptt
