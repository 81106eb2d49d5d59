// `tptt sweep`: every combination of a grid of train options × every seed is an independent
// run. Under mpirun the runs are dealt over the ranks (each trains its runs alone, on a
// SoloCommunicator); MPI only tells a rank who it is and joins the ranks at the end, where
// rank 0 merges their result files. DIR/runs.csv (with DIR/runs.rank<k>.csv of a stopped
// multi-rank sweep) is the state: a rerun skips the runs it records.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <sstream>

#include "cli_commands.hpp"
#include "experiment_common.hpp"
#include "rank_failures.hpp"
#include "results_table.hpp"
#include "sweep_grid.hpp"
#include "tptt/comm/mpi_communicator.hpp"
#include "tptt/core/error.hpp"
#include "tptt/core/stop_signal.hpp"

namespace tptt {

namespace {

constexpr const char* kUsage =
    "usage: tptt sweep [train options] --grid \"KEY=V1,V2;KEY2=V3,V4\" [--seeds 1,2,3] --out DIR\n"
    "       mpirun -np R tptt sweep …   (the runs are dealt over the R ranks)\n"
    "Trains one model per combination of the grid's values and seed, each from scratch with the\n"
    "train options below. Writes DIR/runs.csv (one row per run), DIR/best.csv (per combination:\n"
    "runs solved, mean iterations to convergence, mean errors, sorted best first) and\n"
    "DIR/logs/<run>.jsonl; prints the table and the best combination. Rerunning the same command\n"
    "skips the runs already recorded; adding values to the grid runs only the new ones.\n"
    "\n"
    "Sweep options:\n"
    "  --grid SPEC    axes separated by ';', each a train option's long name ('-' or '_') with\n"
    "                 comma-separated values, e.g. \"alpha_f=0.1,0.01;alpha_g=0.01,0.001\" or\n"
    "                 \"noise=0,0.01,0.1,0.5\" (required)\n"
    "  --seeds LIST   seeds of every combination, e.g. 1,2,3 (default: --seed)\n"
    "  --out DIR      directory of the results (created if missing; required)\n\n";


// One run of the sweep: combination `combination` of the grid, with `seed`.
struct RunSpec {
  std::size_t combination = 0;
  std::vector<std::string> values;
  std::uint64_t seed = 0;
  TrainConfig config;
  std::string key() const {
    std::string k;
    for (const std::string& v : values) k += v + '\x1f';
    return k + std::to_string(seed);
  }
};

struct Plan {
  TrainCommand base;
  Grid grid;
  std::vector<std::uint64_t> seeds;
  std::string out;
  std::vector<RunSpec> runs;  // combination-major, seeds inner
  std::string runs_path() const { return join_path(out, "runs.csv"); }
  std::string identity_path() const { return join_path(out, "sweep.ini"); }
  std::vector<std::string> columns() const {
    std::vector<std::string> c;
    for (const GridAxis& a : grid.axes) c.push_back(a.key);
    for (const char* f : {"seed", "solved", "solved_at", "iterations", "best_error", "final_error", "stop_reason",
                          "seconds", "mode", "schedule"})
      c.emplace_back(f);
    return c;
  }
};

// Parses the train arguments of one run; a UsageError names --grid and the values.
TrainCommand parse_run(const std::vector<std::string>& rest, const std::vector<std::string>& extra,
                       const std::string& what) {
  std::vector<std::string> args = rest;
  args.insert(args.end(), extra.begin(), extra.end());
  try {
    return parse_train_command(args);
  } catch (const UsageError& e) {
    throw UsageError("--grid: " + what + ": " + e.what());
  }
}

Plan parse_plan(const std::vector<std::string>& args) {
  const SplitArgs split = split_own_options(args, {{"--grid", "", true}, {"--seeds", "", true}, {"--out", "", true}});
  const auto own = [&split](const std::string& name) -> const std::string* {
    const auto it = split.own.find(name);
    return it == split.own.end() ? nullptr : &it->second;
  };
  Plan plan;
  if (!own("--grid")) throw UsageError("--grid: the sweep needs a grid (--grid \"alpha_f=0.1,0.01;alpha_g=0.01\")");
  if (!own("--out") || own("--out")->empty()) throw UsageError("--out: the sweep needs a result directory (--out DIR)");
  plan.out = *own("--out");
  plan.grid = parse_grid(*own("--grid"));
  for (const GridAxis& a : plan.grid.axes)
    if (sets_option(split.rest, a.option, a.alias))
      throw UsageError("--grid: " + a.key + " is also given as " + a.option + "; sweep it or set it, not both");
  if (own("--seeds")) {
    if (sets_option(split.rest, "--seed")) throw UsageError("--seeds: give either --seed or --seeds, not both");
    plan.seeds = parse_seed_list("--seeds", *own("--seeds"));
  }
  plan.base = parse_train_command(split.rest);
  if (plan.seeds.empty()) plan.seeds = {plan.base.config.seed};

  // Each value alone first, so that a bad one is named by itself; then every run.
  for (const GridAxis& a : plan.grid.axes)
    for (const std::string& v : a.values) parse_run(split.rest, {a.option + "=" + v}, a.key + "=" + v);
  for (std::size_t c = 0; c < plan.grid.combinations(); ++c) {
    const std::vector<std::string> values = plan.grid.combination(c);
    const TrainCommand cmd = parse_run(split.rest, plan.grid.arguments(values), plan.grid.describe(values));
    for (std::uint64_t seed : plan.seeds) {
      RunSpec run{c, values, seed, cmd.config};
      run.config.seed = seed;
      plan.runs.push_back(std::move(run));
    }
  }
  refuse_per_run_options(plan.base, "sweep");
  return plan;
}

// The configuration every run shares (swept keys and seed left out) and the swept keys.
std::string identity_text(const Plan& plan) {
  std::string keys;
  for (const GridAxis& a : plan.grid.axes) keys += (keys.empty() ? "" : ",") + a.key;
  std::string text = "# tptt sweep: the configuration every run shares; keys are the swept options\nkeys = " + keys +
                     "\n";
  std::istringstream ini(config_to_ini(plan.base.config));
  for (std::string line; std::getline(ini, line);) {
    const std::string name = line.substr(0, line.find(" = "));
    bool swept = name == "seed";
    for (const GridAxis& a : plan.grid.axes) swept = swept || "--" + name == a.option;
    if (!swept) text += line + "\n";
  }
  return text;
}

void check_identity(const Plan& plan) {
  const std::optional<std::string> stored = read_text_file(plan.identity_path());
  if (!stored) {
    if (std::filesystem::exists(plan.runs_path()))
      throw FileError("'" + plan.identity_path() + "' is missing next to '" + plan.runs_path() +
                      "': cannot tell which configuration the recorded runs used");
    return;
  }
  const std::string differences = identity_differences(*stored, identity_text(plan));
  if (!differences.empty())
    throw UsageError("--out: '" + plan.out + "' holds a sweep of another configuration (" + differences +
                     "); use another --out directory");
}

// DIR/runs.csv first, then the per-rank files of an unfinished multi-rank sweep.
std::vector<std::string> result_files(const Plan& plan) {
  std::vector<std::string> files;
  if (std::filesystem::exists(plan.runs_path())) files.push_back(plan.runs_path());
  std::error_code ec;
  std::vector<std::string> ranks;
  for (const auto& entry : std::filesystem::directory_iterator(plan.out, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("runs.rank", 0) == 0 && name.size() > 13 && name.substr(name.size() - 4) == ".csv" &&
        name.find_first_not_of("0123456789", 9) == name.size() - 4)
      ranks.push_back(entry.path().string());
  }
  std::sort(ranks.begin(), ranks.end());
  files.insert(files.end(), ranks.begin(), ranks.end());
  return files;
}

std::vector<std::vector<std::string>> read_rows(const Plan& plan, const std::string& path) {
  std::optional<CsvTable> table = read_csv(path);
  if (!table) return {};
  std::vector<std::string> earlier = plan.columns();  // tptt 0.1.0 wrote no mode and schedule columns
  earlier.resize(earlier.size() - 2);
  if (table->header == earlier)
    for (auto& row : table->rows) row.insert(row.end(), {"", ""});
  else if (table->header != plan.columns())
    throw FileError("'" + path + "': its columns are not those of this sweep (" + std::to_string(table->header.size()) +
                    " columns, expected " + std::to_string(plan.columns().size()) + ")");
  return std::move(table->rows);
}

std::string row_key(const Plan& plan, const std::vector<std::string>& row) {
  std::string k;
  for (std::size_t a = 0; a < plan.grid.axes.size(); ++a) k += row[a] + '\x1f';
  return k + row[plan.grid.axes.size()];
}

// One row per run (the first one recorded wins), the runs of this grid in its order, then any
// others (values of an earlier, larger grid) in the order they were found.
CsvTable merge(const Plan& plan, const std::vector<std::vector<std::string>>& rows) {
  std::map<std::string, std::size_t> order;
  for (std::size_t i = 0; i < plan.runs.size(); ++i) order.emplace(plan.runs[i].key(), i);
  std::map<std::string, bool> seen;
  std::vector<std::pair<std::size_t, const std::vector<std::string>*>> kept;
  for (const auto& row : rows) {
    const std::string key = row_key(plan, row);
    if (seen[key]) continue;
    seen[key] = true;
    const auto it = order.find(key);
    kept.emplace_back(it == order.end() ? plan.runs.size() : it->second, &row);
  }
  std::stable_sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  CsvTable table{plan.columns(), {}};
  for (const auto& [index, row] : kept) table.rows.push_back(*row);
  return table;
}

std::vector<std::string> run_row(const RunSpec& run, const RunSummary& s) {
  std::vector<std::string> row = run.values;
  row.insert(row.end(),
             {std::to_string(run.seed), s.solved ? "true" : "false", s.solved ? std::to_string(s.solved_at) : "",
              std::to_string(s.iterations), format_number(s.best_error), format_number(s.final_error),
              to_string(s.reason), format_seconds(s.seconds), "exact", schedule_label(run.config)});
  return row;
}

std::string log_name(const Plan& plan, const RunSpec& run) {
  std::string name;
  for (std::size_t a = 0; a < plan.grid.axes.size(); ++a) name += plan.grid.axes[a].key + "=" + run.values[a] + "_";
  name += "seed=" + std::to_string(run.seed);
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '+' && c != '=' && c != '_')
      c = '_';
  return name + ".jsonl";
}

// Per combination: runs, solved, means; best first (most solved, then fewest iterations to
// convergence, then lowest best error). Accuracy = 1 − error (adding: the tolerance of docs/method.md).
CsvTable best_table(const Plan& plan, const CsvTable& runs) {
  struct Group {
    std::vector<std::string> values;
    long runs = 0, solved = 0;
    double solved_at = 0, iterations = 0, best_error = 0, final_error = 0;
  };
  const std::size_t keys = plan.grid.axes.size();
  std::vector<Group> groups;
  for (const auto& row : runs.rows) {
    const std::vector<std::string> values(row.begin(), row.begin() + static_cast<long>(keys));
    auto it = std::find_if(groups.begin(), groups.end(), [&](const Group& g) { return g.values == values; });
    if (it == groups.end()) it = groups.insert(groups.end(), Group{values});
    const auto number = [&](const char* column) {
      return std::stod(row[static_cast<std::size_t>(runs.column(column))]);
    };
    it->runs += 1;
    if (row[keys + 1] == "true") it->solved += 1, it->solved_at += number("solved_at");
    it->iterations += number("iterations");
    it->best_error += number("best_error");
    it->final_error += number("final_error");
  }
  const auto mean_solved_at = [](const Group& g) { return g.solved ? g.solved_at / g.solved : 1e300; };
  std::stable_sort(groups.begin(), groups.end(), [&](const Group& a, const Group& b) {
    if (a.solved != b.solved) return a.solved > b.solved;
    if (mean_solved_at(a) != mean_solved_at(b)) return mean_solved_at(a) < mean_solved_at(b);
    return a.best_error / a.runs < b.best_error / b.runs;
  });
  CsvTable table;
  for (const GridAxis& a : plan.grid.axes) table.header.push_back(a.key);
  for (const char* c : {"runs", "solved", "mean_solved_at", "mean_iterations", "mean_best_error", "mean_final_error",
                        "best_accuracy", "final_accuracy"})
    table.header.emplace_back(c);
  for (const Group& g : groups) {
    std::vector<std::string> row = g.values;
    const double n = static_cast<double>(g.runs);
    row.insert(row.end(),
               {std::to_string(g.runs), std::to_string(g.solved), g.solved ? format_mean(g.solved_at / g.solved) : "",
                format_mean(g.iterations / n), format_mean(g.best_error / n), format_mean(g.final_error / n),
                format_mean(1 - g.best_error / n), format_mean(1 - g.final_error / n)});
    table.rows.push_back(std::move(row));
  }
  return table;
}

// Rank 0, after every rank has finished: all rows into DIR/runs.csv (the per-rank files are
// removed once it is written), DIR/best.csv, and the tables on stdout.
void finish_results(const Plan& plan) {
  std::vector<std::vector<std::string>> rows;
  const std::vector<std::string> files = result_files(plan);
  for (const std::string& path : files) {
    auto more = read_rows(plan, path);
    rows.insert(rows.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
  }
  const CsvTable runs = merge(plan, rows);
  write_file_atomic(plan.runs_path(), to_csv(runs));
  for (const std::string& path : files)
    if (path != plan.runs_path()) std::filesystem::remove(path);
  const CsvTable best = best_table(plan, runs);
  write_file_atomic(join_path(plan.out, "best.csv"), to_csv(best));
  std::cout << format_table(best);
  if (!best.rows.empty()) {
    const std::vector<std::string>& top = best.rows.front();
    const std::vector<std::string> values(top.begin(), top.begin() + static_cast<long>(plan.grid.axes.size()));
    std::string args;
    for (const std::string& a : plan.grid.arguments(values)) args += " " + a;
    std::cout << "best: " << plan.grid.describe(values) << " (" << best.cell(0, "solved") << "/" << best.cell(0, "runs")
              << " solved";
    if (!best.cell(0, "mean_solved_at").empty()) std::cout << ", mean solved_at " << best.cell(0, "mean_solved_at");
    std::cout << ", final accuracy " << best.cell(0, "final_accuracy") << "):" << args << std::endl;
  }
}


}  // namespace

int run_sweep(const std::vector<std::string>& args) {
  std::optional<Plan> plan;
  Failure setup;
  try {
    if (wants_help(args)) {
      std::cout << kUsage << train_options_help(HelpFor::Sweep);
      return 0;
    }
    plan = parse_plan(args);
  } catch (...) {
    setup = classify(std::current_exception());
  }

  // MPI only under a launcher (or --mpi on): it deals the runs and joins the ranks at the end.
  bool use_mpi = launched_by_mpi_launcher();
  if (plan) use_mpi = plan->base.run.mpi == "on" || (plan->base.run.mpi == "auto" && use_mpi);
  std::unique_ptr<MpiCommunicator> mpi = start_mpi(use_mpi);
  const int K = mpi ? mpi->size() : 1, k = mpi ? mpi->rank() : 0;
  const auto finish = [&](int code) { return finish_mpi(mpi.get(), code); };

  // Setup, then one agreement: it is also the barrier before any rank writes a result, so
  // that every rank has read the same recorded runs and deals the rest the same way.
  std::vector<std::vector<std::string>> recorded;  // every rank: all rows found
  std::vector<std::vector<std::string>> mine;      // this rank's rows (its own file, K > 1)
  if (setup.code == 0) {
    try {
      check_threads_per_rank(mpi.get(), plan->base.config.threads);
      if (k == 0) {
        ensure_directory(plan->out, "--out");
        ensure_directory(join_path(plan->out, "logs"), "--out");
        check_identity(*plan);
        if (!read_text_file(plan->identity_path())) write_file_atomic(plan->identity_path(), identity_text(*plan));
      }
      for (const std::string& path : result_files(*plan)) {
        auto rows = read_rows(*plan, path);
        if (K > 1 && path == join_path(plan->out, "runs.rank" + std::to_string(k) + ".csv")) mine = rows;
        recorded.insert(recorded.end(), rows.begin(), rows.end());
      }
    } catch (...) {
      setup = classify(std::current_exception());
    }
  }
  if (mpi) {
    try {
      setup.code = agree_on_setup(*mpi, setup);
    } catch (const std::exception& e) {
      abort_job(1, "rank " + std::to_string(k) + ": error: " + e.what());
    }
  } else if (setup.code != 0) {
    std::cerr << "tptt: " << setup.what << std::endl;
  }
  if (setup.code != 0) return finish(setup.code);

  std::map<std::string, bool> done;
  for (const auto& row : recorded) done[row_key(*plan, row)] = true;
  std::vector<const RunSpec*> pending;
  for (const RunSpec& run : plan->runs)
    if (!done.count(run.key())) pending.push_back(&run);
  if (k == 0)
    std::cerr << "tptt sweep: " << plan->runs.size() << " runs (" << plan->grid.combinations() << " combinations x "
              << plan->seeds.size() << " seeds), " << plan->runs.size() - pending.size() << " already recorded, "
              << pending.size() << " to run" << (K > 1 ? " on " + std::to_string(K) + " ranks" : "") << "\n";

  // This rank's runs: pending run i goes to rank i mod K.
  const std::string my_file = K > 1 ? join_path(plan->out, "runs.rank" + std::to_string(k) + ".csv")
                                    : plan->runs_path();
  double interrupted = 0;
  try {
    for (std::size_t i = static_cast<std::size_t>(k); i < pending.size(); i += static_cast<std::size_t>(K)) {
      if (stop_signal() != 0) break;
      const RunSpec& run = *pending[i];
      TrainConfig cfg = run.config;
      cfg.log_path = join_path(join_path(plan->out, "logs"), log_name(*plan, run));
      if (K > 1) cfg.progress = false;  // one line per finished run instead of K interleaved progress lines
      const std::string what = plan->grid.describe(run.values) + " seed=" + std::to_string(run.seed);
      if (K == 1) std::cerr << "tptt sweep: run " << i + 1 << "/" << pending.size() << ": " << what << "\n";
      const RunSummary s = run_isolated(
          cfg, cfg.log_path, JsonObject().add("command", "sweep").add("sweep_rank", k).add("sweep_ranks", K));
      if (s.reason == StopReason::Interrupted) break;
      if (K > 1) {
        mine.push_back(run_row(run, s));
        write_file_atomic(my_file, to_csv(CsvTable{plan->columns(), mine}));
      } else {
        recorded.push_back(run_row(run, s));
        write_file_atomic(my_file, to_csv(merge(*plan, recorded)));
      }
      std::cerr << "tptt sweep: " << (K > 1 ? "rank " + std::to_string(k) + ": " : "") << what << ": "
                << (s.solved ? "solved at " + std::to_string(s.solved_at)
                             : to_string(s.reason) + ", best error " + format_number(s.best_error))
                << " (" << format_seconds(s.seconds) << " s)\n";
    }
  } catch (...) {
    const Failure failure = classify(std::current_exception());
    if (K > 1) {  // the other ranks would wait for this one at the end
      std::string what = failure.what;
      if (what.rfind("error: ", 0) == 0) what.erase(0, 7);
      abort_job(failure.code, "rank " + std::to_string(k) + ": " + what);
    }
    std::cerr << "tptt: " << failure.what << std::endl;
    return finish(failure.code);
  }
  if (stop_signal() != 0) interrupted = 1;

  // Barrier: every rank's file is complete; the sum says whether any rank was interrupted.
  if (mpi) {
    try {
      mpi->allreduce_sum(std::span<double>(&interrupted, 1));
    } catch (const std::exception& e) {
      abort_job(1, "rank " + std::to_string(k) + ": error: " + e.what());
    }
  }
  int code = interrupted > 0 ? kExitInterrupted : 0;
  if (k == 0) {
    try {
      finish_results(*plan);
    } catch (...) {
      const Failure failure = classify(std::current_exception());
      std::cerr << "tptt: " << failure.what << std::endl;
      code = failure.code;
    }
    if (interrupted > 0)
      std::cerr << "tptt sweep: stopped by a signal; rerun the same command to run the remaining runs\n";
  }
  return finish(code);
}

}  // namespace tptt
