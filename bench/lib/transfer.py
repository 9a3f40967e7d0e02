"""Benchmark 3: block transfer from worker processes to the server over tcp loopback, plain and CURVE.

Each row is one `ntk bench transfer` (a server process that starts --senders sender processes; real
`block` messages, checksummed, chunked above the message limit, rebuilt by the server), repeated
--repeat times under the benchmark lock; the table shows the median and the range. The in-process
TransferBenchmark (sender threads, raw frames, no protocol) is measured alongside as a reference.
"""

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

import ntkbench as nb

# (block MiB, message limit MiB, blocks per sender plain, blocks per sender with CURVE): about 2 GiB plain, 0.5 GiB CURVE.
CASES = [(16, 256, 32, 8), (64, 256, 8, 2), (64, 16, 8, 2), (256, 256, 2, 1)]


def measure(arguments, repeat):
    """`ntk bench transfer ARGUMENTS --json`, `repeat` times, each under the lock: the parsed results."""
    results = []
    for _ in range(repeat):
        with nb.bench_lock():
            done = subprocess.run([str(nb.bin_dir() / "ntk"), "bench", "transfer", *arguments, "--json"],
                                  capture_output=True, text=True, check=True)
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return results


def row(results, mib, limit, curve, mode):
    rates = [r["gb_per_second"] for r in results]
    blocks = [r["blocks_per_second"] for r in results]
    return [mode, "CURVE" if curve else "plain", mib, limit, results[0]["chunks_per_block"], results[0]["blocks"],
            f"{statistics.median(blocks):.1f}", f"{statistics.median(rates):.2f}", f"{min(rates):.2f}–{max(rates):.2f}"]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="bench/transfer.sh", description=__doc__)
    parser.add_argument("--senders", type=int, default=4, help="sender processes (default 4)")
    parser.add_argument("--repeat", type=int, default=3, help="measurements per row (default 3)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the blocks per sender (e.g. 0.25 for a quick check)")
    parser.add_argument("--out", type=Path, default=nb.ROOT / "runs" / "bench-transfer", help="output directory for results.json")
    args = parser.parse_args(argv)

    rows, raw = [], []
    for curve in (False, True):
        for mib, limit, plain_blocks, curve_blocks in CASES:
            blocks = max(1, round((curve_blocks if curve else plain_blocks) * args.scale))
            base = ["--senders", str(args.senders), "--block-mib", str(mib), "--blocks", str(blocks),
                    "--max-message-mib", str(limit)] + (["--curve"] if curve else [])
            print(f"# {' '.join(base)}", file=sys.stderr, flush=True)
            results = measure(base, args.repeat)
            rows.append(row(results, mib, limit, curve, "processes"))
            raw.append(results)
            if limit >= mib:   # the in-process reference never chunks
                results = measure(base + ["--in-process"], args.repeat)
                rows.append(row(results, mib, "—", curve, "threads (reference)"))
                raw.append(results)
    nb.save_json(args.out / "results.json", {"machine": nb.machine(), "senders": args.senders, "results": raw})
    print(nb.md_table(["mode", "encryption", "block MiB", "limit MiB", "chunks/block", "blocks", "blocks/s",
                       "GB/s (median)", "GB/s (range)"], rows))


if __name__ == "__main__":
    main()
