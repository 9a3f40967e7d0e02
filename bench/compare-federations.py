#!/usr/bin/env python3
"""Issue 7's benchmark: the NTK method against FedAvg, FedProx and SCAFFOLD on many MNIST clients.

Every run is a real federation (`ntk run`: the server and `clients.processes` worker processes
hosting the logical clients, on tcp loopback), one at a time, each on a free port:

  data      data/mnist_5k.csv.gz (5 000 images, 784 inputs scaled by 1/255, 10 classes), stratified
            train/test split 4 000 / 1 000; the server evaluates on the 1 000 test images.
  clients   20 clients of 200 training samples (`shard.scheme: dirichlet-equal`, α = 0.1 and 0.5),
            2 worker processes, 5 clients sampled per round (`server.participation`).
  model     MLP 784-100-10, ReLU, NTK parametrization.
  methods   ntk       exact kernel, mse, default time candidates and solver
            ntk-fl    `training.preset: ntk-fl`
            fedavg, fedprox, scaffold   local SGD (batch 32), tuned by --tune

  --tune    Seed 0, α = 0.1: fedavg and scaffold over learning rate × local epochs, fedprox over μ at
            fedavg's best learning rate and epochs. Per method, the point reaching the first target
            (85%) in the fewest rounds wins (ties, or none reaching it: the best final accuracy).
            Saved to OUT/tuning.json; the comparison reads it (else it uses untuned defaults and says so).
  default   Every method × α × seed (seed s: model.seed s, shard.seed 1 + s, participation seed s,
            SGD seed s), rounds capped (--rounds-ntk, --rounds-baseline), `run.stop_at_accuracy` ends a
            run at 90%. Per run: rounds, MB up (clients → server, the rounds' `bytesReceived`), MB down
            (`bytesSent`) and seconds (the rounds' `totalSeconds`), cumulative, to 85% and 90% test
            accuracy; final and best accuracy. Per method and α: means over the seeds that reached the
            target (and how many did), ratios against the best baseline; overlaid accuracy curves of
            seed 0 by round and by cumulative MB (SVG).
  --scale   300 clients (dirichlet-equal α = 0.1 over the 4 000 training samples: 13 each), 21 sampled
            per round, 4 worker processes; ntk and fedavg (tuned), 5 rounds each: seconds and MB per round,
            the server's peak memory when rounds.jsonl records `peakMemoryMB`, and the largest process's
            peak resident set (/usr/bin/time).
  --selftest  Everything above against a stand-in `ntk` (a script writing synthetic rounds.jsonl), in a
            temporary directory, with checks of the parsing, summaries, tables, plots and configs.

Everything lands under --out (default runs/compare-federations/): OUT/<run>/config.yaml (absolute
paths), OUT/<run>/run/rounds.jsonl, OUT/<run>/ntk.log, OUT/<run>/status.json; OUT/tuning.json and
tuning.md; OUT/compare.json and compare.md; OUT/accuracy-*.svg. A run that fails is reported as such
and the next one starts. Python 3 standard library only.
"""

import argparse
import datetime
import json
import math
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench" / "lib"))
import fedrun  # noqa: E402
import svgplot  # noqa: E402

BIN_DIR = ROOT / ".build" / "release"
DATA = ROOT / "data" / "mnist_5k.csv.gz"
FEATURE_SCALE = "0.00392156862745098"   # 1/255, as configs/mnist-noniid.yaml
WIDTHS = [784, 100, 10]
MB = 1e6

METHODS = ["ntk", "ntk-f16", "ntk-lean", "ntk-fl", "fedavg", "fedprox", "scaffold"]
BASELINES = ["fedavg", "fedprox", "scaffold"]
LABELS = {"ntk": "NTK (exact, mse)", "ntk-f16": "NTK, f16 blocks", "ntk-lean": "NTK, f16, t by lin. loss", "ntk-fl": "NTK-FL preset", "fedavg": "FedAvg", "fedprox": "FedProx",
          "scaffold": "SCAFFOLD"}
ALPHAS = [0.1, 0.5]
TARGETS = [0.85, 0.90]
STOP_AT = 0.9
BATCH_SIZE = 32
GRID_LEARNING_RATES = [1, 3, 10, 30]
GRID_EPOCHS = [1, 5]
GRID_MU = [0.001, 0.01, 0.1, 1]
UNTUNED = {"fedavg": {"learning_rate": 10, "local_epochs": 5},
           "fedprox": {"learning_rate": 10, "local_epochs": 5, "mu": 0.01},
           "scaffold": {"learning_rate": 10, "local_epochs": 5}}


# ----------------------------------------------------------------------------------------------
# Configurations (issue 7's formats: clients, server.participation, run.stop_at_accuracy,
# training.preset, strategies fedavg / fedprox / scaffold, shard.scheme dirichlet-equal)
# ----------------------------------------------------------------------------------------------

def yaml_number(v):
    return str(v) if isinstance(v, int) else format(v, "g") if isinstance(v, float) else str(v)


def flow(mapping):
    """A YAML flow mapping of scalars / nested mappings, keys in the given order."""
    return "{" + ", ".join(f"{k}: {flow(v) if isinstance(v, dict) else yaml_number(v)}" for k, v in mapping.items()) + "}"


def training_lines(method, seed, local, loss):
    """The `training:` section's lines (two-space indented) of a method."""
    if method in ("ntk", "ntk-f16"):
        return ["loss: mse", "kernel: exact"]
    if method == "ntk-lean":
        # t by the linearized model's loss: no candidate weights travel for the time search (one, for metrics).
        return ["loss: mse", "kernel: exact", "time: {selection: linearized-loss}"]
    if method == "ntk-fl":
        return ["preset: ntk-fl"]
    if method not in BASELINES:
        raise ValueError(f"unknown method {method}")
    section = {"local_epochs": local["local_epochs"], "learning_rate": local["learning_rate"], "batch_size": BATCH_SIZE,
               "seed": seed}
    if method == "fedprox":
        section = {"mu": local["mu"], **section}
    if method == "scaffold":
        section["global_learning_rate"] = local.get("global_learning_rate", 1)
    return [f"strategy: {method}", f"loss: {loss}", f"{method}: {flow(section)}"]


