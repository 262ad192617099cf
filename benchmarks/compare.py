#!/usr/bin/python3
"""Every seed model in xkeras and in PyTorch, at each thread count, in one run, against the goals.

First measures the machine's sgemm limit per thread count (bench_epoch --gemm-limit), then runs
build/benchmarks/bench_epoch and its PyTorch replica (benchmarks/pytorch/seed_models.py)
alternately, per model and thread count, and prints one table: seconds per training epoch
(median, min-max) on both sides and their ratio, xkeras's GFLOP/s and its time as a multiple of
the GEMM-bound minimum (training FLOPs / sgemm GFLOP/s), batch-1 latency (with the round trip of
a cache line between xkeras's two CPUs meanwhile), batch-1000 throughput and training peak RSS on
both sides; then the goals of issue 5, each PASS or MISS with its figure.
--xkeras-default-bin adds a second xkeras build, the one a user gets with no -march (runtime
dispatch picks the kernels), run alongside and set against the native one in a second table,
with the goal of issue 26: within 10% of native on training, batch 1 and batch 1000.
--coretype-variants runs the whole set again with OPENBLAS_CORETYPE removed from the environment.
Everything goes to a JSON file (and, with --markdown, a Markdown fragment for the docs).

Standard library only. The PyTorch side needs Debian's python3-torch (/usr/bin/python3); without
it the PyTorch columns show '-' and the goals that need it say 'no PyTorch'.
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent  # defaults below are relative to the repo root, not the cwd
REPLICA = HERE / "pytorch" / "seed_models.py"  # PyTorch replicas of the seed models
MODELS = {  # name -> label; batch sizes and training-set sizes are the children's defaults
    "e1": "E1 CNN", "e2": "E2 MLP", "e3": "E3 CNN", "e4": "E4 CNN",
    "e5mlp": "E5 MLP", "e5cnn": "E5 CNN+BN",
    "lstm": "LSTM(128) rows", "gru": "GRU(128) rows",
}
MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
               "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
# Goals (issue 5)
TRAIN_RATIO_MAX = 0.6      # xkeras / PyTorch s/epoch, each side at its best thread count
TRAIN_RATIO_MAX_BY_MODEL = {"lstm": 0.7, "gru": 0.7}  # issue 28's, for the recurrent models
GEMM_MULTIPLE_MAX = 1.3    # E1 and E2: xkeras s/epoch / GEMM-bound minimum, every thread count
LATENCY_MAX_US = {"e2": 15.0, "e1": 100.0}  # batch 1, best thread count
THROUGHPUT_RATIO_MIN = 2.0  # xkeras / PyTorch batch-1000 samples/s
RSS_RATIO_MAX = 0.5         # E1 training peak RSS, xkeras / PyTorch
DEFAULT_OVER_NATIVE_MAX = 1.10  # issue 26: the default build's time / the native build's
# bench_epoch times batch 1 in blocks, each after measuring a cache line's round trip between
# two threads. Under this many ns the host ran the VM's CPUs side by side (sharing an L3: ~60-100
# ns on the Zen 4 VM); above it they were apart (~330 ns) or took turns on one core (us to ms).
NEAR_CORES_NS = 200


def parse_args():
    default_dir = os.environ.get("XKERAS_DATA_DIR") or str(Path.home() / ".xkeras/datasets/mnist")
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default=",".join(MODELS),
                   help="comma-separated, from: " + ", ".join(MODELS) + " (default: all)")
    p.add_argument("--threads", default="1,2", help="comma-separated thread counts (default 1,2)")
    p.add_argument("--epochs", type=int, default=3, help="epochs per run (default 3)")
    p.add_argument("--batch-size", type=int, default=0,
                   help="override every model's batch size (0: each document's)")
    p.add_argument("--limit", type=int, default=0,
                   help="train on the first N images (0: each document's training share)")
    p.add_argument("--latency-runs", type=int, default=0,
                   help="batch-1 predictions to time (0: the children's default, 2000)")
    p.add_argument("--data-dir", default=default_dir, help=f"MNIST (default {default_dir})")
    p.add_argument("--xkeras-bin", default=str(ROOT / "build/benchmarks/bench_epoch"),
                   help="xkeras's bench_epoch (scripts/bench.sh builds it with -march=native)")
    p.add_argument("--xkeras-default-bin", metavar="PATH",
                   help="also run this bench_epoch, built with no -march (XKERAS_NATIVE=OFF), "
                        "and compare it with --xkeras-bin")
    p.add_argument("--torch-python", default="/usr/bin/python3",
                   help="Python with torch for the replica (default /usr/bin/python3)")
    p.add_argument("--coretype-variants", action="store_true",
                   help="run everything as found and again with OPENBLAS_CORETYPE unset")
    p.add_argument("--json", default=str(ROOT / "build/benchmarks/compare.json"), metavar="PATH")
    p.add_argument("--markdown", metavar="PATH", help="also write the tables and goals as Markdown")
    a = p.parse_args()
    a.model_list = [m.strip() for m in a.models.split(",") if m.strip()]
    for m in a.model_list:
        if m not in MODELS:
            p.error(f"unknown model '{m}'; choose from {', '.join(MODELS)}")
    try:
        a.thread_list = [int(t) for t in a.threads.split(",") if t.strip()]
    except ValueError:
        p.error(f"--threads: not a list of integers: {a.threads}")
    if not a.model_list or not a.thread_list or min(a.thread_list) < 1 or a.epochs < 1:
        p.error("need at least one model, thread counts >= 1 and --epochs >= 1")
    return a


def log(msg):
    print(f"[compare] {msg}", file=sys.stderr, flush=True)


def run_child(name, cmd, env, out_json):
    """Runs one benchmark process; its JSON with min/max/median recomputed, or None on failure."""
    cmd = [str(c) for c in cmd]
    log(f"{name}: {' '.join(cmd)}")
    try:
        # The children's summaries go to stderr with the progress, so stdout is only the report.
        proc = subprocess.run(cmd, env=env, stdout=sys.stderr)
    except OSError as e:
        log(f"{name} could not start: {e}")
        return None
    if proc.returncode != 0:
        log(f"{name} FAILED with exit code {proc.returncode}")
        return None
    try:
        result = json.loads(Path(out_json).read_text())
        if "seconds_per_epoch" in result:
            times = [float(t) for t in result["seconds_per_epoch"]]
            # The same statistics for both frameworks, whatever each child computed.
            result.update(median=statistics.median(times), min=min(times), max=max(times))
        return result
    except (OSError, ValueError, KeyError, TypeError) as e:
        log(f"{name} wrote no usable JSON to {out_json}: {e!r}")
        return None


def ratio(a, b):
    return a / b if a is not None and b else None


def get(r, key):
    return r.get(key) if r else None


def host_note(x):
    """How the host placed the CPUs while bench_epoch timed batch 1 (runs of 2 threads and more):
    the median round trip, and the median latency of the blocks timed with the CPUs near and of
    those timed with them apart."""
    blocks = x.get("latency_blocks") or []
    if not blocks:
        return ""
    note = f"; cores' round trip {x['core_round_trip_ns']:.0f} ns"
    groups = (("near", [b for b in blocks if b["core_round_trip_ns"] < NEAR_CORES_NS]),
              ("apart", [b for b in blocks if b["core_round_trip_ns"] >= NEAR_CORES_NS]))
    split = [f"{label} {statistics.median(b['latency_batch1_us'] for b in group):.1f} us in "
             f"{len(group)}/{len(blocks)} blocks" for label, group in groups if group]
    return note + f" ({', '.join(split)}; near: < {NEAR_CORES_NS} ns)"


def run_variant(args, label, env, has_torch, tmp):
    """The gemm limits and every model x thread count, in the given environment."""
    env = dict(env)
    coretype = env.get("OPENBLAS_CORETYPE")
    log(f"=== {label} (OPENBLAS_CORETYPE={coretype or 'unset'}) ===")
    gemm, cores, failures = {}, set(), 0
    for n in args.thread_list:
        out = Path(tmp, f"gemm_{n}.json")
        child_env = dict(env, OMP_NUM_THREADS=str(n), OPENBLAS_NUM_THREADS=str(n))
        g = run_child(f"xkeras sgemm limit, {n} thread(s)",
                      [args.xkeras_bin, "--gemm-limit", "--threads", n, "--json", out],
                      child_env, out)
        if g:
            gemm[str(n)] = g.get("gemm")
            cores.add(g.get("blas_core", "?"))
        else:
            gemm[str(n)] = None
            failures += 1

    rows = []
    for model in args.model_list:
        common = ["--model", model, "--epochs", args.epochs, "--data-dir", args.data_dir]
        for flag, value in (("--batch-size", args.batch_size), ("--limit", args.limit),
                            ("--latency-runs", args.latency_runs)):
            if value:
                common += [flag, value]
        for n in args.thread_list:
            child_env = dict(env, OMP_NUM_THREADS=str(n), OPENBLAS_NUM_THREADS=str(n))
            xout, pout = Path(tmp, f"xkeras_{model}_{n}.json"), Path(tmp, f"pytorch_{model}_{n}.json")
            dout = Path(tmp, f"xkeras_default_{model}_{n}.json")
            for f in (xout, pout, dout):
                f.unlink(missing_ok=True)
            x = run_child(f"xkeras {model}, {n} thread(s)",
                          [args.xkeras_bin, "--threads", n, *common, "--json", xout], child_env, xout)
            d = None
            if args.xkeras_default_bin:
                d = run_child(f"xkeras default build {model}, {n} thread(s)",
                              [args.xkeras_default_bin, "--threads", n, *common, "--json", dout],
                              child_env, dout)
                failures += d is None
            p = None
            if has_torch:
                p = run_child(f"pytorch {model}, {n} thread(s)",
                              [args.torch_python, REPLICA, "--threads", n, *common, "--json", pout],
                              child_env, pout)
                failures += p is None
            failures += x is None
            if x:
                cores.add(x.get("blas_core", "?"))
            rows.append(derive(model, n, x, p, gemm.get(str(n)), d))
    variant = {"label": label, "openblas_coretype": coretype,
               "blas_core": ", ".join(sorted(cores)) or "?", "gemm": gemm, "rows": rows,
               "failures": failures}
    variant["goals"] = goals(args, variant, has_torch)
    return variant


def derive(model, threads, x, p, gemm, d=None):
    flops = get(x, "train_flops_per_epoch")
    gemm_gflops = get(gemm, "gflops")
    bound = flops / (gemm_gflops * 1e9) if flops and gemm_gflops else None
    return {
        "model": model, "threads": threads,
        "batch_size": get(x, "batch_size") or get(p, "batch_size"),
        "samples": get(x, "samples") or get(p, "samples"),
        "xkeras": x, "pytorch": p,
        "ratio_train": ratio(get(x, "median"), get(p, "median")),
        "xkeras_gflops": flops / x["median"] / 1e9 if flops else None,
        "sgemm_gflops": gemm_gflops,
        "gemm_bound_s": bound,
        "xkeras_over_gemm_bound": ratio(get(x, "median"), bound),
        "ratio_throughput": ratio(get(x, "throughput_batch1000"), get(p, "throughput_batch1000")),
        "ratio_rss": ratio(get(x, "peak_rss_mib"), get(p, "peak_rss_mib")),
        # the default build (no -march) against the native one: times as default / native,
        # throughput as native / default, so above 1 always means the default build is slower
        "xkeras_default": d,
        "default_over_native_train": ratio(get(d, "median"), get(x, "median")),
        "default_over_native_latency": ratio(get(d, "latency_batch1_us"),
                                             get(x, "latency_batch1_us")),
        "native_over_default_throughput": ratio(get(x, "throughput_batch1000"),
                                                get(d, "throughput_batch1000")),
    }


def goal(name, model, status, figure, threads=None):
    return {"goal": name, "model": model, "threads": threads, "status": status, "figure": figure}


def goals(args, variant, has_torch):
    rows = variant["rows"]
    by = {(r["model"], r["threads"]): r for r in rows}
    out = []

    def best(model, side, key, pick=min):
        """(value, threads) at the side's best thread count, or (None, None)."""
        found = [(r[side][key], r["threads"]) for r in rows
                 if r["model"] == model and r[side] and r[side].get(key) is not None]
        return pick(found) if found else (None, None)

    def verdict(ok):
        return "PASS" if ok else "MISS"

    for m in args.model_list:  # training, each side at its best thread count
        limit = TRAIN_RATIO_MAX_BY_MODEL.get(m, TRAIN_RATIO_MAX)
        name = f"training xkeras/PyTorch <= {limit}"
        xs, xt = best(m, "xkeras", "median")
        ps, pt = best(m, "pytorch", "median")
        if not has_torch:
            out.append(goal(name, m, "no PyTorch", "-"))
        elif xs is None or ps is None:
            out.append(goal(name, m, "n/a", "a run failed"))
        else:
            r = xs / ps
            out.append(goal(name, m, verdict(r <= limit),
                            f"{r:.2f} (xkeras {xs:.3g} s at {xt} thr / PyTorch {ps:.3g} s at "
                            f"{pt} thr)"))
    for m in args.model_list:  # xkeras 2 threads faster than 1
        name = "xkeras 2 threads faster than 1"
        r1, r2 = by.get((m, 1)), by.get((m, 2))
        if not (r1 and r2):
            out.append(goal(name, m, "n/a", "needs --threads 1,2"))
        elif not (r1["xkeras"] and r2["xkeras"]):
            out.append(goal(name, m, "n/a", "a run failed"))
        else:
            t1, t2 = r1["xkeras"]["median"], r2["xkeras"]["median"]
            out.append(goal(name, m, verdict(t2 < t1),
                            f"2 thr / 1 thr = {t2 / t1:.2f} ({t2:.3g} s / {t1:.3g} s)"))
    for m in ("e1", "e2"):  # within 1.3x of the GEMM-bound minimum, every thread count
        name = f"within {GEMM_MULTIPLE_MAX}x of the GEMM-bound minimum"
        if m not in args.model_list:
            out.append(goal(name, m, "n/a", f"{m} not run"))
            continue
        for n in args.thread_list:
            r = by[(m, n)]
            if r["xkeras_over_gemm_bound"] is None:
                out.append(goal(name, m, "n/a", "a run failed", n))
            else:
                k = r["xkeras_over_gemm_bound"]
                out.append(goal(name, m, verdict(k <= GEMM_MULTIPLE_MAX),
                                f"{k:.2f}x ({r['xkeras']['median']:.3g} s vs "
                                f"{r['gemm_bound_s']:.3g} s at {r['sgemm_gflops']:.0f} GFLOP/s)", n))
    for m, limit in LATENCY_MAX_US.items():  # batch-1 latency at the best thread count
        name = f"batch-1 latency <= {limit:g} us"
        us, t = best(m, "xkeras", "latency_batch1_us")
        if m not in args.model_list:
            out.append(goal(name, m, "n/a", f"{m} not run"))
        elif us is None:
            out.append(goal(name, m, "n/a", "a run failed"))
        else:
            pus, pt = best(m, "pytorch", "latency_batch1_us")
            theirs = f"; PyTorch {pus:.1f} us at {pt} thr" if pus is not None else ""
            row = next(r["xkeras"] for r in rows if r["model"] == m and r["threads"] == t)
            out.append(goal(name, m, verdict(us <= limit),
                            f"{us:.1f} us at {t} thr{theirs}{host_note(row)}"))
    for m in args.model_list:  # batch-1000 throughput, each side at its best thread count
        name = f"batch-1000 throughput >= {THROUGHPUT_RATIO_MIN:g}x PyTorch"
        xs, xt = best(m, "xkeras", "throughput_batch1000", max)
        ps, pt = best(m, "pytorch", "throughput_batch1000", max)
        if not has_torch:
            out.append(goal(name, m, "no PyTorch", "-"))
        elif xs is None or ps is None:
            out.append(goal(name, m, "n/a", "a run failed"))
        else:
            out.append(goal(name, m, verdict(xs / ps >= THROUGHPUT_RATIO_MIN),
                            f"{xs / ps:.2f}x ({xs:.0f} at {xt} thr / {ps:.0f} samples/s at "
                            f"{pt} thr)"))
    name = f"E1 training peak RSS <= {RSS_RATIO_MAX}x PyTorch"  # at every thread count
    e1 = [by[("e1", n)] for n in args.thread_list if ("e1", n) in by]
    if not has_torch:
        out.append(goal(name, "e1", "no PyTorch", "-"))
    elif not e1:
        out.append(goal(name, "e1", "n/a", "e1 not run"))
    elif any(r["ratio_rss"] is None for r in e1):
        out.append(goal(name, "e1", "n/a", "a run failed"))
    else:
        worst = max(r["ratio_rss"] for r in e1)
        out.append(goal(name, "e1", verdict(worst <= RSS_RATIO_MAX), "; ".join(
            f"{r['ratio_rss']:.2f} at {r['threads']} thr ({r['xkeras']['peak_rss_mib']:.0f} / "
            f"{r['pytorch']['peak_rss_mib']:.0f} MiB)" for r in e1)))
    if args.xkeras_default_bin:  # issue 26: every model, thread count and measure
        name = f"default build within {DEFAULT_OVER_NATIVE_MAX:.2f}x of native"
        for r in rows:
            keys = (("training", "default_over_native_train"),
                    ("batch 1", "default_over_native_latency"),
                    ("batch 1000", "native_over_default_throughput"))
            found = [(label, r[key]) for label, key in keys if r[key] is not None]
            if len(found) < len(keys):
                out.append(goal(name, r["model"], "n/a", "a run failed", r["threads"]))
                continue
            worst = max(v for _, v in found)
            out.append(goal(name, r["model"], verdict(worst <= DEFAULT_OVER_NATIVE_MAX),
                            ", ".join(f"{label} {v:.2f}" for label, v in found), r["threads"]))
    return out


