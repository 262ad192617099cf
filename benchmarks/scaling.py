#!/usr/bin/env python3
"""Data-parallel scaling of E1 and E2 on this machine, and the cost model beyond it.

Runs bench_scaling four ways per model, in one run: one process x 1 thread, one process x 2
threads, `mpirun -np 2` x 1 thread, and one process running two micro-batches in turn (the two
processes' work with no exchange, for the speed-up a free exchange would give); reports the
speed-ups, the share of the gradient exchange the backward pass hid, and the cost model of
docs/distributed.md for N = 2 to 64 machines on 10 and 100 Gbit/s links. Writes the figures as
JSON (--json) and Markdown (--markdown).

  python3 benchmarks/scaling.py [--models e1,e2] [--epochs 2] [--limit 0]
                                [--bin build/benchmarks/bench_scaling] [--json OUT]
                                [--markdown OUT] [--latency-us 30]
"""
import argparse
import json
import os
import subprocess
import sys


def run(command, env):
    out = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads([line for line in out.splitlines() if line.startswith("{")][-1])


def exchange_seconds(n, gradient_bytes, bandwidth_bit_s, latency_s):
    """A ring all-reduce's time: 2 (N - 1) messages, 2 (N - 1) / N of the bytes sent each."""
    return 2 * (n - 1) * latency_s + 2 * (n - 1) / n * gradient_bytes * 8 / bandwidth_bit_s


