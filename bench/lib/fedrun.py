"""Running one federation with `ntk run CONFIG` and reading what it wrote (Python standard library only).

Shared by bench/compare-strategies.py and bench/compare-federations.py: a free tcp port, the records of
`rounds.jsonl`, a worker's `Error:` line, watching a run (stopped when a worker fails or no round
completes for a while) and stopping its process group.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

from ntkbench import free_port, read_rounds  # noqa: F401  (re-exported: the compare scripts call fedrun.free_port, fedrun.read_rounds)

TIME_BINARY = "/usr/bin/time"


def worker_error(log_dir):
    """The first `Error:` line of any worker log (a worker that stopped, e.g. on NaN weights), or None."""
    for log in sorted(Path(log_dir).glob("*.log")):
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith("Error:"):
                return f"{log.stem}: {line}"
    return None


def stop(process):
    """Terminate the process group the run leads (server and workers), then kill what is left."""
    for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            pass


def watch(process, run_dir, stall_seconds, first_round_seconds=None):
    """Wait for `ntk run` to end; stop it when a worker fails or no round completes for `stall_seconds`
    (`first_round_seconds` until the first round, default the same). Returns "ok", or why it stopped or failed.
    """
    seen, last_progress = 0, time.monotonic()
    while process.poll() is None:
        time.sleep(0.5)
        done = len(read_rounds(Path(run_dir) / "rounds.jsonl"))
        if done > seen:
            seen, last_progress = done, time.monotonic()
        limit = stall_seconds if seen or first_round_seconds is None else first_round_seconds
        error = worker_error(Path(run_dir) / "logs")
        if error or time.monotonic() - last_progress > limit:
            stop(process)
            return f"stopped: {error}" if error else f"stalled: no round for {limit:.0f} s"
    return "ok" if process.returncode == 0 else f"failed: ntk run exited with {process.returncode}"


def run_ntk(bin_dir, config_path, run_dir, log_path, stall_seconds=90.0, first_round_seconds=None, measure_memory=True):
    """Run `ntk run config_path` in its own process group, output to `log_path`; returns a status dict:
    status ("ok" or why not), wall_seconds, and with /usr/bin/time present, peak_rss_mb: the largest
    resident set of `ntk run` and its descendants (server and worker processes), one process's peak.
    """
    config_path, run_dir, log_path = Path(config_path), Path(run_dir), Path(log_path)
    command = [str(Path(bin_dir) / "ntk"), "run", str(config_path)]
    rss_path = log_path.with_suffix(".rss")
    rss_path.unlink(missing_ok=True)
    timed = measure_memory and shutil.which(TIME_BINARY) is not None
    if timed:
        command = [TIME_BINARY, "-f", "%M", "-o", str(rss_path)] + command
    started = time.monotonic()
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=config_path.parent,
                                   start_new_session=True)
        status = watch(process, run_dir, stall_seconds, first_round_seconds)
    result = {"status": status, "wall_seconds": time.monotonic() - started}
    result.update(peak_memory_summary(log_path))
    if timed and rss_path.exists():
        numbers = [line.strip() for line in rss_path.read_text().splitlines() if line.strip().isdigit()]
        if numbers:
            result["peak_rss_mb"] = int(numbers[-1]) / 1024  # %M is in KiB
    return result


def peak_memory_summary(log_path):
    """What `ntk run`'s closing line "peak memory: server S MB; worker processes W MB together, largest L MB (P)"
    says, as {server_peak_mb, workers_peak_mb_total, worker_peak_mb_largest}; {} when the log has no such line."""
    log_path = Path(log_path)
    if not log_path.exists():
        return {}
    found = {}
    for line in log_path.read_text(errors="replace").splitlines():
        m = re.search(r"peak memory: server ([0-9.]+) MB; worker processes ([0-9.]+) MB together(?:, largest ([0-9.]+) MB)?", line)
        if m:
            found = {"server_peak_mb": float(m.group(1)), "workers_peak_mb_total": float(m.group(2))}
            if m.group(3):
                found["worker_peak_mb_largest"] = float(m.group(3))
    return found


def write_results(out, saved, sections, script):
    """OUT/compare.json (everything in `saved`) and OUT/compare.md (the markdown `sections`, headed by the
    writing script and date); the markdown is printed too."""
    import datetime
    (out / "compare.json").write_text(json.dumps(saved, indent=1) + "\n")
    text = "\n".join([f"<!-- written by {script}, {datetime.date.today().isoformat()} -->", "", *sections])
    (out / "compare.md").write_text(text)
    print("\n" + text)
    print(f"written: {out / 'compare.md'}, {out / 'compare.json'}")
