#!/usr/bin/env python3
"""Personalized federation (hypernetwork) vs the shared MLP on non-IID digits, worker by worker.

For each Dirichlet alpha, runs `ntk run` (server + 4 worker processes over ZeroMQ) on
configs/digits-mlp-noniid-local.yaml and configs/digits-hyper-noniid.yaml with that alpha substituted:
the same partition and the same held-out quarter of every worker's shard for both methods. Each worker
reports its held-out metrics at the start of every round, i.e. for the weights the previous round
produced, so a run of R training rounds is given R + 1 rounds and the (R+1)-th record's `workerAccuracy`
is the accuracy of the weights after R rounds (its own round's bytes and seconds are not counted).

Writes OUT/<alpha>/<method>/ run directories and the markdown table (--results).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
METHODS = [("shared MLP", "mlp", "configs/digits-mlp-noniid-local.yaml"),
           ("hypernetwork", "hyper", "configs/digits-hyper-noniid.yaml")]


def configure(template, alpha, out_dir, rounds, port, train_fraction, seed):
    text = open(os.path.join(ROOT, template)).read()
    # Seed s: model.seed = s, every shard's partition seed = 1 + s (seed 0 is the shipped configs).
    text = re.sub(r"^  seed: \d+", f"  seed: {seed}", text, flags=re.M)
    text = re.sub(r"shard: \{index: (\d+), count: (\d+), seed: \d+", lambda m: f"shard: {{index: {m.group(1)}, count: {m.group(2)}, seed: {1 + seed}", text)
    text = re.sub(r"alpha: [0-9.e-]+", f"alpha: {alpha}", text)
    text = re.sub(r"output_dir: .*", f"output_dir: {out_dir}", text)
    text = re.sub(r"rounds: \d+", f"rounds: {rounds}", text, count=1)
    text = re.sub(r"tcp://127\.0\.0\.1:\d+", f"tcp://127.0.0.1:{port}", text)
    text = text.replace("../data/", os.path.join(ROOT, "data") + "/")
    # The shipped hypernetwork config already trains on a half: the script's --train-fraction decides for both.
    text = re.sub(r"split: train, train_fraction: [0-9.]+, ", "", text)
    if train_fraction < 1:
        text = text.replace("classes: 10, shard:", f"classes: 10, split: train, train_fraction: {train_fraction}, shard:")
    return text


def run(binary_dir, config_path, log_path):
    started = time.time()
    with open(log_path, "w") as log:
        proc = subprocess.run([os.path.join(binary_dir, "ntk"), "run", config_path], stdout=log, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        sys.exit(f"ntk run {config_path} failed (status {proc.returncode}); see {log_path}")
    return time.time() - started


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--alphas", type=float, nargs="+", default=[0.1, 0.5])
    p.add_argument("--rounds", type=int, default=2, help="training rounds R (each run is given R + 1, see above)")
    p.add_argument("--train-fraction", type=float, default=0.5,
                   help="use this stratified fraction of digits (1: all 1797 samples); the hypernetwork's dense "
                        "exact Gram has 10 rows per training sample")
    p.add_argument("--bin", default=os.path.join(ROOT, ".build/release"))
    p.add_argument("--out", default=os.path.join(ROOT, "runs/personalized"))
    p.add_argument("--results", default=os.path.join(ROOT, "bench/results/personalized-digits.md"))
    p.add_argument("--port", type=int, default=5650)
    p.add_argument("--seed", type=int, default=0, help="model seed s and partition seed 1 + s")
    args = p.parse_args()

    rows = []
    for ai, alpha in enumerate(args.alphas):
        for mi, (label, key, template) in enumerate(METHODS):
            out_dir = os.path.abspath(os.path.join(args.out, f"alpha-{alpha}", key))
            os.makedirs(out_dir, exist_ok=True)
            rounds_file = os.path.join(out_dir, "rounds.jsonl")
            if os.path.exists(rounds_file):
                os.remove(rounds_file)
            for stale in ("checkpoint.json",):
                if os.path.exists(os.path.join(out_dir, stale)):
                    os.remove(os.path.join(out_dir, stale))
            config_path = os.path.join(out_dir, "config.yaml")
            with open(config_path, "w") as f:
                f.write(configure(template, alpha, out_dir, args.rounds + 1, args.port + 10 * ai + mi, args.train_fraction, args.seed))
            print(f"alpha {alpha}, {label}: running {args.rounds} + 1 rounds ...", file=sys.stderr, flush=True)
            wall = run(args.bin, config_path, os.path.join(out_dir, "ntk-run.log"))
            records = [json.loads(l) for l in open(rounds_file) if l.strip()]
            trained = records[:args.rounds]
            final = records[args.rounds]
            acc = final.get("workerAccuracy") or {}
            initial = records[0].get("workerAccuracy") or {}
            registered = {}
            log_text = open(os.path.join(out_dir, "logs", "server.log")).read()
            for name, n in re.findall(r"worker (\S+) registered \((\d+) samples", log_text):
                registered[name] = int(n)
            rows.append({
                "alpha": alpha, "method": label, "accuracy": acc, "initial": initial,
                "train_samples": registered,
                "bytes_in": sum(sum(r["bytesReceived"].values()) for r in trained),
                "bytes_out": sum(r["bytesSent"] for r in trained),
                "seconds": sum(r["totalSeconds"] for r in trained),
                "train_accuracy": trained[-1].get("trainAccuracy"),
                "wall": wall,
                "per_round": [r.get("workerHeldOutAccuracy") for r in records],
            })
            print(f"  per-worker held-out accuracy after {args.rounds} rounds: {acc}", file=sys.stderr, flush=True)

    with open(os.path.join(args.out, "personalized.json"), "w") as f:
        json.dump(rows, f, indent=1, sort_keys=True)
    workers = sorted({w for r in rows for w in r["accuracy"]})
    lines = []
    lines.append("| α | method | " + " | ".join(workers) + " | mean worker | worst worker | pooled | train acc | rounds | MB in | MB out | s |")
    lines.append("|---|---|" + "---|" * len(workers) + "---|---|---|---|---|---|---|---|")
    for r in rows:
        accs = [r["accuracy"].get(w) for w in workers]
        vals = [a for a in accs if a is not None]
        mean = sum(vals) / len(vals) if vals else float("nan")
        worst = min(vals) if vals else float("nan")
        pooled = r["per_round"][-1]
        cells = [f"{100 * a:.1f}" if a is not None else "-" for a in accs]
        lines.append(f"| {r['alpha']} | {r['method']} | " + " | ".join(cells) +
                     f" | {100 * mean:.1f} | {100 * worst:.1f} | {100 * pooled:.1f} | "
                     f"{100 * (r['train_accuracy'] or 0):.1f} | {args.rounds} | {r['bytes_in'] / 1e6:.1f} | "
                     f"{r['bytes_out'] / 1e6:.1f} | {r['seconds']:.0f} |")
    table = "\n".join(lines)
    counts = {r["alpha"]: r["train_samples"] for r in rows}
    print(table)
    with open(os.path.join(args.out, "table.md"), "w") as f:
        f.write(table + "\n\nTraining samples per worker (server log): " + json.dumps(counts) + "\n")
    print(f"table: {os.path.join(args.out, 'table.md')}; raw: {os.path.join(args.out, 'personalized.json')}", file=sys.stderr)


if __name__ == "__main__":
    main()
