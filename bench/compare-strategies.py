#!/usr/bin/env python3
"""FedAvg against the NTK method on the default run (digits, 4 non-IID workers).

Two steps, each a real federation (`ntk run`: server and 4 worker processes on tcp loopback):

  --tune    FedAvg grid on seed 0 (learning rate x local epochs, batch 32). For each point: the
            first round whose test accuracy reaches the target, the round from which it stays
            at or above it, best and final accuracy. The best point is the one reaching the
            target in the fewest rounds (ties: higher final accuracy). When the best learning
            rate is at an edge of the grid, the grid is extended once beyond that edge.
  default   The NTK config and the chosen FedAvg config on several seeds: rounds, cumulative
            MB (in + out) and seconds (sum of the rounds' `totalSeconds`) to the target,
            whether accuracy stays above afterwards, final accuracy; means over seeds and the
            ratio FedAvg / NTK.

Seed s sets `model.seed = s`, every worker's `shard.seed = 1 + s` and the FedAvg SGD seed
`training.fedavg.seed = s`, so seed 0 is exactly the checked-in configuration; the train/test
split (`split_seed`) stays fixed.

Variant configs are written by textual substitution of the checked-in YAML files (every
substitution is checked; a base file that no longer matches fails loudly), with absolute paths
and a free tcp port per run. Everything lands under --out (default runs/compare/):
one directory per run (config.yaml, run/rounds.jsonl, ntk.log), compare.json (every run's
summary, the grid, the choice, the comparison) and compare.md (the tables). Runs go one at a
time. Python 3 standard library only.
"""

import argparse
import json
import math
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench" / "lib"))
from fedrun import free_port, read_rounds, watch, write_results  # noqa: E402  (shared with compare-federations.py)
NTK_CONFIG = ROOT / "configs" / "digits-noniid.yaml"
FEDAVG_CONFIG = ROOT / "configs" / "digits-noniid-fedavg.yaml"
BIN_DIR = ROOT / ".build" / "release"

GRID_LEARNING_RATES = [3, 10, 30, 100]
GRID_EDGE_EXTENSION = {3: 1, 100: 300}  # edge of the grid -> the learning rate added beyond it
GRID_EPOCHS = [1, 5, 10]
BATCH_SIZE = 32
MB = 1e6  # bytes per MB, as the server's log prints them


# ----------------------------------------------------------------------------------------------
# Variant configurations (textual substitution of the checked-in YAML)
# ----------------------------------------------------------------------------------------------

def substitute(text, pattern, replacement, what, expected=1):
    """`re.subn` in multi-line mode that must match exactly `expected` times (`None`: at least once)."""
    new, n = re.subn(pattern, replacement, text, flags=re.M)
    if (expected is None and n == 0) or (expected is not None and n != expected):
        wanted = "at least 1" if expected is None else str(expected)
        raise SystemExit(f"compare-strategies: cannot set {what}: /{pattern}/ matched {n} times, expected {wanted}")
    return new


def set_section_key(text, section, key, value):
    """Set `key` (two-space indented, plain scalar) inside the top-level `section:`, keeping its comment."""
    pattern = rf"^({section}:[^\n]*\n(?:(?: [^\n]*)?\n)*?  {key}:[ \t]*)[^\s#]+"
    return substitute(text, pattern, lambda m: m.group(1) + str(value), f"{section}.{key}")


def absolutize_files(text, base_dir):
    """Resolve every `file: PATH` against the base config's directory (as `ntk` would)."""
    def absolute(m):
        return m.group(1) + str((base_dir / m.group(2)).resolve())
    return substitute(text, r"(\bfile:[ \t]*)([^\s,}#]+)", absolute, "data file paths", expected=None)