# ---- output ----

HEADER = ["model", "thr", "xkeras s/epoch", "PyTorch s/epoch", "x/P", "xk GFLOP/s",
          "GEMM-min s", "x/min", "lat1 xk us", "lat1 PT us", "RTT ns", "b1000 xk/s", "b1000 PT/s",
          "b1000 x/P", "RSS xk MiB", "RSS PT MiB", "RSS x/P"]


DEFAULT_HEADER = ["model", "thr", "native s/epoch", "default s/epoch", "d/n",
                  "lat1 native us", "lat1 default us", "d/n", "b1000 native/s", "b1000 default/s",
                  "n/d"]


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def epoch_cell(r):
    if not r:
        return "-"
    prec = ".3f" if r["median"] < 10 else ".1f"
    return f"{r['median']:{prec}} ({r['min']:{prec}}-{r['max']:{prec}})"


def table_rows(variant):
    out = []
    for r in variant["rows"]:
        x, p = r["xkeras"], r["pytorch"]
        out.append([r["model"], str(r["threads"]), epoch_cell(x), epoch_cell(p),
                    fmt(r["ratio_train"], ".2f"), fmt(r["xkeras_gflops"], ".1f"),
                    fmt(r["gemm_bound_s"], ".3g"), fmt(r["xkeras_over_gemm_bound"], ".2f"),
                    fmt(get(x, "latency_batch1_us"), ".1f"), fmt(get(p, "latency_batch1_us"), ".1f"),
                    fmt(get(x, "core_round_trip_ns"), ".0f"),
                    fmt(get(x, "throughput_batch1000"), ".0f"),
                    fmt(get(p, "throughput_batch1000"), ".0f"), fmt(r["ratio_throughput"], ".2f"),
                    fmt(get(x, "peak_rss_mib"), ".0f"), fmt(get(p, "peak_rss_mib"), ".0f"),
                    fmt(r["ratio_rss"], ".2f")])
    return out


