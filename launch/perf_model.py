#!/usr/bin/env python3
"""Performance model of exact-semantics training over K ranks, one thread per rank.

Inputs, all measured on the machine at hand (launch/scaling.sh produces them):
  --trace FILE      rank 0's trace of a K = 1 bench run (tptt_mpi_check bench --trace): the time
                    of each kernel per iteration, hence per time step
  --bench FILE      JSON lines of tptt_mpi_check bench runs (iterations_per_s; at least K = 1)
  --pingpong FILE   JSON of tptt_mpi_check pingpong: message latency, bandwidth, all-reduce time

The model replays one iteration of the schedule that train/segment_pass.cpp runs on one thread
per rank, with the segments of segment_of() (lengths T/K, the longer ones first):
  every rank:  batch and input work (measured K = 1 remainder, not divided by K: each rank
               draws the whole minibatch and applies the whole update)
  rank k:      h_{a-1} from k-1 -> forward chain -> h_b to k+1 -> G(x,h)
  last rank:   output layer -> target chain -> dE/dh chain -> F gradient -> G gradient
  other ranks: G gradient (while the targets travel) -> target chain -> dE/dh chain -> F gradient
  then the all-reduce of the gradients (gather to rank 0, rank-order sum, broadcast).
A message of b bytes takes latency + b / bandwidth. Kernel costs scale with the segment's steps.

With --micro-batches M (>= 2) it replays --sync pipelined instead: the list schedule of
SegmentPipeline (a chain whose message is in runs first, oldest micro-batch first; the waits are
filled with G(x,h), the G and F gradients; else the rank waits for its oldest chain's message),
each micro-batch costing its share of the minibatch's kernel time, and compares with the bench
runs of mode pipelined(M).

Prints one CSV row per K (ranks, predicted ms per iteration, predicted iterations per second,
speed-up over K = 1, and the measured figures and the error where --bench has that K).
--latency-us / --bandwidth-gbps replace the measured link (e.g. a cluster's interconnect).
"""
import argparse
import json
import math
import sys

# Trace span names (train/segment_pass.cpp) -> kernel of the model.
SPANS = {
    "forward chain": "forward",
    "G(x,h) chunk": "gxh",
    "G(x,h)": "gxh",
    "target chain (eq. 8)": "targets",
    "dE/dh chain (eq. 12)": "chain",
    "F gradient (eq. 10)": "f_grad",
    "G gradient (eq. 9)": "g_grad",
    "output layer": "output",
}


def fail(message):
    print(f"perf_model.py: {message}", file=sys.stderr)
    sys.exit(2)


def read_json_lines(path):
    try:
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip().startswith("{")]
    except (OSError, ValueError) as e:
        fail(f"cannot read '{path}': {e}")


def kernel_costs(trace_path, iterations, steps):
    """Seconds per iteration and step of each kernel, and the rest of an iteration."""
    try:
        with open(trace_path) as f:
            events = json.load(f)
    except (OSError, ValueError) as e:
        fail(f"cannot read the trace '{trace_path}': {e}")
    total = {}
    for e in events:
        if e.get("ph") != "X" or e.get("cat") == "wait":
            continue
        kernel = SPANS.get(e["name"])
        if kernel:
            total[kernel] = total.get(kernel, 0.0) + e["dur"] * 1e-6
    per_step = {k: v / iterations / (1 if k == "output" else steps) for k, v in total.items()}
    return per_step, sum(total.values()) / iterations


