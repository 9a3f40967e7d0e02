"""Benchmark 5: round time and its phases against the number of samples and the number of workers.

Synthetic data (bench/make_synthetic.py), factored blocks, f32, one round per point (the first round:
no drift phase), every point a real federation under the benchmark lock. For each phase the table of
exponents gives the log-log slope between neighbouring points: 1 = linear in the swept quantity.
"""

import argparse
import math
import re
import sys
from pathlib import Path

import ntkbench as nb

# Phases whose growth is discussed (the rest are small or constant).
FITTED = ["workerCompute", "transfer", "solve", "timeSearch", "evaluation"]


def iterations(record):
    m = re.search(r"(\d+) iterations", record.get("solver", ""))
    return int(m.group(1)) if m else None


def sweep(points, args, data, available):
    """Runs one federation per (samples, workers) point; returns rows of (samples, workers, record, outcome)."""
    rows = []
    for samples, workers in points:
        name = f"m{samples}-w{workers}"
        config = nb.synthetic_config(name, args.out / name / "run", data, samples, available, workers, args.widths, args.rounds)
        print(f"# {name} ...", file=sys.stderr, flush=True)
        outcome = nb.run_federation(config, args.out / name)
        print(f"#   {outcome.status}, {outcome.wall_seconds:.1f} s wall", file=sys.stderr, flush=True)
        rows.append((samples, workers, outcome.records[0] if outcome.records else {}, outcome))
    return rows


def phase_table(rows):
    headers = ["samples", "workers", *nb.PHASES, "total s", "Lanczos iterations", "server peak MB", "worker peak MB"]
    body = [[m, w, *nb.phase_cells(r), nb.fmt(iterations(r), "d"), nb.fmt(o.peak_rss_mb("server"), ".0f"),
             nb.fmt(o.worker_peak_rss_mb(), ".0f")] for m, w, r, o in rows]
    return nb.md_table(headers, body)


def exponent_table(rows, swept):
    """Local log-log slopes d log(seconds) / d log(swept quantity) between neighbouring points."""
    index = 0 if swept == "samples" else 1
    body = []
    for (a, b) in zip(rows, rows[1:]):
        ratio = math.log(b[index] / a[index])
        def slope(value_a, value_b):
            return f"{math.log(value_b / value_a) / ratio:.2f}" if value_a > 0 and value_b > 0 else "—"
        cells = [slope(a[2]["seconds"].get(p, 0), b[2]["seconds"].get(p, 0)) for p in FITTED]
        cells.append(slope(a[2]["totalSeconds"], b[2]["totalSeconds"]))
        its = (iterations(a[2]), iterations(b[2]))
        cells.append(slope(*its) if all(its) else "—")
        body.append([f"{a[index]} → {b[index]}", *cells])
    return nb.md_table([swept, *FITTED, "total", "iterations"], body)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="bench/scaling.sh", description=__doc__)
    parser.add_argument("--samples", default="1000,2000,5000,10000,20000", help="sample counts at 4 workers")
    parser.add_argument("--workers", default="1,2,4,8", help="worker counts at --fixed-samples")
    parser.add_argument("--fixed-samples", type=int, default=5000, help="total samples of the worker sweep (default 5000)")
    parser.add_argument("--widths", default="784,512,512,10", help="MLP widths (default 784,512,512,10)")
    parser.add_argument("--rounds", type=int, default=1, help="rounds per point (default 1; the table shows the first)")
    parser.add_argument("--out", type=Path, default=nb.ROOT / "runs" / "bench-scaling", help="output directory")
    args = parser.parse_args(argv)
    args.widths = [int(w) for w in args.widths.split(",")]
    samples = [int(s) for s in args.samples.split(",")]
    available = max(samples + [args.fixed_samples])
    data = nb.synthetic_data(available)

    by_samples = sweep([(m, 4) for m in samples], args, data, available)
    by_workers = sweep([(args.fixed_samples, int(w)) for w in args.workers.split(",")], args, data, available)
    nb.save_json(args.out / "results.json", {"machine": nb.machine(), "widths": args.widths, "rounds": args.rounds, "points": [
        {"samples": m, "workers": w, "record": r, "resources": o.resources, "status": o.status} for m, w, r, o in by_samples + by_workers]})
    print(f"## Samples (4 workers, MLP {'-'.join(map(str, args.widths))})\n\n{phase_table(by_samples)}\n\n"
          f"Exponents (log-log slopes):\n\n{exponent_table(by_samples, 'samples')}\n\n"
          f"## Workers ({args.fixed_samples} samples in total)\n\n{phase_table(by_workers)}\n\n"
          f"Exponents (log-log slopes):\n\n{exponent_table(by_workers, 'workers')}")


if __name__ == "__main__":
    main()