def federation_config(name, method, run_dir, port, *, alpha, seed, rounds, local=None, clients=20, per_round=5,
                      processes=2, stop_at=STOP_AT, loss="mse", data=DATA):
    """The YAML text of one run. Paths absolute; seed s → model s, shard 1 + s, participation s, SGD s."""
    data = Path(data).resolve()
    run = {"id": name, "output_dir": str(Path(run_dir).resolve()), "rounds": rounds}
    if stop_at is not None:
        run["stop_at_accuracy"] = stop_at
    common = {"file": str(data), "feature_scale": FEATURE_SCALE, "classes": 10}
    lines = [f"# bench/compare-federations.py: {LABELS.get(method, method)}, {clients} clients (dirichlet-equal "
             f"alpha {alpha:g}), {per_round} per round, seed {seed}", "run:"]
    lines += [f"  {k}: {yaml_number(v)}" for k, v in run.items()]
    lines += ["", "model:", f"  widths: [{', '.join(map(str, WIDTHS))}]", "  activation: relu",
              "  parametrization: ntk", "  bias_scale: 0.1", f"  seed: {seed}", "", "training:"]
    lines += ["  " + line for line in training_lines(method, seed, local, loss)]
    lines += ["", "server:", f"  endpoint: tcp://127.0.0.1:{port}",
              f"  participation: {flow({'clients_per_round': per_round, 'seed': seed})}",
              "  round_deadline_seconds: 600"]
    # Our default with the blocks' factors in half precision (half the upload; Gram within 5e-5 of f32's).
    lines += ["  block_dtype: f16"] if method in ("ntk-f16", "ntk-lean") else []
    lines += [
              f"  evaluation: {flow({**common, 'split': 'test'})}", "",
              "clients:", f"  count: {clients}", "  name_prefix: client-", f"  processes: {processes}",
              f"  data: {flow({**common, 'split': 'train', 'shard': {'scheme': 'dirichlet-equal', 'alpha': alpha, 'seed': 1 + seed}})}"]
    return "\n".join(lines) + "\n"


def normalized(config_text):
    """A config without comments and port: what decides whether a finished run can be reused."""
    lines = (line.split("#", 1)[0].rstrip() for line in config_text.splitlines())
    return re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", "\n".join(line for line in lines if line))


# ----------------------------------------------------------------------------------------------
# Running
# ----------------------------------------------------------------------------------------------

class Runner:
    """Writes each run's config under OUT/<name>/ and runs it (or reuses a finished identical one)."""

    def __init__(self, out, bin_dir, stall_seconds, first_round_seconds, reuse, loss):
        self.out, self.bin_dir, self.reuse, self.loss = out, bin_dir, reuse, loss
        self.stall_seconds, self.first_round_seconds = stall_seconds, first_round_seconds

    def run(self, name, method, **settings):
        """Run `name`; returns (records, status dict). Never raises for a failing run."""
        directory = self.out / name
        run_dir, config_path, status_path = directory / "run", directory / "config.yaml", directory / "status.json"
        text = federation_config(name, method, run_dir, fedrun.free_port(), loss=self.loss, **settings)
        if self.reuse and status_path.exists() and config_path.exists() and normalized(config_path.read_text()) == normalized(text):
            status = json.loads(status_path.read_text())
            if status["status"] == "ok" or status["status"].startswith("stopped"):  # finished, or a worker's error
                print(f"  {name}: reusing {run_dir}", flush=True)
                return fedrun.read_rounds(run_dir / "rounds.jsonl"), status
        directory.mkdir(parents=True, exist_ok=True)
        for stale in [status_path, run_dir / "rounds.jsonl", run_dir / "checkpoint.json", *run_dir.glob("logs/*.log")]:
            stale.unlink(missing_ok=True)
        config_path.write_text(text)
        print(f"  {name}: up to {settings['rounds']} rounds ...", end="", flush=True)
        try:
            status = fedrun.run_ntk(self.bin_dir, config_path, run_dir, directory / "ntk.log", self.stall_seconds,
                                    self.first_round_seconds)
        except OSError as error:  # e.g. the binary missing or not executable
            status = {"status": f"failed: {error}", "wall_seconds": 0.0}
        records = fedrun.read_rounds(run_dir / "rounds.jsonl")
        if status["status"].startswith("failed"):
            tail = last_error_line(directory / "ntk.log")
            if tail:
                status["status"] += f" ({tail})"
        status["rounds_done"] = len(records)
        status_path.write_text(json.dumps(status, indent=1) + "\n")
        print(f" {len(records)} rounds in {status['wall_seconds']:.0f} s ({status['status']})", flush=True)
        return records, status


def last_error_line(log_path):
    """The last line of a log mentioning an error (what `ntk run` said when it failed), shortened."""
    if not log_path.exists():
        return None
    lines = [l.strip() for l in log_path.read_text(errors="replace").splitlines() if re.search(r"error", l, re.I)]
    return lines[-1][:200] if lines else None


# ----------------------------------------------------------------------------------------------
# Summaries
# ----------------------------------------------------------------------------------------------

def accuracy_of(record):
    a = record.get("testAccuracy")
    return float(a) if isinstance(a, (int, float)) else float("nan")


def summarize(records, status):
    """Per target: the first round at or above it and the cumulative MB up / down and seconds to it;
    final and best accuracy; per-round curves (accuracy, cumulative MB, cumulative seconds)."""
    accuracy = [accuracy_of(r) for r in records]
    up = [sum((r.get("bytesReceived") or {}).values()) / MB for r in records]
    down = [(r.get("bytesSent") or 0) / MB for r in records]
    seconds = [r.get("totalSeconds") or 0.0 for r in records]
    cumulative = lambda xs: [sum(xs[:i + 1]) for i in range(len(xs))]  # noqa: E731
    cum_up, cum_down, cum_seconds = cumulative(up), cumulative(down), cumulative(seconds)
    reached = {}
    for target in TARGETS:
        i = next((i for i, a in enumerate(accuracy) if a >= target), None)  # NaN compares False
        reached[key(target)] = None if i is None else {
            "round": records[i].get("round", i + 1), "rounds_run": i + 1, "mb_up": cum_up[i], "mb_down": cum_down[i],
            "mb_total": cum_up[i] + cum_down[i], "seconds": cum_seconds[i]}
    finite = [a for a in accuracy if not math.isnan(a)]
    memory = [r["peakMemoryMB"] for r in records if isinstance(r.get("peakMemoryMB"), (int, float))]
    return {
        "status": status.get("status", "?"),
        "rounds_done": len(records),
        "targets": reached,
        "final_accuracy": accuracy[-1] if accuracy and not math.isnan(accuracy[-1]) else None,
        "best_accuracy": max(finite) if finite else None,
        "server_peak_memory_mb": max(memory) if memory else None,
        "peak_rss_mb": status.get("peak_rss_mb"),
        "workers_peak_mb_total": status.get("workers_peak_mb_total"),
        "worker_peak_mb_largest": status.get("worker_peak_mb_largest"),
        "wall_seconds": status.get("wall_seconds"),
        "curve": {"round": [r.get("round", i + 1) for i, r in enumerate(records)],
                  "accuracy": [None if math.isnan(a) else a for a in accuracy],
                  "mb_total": [u + d for u, d in zip(cum_up, cum_down)], "seconds": cum_seconds},
        "per_round": {"mb_up": up, "mb_down": down, "seconds": seconds,
                      "sampled": [len(r["sampled"]) if isinstance(r.get("sampled"), list) else None for r in records],
                      "workers": [len(r.get("workers") or []) for r in records],
                      "peak_memory_mb": [r.get("peakMemoryMB") for r in records]},
    }