def efficiency(compute_s, overlap_share, exchange_s):
    """Compute over the step's time, the exchange hidden up to `overlap_share` of the compute."""
    exposed = max(0.0, exchange_s - overlap_share * compute_s)
    return compute_s / (compute_s + exposed)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="e1,e2")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--bin", default="build/benchmarks/bench_scaling")
    ap.add_argument("--mpiexec", default="mpirun")
    ap.add_argument("--latency-us", type=float, default=30.0,
                    help="one message's latency on the modelled links (TCP over Ethernet)")
    ap.add_argument("--netns", default="",
                    help="link rates (tc's: 200mbit,1gbit) at which to check the model between "
                         "two network namespaces (tests/mpi/netns.sh; needs root)")
    ap.add_argument("--json")
    ap.add_argument("--markdown")
    a = ap.parse_args()

    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1")
    env.pop("XKERAS_NUM_THREADS", None)
    common = ["--epochs", str(a.epochs), "--limit", str(a.limit)]
    results = {}
    lines = ["| model | 1 proc x 1 thread | 1 proc x 2 threads | 2 procs x 1 thread | "
             "2x1 vs 1x1 | 2x1 vs 1x2 | exchange alone | exposed | hidden | update | "
             "2 parts in turn | ceiling |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    # hidden: the share of the gradient bytes whose exchange ended before the backward pass did;
    # update: the optimizer's step alone, which each process repeats over every weight;
    # 2 parts in turn: one process running both processes' micro-batches, with no exchange;
    # ceiling: the 2x1 vs 1x1 speed-up of a free exchange, each process one part and the update
    for model in a.models.split(","):
        one = run([a.bin, "--model", model, "--threads", "1", "--plain"] + common, env)
        two_threads = run([a.bin, "--model", model, "--threads", "2", "--plain"] + common, env)
        two = run([a.mpiexec, "-np", "2", a.bin, "--model", model, "--threads", "1"] + common,
                  env)
        parts = run([a.bin, "--model", model, "--threads", "1", "--micro-batches", "2"] + common,
                    env)
        steps = parts["steps_per_epoch"]
        update = parts["update_alone_ms"] / 1e3 * steps
        ceiling = one["median"] / ((parts["median"] - update) / 2 + update)
        r = {"one_process_one_thread": one, "two_parts_in_turn": parts, "ceiling": ceiling,
             "one_process_two_threads": two_threads,
             "two_processes": two,
             "speedup_vs_one_thread": one["median"] / two["median"],
             "speedup_vs_two_threads": two_threads["median"] / two["median"]}
        step_1x1 = one["median"] / one["steps_per_epoch"]
        step_2 = two["median"] / two["steps_per_epoch"]
        # the share of a step's compute the exchange can hide behind: from the first bucket's
        # start to the end of the backward pass
        overlap = min(1.0, two["overlapped_ms_per_step"] / 1e3 / step_2)
        model_rows = []
        for link in (10, 100):
            for n in (2, 4, 8, 16, 32, 64):
                t = exchange_seconds(n, two["gradient_bytes"], link * 1e9, a.latency_us * 1e-6)
                strong = efficiency(step_1x1 / n, overlap, t)  # the global batch split N ways
                weak = efficiency(step_1x1, overlap, t)  # each machine the whole batch
                model_rows.append({"gbit_s": link, "machines": n, "exchange_ms": t * 1e3,
                                   "strong_efficiency": strong, "weak_efficiency": weak})
        r["cost_model"] = {"compute_ms_per_step_one_thread": step_1x1 * 1e3,
                           "overlap_share": overlap, "latency_us": a.latency_us,
                           "gradient_bytes": two["gradient_bytes"], "rows": model_rows}
        results[model] = r
        lines.append(
            f"| {model} | {one['median']:.2f} s | {two_threads['median']:.2f} s | "
            f"{two['median']:.2f} s | {r['speedup_vs_one_thread']:.2f}x | "
            f"{r['speedup_vs_two_threads']:.2f}x | {two['exchange_alone_ms']:.2f} ms | "
            f"{two['exposed_ms_per_step']:.2f} ms | {100 * two['hidden_share']:.0f}% | "
            f"{two['update_alone_ms']:.2f} ms | {parts['median']:.2f} s | {ceiling:.2f}x |")
    lines += ["", "Cost model (efficiency; strong: the global batch split over the machines, "
              "weak: the whole batch on each):", "",
              "| model | link | " + " | ".join(f"N={n}" for n in (2, 4, 8, 16, 32, 64)) + " |",
              "|---|---|" + "---|" * 6]
    for model, r in results.items():
        for link in (10, 100):
            rows = [x for x in r["cost_model"]["rows"] if x["gbit_s"] == link]
            lines.append(f"| {model} strong | {link} Gbit/s | " + " | ".join(
                f"{100 * x['strong_efficiency']:.0f}%" for x in rows) + " |")
            lines.append(f"| {model} weak | {link} Gbit/s | " + " | ".join(
                f"{100 * x['weak_efficiency']:.0f}%" for x in rows) + " |")
    if a.netns:
        netns = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "mpi",
                             "netns.sh")
        lines += ["", "The model against two network namespaces joined by a veth pair (E1, "
                  "10,000 images, 2 epochs, tc tbf's rate, no added delay; the step's model is "
                  "the 2-process step on one machine plus the exchange not hidden):", "",
                  "| link | measured one-way latency | measured bandwidth | exchange alone, "
                  "measured | exchange, model | step, measured | step, model |",
                  "|---|---|---|---|---|---|---|"]
        results["netns"] = []
        for rate in a.netns.split(","):
            r = run(["bash", netns, "--rate", rate, "--", os.path.abspath(a.bin), "--model",
                     "e1", "--threads", "1", "--epochs", "2", "--limit", "10000"], env)
            bits = float(rate.replace("gbit", "e9").replace("mbit", "e6"))
            model_exchange = exchange_seconds(2, r["gradient_bytes"], bits,
                                              r["latency_us"] * 1e-6)
            # the step of 2 processes on one machine (measured; its exchange is nearly free)
            # plus what the link's exchange adds beyond what the backward pass hides
            e1 = results.get("e1")
            model_step = None
            if e1:
                shm = e1["two_processes"]
                local = shm["median"] / shm["steps_per_epoch"]
                model_step = local + max(0.0, model_exchange
                                         - e1["cost_model"]["overlap_share"] * local)
            step = r["median"] / r["steps_per_epoch"]
            results["netns"].append({"rate": rate, "run": r, "model_exchange_ms":
                                     model_exchange * 1e3, "model_step_ms":
                                     model_step * 1e3 if model_step else None})
            lines.append(
                f"| {rate} | {r['latency_us']:.0f} us | {r['bandwidth_gbit_s']:.2f} Gbit/s | "
                f"{r['exchange_alone_ms']:.1f} ms | {model_exchange * 1e3:.1f} ms | "
                f"{step * 1e3:.1f} ms | " +
                (f"{model_step * 1e3:.1f} ms |" if model_step else "- |"))
    text = "\n".join(lines)
    print(text)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=2)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    sys.exit(main())
