"""The result table of bench/kernel.sh and bench/cnn-kernel.sh: our Gram and its peers' from their JSON lines
(Python standard library only)."""
import json


def rows(path):
    """The JSON objects among the lines of `path` (other output and broken lines are passed over)."""
    found = []
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.strip()
        if line.startswith("{"):
            try:
                found.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return found


def secs(row):
    """A row's best seconds; None for a row that failed or was skipped."""
    v = row.get("seconds")
    return float(v) if isinstance(v, (int, float)) and "error" not in row else None


def fmt(v, spec):
    return "-".rjust(int(spec.split(".")[0])) if v is None else format(v, spec)


def print_rows(entries, base, label_width):
    """One line per (who, label, row): seconds, median, peer / ours (peers only), and an error, skip or
    warm-up-only note; `base` is our seconds."""
    print(f"{'':5} {'implementation':<{label_width}} {'seconds':>10} {'median':>10} {'peer/ours':>10}")
    for who, label, row in entries:
        s = secs(row)
        med = row.get("median") if s is not None else None
        ratio = s / base if (s is not None and base and who == "peer") else None
        line = f"{who:5} {label:<{label_width}} {fmt(s, '10.4f')} {fmt(med, '10.4f')} {fmt(ratio, '10.2f')}"
        for key in ("error", "skipped"):
            if key in row:
                line += f"  {key}: {row[key]}"
        if row.get("warm_up_only"):
            line += "  (warm-up only: slower than --max-seconds)"
        print(line)
