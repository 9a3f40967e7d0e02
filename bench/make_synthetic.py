#!/usr/bin/env python3
"""Synthetic classification data for the benchmarks, as .npy files (Python standard library only).

Gaussian clusters: class c has a mean mu_c ~ N(0, separation^2 I) in `--inputs` dimensions, a sample of
class c is mu_c + N(0, I), classes in turn (0, 1, ..., k-1, 0, ...). Each file is one 2-D float32 array
with the label as the last column (what the loaders read by default: `label_column` = last). The train
and test files share the class means (one seed), their noise comes from different streams.

usage: python3 bench/make_synthetic.py --output-dir DIR [--train 20000] [--test 2000] [--inputs 784]
                                       [--classes 10] [--separation 0.1] [--seed 0]
writes DIR/train.npy (train x (inputs+1)) and DIR/test.npy; a file already there with the same
parameters (DIR/synthetic.json) is kept.
"""

import argparse
import array
import json
import math
import random
import sys
from pathlib import Path


def npy_header(rows, columns):
    """The .npy version 1.0 header of a C-order little-endian float32 array, padded to 64 bytes."""
    text = f"{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {columns}), }}"
    padding = 64 - (10 + len(text) + 1) % 64
    text += " " * (padding % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text.encode("latin1")


def gaussians(rng, count):
    """`count` standard normal numbers (Box–Muller, two per pair of uniforms)."""
    values = []
    for _ in range((count + 1) // 2):
        radius = math.sqrt(-2.0 * math.log(1.0 - rng.random()))
        angle = 2.0 * math.pi * rng.random()
        values += (radius * math.cos(angle), radius * math.sin(angle))
    return values[:count]


def write_clusters(path, rows, means, rng):
    """`rows` samples of the clusters with `means`, labels cycling through the classes, to `path`."""
    inputs = len(means[0])
    with open(path, "wb") as out:
        out.write(npy_header(rows, inputs + 1))
        for row in range(rows):
            label = row % len(means)
            noise = gaussians(rng, inputs)
            values = array.array("f", (m + e for m, e in zip(means[label], noise)))
            values.append(float(label))
            if sys.byteorder != "little":
                values.byteswap()
            out.write(values.tobytes())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--output-dir", required=True, type=Path)
    parser.add_argument("--train", type=int, default=20000, help="rows of train.npy (default 20000)")
    parser.add_argument("--test", type=int, default=2000, help="rows of test.npy (default 2000)")
    parser.add_argument("--inputs", type=int, default=784, help="features per sample (default 784)")
    parser.add_argument("--classes", type=int, default=10, help="number of classes k (default 10)")
    parser.add_argument("--separation", type=float, default=0.1, help="standard deviation of the class means (default 0.1)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    parameters = {k: v for k, v in vars(args).items() if k != "output_dir"}
    stamp = args.output_dir / "synthetic.json"
    files = [args.output_dir / "train.npy", args.output_dir / "test.npy"]
    if stamp.exists() and json.loads(stamp.read_text()) == parameters and all(f.exists() for f in files):
        return
    args.output_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    means = [[args.separation * g for g in gaussians(rng, args.inputs)] for _ in range(args.classes)]
    for stream, (path, rows) in enumerate(zip(files, (args.train, args.test)), start=1):
        write_clusters(path, rows, means, random.Random(args.seed * 1000 + stream))
    stamp.write_text(json.dumps(parameters) + "\n")


if __name__ == "__main__":
    main()