def default_rows(variant):
    """The second table: the default build against the native one, or [] if it was not run."""
    out = []
    for r in variant["rows"]:
        x, d = r["xkeras"], r["xkeras_default"]
        if not d:
            continue
        out.append([r["model"], str(r["threads"]), epoch_cell(x), epoch_cell(d),
                    fmt(r["default_over_native_train"], ".2f"),
                    fmt(get(x, "latency_batch1_us"), ".1f"), fmt(get(d, "latency_batch1_us"), ".1f"),
                    fmt(r["default_over_native_latency"], ".2f"),
                    fmt(get(x, "throughput_batch1000"), ".0f"),
                    fmt(get(d, "throughput_batch1000"), ".0f"),
                    fmt(r["native_over_default_throughput"], ".2f")])
    return out


def workload_note(args, variant):
    parts = []
    for m in args.model_list:
        r = next((r for r in variant["rows"] if r["model"] == m and r["samples"]), None)
        if r:
            parts.append(f"{m} batch {r['batch_size']}, {r['samples']} images")
    note = f"{args.epochs} epoch(s) per run; " + "; ".join(parts)
    if args.limit or args.batch_size:
        note += " (shortened with --limit/--batch-size: not the documents' workloads)"
    return note


def gemm_note(variant):
    g = ", ".join(f"{n} thr {v['gflops']:.0f}" if v else f"{n} thr failed"
                  for n, v in variant["gemm"].items())
    return (f"OpenBLAS core {variant['blas_core']} (OPENBLAS_CORETYPE="
            f"{variant['openblas_coretype'] or 'unset'}); sgemm limit GFLOP/s: {g}")