def key(target):
    return f"{target:g}"


def mean_or_none(values):
    values = [v for v in values if v is not None]
    return statistics.mean(values) if values else None


def selection_key(summary):
    """Fewest rounds to the first target; ties and none reaching it: the higher final accuracy."""
    hit = summary["targets"][key(TARGETS[0])]
    final = summary["final_accuracy"] if summary["final_accuracy"] is not None else -1.0
    return (hit is None, hit["rounds_run"] if hit else 0, -final)


def aggregate(runs, methods, alphas, seeds):
    """Per α and method: seeds, means over the seeds that reached each target; the best baseline per α and
    target (most seeds reaching, then fewest mean rounds); ratios best baseline ÷ method over paired seeds."""
    table = {}
    for alpha in alphas:
        a_key = f"{alpha:g}"
        per_method = {}
        for method in methods:
            mine = [r for r in runs if r["method"] == method and r["alpha"] == alpha]
            entry = {"seeds": len(mine), "final_accuracy": mean_or_none([r["summary"]["final_accuracy"] for r in mine]),
                     "best_accuracy": mean_or_none([r["summary"]["best_accuracy"] for r in mine]),
                     "failed": sum(1 for r in mine if r["summary"]["status"] != "ok"), "targets": {}}
            for target in TARGETS:
                hits = [r["summary"]["targets"][key(target)] for r in mine]
                hits = [h for h in hits if h]
                entry["targets"][key(target)] = {"reached": len(hits), **{m: mean_or_none([h[m] for h in hits]) for m in
                                                 ("rounds_run", "mb_up", "mb_down", "mb_total", "seconds")}}
            per_method[method] = entry
        best, ratios = {}, {}
        for target in TARGETS:
            t = key(target)
            candidates = [m for m in methods if m in BASELINES and per_method[m]["targets"][t]["reached"] > 0]
            candidates.sort(key=lambda m: (-per_method[m]["targets"][t]["reached"], per_method[m]["targets"][t]["rounds_run"]))
            best[t] = candidates[0] if candidates else None
            ratios[t] = {}
            for method in methods:
                if best[t] is None:
                    ratios[t][method] = None
                    continue
                paired = [s for s in seeds if hit_of(runs, method, alpha, s, target) and hit_of(runs, best[t], alpha, s, target)]
                ratio = {"paired_seeds": paired}
                for m in ("rounds_run", "mb_total", "seconds"):
                    mine = mean_or_none([hit_of(runs, method, alpha, s, target)[m] for s in paired])
                    theirs = mean_or_none([hit_of(runs, best[t], alpha, s, target)[m] for s in paired])
                    ratio[m] = theirs / mine if mine and theirs is not None else None
                ratios[t][method] = ratio
        table[a_key] = {"methods": per_method, "best_baseline": best, "ratios_best_baseline_over_method": ratios}
    return table


def hit_of(runs, method, alpha, seed, target):
    for r in runs:
        if r["method"] == method and r["alpha"] == alpha and r["seed"] == seed:
            return r["summary"]["targets"][key(target)]
    return None


# ----------------------------------------------------------------------------------------------
# Markdown and plots
# ----------------------------------------------------------------------------------------------

def fmt(value, spec=".1f", missing="—"):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return missing
    return format(value, spec)


def pct(value):
    return "—" if value is None else f"{100 * value:.1f}%"


def md_table(headers, rows):
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def reach_cell(summary, target):
    hit = summary["targets"][key(target)]
    if hit:
        return str(hit["rounds_run"])
    if summary["status"] != "ok":
        return f"not reached ({summary['status'].split(':')[0]} after {summary['rounds_done']})"
    return f"not reached in {summary['rounds_done']}"


def describe_local(method, local):
    if method not in BASELINES:
        return ""
    text = f"lr {local['learning_rate']:g}, E {local['local_epochs']}"
    return text + (f", μ {local['mu']:g}" if method == "fedprox" else "")


def tuning_markdown(tuning):
    parts = [f"### Tuning (seed 0, α = {tuning['alpha']:g}, batch {BATCH_SIZE}, up to {tuning['rounds']} rounds, "
             f"stop at {pct(STOP_AT)})", ""]
    rows = []
    for method, points in tuning["grid"].items():
        for p in points:
            s = p["summary"]
            rows.append([LABELS[method], describe_local(method, p["local"]), reach_cell(s, TARGETS[0]), reach_cell(s, TARGETS[1]),
                         pct(s["best_accuracy"]), pct(s["final_accuracy"]), s["rounds_done"],
                         "**chosen**" if p["local"] == tuning["chosen"].get(method) else ""])
    parts.append(md_table(["method", "point", f"rounds to {pct(TARGETS[0])}", f"rounds to {pct(TARGETS[1])}",
                           "best acc", "final acc", "rounds run", ""], rows))
    parts += ["", f"Chosen per method: fewest rounds to {pct(TARGETS[0])} (ties, or none reaching it: best final accuracy). "
              "FedProx's μ is searched at FedAvg's chosen learning rate and epochs.", ""]
    return "\n".join(parts)