def variant_config(base, run_dir, seed, rounds, port, fedavg=None):
    """Text of `base` with output dir, rounds, seeds, endpoint and (for FedAvg) local training replaced.

    `fedavg` is None for the NTK method, else a dict with learning_rate and local_epochs.
    """
    text = base.read_text()
    is_fedavg = re.search(r"^  strategy:[ \t]*fedavg\b", text, flags=re.M) is not None
    if is_fedavg != (fedavg is not None):
        raise SystemExit(f"compare-strategies: {base} is {'' if is_fedavg else 'not '}a FedAvg config")
    text = absolutize_files(text, base.parent)
    text = set_section_key(text, "run", "output_dir", run_dir)
    text = set_section_key(text, "run", "rounds", rounds)
    text = set_section_key(text, "model", "seed", seed)
    text = set_section_key(text, "server", "endpoint", f"tcp://127.0.0.1:{port}")
    workers = len(re.findall(r"\bshard:[ \t]*\{", text))
    text = substitute(text, r"(\bshard:[ \t]*\{[^}]*?\bseed:[ \t]*)\d+", lambda m: m.group(1) + str(1 + seed),
                      "shard.seed of every worker", expected=workers)
    if fedavg is not None:
        line = (f"fedavg: {{local_epochs: {fedavg['local_epochs']}, learning_rate: {fedavg['learning_rate']}, "
                f"batch_size: {BATCH_SIZE}, seed: {seed}}}")
        text = substitute(text, r"^(  )fedavg:[^\n]*$", lambda m: m.group(1) + line, "training.fedavg")
    leftovers = [l for l in text.splitlines() if re.search(r"(^|[\s:])\.\.?/", l.split("#", 1)[0])]
    if leftovers:
        raise SystemExit(f"compare-strategies: relative paths left in the variant of {base}: {leftovers}")
    return text


# ----------------------------------------------------------------------------------------------
# Running one federation
# ----------------------------------------------------------------------------------------------

def normalized(config_text):
    """A config's text without comments and port: what decides whether a finished run can be reused."""
    lines = (line.split("#", 1)[0].rstrip() for line in config_text.splitlines())
    return re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", "\n".join(line for line in lines if line))


def run_federation(name, base, directory, seed, rounds, fedavg=None, bin_dir=BIN_DIR, stall_seconds=90.0, reuse=False):
    """Write the variant config under `directory`, run it with `ntk run`, return its records and status.

    A run whose workers stop with an error (FedAvg diverging to NaN) or that makes no progress
    for `stall_seconds` is stopped; its status says why and the rounds it completed are kept.
    With `reuse`, a directory holding a finished run of the same config is read instead of rerun.
    """
    run_dir, config_path, status_path = directory / "run", directory / "config.yaml", directory / "status.json"
    text = variant_config(base, run_dir, seed, rounds, free_port(), fedavg)
    if reuse and status_path.exists() and normalized(config_path.read_text()) == normalized(text):
        print(f"  {name}: reusing {run_dir}", flush=True)
        return read_rounds(run_dir / "rounds.jsonl"), json.loads(status_path.read_text())
    for stale in [status_path, run_dir / "rounds.jsonl", run_dir / "checkpoint.json", *run_dir.glob("logs/*.log")]:
        stale.unlink(missing_ok=True)
    directory.mkdir(parents=True, exist_ok=True)
    config_path.write_text(text)
    print(f"  {name}: {rounds} rounds ...", end="", flush=True)
    started = time.monotonic()
    with open(directory / "ntk.log", "w") as log:
        process = subprocess.Popen([str(bin_dir / "ntk"), "run", str(config_path)], stdout=log,
                                   stderr=subprocess.STDOUT, cwd=directory, start_new_session=True)
        status = watch(process, run_dir, stall_seconds)
    records = read_rounds(run_dir / "rounds.jsonl")
    result = {"status": status, "wall_seconds": time.monotonic() - started, "rounds_done": len(records)}
    status_path.write_text(json.dumps(result, indent=1) + "\n")
    print(f" {len(records)} rounds in {result['wall_seconds']:.0f} s ({status})", flush=True)
    return records, result


# ----------------------------------------------------------------------------------------------
# Summaries
# ----------------------------------------------------------------------------------------------

def summarize(records, run_status, target):
    """What a run reached: rounds, MB and seconds to the target, whether it held, best and final accuracy."""
    accuracy = [r["testAccuracy"] if r.get("testAccuracy") is not None else float("nan") for r in records]
    above = [a >= target for a in accuracy]  # NaN compares False
    reach = next((i + 1 for i, ok in enumerate(above) if ok), None)
    stays_from = None  # the first round of the final stretch at or above the target
    if above and above[-1]:
        first = len(above)
        while first > 1 and above[first - 2]:
            first -= 1
        stays_from = first
    mb = [(sum(r["bytesReceived"].values()) + r["bytesSent"]) / MB for r in records]
    seconds = [r["totalSeconds"] for r in records]
    finite = [a for a in accuracy if not math.isnan(a)]
    return {
        "status": run_status["status"],
        "rounds_done": len(records),
        "reach_round": reach,
        "stays_from": stays_from,
        "holds": reach is not None and stays_from == reach,
        "dips_after_reach": sum(1 for ok in above[reach:] if not ok) if reach else None,
        "mb_to_target": sum(mb[:reach]) if reach else None,
        "seconds_to_target": sum(seconds[:reach]) if reach else None,
        "best_accuracy": max(finite) if finite else None,
        "final_accuracy": accuracy[-1] if accuracy else None,
        "mb_in_per_round": statistics.mean(sum(r["bytesReceived"].values()) / MB for r in records) if records else None,
        "mb_out_per_round": statistics.mean(r["bytesSent"] / MB for r in records) if records else None,
        "seconds_per_round": statistics.mean(seconds) if seconds else None,
        "accuracy": accuracy,
    }