def segments(T, K):
    return [T // K + (1 if k < T % K else 0) for k in range(K)]


def allreduce_seconds(K, nbytes, latency, bandwidth, calibration):
    if K == 1:
        return 0.0
    rounds = math.ceil(math.log2(K))
    gather = rounds * latency + (K - 1) * nbytes / bandwidth
    add = (K - 1) * nbytes / 4 * 0.3e-9  # rank 0 adds K-1 vectors, ~0.3 ns a float
    bcast = rounds * (latency + nbytes / bandwidth)
    return calibration * (gather + add + bcast)


def iteration_seconds(K, T, c, rest, message_bytes, allreduce):
    latency, bandwidth = c["latency"], c["bandwidth"]
    hop = latency + message_bytes / bandwidth
    n = segments(T, K)
    k_cost = lambda name, k: c.get(name, 0.0) * n[k]
    start = [rest] * K
    # Forward: h_b passes down the ranks.
    fwd_end, free = [0.0] * K, [0.0] * K
    arrival = 0.0
    for k in range(K):
        begin = max(start[k], arrival if k > 0 else 0.0)
        fwd_end[k] = begin + k_cost("forward", k)
        arrival = fwd_end[k] + hop
        free[k] = fwd_end[k] + k_cost("gxh", k)
    # Backward: targets and dE/dh pass up the ranks, from the last.
    end = [0.0] * K
    target_arrival = gradient_arrival = 0.0
    for k in reversed(range(K)):
        t = free[k]
        last = k == K - 1
        if last:
            t += c.get("output", 0.0)
        else:
            t += k_cost("g_grad", k)  # while the targets travel
            t = max(t, target_arrival)
        t += k_cost("targets", k)
        target_out = t + hop
        if not last:
            t = max(t, gradient_arrival)
        t += k_cost("chain", k)
        gradient_out = t + hop
        t += k_cost("f_grad", k)
        if last:
            t += k_cost("g_grad", k)
        end[k] = t
        target_arrival, gradient_arrival = target_out, gradient_out
    return max(end) + allreduce(K)


def pipelined_iteration_seconds(K, T, M, c, rest, message_bytes, allreduce):
    """One iteration of --sync pipelined with M micro-batches, one thread per rank: a replay of the
    list schedule of SegmentPipeline::schedule (train/distributed_modes.cpp). A micro-batch's
    kernels cost its share of the minibatch's (linear in the columns: narrower products, which run
    slower in practice, are not modelled). Conservative discrete-event replay: the rank with the
    earliest clock acts next, so every message that arrives before its clock is known."""
    latency, bandwidth = c["latency"], c["bandwidth"]
    n = segments(T, K)
    B_cols = [1.0 / M] * M
    hop = [latency + message_bytes * w / bandwidth for w in B_cols]
    cost = lambda name, k, u: c.get(name, 0.0) * (n[k] if name != "output" else 1) * B_cols[u]
    INF = float("inf")
    # Arrival times at rank k of micro-batch u's state (from k-1), targets and dE/dh (from k+1).
    state = [[0.0 if k == 0 else None for _ in range(M)] for k in range(K)]
    target = [[0.0 if k == K - 1 else None for _ in range(M)] for k in range(K)]
    grad = [[0.0 if k == K - 1 else None for _ in range(M)] for k in range(K)]
    has_chain = c.get("chain", 0.0) > 0
    clock = [rest] * K
    done = [dict(f=0, t=0, c=0) for _ in range(K)]  # next micro-batch of each chain kind
    fill = [[{"out": k != K - 1, "gxh": False, "g": False, "f": False} for _ in range(M)] for k in range(K)]
    finished = [False] * K

    def pending(k):
        d, out = done[k], []
        if d["f"] < M:
            out.append(("f", d["f"]))
        if d["t"] < M and d["t"] < d["f"]:
            out.append(("t", d["t"]))
        if has_chain and d["c"] < M and d["c"] < d["t"]:
            out.append(("c", d["c"]))
        return sorted(out, key=lambda x: x[1])  # oldest micro-batch first, forward before targets

    def arrival(k, kind, u):
        return {"f": state, "t": target, "c": grad}[kind][k][u]

    def run_chain(k, kind, u):
        t = clock[k]
        if kind == "f":
            t += cost("forward", k, u)
            if k + 1 < K:
                state[k + 1][u] = t + hop[u]
            done[k]["f"] += 1
        elif kind == "t":
            f = fill[k][u]
            if not f["out"]:
                t += cost("output", k, u); f["out"] = True
            if not f["gxh"]:
                t += cost("gxh", k, u); f["gxh"] = True
            t += cost("targets", k, u)
            if k > 0:
                target[k - 1][u] = t + hop[u]
            done[k]["t"] += 1
        else:
            t += cost("chain", k, u)
            if k > 0:
                grad[k - 1][u] = t + hop[u]
            done[k]["c"] += 1
        clock[k] = t

    def run_fill(k):
        for u in range(done[k]["f"]):
            f = fill[k][u]
            for name, key, ok in (("output", "out", True), ("gxh", "gxh", True), ("g_grad", "g", f["gxh"]),
                                  ("f_grad", "f", u < done[k]["t"])):
                if not f[key] and ok:
                    clock[k] += cost(name, k, u)
                    f[key] = True
                    return True
        return False

    while not all(finished):
        # The earliest rank that can act (a rank waiting for a message not yet sent cannot).
        best, best_time = None, INF
        for k in range(K):
            if finished[k]:
                continue
            chains = pending(k)
            ready = [x for x in chains if arrival(k, *x) is not None and arrival(k, *x) <= clock[k]]
            blocked = not ready and chains and arrival(k, *chains[0]) is None and \
                not any(not fill[k][u][key] for u in range(done[k]["f"]) for key in ("out", "gxh", "g")) and \
                not any(not fill[k][u]["f"] for u in range(done[k]["t"]))
            if not blocked and clock[k] < best_time:
                best, best_time = k, clock[k]
        if best is None:
            fail("pipelined model: no rank can act (a deadlock in the replay)")
        k = best
        chains = pending(k)
        ready = [x for x in chains if arrival(k, *x) is not None and arrival(k, *x) <= clock[k]]
        if ready:
            run_chain(k, *ready[0])
        elif run_fill(k):
            pass
        elif chains:
            clock[k] = max(clock[k], arrival(k, *chains[0]))  # waits for the oldest chain's message
            run_chain(k, *chains[0])
        else:
            finished[k] = True
    return max(clock) + allreduce(K)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trace", required=True)
    ap.add_argument("--bench", required=True)
    ap.add_argument("--pingpong")
    ap.add_argument("--ranks", default="1,2,4,8,16,32,64")
    ap.add_argument("--latency-us", type=float)
    ap.add_argument("--bandwidth-gbps", type=float, help="GB/s")
    ap.add_argument("--label", default="")
    ap.add_argument("--micro-batches", type=int, default=1,
                    help="M >= 2: model --sync pipelined --micro-batches M (compared with bench runs of that mode)")
    a = ap.parse_args()

    runs = [r for r in read_json_lines(a.bench) if r.get("dist", {}).get("mode") == "exact" and r.get("threads", 1) == 1]
    one = [r for r in runs if r["ranks"] == 1]
    if not one:
        fail(f"'{a.bench}' has no exact K = 1, one-thread run")
    T, H, B = one[0]["T"], one[0]["H"], one[0]["B"]
    iteration_1 = 1.0 / one[0]["iterations_per_s"]
    costs, kernels = kernel_costs(a.trace, one[0]["iterations"], T)
    rest = max(0.0, iteration_1 - kernels)
    # The trace's spans cost time of their own: where the bench file also has an untraced K = 1
    # run, every cost is scaled by the ratio of the two iteration times.
    untraced = [r for r in runs[1:] if r["ranks"] == 1]
    if untraced:
        scale = (1.0 / untraced[-1]["iterations_per_s"]) / iteration_1
        costs = {k: v * scale for k, v in costs.items()}
        rest *= scale

    link = {"latency": 2e-6, "bandwidth": 10e9, "allreduce_us": None, "allreduce_bytes": None}
    if a.pingpong:
        p = read_json_lines(a.pingpong)
        if not p:
            fail(f"'{a.pingpong}' has no pingpong result")
        p = p[-1]
        link = {"latency": p["latency_us"] * 1e-6, "bandwidth": p["bandwidth_gb_per_s"] * 1e9,
                "allreduce_us": p["allreduce_us"], "allreduce_bytes": p["allreduce_bytes"]}
    if a.latency_us is not None:
        link["latency"] = a.latency_us * 1e-6
    if a.bandwidth_gbps is not None:
        link["bandwidth"] = a.bandwidth_gbps * 1e9
    if link["bandwidth"] <= 0:
        fail("the measured bandwidth is not positive (a loaded machine?); pass --bandwidth-gbps")
    costs.update(latency=link["latency"], bandwidth=link["bandwidth"])
    grad_bytes = link["allreduce_bytes"] or 4 * (2 * H * H + 4 * H + 3)
    calibration = 1.0
    if link["allreduce_us"] and a.latency_us is None and a.bandwidth_gbps is None:
        modelled = allreduce_seconds(2, grad_bytes, link["latency"], link["bandwidth"], 1.0)
        calibration = link["allreduce_us"] * 1e-6 / modelled if modelled > 0 else 1.0
    allreduce = lambda K: allreduce_seconds(K, grad_bytes, link["latency"], link["bandwidth"], calibration)

    M = a.micro_batches
    if M < 1 or M > B:
        fail(f"--micro-batches: expected 1 .. B = {B}, got {M}")
    model = (lambda K: iteration_seconds(K, T, costs, rest, 4 * H * B, allreduce)) if M == 1 else \
        (lambda K: pipelined_iteration_seconds(K, T, M, costs, rest, 4 * H * B, allreduce))
    measured = {r["ranks"]: 1.0 / r["iterations_per_s"] for r in runs}
    if M > 1:
        piped = [r for r in read_json_lines(a.bench)
                 if r.get("dist", {}).get("mode") == f"pipelined({M})" and r.get("threads", 1) == 1]
        measured = {1: measured[1], **{r["ranks"]: 1.0 / r["iterations_per_s"] for r in piped}}
    base = iteration_seconds(1, T, costs, rest, 4 * H * B, allreduce)
    print(f"# model{(' ' + a.label) if a.label else ''}{f' pipelined({M})' if M > 1 else ''}: T={T} H={H} B={B}, latency {link['latency'] * 1e6:.2f} us, "
          f"bandwidth {link['bandwidth'] / 1e9:.2f} GB/s, per-step ms: "
          + ", ".join(f"{k} {costs[k] * 1e3:.4f}" for k in ("forward", "gxh", "targets", "chain", "f_grad", "g_grad")
                      if k in costs)
          + f"; per-iteration rest {rest * 1e3:.3f} ms")
    print("ranks,predicted_ms,predicted_it_per_s,predicted_speedup,measured_ms,measured_speedup,error")
    for K in (int(x) for x in a.ranks.split(",")):
        if K > T:
            continue
        t = model(K)
        row = [K, f"{t * 1e3:.3f}", f"{1 / t:.2f}", f"{base / t:.2f}"]
        if K in measured:
            m = measured[K]
            row += [f"{m * 1e3:.3f}", f"{measured[1] / m:.2f}", f"{(t - m) / m:+.1%}"]
        else:
            row += ["", "", ""]
        print(",".join(str(x) for x in row))


if __name__ == "__main__":
    main()