def compare_markdown(comparison):
    c = comparison
    parts = [f"### {c['clients']} clients × {c['samples_per_client']} samples (dirichlet-equal), {c['per_round']} sampled "
             f"per round, MLP {'-'.join(map(str, WIDTHS))}; seeds {', '.join(map(str, c['seeds']))}", "",
             ("Baselines: " + "; ".join(f"{LABELS[m]} {describe_local(m, c['local'][m])}" for m in c["methods"] if m in BASELINES)
              + f" ({c['tuning_source']}). " if any(m in BASELINES for m in c["methods"]) else "") + f"Rounds capped at {c['rounds']['ntk']} (NTK methods) and {c['rounds']['baseline']} "
             f"(baselines); runs stop at {pct(STOP_AT)}.", ""]
    for a_key, agg in c["aggregate"].items():
        parts += [f"#### α = {a_key}", ""]
        rows = []
        for method in c["methods"]:
            e = agg["methods"][method]
            row = [LABELS[method]]
            for target in TARGETS:
                t = e["targets"][key(target)]
                row += [f"{t['reached']}/{e['seeds']}", fmt(t["rounds_run"]), fmt(t["mb_up"]), fmt(t["mb_down"]),
                        fmt(t["seconds"])]
            row += [pct(e["final_accuracy"]), pct(e["best_accuracy"])]
            rows.append(row)
        headers = ["method"]
        for target in TARGETS:
            p = pct(target)
            headers += [f"seeds ≥ {p}", f"rounds to {p}", f"MB up to {p}", f"MB down to {p}", f"s to {p}"]
        parts += [md_table(headers + ["final acc", "best acc"], rows), ""]
        rows = []
        for method in c["methods"]:
            row = [LABELS[method]]
            for target in TARGETS:
                t = key(target)
                r = agg["ratios_best_baseline_over_method"][t].get(method)
                row += ["—"] * 3 if not r else [fmt(r["rounds_run"], ".2f") + "×", fmt(r["mb_total"], ".2f") + "×",
                                                 fmt(r["seconds"], ".2f") + "×"]
            rows.append(row)
        best = ", ".join(f"{pct(t)}: {LABELS[agg['best_baseline'][key(t)]] if agg['best_baseline'][key(t)] else 'none reached it'}"
                         for t in TARGETS)
        headers = ["method"]
        for target in TARGETS:
            p = pct(target)
            headers += [f"rounds ({p})", f"MB up+down ({p})", f"seconds ({p})"]
        parts += [f"Best baseline ÷ method (> 1: the method needs less; over the seeds both reached the target). "
                  f"Best baseline (most seeds reaching, then fewest rounds): {best}.", "", md_table(headers, rows), ""]
    rows = []
    for r in c["runs"]:
        s = r["summary"]
        row = [LABELS[r["method"]], f"{r['alpha']:g}", r["seed"]]
        for target in TARGETS:
            hit = s["targets"][key(target)]
            row += [reach_cell(s, target), fmt(hit and hit["mb_total"]), fmt(hit and hit["seconds"])]
        row += [pct(s["final_accuracy"]), pct(s["best_accuracy"]), s["rounds_done"], s["status"]]
        rows.append(row)
    headers = ["method", "α", "seed"]
    for target in TARGETS:
        p = pct(target)
        headers += [f"rounds to {p}", f"MB to {p}", f"s to {p}"]
    parts += ["#### Every run", "", md_table(headers + ["final acc", "best acc", "rounds run", "status"], rows), "",
              "MB up: clients → server (the rounds' `bytesReceived`); MB down: server → clients (`bytesSent`); "
              "seconds: the rounds' `totalSeconds` (start-up and registration excluded); all cumulative up to and "
              "including the first round at or above the target. Means over the seeds that reached it.", ""]
    if c.get("plots"):
        parts += ["Plots (seed 0): " + ", ".join(f"[{Path(p).name}]({Path(p).name})" for p in c["plots"]), ""]
    return "\n".join(parts)


def scale_markdown(scale):
    parts = [f"### Scale: {scale['clients']} clients (dirichlet-equal α = {scale['alpha']:g}, "
             f"{scale['samples_per_client']} samples each), {scale['per_round']} per round, {scale['processes']} worker "
             f"processes, {scale['rounds']} rounds", ""]
    rows = []
    for r in scale["runs"]:
        s = r["summary"]
        p = s["per_round"]
        memory = [m for m in p["peak_memory_mb"] if isinstance(m, (int, float))]
        rows.append([LABELS[r["method"]], s["rounds_done"], fmt(mean_or_none(p["seconds"]), ".2f"),
                     fmt(max(p["seconds"]) if p["seconds"] else None, ".2f"), fmt(mean_or_none(p["mb_up"]), ".2f"),
                     fmt(mean_or_none(p["mb_down"]), ".2f"),
                     fmt(mean_or_none([x for x in p["sampled"] if x is not None]), ".0f"),
                     fmt(max(memory) if memory else None, ".0f", "not recorded"),
                     fmt(s.get("workers_peak_mb_total"), ".0f", "not reported"), fmt(s.get("worker_peak_mb_largest"), ".0f", "—"),
                     fmt(s["peak_rss_mb"], ".0f"), pct(s["final_accuracy"]), s["status"]])
    parts += [md_table(["method", "rounds", "s/round (mean)", "s/round (max)", "MB up/round", "MB down/round", "sampled/round",
                        "server peak MB", "worker processes peak MB (sum)", "largest worker process MB",
                        "largest process peak RSS MB (/usr/bin/time)", "final acc", "status"], rows), "",
              "Server peak: the largest `peakMemoryMB` of the rounds; worker processes: `ntk run`'s closing "
              "\"peak memory\" line (sum of the processes' peaks, and the largest); the last column: /usr/bin/time's "
              "maximum resident set over `ntk run` and every process it started (one process's peak).", ""]
    for r in scale["runs"]:
        p = r["summary"]["per_round"]
        rows = [[i + 1, fmt(p["seconds"][i], ".2f"), fmt(p["mb_up"][i], ".2f"), fmt(p["mb_down"][i], ".2f"),
                 fmt(p["sampled"][i], "d"), p["workers"][i], fmt(p["peak_memory_mb"][i], ".0f")]
                for i in range(len(p["seconds"]))]
        parts += [f"{LABELS[r['method']]} per round:", "",
                  md_table(["round", "seconds", "MB up", "MB down", "sampled", "used", "server peak MB"], rows), ""]
    return "\n".join(parts)