def selection_key(point):
    """Fewest rounds to the target first (never reached: last), then the higher final accuracy."""
    s = point["summary"]
    final = s["final_accuracy"] if s["final_accuracy"] is not None and not math.isnan(s["final_accuracy"]) else -1.0
    return (s["reach_round"] is None, s["reach_round"] or 0, -final)


def mean_or_none(values):
    values = [v for v in values if v is not None]
    return statistics.mean(values) if values else None


# ----------------------------------------------------------------------------------------------
# The two steps
# ----------------------------------------------------------------------------------------------

def tune(args):
    """Run the FedAvg grid on seed 0; return the grid (every point's summary) and the chosen point."""
    learning_rates = list(args.grid_lr)
    points = []

    def run_points(rates):
        for lr in rates:
            for epochs in args.grid_epochs:
                fedavg = {"learning_rate": lr, "local_epochs": epochs}
                name = f"lr{lr:g}-e{epochs}"
                records, status = run_federation(f"tune {name}", FEDAVG_CONFIG, args.out / "tune" / name, 0,
                                                 args.rounds_tune, fedavg, args.bin, reuse=args.reuse)
                points.append({**fedavg, "summary": summarize(records, status, args.target)})

    run_points(learning_rates)
    best = min(points, key=selection_key)
    edge = best["learning_rate"]
    if edge in (min(learning_rates), max(learning_rates)) and edge in GRID_EDGE_EXTENSION and args.extend:
        extra = GRID_EDGE_EXTENSION[edge]
        print(f"best learning rate {edge:g} is at the edge of the grid: adding {extra:g}", flush=True)
        run_points([extra])
        best = min(points, key=selection_key)
    points.sort(key=lambda p: (p["learning_rate"], p["local_epochs"]))
    return {"seed": 0, "rounds": args.rounds_tune, "batch_size": BATCH_SIZE, "target": args.target,
            "grid": points, "chosen": {"learning_rate": best["learning_rate"], "local_epochs": best["local_epochs"]}}


def chosen_fedavg(args, saved):
    """FedAvg hyperparameters for the comparison: --lr/--epochs, else the saved tuning, else the base config."""
    tuned = (saved.get("tune") or {}).get("chosen", {})
    line = re.search(r"^  fedavg:[^\n]*", FEDAVG_CONFIG.read_text(), flags=re.M)
    choice = {}
    for key, flag, option in (("learning_rate", args.lr, "--lr"), ("local_epochs", args.epochs, "--epochs")):
        in_base = re.search(rf"\b{key}:[ \t]*([0-9.eE+-]+)", line.group(0)) if line else None
        candidates = [("command line", flag), ("tuning in " + str(args.out / "compare.json"), tuned.get(key)),
                      (FEDAVG_CONFIG.name, in_base and float(in_base.group(1)))]
        source, value = next(((s, v) for s, v in candidates if v is not None), (None, None))
        if value is None:
            raise SystemExit(f"compare-strategies: no FedAvg {key}; give {option}")
        choice[key] = int(value) if float(value).is_integer() else float(value)
        print(f"FedAvg {key} = {choice[key]:g} (from {source})", flush=True)
    return choice


