"""How long a reader waits while a long pipeline writes to the same DuckDB store (issue 11).

One process runs a pipeline of N trivial steps; another lists runs every 10 ms with the read
cache off, and records how long each call took. Prints (or returns) the worst and p99 waits,
the number of reads and errors, and the pipeline's own time.

    python bench/fairness.py --steps 400
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WRITER = """
import time
from zviz_core import pipeline, step

@step
def s(i: int) -> int:
    return i

@pipeline
def long() -> None:
    for i in range({steps}):
        s(i)

started = time.perf_counter()
long()
print(time.perf_counter() - started)
"""
READER = """
import json, select, sys, time
from zviz_core import Client

client, waits, errors = Client(), [], 0
print("ready", flush=True)
while not select.select([sys.stdin], [], [], 0)[0]:
    started = time.perf_counter()
    try:
        client.list_pipeline_runs()
    except Exception:
        errors += 1
    waits.append(time.perf_counter() - started)
    time.sleep(0.01)
waits.sort()
print(json.dumps({"max": waits[-1], "p99": waits[int(len(waits) * 0.99)], "reads": len(waits),
                  "errors": errors}))
"""


def measure(steps: int, python: str = sys.executable) -> dict[str, Any]:
    """Run the pipeline and the reader once; returns max_s, p99_s, reads, errors, pipeline_s."""
    with tempfile.TemporaryDirectory(prefix="zviz-fair-") as home:
        return _measure_in(home, steps, python)


def _measure_in(home: str, steps: int, python: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZVIZ_")}
    env.update(ZVIZ_HOME=home, ZVIZ_DEMO="0", ZVIZ_READ_CACHE="0", PYTHONPATH=str(ROOT))
    subprocess.run(
        [python, "-c", "from zviz_core import Client; Client().list_models()"], env=env, check=True
    )
    reader = subprocess.Popen(
        [python, "-c", textwrap.dedent(READER)],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert reader.stdout is not None and reader.stdin is not None
    reader.stdout.readline()
    done = subprocess.run(
        [python, "-c", WRITER.format(steps=steps)], env=env, capture_output=True, text=True
    )
    reader.stdin.write("stop\n")
    reader.stdin.flush()
    out, _ = reader.communicate(timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"the pipeline failed: {done.stderr[-500:]}")
    read = json.loads(out.strip().splitlines()[-1])
    return {
        "max_s": read["max"],
        "p99_s": read["p99"],
        "reads": read["reads"],
        "errors": read["errors"],
        "pipeline_s": float(done.stdout.strip().splitlines()[-1]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400)
    args = parser.parse_args(argv)
    result = measure(args.steps)
    print(
        f"{args.steps}-step pipeline: {result['pipeline_s']:.2f} s; reader: worst wait "
        f"{result['max_s']:.3f} s, p99 {result['p99_s']:.3f} s, {result['reads']} reads, "
        f"{result['errors']} errors (target: worst <= 0.5 s, no error)"
    )
    return 0 if result["max_s"] <= 0.5 and not result["errors"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
