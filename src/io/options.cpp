#include "tptt/io/options.hpp"

#include <boost/program_options.hpp>
#include <fstream>
#include <sstream>

#include "tptt/core/error.hpp"

namespace po = boost::program_options;

namespace tptt {

namespace {

struct RawOptions {
  std::string task, activation, init, algorithm, optimizer, schedule, config_file;
  unsigned long long seed = 1;
};

po::options_description describe_options(TrainConfig& c, RawOptions& raw) {
  po::options_description data("Task and data");
  data.add_options()
      ("task", po::value(&raw.task)->default_value("temporal"), "task: temporal, temporal3, adding, perm")
      ("length,T", po::value(&c.length)->default_value(c.length), "sequence length L")
      ("min-length", po::value(&c.min_length)->default_value(0), "with --max-length: draw L per minibatch from [min, max]")
      ("max-length", po::value(&c.max_length)->default_value(0), "longest L of the range (0 = fixed --length); validation uses it")
      ("batch,B", po::value(&c.batch)->default_value(c.batch), "minibatch size B")
      ("seed", po::value(&raw.seed)->default_value(1), "seed: data of iteration n depends on (seed, n) only");
  po::options_description model("Model");
  model.add_options()
      ("hidden,H", po::value(&c.hidden)->default_value(c.hidden), "hidden units H")
      ("activation", po::value(&raw.activation)->default_value("tanh"), "tanh or sigmoid")
      ("init", po::value(&raw.init)->default_value("orthogonal"), "orthogonal (reference tanh-randorth) or gaussian")
      ("init-std", po::value(&c.init_std)->default_value(c.init_std), "standard deviation of --init gaussian");
  po::options_description algo("Algorithm and optimiser");
  algo.add_options()
      ("algorithm", po::value(&raw.algorithm)->default_value("tptt"), "bptt, tptt (eq. 12 for W_xh) or tptt_hx (eq. 13)")
      ("optimizer", po::value(&raw.optimizer)->default_value("nesterov"), "nesterov or sgd")
      ("momentum", po::value(&c.momentum)->default_value(c.momentum), "Nesterov momentum mu")
      ("lr", po::value(&c.lr)->default_value(c.lr), "BPTT learning rate alpha")
      ("clip", po::value(&c.clip_norm)->default_value(0.0), "BPTT gradient-norm clipping threshold (0 = off)")
      ("alpha-i", po::value(&c.alpha_i)->default_value(c.alpha_i), "TPTT first-target step alpha_i (eq. 3)")
      ("alpha-f", po::value(&c.alpha_f)->default_value(c.alpha_f), "TPTT learning rate of the forward set alpha_f")
      ("alpha-g", po::value(&c.alpha_g)->default_value(c.alpha_g), "TPTT learning rate of the feedback set alpha_g")
      ("noise", po::value(&c.noise)->default_value(0.0), "sigma of the Gaussian noise injected in the G phase")
      ("schedule", po::value(&raw.schedule)->default_value("alternate"), "alternate (G then F) or random (one phase per iteration)")
      ("p-g", po::value(&c.p_g)->default_value(1.0), "probability of the G phase under --schedule random");
  po::options_description protocol("Protocol");
  protocol.add_options()
      ("max-iterations", po::value(&c.max_iterations)->default_value(c.max_iterations), "iteration budget")
      ("check-every", po::value(&c.check_every)->default_value(c.check_every), "validate every N iterations")
      ("validation-samples", po::value(&c.validation_samples)->default_value(c.validation_samples), "size of the fixed validation set")
      ("validation-batch", po::value(&c.validation_batch)->default_value(c.validation_batch), "validation batch size")
      ("solved-error", po::value(&c.solved_error)->default_value(c.solved_error), "solved when the validation error is below this")
      ("patience", po::value(&c.patience)->default_value(c.patience), "abort after this many checks without a new best error")
      ("max-spectral-radius", po::value(&c.max_spectral_radius)->default_value(c.max_spectral_radius), "abort when rho(W_hh) or rho(V_hh) exceeds this");
  po::options_description output("Output");
  output.add_options()
      ("log", po::value(&c.log_path), "JSON-lines metrics file (one record per check)")
      ("no-progress", "no progress line on stderr")
      ("config", po::value(&raw.config_file), "INI-style file of options (key = value); the command line wins")
      ("help,h", "this help");
  po::options_description all("tptt train [options]");
  all.add(data).add(model).add(algo).add(protocol).add(output);
  return all;
}

}  // namespace

TrainCommand parse_train_command(const std::vector<std::string>& args) {
  TrainCommand cmd;
  RawOptions raw;
  po::options_description desc = describe_options(cmd.config, raw);
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
      std::ifstream in(path);
      if (!in) throw FileError("--config: cannot read config file '" + path + "'");
      try {
        po::store(po::parse_config_file(in, desc, /*allow_unregistered=*/false), vm);
      } catch (const po::error& e) {
        throw UsageError("config file '" + path + "': " + e.what());
      }
    }
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(e.what());
  }
  TrainConfig& c = cmd.config;
  c.task = parse_task(raw.task);
  c.activation = parse_activation(raw.activation);
  c.init = parse_init_scheme(raw.init);
  c.algorithm = parse_algorithm(raw.algorithm);
  c.optimizer = parse_optimizer(raw.optimizer);
  c.schedule = parse_schedule(raw.schedule);
  c.seed = raw.seed;
  c.progress = !vm.count("no-progress");
  c.validate();
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
      .add("p_g", c.p_g)
      .add("max_iterations", c.max_iterations)
      .add("check_every", c.check_every)
      .add("validation_samples", c.validation_samples)
      .add("validation_batch", c.validation_batch)
      .add("solved_error", c.solved_error)
      .add("patience", c.patience)
      .add("max_spectral_radius", c.max_spectral_radius)
      .add("log", c.log_path);
  return j;
}

}  // namespace tptt