def compare(args, saved):
    """Run the NTK method and the chosen FedAvg on every seed; return per-run summaries, means and ratios."""
    fedavg = chosen_fedavg(args, saved)
    methods = [("ntk", NTK_CONFIG, args.rounds_ntk, None), ("fedavg", FEDAVG_CONFIG, args.rounds_fedavg, fedavg)]
    runs = []
    for seed in args.seeds:
        for method, base, rounds, local in methods:
            records, status = run_federation(f"{method} seed {seed}", base, args.out / f"{method}-seed{seed}", seed,
                                             rounds, local, args.bin, reuse=args.reuse)
            runs.append({"method": method, "seed": seed, "rounds": rounds, "summary": summarize(records, status, args.target)})
    metrics = ("reach_round", "mb_to_target", "seconds_to_target", "final_accuracy")
    means = {method: {m: mean_or_none([r["summary"][m] for r in runs if r["method"] == method]) for m in metrics}
             for method, *_ in methods}
    # Ratios over the seeds where both methods reached the target (the paired comparison).
    paired = [s for s in args.seeds if all(r["summary"]["reach_round"] for r in runs if r["seed"] == s)]
    ratios = {}
    for m in metrics[:3]:
        ntk = mean_or_none([r["summary"][m] for r in runs if r["method"] == "ntk" and r["seed"] in paired])
        fed = mean_or_none([r["summary"][m] for r in runs if r["method"] == "fedavg" and r["seed"] in paired])
        ratios[m] = fed / ntk if ntk and fed is not None else None
    return {"target": args.target, "seeds": args.seeds, "fedavg": fedavg, "runs": runs,
            "means": means, "paired_seeds": paired, "ratios_fedavg_over_ntk": ratios}


# ----------------------------------------------------------------------------------------------
# Markdown
# ----------------------------------------------------------------------------------------------

def fmt(value, spec="", missing="—"):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return missing
    return format(value, spec)


def pct(value):
    return fmt(value * 100 if value is not None else None, ".2f") + ("%" if value is not None else "")


def md_table(headers, rows):
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def reach_cell(summary):
    """Rounds to target, or why there is none."""
    if summary["reach_round"] is not None:
        return str(summary["reach_round"])
    if "non-finite" in summary["status"]:
        return f"never (diverged to NaN after {summary['rounds_done']} rounds)"
    if summary["status"] != "ok":
        return f"never ({summary['status'].split(':')[0]} after {summary['rounds_done']} rounds)"
    return f"not within {summary['rounds_done']}"


def holds_cell(summary):
    if summary["reach_round"] is None:
        return "—"
    if summary["holds"]:
        return "yes"
    dips = f"{summary['dips_after_reach']} round{'s' if summary['dips_after_reach'] > 1 else ''} below"
    if summary["stays_from"] is None:
        return f"no (below at the end; {dips})"
    return f"no ({dips}; above from {summary['stays_from']})"


def tune_markdown(tuning):
    target = pct(tuning["target"])
    rows = [[fmt(p["learning_rate"], "g"), p["local_epochs"], reach_cell(p["summary"]), fmt(p["summary"]["stays_from"]),
             pct(p["summary"]["best_accuracy"]), pct(p["summary"]["final_accuracy"]),
             fmt(p["summary"]["seconds_per_round"], ".2f")] for p in tuning["grid"]]
    c = tuning["chosen"]
    return "\n".join([
        f"### FedAvg grid (seed 0, batch {tuning['batch_size']}, {tuning['rounds']} rounds, target {target})", "",
        md_table(["learning rate", "E", f"first round ≥ {target}", "stays above from", "best acc", "final acc", "s/round"], rows),
        "", f"Chosen (fewest rounds to {target}, ties: final accuracy): learning rate {fmt(c['learning_rate'], 'g')}, "
            f"E = {c['local_epochs']}.", ""])


