"""Runs the Python MINE reference and KSG (k = 3, 5) on the very samples the
C++ sweep used (results/DIR/samples/*.csv, listed in accuracy.csv) and writes
accuracy_python.csv with one row per (case, seed, estimator).

  /usr/bin/python3 bench/python/side_by_side.py --out_dir results/DIR --steps 1000
"""
import argparse
import csv
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_mine  # noqa: E402  (sets one thread)
from ksg import ksg  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out_dir", required=True)
    p.add_argument("--steps", type=int, default=1000)
    args = p.parse_args()
    datasets = {}
    with open(os.path.join(args.out_dir, "accuracy.csv")) as f:
        for r in csv.DictReader(f):
            if r["samples_csv"]:
                datasets[(r["case"], int(r["seed"]))] = r
    rows = []
    for (case, seed), r in sorted(datasets.items()):
        dim = int(r["dim"])
        x, z = reference_mine.load_csv(os.path.join(args.out_dir, r["samples_csv"]), dim)
        results = []
        t0 = time.perf_counter()
        results.append(("PY_MINE", reference_mine.estimate(x, z, args.steps, seed=seed),
                        time.perf_counter() - t0))
        for k in (3, 5):
            t0 = time.perf_counter()
            results.append((f"KSG_k{k}", ksg(x, z, k), time.perf_counter() - t0))
        for name, value, seconds in results:
            rows.append(dict(case=case, dim=dim, rho=r["rho"], transform=r["transform"],
                             truth=r["truth"], estimator=name, seed=seed, rows=len(x),
                             estimate=round(value, 4), seconds=round(seconds, 2)))
        print(f"{case} seed {seed}: " + ", ".join(f"{n} {v:.3f}" for n, v, _ in results)
              + f" (truth {float(r['truth']):.3f})", file=sys.stderr)
    with open(os.path.join(args.out_dir, "accuracy_python.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


if __name__ == "__main__":
    main()
