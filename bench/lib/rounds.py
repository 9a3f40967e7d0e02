"""Benchmark 4: end-to-end rounds, seconds per phase and peak memory of the server and the workers.

Every variant is a real federation (ntk-server + one ntk-worker per worker over tcp loopback, each
under /usr/bin/time -v), run for --rounds rounds one after the other under the benchmark lock.
"""

import argparse
import sys
from pathlib import Path

import ntkbench as nb

DIGITS = nb.ROOT / "configs" / "digits-noniid.yaml"
SYNTHETIC_WIDTHS = [784, 1024, 1024, 10]


def digits(name, rounds, out, widths=None, block_format="factored", dtype="f32"):
    """configs/digits-noniid.yaml with the block format and dtype (and optionally the widths) replaced."""
    overrides = {"run.id": name, "run.output_dir": str(out / name / "run"), "run.rounds": rounds,
                 "server.block_format": block_format, "server.block_dtype": dtype}
    if widths:
        overrides["model.widths"] = widths
    return nb.yaml_with(DIGITS, overrides)


def synthetic(name, rounds, out, data_dir, samples, dtype="f32"):
    """The synthetic 4-worker run, 784-1024-1024-10, factored blocks."""
    return nb.synthetic_config(name, out / name / "run", data_dir, samples, samples, 4, SYNTHETIC_WIDTHS, rounds,
                               server={"block_dtype": dtype})


def variants(args):
    """(name, description, config text) of every variant, in run order."""
    r, out = args.rounds, args.out
    narrow = [64, 128, 128, 10]
    table = [
        ("digits-factored-f32", "digits 64-512-512-10, factored, f32", digits("digits-factored-f32", r, out)),
        ("digits-factored-bf16", "digits 64-512-512-10, factored, bf16", digits("digits-factored-bf16", r, out, dtype="bf16")),
        ("digits128-factored-f32", "digits 64-128-128-10, factored, f32", digits("digits128-factored-f32", r, out, narrow)),
        ("digits128-dense-f32", "digits 64-128-128-10, dense, f32", digits("digits128-dense-f32", r, out, narrow, "dense")),
        ("digits128-dense-bf16", "digits 64-128-128-10, dense, bf16", digits("digits128-dense-bf16", r, out, narrow, "dense", "bf16")),
    ]
    for dtype in ("f32", "bf16"):
        name = f"synthetic{args.samples // 1000}k-factored-{dtype}"
        table.append((name, f"synthetic {args.samples} × 784, 784-1024-1024-10, factored, {dtype}",
                      synthetic(name, r, out, args.data, args.samples, dtype)))
    return [v for v in table if not args.only or any(o in v[0] for o in args.only)]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="bench/round.sh", description=__doc__)
    parser.add_argument("--rounds", type=int, default=2, help="rounds per variant (default 2)")
    parser.add_argument("--samples", type=int, default=20000, help="training samples of the synthetic run (default 20000)")
    parser.add_argument("--only", nargs="*", help="run only variants whose name contains one of these")
    parser.add_argument("--out", type=Path, default=nb.ROOT / "runs" / "bench-rounds", help="output directory")
    args = parser.parse_args(argv)
    args.data = nb.synthetic_data(args.samples)

    results = []
    for name, description, config in variants(args):
        print(f"# {name}: {description}, {args.rounds} rounds ...", file=sys.stderr, flush=True)
        outcome = nb.run_federation(config, args.out / name)
        print(f"#   {outcome.status}, {outcome.wall_seconds:.1f} s wall", file=sys.stderr, flush=True)
        results.append({"name": name, "description": description, "status": outcome.status, "wall_seconds": outcome.wall_seconds,
                        "records": outcome.records, "resources": outcome.resources})
    nb.save_json(args.out / "results.json", {"machine": nb.machine(), "rounds": args.rounds, "results": results})
    print(report(results))


def report(results):
    """Markdown: one row per round of every variant; peak memory per variant."""
    rows = []
    for r in results:
        resources = r["resources"]
        workers = [v["max_rss_mb"] for k, v in resources.items() if k != "server" and "max_rss_mb" in v]
        server_mb = resources.get("server", {}).get("max_rss_mb")
        for record in r["records"] or [{}]:
            mb_in = sum(record.get("bytesReceived", {}).values()) / 1e6 if record else None
            acc = record.get("testAccuracy")
            rows.append([r["name"], record.get("round", r["status"]), *(nb.phase_cells(record) if record else [""] * (len(nb.PHASES) + 1)),
                         nb.fmt(mb_in, ".0f"), nb.fmt(acc and 100 * acc, ".2f"),
                         nb.fmt(server_mb, ".0f"), nb.fmt(max(workers) if workers else None, ".0f")])
    headers = ["run", "round", *nb.PHASES, "total s", "MB in", "test acc %", "server peak MB", "worker peak MB"]
    return nb.md_table(headers, rows)


if __name__ == "__main__":
    main()