def write_plots(out, comparison):
    """Per α: accuracy vs round and vs cumulative MB (log x), one line per method, seed 0 (else the first seed)."""
    written = []
    seed = 0 if 0 in comparison["seeds"] else comparison["seeds"][0]
    for alpha in comparison["alphas"]:
        series_round, series_mb = [], []
        for i, method in enumerate(METHODS):
            if method not in comparison["methods"]:
                continue
            run = next((r for r in comparison["runs"] if r["method"] == method and r["alpha"] == alpha and r["seed"] == seed), None)
            if run is None:
                continue
            curve = run["summary"]["curve"]
            acc = [None if a is None else 100 * a for a in curve["accuracy"]]
            name = LABELS[method] + ("" if curve["round"] else " (no rounds)")
            style = {"name": name, "color": svgplot.PALETTE[i], "dashed": method in BASELINES}
            series_round.append({**style, "points": list(zip(curve["round"], acc))})
            series_mb.append({**style, "points": list(zip(curve["mb_total"], acc))})
        rules = [(100 * t, pct(t)) for t in TARGETS]
        for name, series, x_label, log in (("rounds", series_round, "round", False),
                                           ("mb", series_mb, "cumulative MB, up + down (log scale)", True)):
            path = out / f"accuracy-{name}-alpha{alpha:g}.svg"
            path.write_text(svgplot.line_chart(series, f"Test accuracy, α = {alpha:g}, seed {seed}", x_label, "test accuracy (%)",
                                               x_log=log, rules=rules, integer_x=not log))
            written.append(str(path))
    return written


def write_outputs(out, saved, tuning_path):
    sections = [tuning_markdown(json.loads(tuning_path.read_text()))] if tuning_path.exists() else []
    if "compare" in saved:
        sections.append(compare_markdown(saved["compare"]))
    if "scale" in saved:
        sections.append(scale_markdown(saved["scale"]))
    fedrun.write_results(out, saved, sections, "bench/compare-federations.py")


# ----------------------------------------------------------------------------------------------
# The three modes
# ----------------------------------------------------------------------------------------------

