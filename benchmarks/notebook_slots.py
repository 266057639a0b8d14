"""How long each notebook takes a student before its exercises: prose, code and run time.

    python benchmarks/notebook_slots.py [notebooks/*.ipynb]

For each committed notebook, up to its "Exercises" heading: the words of its markdown cells
(read at WORDS_PER_MINUTE, the pace of a text with formulas), the lines of code (read at
CODE_LINES_PER_MINUTE, comments and blank lines left out) and the run time of its code cells,
taken from the execution timestamps that `make run` records in each cell's metadata. The run
time is the committing machine's: on a slower one it grows, and the slot with it. Prints one
row a notebook and the estimated slot in minutes.
"""

from __future__ import annotations

import argparse
import json
import re
from datetime import datetime
from pathlib import Path

WORDS_PER_MINUTE = 150  # prose with maths (DEVELOPERS.md)
CODE_LINES_PER_MINUTE = 10  # reading short cells that call helpers, not writing them
ROOT = Path(__file__).resolve().parents[1]


def _words(text: str) -> int:
    text = re.sub(r"```.*?```", " ", text, flags=re.S)  # fenced code is read as code
    text = re.sub(r"\$\$.*?\$\$", " formula ", text, flags=re.S)
    text = re.sub(r"<[^>]+>|\[!\[.*?\]\(.*?\)\]\(.*?\)", " ", text)
    return len(re.findall(r"[A-Za-z0-9][\w'.-]*", text))


def _code_lines(text: str) -> int:
    return sum(1 for line in text.splitlines()
               if line.strip() and not line.strip().startswith("#"))


def _seconds(cell: dict) -> float:
    timing = cell.get("metadata", {}).get("execution", {})
    try:
        start = datetime.fromisoformat(timing["iopub.status.busy"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(timing["iopub.status.idle"].replace("Z", "+00:00"))
    except KeyError:
        return 0.0
    return max(0.0, (end - start).total_seconds())


def measure(path: Path) -> dict[str, float]:
    cells = json.loads(path.read_text())["cells"]
    words = code = 0
    seconds = 0.0
    for cell in cells:
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown" and re.match(r"#+\s*\d*\.?\s*Exercises", source):
            break
        if cell["cell_type"] == "markdown":
            words += _words(source)
        elif "hide-input" not in cell.get("metadata", {}).get("tags", []):
            code += _code_lines(source)
            seconds += _seconds(cell)
        else:
            seconds += _seconds(cell)  # the set-up cell runs, folded
    minutes = words / WORDS_PER_MINUTE + code / CODE_LINES_PER_MINUTE + seconds / 60
    return {"words": words, "code_lines": code, "run_min": seconds / 60, "slot_min": minutes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args()
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    print(f"{'notebook':40s} {'words':>6s} {'code':>5s} {'run min':>8s} {'slot min':>9s}")
    total = 0.0
    for path in paths:
        row = measure(path)
        total += row["slot_min"]
        print(f"{path.name:40s} {row['words']:6d} {row['code_lines']:5d} {row['run_min']:8.1f} "
              f"{row['slot_min']:9.0f}")
    print(f"{'all':40s} {'':6s} {'':5s} {'':8s} {total:9.0f}")
    print(f"(prose at {WORDS_PER_MINUTE} words/min, code at {CODE_LINES_PER_MINUTE} lines/min, "
          "run time from the committed run)")


if __name__ == "__main__":
    main()
