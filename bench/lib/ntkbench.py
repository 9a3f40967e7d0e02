"""Shared helpers of bench/transfer.sh, bench/round.sh and bench/scaling.sh (Python standard library only).

One place for: the benchmark lock, the machine's description, run configurations (a checked-in YAML
with keys replaced, or a synthetic run written as JSON, which is YAML), launching `ntk-server` and one
`ntk-worker` per worker under `/usr/bin/time -v`, reading `rounds.jsonl` and the time reports, and
Markdown tables.
"""

import contextlib
import datetime
import fcntl
import json
import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCK_FILE = "/tmp/ntk-bench.lock"
# Phases of RoundRecord.seconds reported per round (Sources/NTKServer/RoundRecord.swift).
PHASES = ["workerCompute", "transfer", "gram", "drift", "solve", "timeSearch", "update", "evaluation", "checkpoint"]


def bin_dir():
    """The release binaries: $NTK_BIN_DIR, else the working tree's .build/release."""
    return Path(os.environ.get("NTK_BIN_DIR", ROOT / ".build" / "release"))


@contextlib.contextmanager
def bench_lock():
    """Holds /tmp/ntk-bench.lock (the same lock as `flock /tmp/ntk-bench.lock CMD`) while timing.

    NTK_BENCH_NO_LOCK=1 skips it, for development runs at small sizes whose seconds are not reported.
    """
    if os.environ.get("NTK_BENCH_NO_LOCK") == "1":
        yield
        return
    with open(LOCK_FILE, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def free_port():
    """A tcp port on loopback that nothing listens on right now (bound as port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def machine():
    """Date, CPU model, core count and the OpenBLAS core `ntk blas-info` reports."""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown")
    info = subprocess.run([str(bin_dir() / "ntk"), "blas-info"], capture_output=True, text=True)
    core = re.search(r"OpenBLAS core (\w+)", info.stdout + info.stderr)
    return {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "cpu": cpu,
            "cores": os.cpu_count(), "openblas_core": core.group(1) if core else "unknown"}


def machine_line(m):
    return f"Date {m['date']}; CPU \"{m['cpu']}\", {m['cores']} cores (`nproc`); OpenBLAS core {m['openblas_core']} (`ntk blas-info`)."


# ----------------------------------------------------------------------------------------------
# Run configurations
# ----------------------------------------------------------------------------------------------

def yaml_with(base, overrides):
    """The text of the YAML file `base` with data paths made absolute and `section.key` values set.

    A key already in its top-level section has its value replaced (comment kept); a missing one is
    added as the section's first key. Values are written as JSON (a YAML subset).
    """
    lines = base.read_text().splitlines()
    lines = [re.sub(r"(\bfile:[ \t]*)([^\s,}#]+)", lambda m: m.group(1) + str((base.parent / m.group(2)).resolve()), line)
             for line in lines]
    for dotted, value in overrides.items():
        section, key = dotted.split(".", 1)
        start = next(i for i, line in enumerate(lines) if line.startswith(section + ":"))
        end = next((i for i in range(start + 1, len(lines)) if re.match(r"[A-Za-z_]", lines[i])), len(lines))
        text = json.dumps(value)
        found = [i for i in range(start + 1, end) if lines[i].startswith(f"  {key}:")]
        if found:
            lines[found[0]] = re.sub(r"^(  [^:]+:[ \t]*)[^#]*?(\s*#.*)?$", lambda m: m.group(1) + text + (m.group(2) or ""), lines[found[0]])
        else:
            lines.insert(start + 1, f"  {key}: {text}")
    return "\n".join(lines) + "\n"


def synthetic_config(run_id, run_dir, data_dir, samples, available, workers, widths, rounds, server=None):
    """A run on bench/make_synthetic.py's data: `samples` of its `available` train rows in IID shards.

    The server evaluates on test.npy. `server` adds or replaces keys of the server section.
    """
    split = {"split": "all"} if samples >= available else {"split": "train", "train_fraction": samples / available}
    data = {"file": str(data_dir / "train.npy"), "classes": widths[-1], **split}
    config = {
        "run": {"id": run_id, "output_dir": str(run_dir), "rounds": rounds},
        "model": {"widths": widths, "activation": "relu", "parametrization": "ntk", "bias_scale": 0.1, "seed": 0},
        "training": {"loss": "mse", "learning_rate": 1.0, "kernel": "exact", "solver": "auto",
                     "time": {"selection": "nonlinear-loss", "candidates": [100, 1000, 10000]}},
        "server": {"endpoint": "tcp://127.0.0.1:0", "expected_workers": workers, "round_deadline_seconds": 3600,
                   "registration_timeout_seconds": 600, "block_format": "factored",
                   "evaluation": {"file": str(data_dir / "test.npy"), "classes": widths[-1], "split": "all"},
                   **(server or {})},
        "workers": [{"name": f"worker-{i}", "data": {**data, "shard": {"index": i, "count": workers, "seed": 1, "scheme": "iid"}}}
                    for i in range(workers)],
    }
    return json.dumps(config, indent=1) + "\n"


def synthetic_data(train, test=2000):
    """bench/make_synthetic.py's train.npy (`train` rows) and test.npy, in runs/bench-synthetic-<train>/ (made once)."""
    directory = ROOT / "runs" / f"bench-synthetic-{train}"
    with bench_lock():   # a minute of CPU that would disturb another benchmark's timing
        subprocess.run([sys.executable, str(ROOT / "bench" / "make_synthetic.py"), "--output-dir", str(directory),
                        "--train", str(train), "--test", str(test)], check=True)
    return directory


def with_free_endpoint(text):
    """The configuration with `server.endpoint` on a free loopback port."""
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    new, n = re.subn(r'("?endpoint"?:[ \t]*)"?tcp://[^\s",}#]+"?', lambda m: m.group(1) + json.dumps(endpoint), text, count=1)
    if n != 1:
        raise SystemExit("ntkbench: no server.endpoint in the configuration")
    return new


def run_layout(text):
    """The run's output directory and its workers' names (configuration order), from YAML or JSON text."""
    if text.lstrip().startswith("{"):
        config = json.loads(text)
        return Path(config["run"]["output_dir"]), [w["name"] for w in config["workers"]]
    output = re.search(r"^  output_dir:[ \t]*\"?([^\s\"#]+)", text, re.M).group(1)
    return Path(output), re.findall(r"^  - name:[ \t]*\"?([A-Za-z0-9_.-]+)", text, re.M)


# ----------------------------------------------------------------------------------------------
# Running a federation
# ----------------------------------------------------------------------------------------------

@dataclass
class Outcome:
    """What one federation run measured."""
    status: str
    wall_seconds: float
    records: list
    # role ("server", worker name) -> /usr/bin/time -v fields (max_rss_mb, elapsed, user, system)
    resources: dict = field(default_factory=dict)

    def peak_rss_mb(self, role):
        return self.resources.get(role, {}).get("max_rss_mb")

    def worker_peak_rss_mb(self):
        """The largest peak RSS among the workers."""
        values = [r["max_rss_mb"] for name, r in self.resources.items() if name != "server" and "max_rss_mb" in r]
        return max(values) if values else None


def read_rounds(path):
    """The records of `rounds.jsonl` (a path or its text name), in round order (the last record of a round wins);
    a line being written, or one that is not a round's record, is passed over."""
    path, by_round = Path(path), {}
    if path.exists():
        for line in path.read_text().splitlines():
            with contextlib.suppress(json.JSONDecodeError):
                record = json.loads(line)
                if isinstance(record, dict) and "round" in record:
                    by_round[record["round"]] = record
    return [by_round[r] for r in sorted(by_round)]


def parse_time_report(path):
    """The fields of a `/usr/bin/time -v` report that the benchmarks print."""
    text = path.read_text() if path.exists() else ""
    def number(label):
        m = re.search(rf"{re.escape(label)}: ([0-9.:]+)", text)
        return m.group(1) if m else None
    report = {}
    if (rss := number("Maximum resident set size (kbytes)")) is not None:
        report["max_rss_mb"] = int(rss) / 1024
    for key, label in (("user", "User time (seconds)"), ("system", "System time (seconds)")):
        if (v := number(label)) is not None:
            report[key] = float(v)
    if (elapsed := number("Elapsed (wall clock) time (h:mm:ss or m:ss)")) is not None:
        report["elapsed"] = sum(float(part) * 60 ** i for i, part in enumerate(reversed(elapsed.split(":"))))
    return report


def run_federation(config_text, directory, timeout=3600.0):
    """Writes the configuration under `directory` (endpoint on a free port) and runs it: `ntk-server`
    and one `ntk-worker` per configured worker, each under `/usr/bin/time -v`, until the server exits.

    Holds the benchmark lock while the processes run. Logs and time reports go to `directory/logs/`.
    """
    directory.mkdir(parents=True, exist_ok=True)
    logs = directory / "logs"
    logs.mkdir(exist_ok=True)
    text = with_free_endpoint(config_text)
    config = directory / "config.yaml"
    config.write_text(text)
    run_dir, names = run_layout(text)
    for stale in [run_dir / "rounds.jsonl", run_dir / "checkpoint.json"]:
        stale.unlink(missing_ok=True)
    for stale in logs.glob("*"):
        stale.unlink()

    def launch(role, arguments):
        with open(logs / f"{role}.log", "w") as log:
            return subprocess.Popen(["/usr/bin/time", "-v", "-o", str(logs / f"{role}.time"), *arguments],
                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    with bench_lock():
        started = time.monotonic()
        server = launch("server", [str(bin_dir() / "ntk-server"), "--config", str(config)])
        workers = [launch(name, [str(bin_dir() / "ntk-worker"), "--config", str(config), "--name", name]) for name in names]
        try:
            code = server.wait(timeout=timeout)
            status = "ok" if code == 0 else f"server exited with {code}"
        except subprocess.TimeoutExpired:
            status = f"timed out after {timeout:.0f} s"
            stop(server)
        wall = time.monotonic() - started
        for worker in workers:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                stop(worker)
    resources = {role: parse_time_report(logs / f"{role}.time") for role in ["server", *names]}
    return Outcome(status, wall, read_rounds(run_dir / "rounds.jsonl"), resources)


def stop(process):
    """SIGTERM the process's group (time and the role it runs), SIGKILL what is left after 10 s."""
    for sig in (15, 9):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
            return


# ----------------------------------------------------------------------------------------------
# Reporting
# ----------------------------------------------------------------------------------------------

def md_table(headers, rows):
    """A Markdown table; numbers right-aligned."""
    aligned = ["---:" if any(isinstance(r[i], (int, float)) or re.fullmatch(r"[0-9.,−-]+( [A-Za-z%/]+)?", str(r[i])) for r in rows)
               else "---" for i in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(aligned) + " |"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def fmt(value, spec=".2f", missing="—"):
    return missing if value is None else format(value, spec)


def phase_cells(record):
    """The record's seconds per phase (PHASES order) and its total, formatted."""
    seconds = record.get("seconds", {})
    return [fmt(seconds.get(p, 0.0)) for p in PHASES] + [fmt(record.get("totalSeconds"))]


def save_json(path, value):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=1) + "\n")