def tune(args, runner):
    """The grids on seed 0, α = 0.1; returns the tuning (also written to OUT/tuning.json and tuning.md)."""
    alpha = ALPHAS[0]
    previous = json.loads(args.tuning.read_text()) if args.tuning.exists() else {}
    grid, chosen = dict(previous.get("grid", {})), dict(previous.get("chosen", {}))

    def run_points(method, points):
        results = []
        for local in points:
            tag = f"lr{local['learning_rate']:g}-e{local['local_epochs']}" + (f"-mu{local['mu']:g}" if "mu" in local else "")
            records, status = runner.run(f"tune-{method}-{tag}", method, alpha=alpha, seed=0, rounds=args.rounds_tune,
                                         local=local, clients=args.clients, per_round=args.per_round,
                                         processes=args.processes)
            results.append({"local": local, "summary": summarize(records, status)})
        grid[method] = results
        chosen[method] = min(results, key=lambda p: selection_key(p["summary"]))["local"]
        print(f"{method}: chosen {describe_local(method, chosen[method])}", flush=True)

    lr_epochs = [{"learning_rate": lr, "local_epochs": e} for lr in args.grid_lr for e in args.grid_epochs]
    if "fedavg" in args.methods:
        run_points("fedavg", lr_epochs)
    if "fedprox" in args.methods:
        base = chosen.get("fedavg", UNTUNED["fedavg"])
        run_points("fedprox", [{**base, "mu": mu} for mu in args.grid_mu])
    if "scaffold" in args.methods:
        run_points("scaffold", lr_epochs)
    for g in grid.values():
        for p in g:
            for drop in ("curve", "per_round"):
                p["summary"].pop(drop, None)
    tuning = {"seed": 0, "alpha": alpha, "rounds": args.rounds_tune, "target": TARGETS[0], "grid": grid, "chosen": chosen,
              "written": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    args.tuning.write_text(json.dumps(tuning, indent=1) + "\n")
    (args.out / "tuning.md").write_text(tuning_markdown(tuning))
    return tuning


def chosen_local(args):
    """Each baseline's local training: OUT/tuning.json (or --tuning), else the untuned defaults; and where from."""
    if args.tuning.exists():
        chosen = json.loads(args.tuning.read_text()).get("chosen", {})
        local = {m: chosen.get(m, UNTUNED[m]) for m in BASELINES}
        missing = [m for m in BASELINES if m not in chosen]
        source = f"tuned: {args.tuning}" + (f"; untuned defaults for {', '.join(missing)}" if missing else "")
    else:
        local, source = dict(UNTUNED), f"UNTUNED defaults: no {args.tuning} (run --tune first)"
    print(f"baselines ({source}): " + "; ".join(f"{m} {describe_local(m, local[m])}" for m in BASELINES), flush=True)
    return local, source


def compare(args, runner, previous=None):
    """Every method × α × seed asked for. Runs of an earlier comparison in OUT with the same setup (clients,
    sampling, round caps, baselines' settings) that are not rerun now are kept, so the table can be filled
    a part at a time (e.g. --methods ntk, then --methods fedavg)."""
    local, source = chosen_local(args)
    runs = []
    for alpha in args.alphas:
        for seed in args.seeds:
            for method in args.methods:
                rounds = args.rounds_ntk if method.startswith("ntk") else args.rounds_baseline
                name = f"{method}-a{alpha:g}-s{seed}"
                records, status = runner.run(name, method, alpha=alpha, seed=seed, rounds=rounds, local=local.get(method),
                                             clients=args.clients, per_round=args.per_round, processes=args.processes)
                runs.append({"method": method, "alpha": alpha, "seed": seed, "name": name, "rounds": rounds,
                             "summary": summarize(records, status)})
    setup = {"clients": args.clients, "per_round": args.per_round, "rounds": {"ntk": args.rounds_ntk, "baseline": args.rounds_baseline},
             "local": local}
    if previous and all(previous.get(k) == v for k, v in setup.items()):
        done = {r["name"] for r in runs}
        kept = [r for r in previous["runs"] if r["name"] not in done]
        if kept:
            print(f"keeping {len(kept)} runs of the earlier comparison in {args.out}", flush=True)
        runs += kept
    elif previous:
        print(f"the earlier comparison in {args.out} had another setup: not kept", flush=True)
    methods = [m for m in METHODS if any(r["method"] == m for r in runs)]
    alphas = sorted({r["alpha"] for r in runs})
    seeds = sorted({r["seed"] for r in runs})
    runs.sort(key=lambda r: (alphas.index(r["alpha"]), r["seed"], methods.index(r["method"])))
    comparison = {"methods": methods, "alphas": alphas, "seeds": seeds, "clients": args.clients,
                  "samples_per_client": 4000 // args.clients, "per_round": args.per_round, "local": local,
                  "tuning_source": source, "rounds": {"ntk": args.rounds_ntk, "baseline": args.rounds_baseline},
                  "runs": runs, "aggregate": aggregate(runs, methods, alphas, seeds)}
    comparison["plots"] = write_plots(args.out, comparison)
    comparison["reports"] = write_reports(args, comparison)
    return comparison


def write_reports(args, comparison):
    """Per α: `ntk report` over every method's seed-0 run (its overlaid accuracy-by-round and by-data charts)."""
    written = []
    seed = 0 if 0 in comparison["seeds"] else comparison["seeds"][0]
    for alpha in comparison["alphas"]:
        dirs = [args.out / f"{m}-a{alpha:g}-s{seed}" / "run" for m in comparison["methods"]]
        dirs = [d for d in dirs if (d / "rounds.jsonl").exists()]
        page = args.out / f"report-alpha{alpha:g}.html"
        done = subprocess.run([str(args.bin / "ntk"), "report", *map(str, dirs), "--output", str(page), "--target", f"{TARGETS[-1]:g}",
                               "--title", f"MNIST, {comparison['clients']} clients, {comparison['per_round']} per round, α = {alpha:g}, seed {seed}"],
                              capture_output=True, text=True)
        if done.returncode == 0:
            written.append(str(page))
        else:
            print(f"ntk report for α = {alpha:g} failed: {done.stderr.strip()[-300:]}", flush=True)
    return written


def scale(args, runner):
    local, _ = chosen_local(args)
    runs = []
    for method in [m for m in ("ntk", "fedavg") if m in args.methods]:
        name = f"scale-{method}-c{args.scale_clients}"
        records, status = runner.run(name, method, alpha=0.1, seed=0, rounds=args.scale_rounds, local=local.get(method),
                                     clients=args.scale_clients, per_round=args.scale_per_round,
                                     processes=args.scale_processes, stop_at=None)
        runs.append({"method": method, "name": name, "summary": summarize(records, status)})
    return {"clients": args.scale_clients, "samples_per_client": 4000 // args.scale_clients, "alpha": 0.1,
            "per_round": args.scale_per_round, "processes": args.scale_processes, "rounds": args.scale_rounds, "runs": runs}


# ----------------------------------------------------------------------------------------------
# Self-test: a stand-in `ntk` writing synthetic rounds.jsonl files
# ----------------------------------------------------------------------------------------------

FAKE_NTK = r'''#!/usr/bin/env python3
# Stand-in for `ntk run CONFIG` (bench/compare-federations.py --selftest): reads the few keys it needs
# from the generated YAML and writes a synthetic rounds.jsonl. A run whose id is in FAIL_IDS fails.
import json, math, re, sys
from pathlib import Path
assert sys.argv[1] == "run", sys.argv
text = Path(sys.argv[2]).read_text()
def get(pattern, default=None):
    m = re.search(pattern, text, flags=re.M)
    return m.group(1) if m else default
run_id = get(r"^  id: (\S+)")
if run_id in FAIL_IDS:
    print("Error: synthetic failure"); sys.exit(1)
out = Path(get(r"^  output_dir: (\S+)")); rounds = int(get(r"^  rounds: (\d+)"))
stop = get(r"^  stop_at_accuracy: (\S+)"); stop = float(stop) if stop else None
method = get(r"^  strategy: (\S+)") or ("ntk-fl" if "preset: ntk-fl" in text else "ntk")
lr = float(get(r"learning_rate: ([0-9.e+-]+)", "1")); seed = int(get(r"^  seed: (\d+)"))
alpha = float(get(r"scheme: dirichlet-equal, alpha: ([0-9.]+)")); per_round = int(get(r"clients_per_round: (\d+)"))
tau = {"ntk": 2.0, "ntk-fl": 3.0, "fedavg": 12.0, "fedprox": 14.0, "scaffold": 10.0}[method] * (1.5 if alpha < 0.3 else 1.0)
tau *= 1 + 0.1 * seed + (abs(math.log10(lr) - 1) if method in ("fedavg", "fedprox", "scaffold") else 0)
up = {"ntk": 4_000_000, "ntk-fl": 400_000}.get(method, 320_000)
out.mkdir(parents=True, exist_ok=True)
with open(out / "rounds.jsonl", "w") as f:
    for r in range(1, rounds + 1):
        acc = 0.95 - 0.85 * math.exp(-r / tau)
        names = [f"client-{(7 * r + k) % 20:03d}" for k in range(per_round)]
        record = {"round": r, "testAccuracy": acc, "bytesReceived": {n: up // per_round for n in names},
                  "bytesSent": 80_000 * per_round, "totalSeconds": 0.5 if method.startswith("ntk") else 0.2,
                  "workers": names, "missingWorkers": [], "sampled": names}
        if method == "ntk":
            record["peakMemoryMB"] = 100.0 + r
        f.write(json.dumps(record, sort_keys=True) + "\n")
        if stop is not None and acc >= stop:
            break
print("peak memory: server 150 MB; worker processes 600 MB together, largest 160 MB (client-process-3)")
'''

GOLDEN_CONFIG = """# bench/compare-federations.py: FedProx, 20 clients (dirichlet-equal alpha 0.1), 5 per round, seed 2
run:
  id: fedprox-a0.1-s2
  output_dir: /tmp/x/fedprox-a0.1-s2/run
  rounds: 200
  stop_at_accuracy: 0.9

model:
  widths: [784, 100, 10]
  activation: relu
  parametrization: ntk
  bias_scale: 0.1
  seed: 2

training:
  strategy: fedprox
  loss: mse
  fedprox: {mu: 0.01, local_epochs: 5, learning_rate: 10, batch_size: 32, seed: 2}

server:
  endpoint: tcp://127.0.0.1:5999
  participation: {clients_per_round: 5, seed: 2}
  round_deadline_seconds: 600
  evaluation: {file: /d/mnist_5k.csv.gz, feature_scale: 0.00392156862745098, classes: 10, split: test}

clients:
  count: 20
  name_prefix: client-
  processes: 2
  data: {file: /d/mnist_5k.csv.gz, feature_scale: 0.00392156862745098, classes: 10, split: train, shard: {scheme: dirichlet-equal, alpha: 0.1, seed: 3}}
"""


def selftest(args):
    """Check configs, then run tune, compare and scale against the stand-in binary; check the outputs."""
    failures = []

    def check(condition, what):
        print(("ok    " if condition else "FAIL  ") + what)
        if not condition:
            failures.append(what)

    # Configs: the golden text, and each method's training section and the spec's keys.
    text = federation_config("fedprox-a0.1-s2", "fedprox", "/tmp/x/fedprox-a0.1-s2/run", 5999, alpha=0.1, seed=2, rounds=200,
                             local={"learning_rate": 10, "local_epochs": 5, "mu": 0.01}, data="/d/mnist_5k.csv.gz")
    check(text == GOLDEN_CONFIG, "fedprox config matches the golden text")
    if text != GOLDEN_CONFIG:
        import difflib
        print("".join(difflib.unified_diff(GOLDEN_CONFIG.splitlines(True), text.splitlines(True), "golden", "generated")))
    for method, expected in [("ntk", "  loss: mse\n  kernel: exact\n"), ("ntk-fl", "training:\n  preset: ntk-fl\n\nserver:"),
                             ("fedavg", "  fedavg: {local_epochs: 1, learning_rate: 3, batch_size: 32, seed: 1}"),
                             ("scaffold", "  scaffold: {local_epochs: 1, learning_rate: 3, batch_size: 32, seed: 1, global_learning_rate: 1}")]:
        t = federation_config("x", method, "run", 1, alpha=0.5, seed=1, rounds=3, local={"learning_rate": 3, "local_epochs": 1})
        check(expected in t, f"{method} config has {expected.strip()!r}")
        check("shard: {scheme: dirichlet-equal, alpha: 0.5, seed: 2}" in t and "participation: {clients_per_round: 5, seed: 1}" in t
              and "  seed: 1\n" in t, f"{method} config: seeds s / 1 + s / s")
        paths = re.findall(r"(?:file|output_dir): ([^\s,}]+)", t)
        check(len(paths) == 3 and all(p.startswith("/") for p in paths), f"{method} config: absolute paths {paths}")
    t = federation_config("x", "ntk", "run", 1, alpha=0.1, seed=0, rounds=5, clients=300, per_round=21, processes=4, stop_at=None)
    check("count: 300" in t and "processes: 4" in t and "clients_per_round: 21" in t and "stop_at_accuracy" not in t,
          "scale config: 300 clients, 4 processes, 21 per round, no early stop")

    # A stand-in binary; one run fails.
    work = Path(tempfile.mkdtemp(prefix="compare-federations-selftest-"))
    bin_dir = work / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "ntk"
    fake.write_text(FAKE_NTK.replace("FAIL_IDS", repr(["scaffold-a0.5-s1"])))
    fake.chmod(0o755)
    out = work / "out"
    common = ["--bin", str(bin_dir), "--out", str(out), "--stall-seconds", "20"]
    main(common + ["--tune", "--rounds-tune", "60"])
    tuning = json.loads((out / "tuning.json").read_text())
    check(tuning["chosen"]["fedavg"] == {"learning_rate": 10, "local_epochs": 1}, f"fedavg tuned to lr 10 (stand-in optimum): {tuning['chosen']['fedavg']}")
    check(tuning["chosen"]["fedprox"]["learning_rate"] == 10 and len(tuning["grid"]["fedprox"]) == 4, "fedprox grid at fedavg's lr")
    check(len(tuning["grid"]["fedavg"]) == 8 and len(tuning["grid"]["scaffold"]) == 8, "8-point grids")
    main(common + ["--rounds-baseline", "60"])
    saved = json.loads((out / "compare.json").read_text())
    c = saved["compare"]
    check(len(c["runs"]) == len(METHODS) * 2 * 3, f"{len(METHODS)} methods × 2 α × 3 seeds")
    failed = [r for r in c["runs"] if r["summary"]["status"] != "ok"]
    check([r["name"] for r in failed] == ["scaffold-a0.5-s1"], "the failing run is reported and the others ran")
    # One run recomputed by hand: ntk, α 0.5, seed 0 → tau 2; acc(r) = 0.95 − 0.85 e^{−r/2} ≥ 0.85 first at r = 4.
    run = next(r for r in c["runs"] if r["name"] == "ntk-a0.5-s0")
    first85 = next(r for r in range(1, 100) if 0.95 - 0.85 * math.exp(-r / 2) >= 0.85)
    first90 = next(r for r in range(1, 100) if 0.95 - 0.85 * math.exp(-r / 2) >= 0.90)
    hit = run["summary"]["targets"]["0.85"]
    check(hit["rounds_run"] == first85 and abs(hit["mb_up"] - 4.0 * first85) < 1e-9 and abs(hit["mb_down"] - 0.4 * first85) < 1e-9
          and abs(hit["seconds"] - 0.5 * first85) < 1e-9, f"ntk α 0.5 seed 0: 85% at round {first85}, MB and seconds cumulative: {hit}")
    check(run["summary"]["rounds_done"] == first90, f"stop_at_accuracy ended the run at round {first90}")
    check(run["summary"]["server_peak_memory_mb"] == 100.0 + first90, "peakMemoryMB read")
    agg = c["aggregate"]["0.5"]
    check(agg["methods"]["scaffold"]["targets"]["0.85"]["reached"] == 2 and agg["methods"]["scaffold"]["failed"] == 1,
          "scaffold α 0.5: 2 of 3 seeds reached, 1 failed")
    best = agg["best_baseline"]["0.85"]
    check(best in BASELINES and agg["methods"][best]["targets"]["0.85"]["reached"] == 3,
          f"best baseline: one reaching 85% on every seed: {best}")
    ratio = agg["ratios_best_baseline_over_method"]["0.85"]["ntk"]
    manual = (statistics.mean(hit_of(c["runs"], best, 0.5, s, 0.85)["rounds_run"] for s in ratio["paired_seeds"])
              / statistics.mean(hit_of(c["runs"], "ntk", 0.5, s, 0.85)["rounds_run"] for s in ratio["paired_seeds"]))
    check(ratio["rounds_run"] is not None and abs(ratio["rounds_run"] - manual) < 1e-12 and ratio["rounds_run"] > 1,
          f"ratio best baseline ÷ ntk in rounds: {ratio['rounds_run']:.2f} over seeds {ratio['paired_seeds']}")
    md = (out / "compare.md").read_text()
    check("#### α = 0.1" in md and "#### α = 0.5" in md and "not reached (failed after 0)" in md and "| NTK-FL preset |" in md,
          "compare.md has both α sections, the failure and every method")
    for alpha in ("0.1", "0.5"):
        for kind in ("rounds", "mb"):
            svg = out / f"accuracy-{kind}-alpha{alpha}.svg"
            ok = svg.exists() and svg.read_text().count("<polyline") == len(METHODS)
            if ok:
                import xml.dom.minidom
                xml.dom.minidom.parseString(svg.read_text())  # well-formed
            check(ok, f"{svg.name}: {len(METHODS)} lines, well-formed SVG")
    check((out / "fedavg-a0.1-s0" / "config.yaml").exists(), "configs written next to the runs")
    main(common + ["--scale"])
    saved = json.loads((out / "compare.json").read_text())
    s = saved["scale"]
    check([r["method"] for r in s["runs"]] == ["ntk", "fedavg"] and all(r["summary"]["rounds_done"] == 5 for r in s["runs"]),
          "scale: ntk and fedavg, 5 rounds each (no early stop)")
    check(all(x == 21 for x in s["runs"][0]["summary"]["per_round"]["sampled"]), "scale: 21 sampled per round")
    check(s["runs"][0]["summary"]["workers_peak_mb_total"] == 600 and s["runs"][0]["summary"]["worker_peak_mb_largest"] == 160,
          "scale: the worker processes' peak memory from ntk run's summary line")
    check("compare" in saved and "### Scale: 300 clients" in (out / "compare.md").read_text(), "scale kept the comparison")
    # --reuse reads finished runs instead of rerunning them.
    before = (out / "ntk-a0.1-s0" / "run" / "rounds.jsonl").stat().st_mtime_ns
    main(common + ["--rounds-baseline", "60", "--reuse", "--methods", "ntk", "--alphas", "0.1", "--seeds", "0"])
    check((out / "ntk-a0.1-s0" / "run" / "rounds.jsonl").stat().st_mtime_ns == before, "--reuse kept a finished run")
    c = json.loads((out / "compare.json").read_text())["compare"]
    check(len(c["runs"]) == 6 * len(METHODS) and c["methods"] == METHODS, "a partial rerun keeps the earlier comparison's other runs")
    main(common + ["--rounds-baseline", "50", "--methods", "ntk", "--alphas", "0.1", "--seeds", "0"])
    c = json.loads((out / "compare.json").read_text())["compare"]
    check(len(c["runs"]) == 1, "another setup (round cap) drops the earlier runs")
    print(f"\nselftest output: {out}")
    if failures:
        print(f"{len(failures)} check(s) FAILED")
        return 1
    print("selftest passed")
    if not args.keep:
        shutil.rmtree(work)
    return 0


# ----------------------------------------------------------------------------------------------

def number_list(cast):
    return lambda s: [cast(x) for x in s.split(",") if x]


def number(x):
    return int(x) if re.fullmatch(r"-?\d+", x) else float(x)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--tune", action="store_true", help="run the baselines' grids (seed 0, α = 0.1) into OUT/tuning.json")
    mode.add_argument("--scale", action="store_true", help="the 300-client run (ntk, fedavg; 5 rounds)")
    mode.add_argument("--selftest", action="store_true", help="check everything against a stand-in binary (no build needed)")
    p.add_argument("--keep", action="store_true", help="--selftest: keep the temporary directory")
    p.add_argument("--methods", type=lambda s: s.split(","), default=METHODS, help=f"comma-separated subset of {','.join(METHODS)}")
    p.add_argument("--alphas", type=number_list(float), default=ALPHAS, help="Dirichlet α values (default 0.1,0.5)")
    p.add_argument("--seeds", type=number_list(int), default=[0, 1, 2], help="seeds (default 0,1,2)")
    p.add_argument("--rounds-ntk", type=int, default=30, help="round cap of ntk and ntk-fl runs (default 30)")
    p.add_argument("--rounds-baseline", type=int, default=200, help="round cap of baseline runs (default 200)")
    p.add_argument("--rounds-tune", type=int, default=100, help="round cap of grid runs (default 100)")
    p.add_argument("--grid-lr", type=number_list(number), default=GRID_LEARNING_RATES, help="grid learning rates (default 1,3,10,30)")
    p.add_argument("--grid-epochs", type=number_list(int), default=GRID_EPOCHS, help="grid local epochs (default 1,5)")
    p.add_argument("--grid-mu", type=number_list(number), default=GRID_MU, help="FedProx μ grid (default 0.001,0.01,0.1,1)")
    p.add_argument("--clients", type=int, default=20, help="clients of the comparison (default 20: 200 samples each)")
    p.add_argument("--per-round", type=int, default=5, help="clients sampled per round (default 5)")
    p.add_argument("--processes", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--scale-clients", type=int, default=300)
    p.add_argument("--scale-per-round", type=int, default=21)
    p.add_argument("--scale-processes", type=int, default=4)
    p.add_argument("--scale-rounds", type=int, default=5)
    p.add_argument("--baseline-loss", choices=["mse", "xent"], default="mse",
                   help="training.loss of the baselines' local SGD (default mse, as the NTK method)")
    p.add_argument("--out", type=Path, default=ROOT / "runs" / "compare-federations", help="output directory")
    p.add_argument("--tuning", type=Path, help="tuning file (default OUT/tuning.json)")
    p.add_argument("--bin", type=Path, default=BIN_DIR, help="directory of ntk, ntk-server, ntk-worker (default .build/release)")
    p.add_argument("--stall-seconds", type=float, default=120, help="stop a run when no round completes for this long (default 120)")
    p.add_argument("--first-round-seconds", type=float, default=600, help="… before its first round (start-up; default 600)")
    p.add_argument("--reuse", action="store_true", help="read finished runs with the same config instead of rerunning them "
                   "(those that failed or stalled are rerun)")
    args = p.parse_args(argv)
    unknown = [m for m in args.methods if m not in METHODS]
    if unknown:
        p.error(f"unknown methods {unknown}; choose from {METHODS}")
    args.methods = [m for m in METHODS if m in args.methods]
    args.out, args.bin = args.out.resolve(), args.bin.resolve()
    args.tuning = (args.tuning or args.out / "tuning.json").resolve()
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.selftest:
        return selftest(args)
    if not (args.bin / "ntk").exists():
        raise SystemExit(f"compare-federations: {args.bin / 'ntk'} missing; run `swift build -c release` "
                         "(or bench/compare-federations.sh), or try --selftest")
    args.out.mkdir(parents=True, exist_ok=True)
    runner = Runner(args.out, args.bin, args.stall_seconds, args.first_round_seconds, args.reuse, args.baseline_loss)
    saved_path = args.out / "compare.json"
    saved = json.loads(saved_path.read_text()) if saved_path.exists() else {}
    if args.tune:
        tune(args, runner)
    elif args.scale:
        saved["scale"] = scale(args, runner)
    else:
        saved["compare"] = compare(args, runner, saved.get("compare"))
    write_outputs(args.out, saved, args.tuning)
    return 0


if __name__ == "__main__":
    sys.exit(main())