def print_table(header, body):
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    for row in [header, ["-" * w for w in widths], *body]:
        print("  ".join(c.rjust(w) if i > 1 else c.ljust(w)
                        for i, (c, w) in enumerate(zip(row, widths))).rstrip())


def print_variant(args, variant):
    print(f"\n== {variant['label']}: {gemm_note(variant)}")
    print(workload_note(args, variant))
    print_table(HEADER, table_rows(variant))
    defaults = default_rows(variant)
    if defaults:
        print("\nThe default build (no -march) against the native build (d/n: default / native "
              "time; n/d: native / default throughput):")
        print_table(DEFAULT_HEADER, defaults)
    print("\nGoals:")
    for g in variant["goals"]:
        thr = f" at {g['threads']} thr" if g["threads"] else ""
        print(f"  {g['status']:<10} {g['model']}: {g['goal']}{thr}: {g['figure']}")


def markdown(args, report):
    m = report["machine"]
    lines = [f"Measured {report['date']} with `benchmarks/compare.py` on {m['cpu_model']} "
             f"({m['cpu_count']} CPUs), PyTorch {report['torch_version'] or 'not installed'}, "
             f"xkeras {report['xkeras_version'] or '?'}.", ""]
    for v in report["variants"]:
        lines += [f"**{v['label']}**: {gemm_note(v)}. {workload_note(args, v)}.", ""]
        tables = [(HEADER, table_rows(v))]
        defaults = default_rows(v)
        if defaults:
            tables.append((DEFAULT_HEADER, defaults))
        for i, (header, body) in enumerate(tables):
            if i:
                lines += ["", "The default build (no `-march`) against the native build (d/n: "
                          "default / native time; n/d: native / default throughput):", ""]
            lines.append("| " + " | ".join(header) + " |")
            lines.append("|" + "---|" * len(header))
            for row in body:
                lines.append("| " + " | ".join(c.replace("-", "–") if "(" in c else c
                                                for c in row) + " |")
        lines += ["", "Goals:", ""]
        for g in v["goals"]:
            thr = f" at {g['threads']} thr" if g["threads"] else ""
            lines.append(f"- **{g['status']}** {g['model']}: {g['goal']}{thr}: {g['figure']}")
        lines.append("")
    return "\n".join(lines)


