// `tptt curriculum`: the depth search of Table 1 (docs/method.md). A fresh model per length T,
// starting at --start; T grows by --step while the protocol solves the task, and t_max is
// the largest T solved. DIR/curriculum.csv is the state: a rerun of the same command skips
// the levels it records, so an interrupted search continues where it stopped.
#include <iostream>
#include <sstream>

#include "cli_commands.hpp"
#include "experiment_common.hpp"
#include "results_table.hpp"
#include "tptt/core/error.hpp"
#include "tptt/core/stop_signal.hpp"

namespace tptt {

namespace {

constexpr const char* kUsage =
    "usage: tptt curriculum [train options] --out DIR [--start 10] [--step 10] [--length-cap N]\n"
    "The depth search of the paper's Table 1: train a fresh model at T = --start; if it solves the\n"
    "task, T += --step and train again; stop at the first failure. t_max is the largest T solved\n"
    "(0 if none).\n"
    "Writes DIR/curriculum.csv (one row per level), DIR/t_max.csv and DIR/T<T>.jsonl (the metrics\n"
    "of each level). Rerunning the same command continues a stopped search: recorded levels are\n"
    "skipped, an interrupted level starts again.\n"
    "\n"
    "Curriculum options:\n"
    "  --out DIR         directory of the results (created if missing; required)\n"
    "  --start T         first length (default 10)\n"
    "  --step S          length increment (default 10)\n"
    "  --length-cap N    stop after the last level T <= N even if it is solved (default: no\n"
    "                    cap); t_max.csv then says capped = true: t_max is a lower bound\n"
    "\n"
    "Every level uses the train options below, with --length set by the search.\n\n";

const std::vector<std::string> kColumns = {"task",       "algorithm",  "T",       "solved",     "solved_at",
                                           "iterations", "best_error", "seconds", "stop_reason"};

struct Plan {
  TrainCommand base;
  std::string out;
  long start = 10, step = 10, length_cap = 0;  // 0: no cap
  std::string csv_path() const { return join_path(out, "curriculum.csv"); }
  std::string identity_path() const { return join_path(out, "curriculum.ini"); }
  long level(std::size_t i) const { return start + static_cast<long>(i) * step; }
};

Plan parse_plan(const std::vector<std::string>& args) {
  const SplitArgs split = split_own_options(args, {{"--out", "", true},
                                                   {"--start", "", true},
                                                   {"--step", "", true},
                                                   {"--length-cap", "", true},
                                                   {"--max-length", "", true}});
  Plan plan;
  const auto own = [&split](const std::string& name) -> const std::string* {
    const auto it = split.own.find(name);
    return it == split.own.end() ? nullptr : &it->second;
  };
  if (!own("--out") || own("--out")->empty())
    throw UsageError("--out: the curriculum needs a result directory (--out DIR)");
  plan.out = *own("--out");
  if (own("--start")) plan.start = parse_long_option("--start", *own("--start"), 1);
  if (own("--step")) plan.step = parse_long_option("--step", *own("--step"), 1);
  // train's --max-length draws a length per minibatch; the curriculum's cap has its own name
  // (--max-length was its name once, so it is refused here, not taken as train's).
  if (own("--max-length"))
    throw UsageError(
        "--max-length: the curriculum's longest level is --length-cap N (train's --max-length, a range of "
        "lengths per minibatch, does not apply: the curriculum sets T per level)");
  if (const std::string* cap = own("--length-cap")) plan.length_cap = parse_long_option("--length-cap", *cap, 1);
  if (plan.length_cap > 0 && plan.length_cap < plan.start)
    throw UsageError("--length-cap: " + std::to_string(plan.length_cap) + " is below --start " +
                     std::to_string(plan.start));
  if (sets_option(split.rest, "--length", "-T"))
    throw UsageError("--length: the curriculum sets T per level (use --start, --step, --length-cap)");
  if (sets_option(split.rest, "--min-length"))
    throw UsageError("--min-length: a curriculum trains each level at one length T");
  std::vector<std::string> train_args = split.rest;
  train_args.insert(train_args.end(), {"--length", std::to_string(plan.start)});  // validated at the first level
  try {
    plan.base = parse_train_command(train_args);
  } catch (const UsageError& e) {  // the only --length is --start's
    const std::string what = e.what();
    if (what.rfind("--length:", 0) == 0) throw UsageError("--start:" + what.substr(9));
    throw;
  }
  refuse_per_run_options(plan.base, "curriculum");
  const TaskInfo info = task_info(plan.base.config.task);
  if (info.fixed_length > 0)
    throw UsageError("--task: a curriculum needs a task of any length; " + to_string(plan.base.config.task) +
                     " has only " + std::to_string(info.fixed_length));
  return plan;
}

// Everything that defines the levels but their length, as key = value lines.
std::string identity_text(const Plan& plan) {
  std::string text = "# tptt curriculum: the configuration of every level (--length is the level's T)\n";
  text += "start = " + std::to_string(plan.start) + "\nstep = " + std::to_string(plan.step) + "\n";
  std::istringstream ini(config_to_ini(plan.base.config));
  for (std::string line; std::getline(ini, line);)
    if (line.rfind("length = ", 0) != 0) text += line + "\n";
  return text;
}

// Refuses a directory that holds the curriculum of another configuration.
void check_identity(const Plan& plan, const std::string& stored, const std::string& wanted) {
  const std::string differences = identity_differences(stored, wanted);
  if (!differences.empty())
    throw UsageError("--out: '" + plan.out + "' holds a curriculum of another configuration (" + differences +
                     "); use another --out directory");
}

// The recorded levels, checked against the plan.
CsvTable load_levels(const Plan& plan) {
  const std::optional<std::string> stored = read_text_file(plan.identity_path());
  std::optional<CsvTable> levels = read_csv(plan.csv_path());
  if (!stored) {
    if (levels)
      throw FileError("'" + plan.identity_path() + "' is missing next to '" + plan.csv_path() +
                      "': cannot tell which configuration the recorded levels used");
    return CsvTable{kColumns, {}};
  }
  check_identity(plan, *stored, identity_text(plan));
  if (!levels) return CsvTable{kColumns, {}};
  for (const std::string& c : kColumns)
    if (levels->column(c) < 0) throw FileError("'" + plan.csv_path() + "': no column '" + c + "'");
  const TrainConfig& cfg = plan.base.config;
  for (std::size_t i = 0; i < levels->rows.size(); ++i) {
    const std::string where = std::string("'").append(plan.csv_path()) + "' line " + std::to_string(i + 2);
    if (levels->cell(i, "task") != to_string(cfg.task) || levels->cell(i, "algorithm") != to_string(cfg.algorithm))
      throw UsageError("--out: '" + plan.out + "' holds a curriculum of " + levels->cell(i, "task") + " with " +
                       levels->cell(i, "algorithm") + "; use another --out directory");
    if (levels->cell(i, "T") != std::to_string(plan.level(i)))
      throw FileError(where + ": T = " + levels->cell(i, "T") + ", expected " + std::to_string(plan.level(i)));
    const std::string& solved = levels->cell(i, "solved");
    if (solved != "true" && solved != "false") throw FileError(where + ": solved is neither true nor false");
    if (solved == "false" && i + 1 != levels->rows.size())
      throw FileError(where + ": a failed level is followed by others");
  }
  return *levels;
}

bool level_solved(const CsvTable& levels, std::size_t i) { return levels.cell(i, "solved") == "true"; }

long t_max(const CsvTable& levels) {
  long best = 0;
  for (std::size_t i = 0; i < levels.rows.size(); ++i)
    if (level_solved(levels, i)) best = std::stol(levels.cell(i, "T"));
  return best;
}

// Whether the search ended at --length-cap with every level solved: t_max is then a lower bound.
bool capped(const Plan& plan, const CsvTable& levels) {
  const std::size_t n = levels.rows.size();
  return plan.length_cap > 0 && n > 0 && level_solved(levels, n - 1) && plan.level(n) > plan.length_cap;
}

// t_max.csv: task, algorithm, t_max, capped (true: the search stopped at the cap, not at a failure).
void write_results(const Plan& plan, const CsvTable& levels) {
  write_file_atomic(plan.csv_path(), to_csv(levels));
  const TrainConfig& cfg = plan.base.config;
  const CsvTable summary{{"task", "algorithm", "t_max", "capped"},
                         {{to_string(cfg.task), to_string(cfg.algorithm), std::to_string(t_max(levels)),
                           capped(plan, levels) ? "true" : "false"}}};
  write_file_atomic(join_path(plan.out, "t_max.csv"), to_csv(summary));
}

std::vector<std::string> level_row(const TrainConfig& cfg, const RunSummary& s) {
  return {to_string(cfg.task),
          to_string(cfg.algorithm),
          std::to_string(cfg.length),
          s.solved ? "true" : "false",
          s.solved ? std::to_string(s.solved_at) : "",
          std::to_string(s.iterations),
          format_number(s.best_error),
          format_seconds(s.seconds),
          to_string(s.reason)};
}

}  // namespace

int run_curriculum(const std::vector<std::string>& args) {
  if (wants_help(args)) {
    std::cout << kUsage << train_options_help(HelpFor::Curriculum);
    return 0;
  }
  if (!single_process_launch("curriculum")) return kExitUsage;
  const Plan plan = parse_plan(args);
  ensure_directory(plan.out, "--out");
  CsvTable levels = load_levels(plan);
  if (!read_text_file(plan.identity_path())) write_file_atomic(plan.identity_path(), identity_text(plan));

  const TrainConfig& base = plan.base.config;
  const std::size_t done = levels.rows.size();
  if (done > 0)
    std::cerr << "tptt curriculum: " << done << " level(s) already in '" << plan.csv_path() << "' (T = " << plan.start
              << (done > 1 ? " … " + std::to_string(plan.level(done - 1)) : std::string()) << ")\n";
  bool finished = done > 0 && !level_solved(levels, done - 1);
  for (std::size_t i = done; !finished; ++i) {
    const long T = plan.level(i);
    if (plan.length_cap > 0 && T > plan.length_cap) break;
    if (stop_signal() != 0) break;
    TrainConfig cfg = base;
    cfg.length = static_cast<int>(T);
    cfg.log_path = join_path(plan.out, std::string("T").append(std::to_string(T)).append(".jsonl"));
    cfg.validate();
    std::cerr << "tptt curriculum: " << to_string(cfg.task) << ", " << to_string(cfg.algorithm) << ", T = " << T
              << " (log '" << cfg.log_path << "')\n";
    const RunSummary s = run_isolated(cfg, cfg.log_path, JsonObject().add("command", "curriculum").add("level", T));
    if (s.reason == StopReason::Interrupted) break;
    levels.rows.push_back(level_row(cfg, s));
    write_results(plan, levels);
    std::cerr << "tptt curriculum: T = " << T << ": "
              << (s.solved ? "solved at iteration " + std::to_string(s.solved_at)
                           : "not solved (" + to_string(s.reason) + ", best error " + format_number(s.best_error) + ")")
              << ", " << format_seconds(s.seconds) << " s\n";
    finished = !s.solved;
  }
  if (stop_signal() != 0) {
    std::cerr << "tptt curriculum: stopped by a signal; rerun the same command to continue (the level in progress "
                 "starts again)\n";
    return kExitInterrupted;
  }
  if (done == levels.rows.size()) write_results(plan, levels);  // t_max.csv of an earlier version, run or cap

  std::cout << format_table(levels);
  std::cout << "t_max = " << t_max(levels) << " (" << to_string(base.task) << ", " << to_string(base.algorithm) << ")";
  if (capped(plan, levels))
    std::cout << ", a lower bound: the search stopped at --length-cap " << plan.length_cap << " before a failure";
  std::cout << std::endl;
  return 0;
}

}  // namespace tptt
