"""EXTRACT_PROCESSES, measured: the crawl bench at each setting, rounds interleaved.

    .venv/bin/python bench/extract_processes.py [--settings 0,1,2] [--rounds 3] [--pages 2000]

Runs bench/crawl.py (one worker, one crawl of the generated shop with product, links and
markdown) once per setting per round, the settings taking turns so a busy neighbour
slows them alike, and prints each run, then the best and the median pages/s per
setting and the 1-minute load average seen before each run. The best is the figure to
compare on a shared machine. Prints figures only.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

CRAWL = Path(__file__).resolve().parent / "crawl.py"
_RATE = re.compile(r"= ([\d,]+) pages/s")


def crawl_rate(processes: int, pages: int) -> float | None:
    """pages/s of one crawl bench run, None if it printed no rate (or did not finish)."""
    run = subprocess.run(
        [sys.executable, str(CRAWL), "--pages", str(pages), "--extract-processes", str(processes)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    last = (run.stdout.strip().splitlines() or [""])[-1]
    match = _RATE.search(last)
    if match is None or "completed" not in last:
        print(f"  EXTRACT_PROCESSES={processes}: no rate ({last or run.stderr[-300:]})")
        return None
    if "extraction_error" in last:
        print(f"  EXTRACT_PROCESSES={processes}: extraction errors in this run: {last}")
    return float(match.group(1).replace(",", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", default="0,1,2")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pages", type=int, default=2000)
    args = parser.parse_args()
    settings = [int(value) for value in args.settings.split(",")]
    rates: dict[int, list[float]] = {setting: [] for setting in settings}
    print(f"cores: {os.cpu_count()}")
    for round_number in range(1, args.rounds + 1):
        for setting in settings:
            load = os.getloadavg()[0]
            rate = crawl_rate(setting, args.pages)
            if rate is not None:
                rates[setting].append(rate)
            shown = f"{rate:,.0f} pages/s" if rate is not None else "-"
            print(f"round {round_number}, EXTRACT_PROCESSES={setting}: {shown} (load before: {load:.1f})", flush=True)
    print()
    for setting, values in rates.items():
        if values:
            print(f"EXTRACT_PROCESSES={setting}: best {max(values):,.0f}, median {statistics.median(values):,.0f} "
                  f"pages/s over {len(values)} runs")


if __name__ == "__main__":
    main()
