"""Convert time of each bundled fixture: median and spread over repeated runs, as a table."""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from converter import convert
from converter.errors import ConversionError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def measure(name: str, repeats: int) -> tuple[float, float, float] | str:
    """Median, min and max seconds of ``convert`` on one fixture (or the error)."""
    folder = FIXTURES / name
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeats):
            start = time.perf_counter()
            try:
                convert(folder / "model.zip", Path(tmp) / "m.onnx", folder / "inputs.npz")
            except ConversionError as e:
                return str(e).splitlines()[0]
            times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), max(times)


def main() -> None:
    """Print a markdown table of convert times."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    measure("mlp", 1)  # warm-up: imports and first-call costs
    print("| fixture | archive KiB | convert median s | min s | max s |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for folder in sorted(p for p in FIXTURES.iterdir() if (p / "model.zip").is_file()):
        size = (folder / "model.zip").stat().st_size / 1024
        result = measure(folder.name, args.repeats)
        if isinstance(result, str):
            print(f"| {folder.name} | {size:.0f} | refused: {result[:60]} | | |")
        else:
            median, low, high = result
            print(f"| {folder.name} | {size:.0f} | {median:.3f} | {low:.3f} | {high:.3f} |")


if __name__ == "__main__":
    main()