def compare_markdown(comparison):
    target = pct(comparison["target"])
    f = comparison["fedavg"]
    rows = []
    for r in comparison["runs"]:
        s = r["summary"]
        method = "NTK" if r["method"] == "ntk" else f"FedAvg (lr {fmt(f['learning_rate'], 'g')}, E {f['local_epochs']})"
        rows.append([method, r["seed"], reach_cell(s), fmt(s["mb_to_target"], ".1f"), fmt(s["seconds_to_target"], ".1f"),
                     holds_cell(s), pct(s["final_accuracy"]), f"{s['rounds_done']}/{r['rounds']}"])
    means = comparison["means"]
    mean_rows = [[name, fmt(means[m]["reach_round"], ".2f"), fmt(means[m]["mb_to_target"], ".1f"),
                  fmt(means[m]["seconds_to_target"], ".1f"), pct(means[m]["final_accuracy"])]
                 for m, name in (("ntk", "NTK"), ("fedavg", "FedAvg"))]
    ratios = comparison["ratios_fedavg_over_ntk"]
    mean_rows.append(["FedAvg / NTK"] + [fmt(ratios[m] and f"{ratios[m]:.2f}×") for m in
                                         ("reach_round", "mb_to_target", "seconds_to_target")] + [""])
    reached = {m: sum(1 for r in comparison["runs"] if r["method"] == m and r["summary"]["reach_round"]) for m in means}
    n = len(comparison["seeds"])
    return "\n".join([
        f"### NTK vs FedAvg, seeds {', '.join(map(str, comparison['seeds']))} (target {target})", "",
        md_table(["method", "seed", "rounds to target", "MB to target (in+out)", "s to target", "stays above",
                  "final acc", "rounds run"], rows),
        "", f"### Means over seeds", "",
        md_table(["", "rounds", "MB (in+out)", "seconds", "final acc"], mean_rows), "",
        f"Rounds, MB and seconds: means over the seeds that reached the target (NTK {reached['ntk']}/{n}, "
        f"FedAvg {reached['fedavg']}/{n}); final accuracy: over all seeds; "
        f"ratios over the seeds where both reached it ({', '.join(map(str, comparison['paired_seeds'])) or 'none'}). "
        "Seconds are the sum of the rounds' `totalSeconds` (server start-up and worker registration excluded).", ""])


def write_outputs(out, saved):
    """Write compare.json and compare.md (every step present in `saved`)."""
    sections = [tune_markdown(saved["tune"])] if "tune" in saved else []
    if "compare" in saved:
        sections.append(compare_markdown(saved["compare"]))
    write_results(out, saved, sections, "bench/compare-strategies.py")


# ----------------------------------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    p.add_argument("--tune", action="store_true", help="run the FedAvg grid on seed 0 instead of the comparison")
    p.add_argument("--target", type=float, default=0.97, help="test accuracy to reach (default 0.97)")
    p.add_argument("--seeds", type=lambda s: [int(x) for x in s.split(",")], default=[0, 1, 2],
                   help="comma-separated seeds for the comparison (default 0,1,2)")
    p.add_argument("--rounds-ntk", type=int, default=5, help="rounds of each NTK run (default 5)")
    p.add_argument("--rounds-fedavg", type=int, default=30, help="rounds of each FedAvg comparison run (default 30)")
    p.add_argument("--rounds-tune", type=int, default=30, help="rounds of each grid run (default 30)")
    p.add_argument("--grid-lr", type=lambda s: [float(x) if "." in x else int(x) for x in s.split(",")],
                   default=GRID_LEARNING_RATES, help="grid learning rates (default 3,10,30,100)")
    p.add_argument("--grid-epochs", type=lambda s: [int(x) for x in s.split(",")], default=GRID_EPOCHS,
                   help="grid local epochs (default 1,5,10)")
    p.add_argument("--no-extend", dest="extend", action="store_false",
                   help="do not extend the grid (1 or 300) when the best learning rate is at an edge")
    p.add_argument("--lr", type=float, help="FedAvg learning rate for the comparison (default: the tuned one in "
                   "OUT/compare.json, else configs/digits-noniid-fedavg.yaml)")
    p.add_argument("--epochs", type=int, help="FedAvg local epochs for the comparison (default: as --lr)")
    p.add_argument("--out", type=Path, default=ROOT / "runs" / "compare", help="output directory (default runs/compare/)")
    p.add_argument("--bin", type=Path, default=BIN_DIR, help="directory holding ntk, ntk-server and ntk-worker "
                   "(default .build/release; e.g. a build of a fixed commit while others edit the tree)")
    p.add_argument("--reuse", action="store_true", help="read runs already finished under OUT with the same config "
                   "instead of running them again")
    args = p.parse_args(argv)
    args.out, args.bin = args.out.resolve(), args.bin.resolve()
    return args


def main(argv=None):
    args = parse_args(argv)
    if not (args.bin / "ntk").exists():
        raise SystemExit(f"compare-strategies: {args.bin / 'ntk'} missing; run `swift build -c release` "
                         "(or bench/compare-strategies.sh)")
    args.out.mkdir(parents=True, exist_ok=True)
    saved_path = args.out / "compare.json"
    saved = json.loads(saved_path.read_text()) if saved_path.exists() else {}
    if args.tune:
        saved["tune"] = tune(args)
    else:
        saved["compare"] = compare(args, saved)
    write_outputs(args.out, saved)


if __name__ == "__main__":
    sys.exit(main())