def machine_facts():
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu_model": cpu, "cpu_count": os.cpu_count(), "kernel": platform.release(),
            "openblas_coretype_env": os.environ.get("OPENBLAS_CORETYPE")}


def main():
    args = parse_args()
    xbin = Path(args.xkeras_bin)
    if not (xbin.is_file() and os.access(xbin, os.X_OK)):
        sys.exit(f"compare.py: the xkeras benchmark binary is missing: {xbin}\n"
                 "Build it with: bash scripts/bench.sh (does everything), or\n"
                 "  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && "
                 "cmake --build build --target bench_epoch")
    dbin = args.xkeras_default_bin
    if dbin and not (Path(dbin).is_file() and os.access(dbin, os.X_OK)):
        sys.exit(f"compare.py: --xkeras-default-bin is not an executable: {dbin}\n"
                 "Build it with: cmake -S . -B build-default -DCMAKE_BUILD_TYPE=Release "
                 "-DXKERAS_NATIVE=OFF && cmake --build build-default --target bench_epoch")
    missing = [f for f in MNIST_FILES if not Path(args.data_dir, f).is_file()]
    if missing:
        sys.exit(f"compare.py: MNIST not found in {args.data_dir} ({', '.join(missing)}): "
                 "run scripts/fetch_mnist.sh")
    try:
        probe = subprocess.run([args.torch_python, "-c", "import torch; print(torch.__version__)"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        torch_version = probe.stdout.strip() if probe.returncode == 0 else None
    except OSError:
        torch_version = None
    if torch_version is None:
        print(f"compare.py: PyTorch is not importable by {args.torch_python}: the PyTorch columns "
              "show '-' and the goals that need them say 'no PyTorch' "
              "(scripts/install_deps.sh --torch installs Debian's python3-torch)", flush=True)

    found = dict(os.environ)
    variants = [("as found", found)]
    if args.coretype_variants:
        if "OPENBLAS_CORETYPE" in found:
            unset = {k: v for k, v in found.items() if k != "OPENBLAS_CORETYPE"}
            variants.append(("OPENBLAS_CORETYPE unset", unset))
        else:
            print("compare.py: OPENBLAS_CORETYPE is not set in this environment, so 'as found' and "
                  "'OPENBLAS_CORETYPE unset' are the same run: running once", flush=True)
            variants = [("as found", found)]  # the logs and the table name the core type

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, env in variants:
            results.append(run_variant(args, label, env, torch_version is not None, tmp))

    xk_version = next((r["xkeras"]["xkeras_version"] for v in results for r in v["rows"]
                       if r["xkeras"] and "xkeras_version" in r["xkeras"]), None)
    machine = machine_facts()
    machine["openblas_core"] = results[0]["blas_core"]
    report = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine, "torch_version": torch_version, "xkeras_version": xk_version,
        "settings": {"models": args.model_list, "threads": args.thread_list, "epochs": args.epochs,
                     "batch_size": args.batch_size, "limit": args.limit,
                     "latency_runs": args.latency_runs, "data_dir": args.data_dir,
                     "xkeras_bin": str(xbin), "xkeras_default_bin": dbin,
                     "torch_python": args.torch_python,
                     "coretype_variants": args.coretype_variants},
        "goal_limits": {"train_ratio_max": TRAIN_RATIO_MAX, "gemm_multiple_max": GEMM_MULTIPLE_MAX,
                        "latency_max_us": LATENCY_MAX_US,
                        "throughput_ratio_min": THROUGHPUT_RATIO_MIN,
                        "e1_rss_ratio_max": RSS_RATIO_MAX,
                        "default_over_native_max": DEFAULT_OVER_NATIVE_MAX},
        "variants": results,
    }

    print(f"\n{machine['cpu_model']}, {machine['cpu_count']} CPUs; xkeras {xk_version or '?'}, "
          f"PyTorch {torch_version or 'not installed'}; {report['date']}")
    print("s/epoch: median (min-max) of the training pass; x/P: xkeras / PyTorch; GEMM-min: "
          "training FLOPs / sgemm limit; x/min: xkeras s/epoch / GEMM-min; lat1: batch-1 "
          "latency; RTT: a cache line's round trip between the two CPUs while xkeras timed batch 1 "
          f"(under {NEAR_CORES_NS} ns: side by side); "
          "b1000: batch-1000 samples/s; RSS: training peak")
    for v in results:
        print_variant(args, v)

    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nresults written to {out}")
    if args.markdown:
        md = Path(args.markdown)
        md.parent.mkdir(parents=True, exist_ok=True)
        md.write_text(markdown(args, report))
        print(f"Markdown written to {md}")
    failures = sum(v["failures"] for v in results)
    if failures:
        sys.exit(f"compare.py: {failures} benchmark run(s) failed (see the log above)")


if __name__ == "__main__":
    main()
