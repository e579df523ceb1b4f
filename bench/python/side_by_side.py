"""Runs the Python MINE reference and KSG (k = 3, 5) on the very samples the
C++ sweep uses (results/DIR/samples/manifest.csv, written by
mine-accuracy-suite), at the same sample sizes N (the first N rows of each
dataset), and writes accuracy_python.csv with one row per (case, seed,
estimator, N).

  /usr/bin/python3 bench/python/side_by_side.py --out_dir results/DIR --sizes 1000,2000,5000
  (--part 0/2 and --part 1/2 split the datasets between two processes)

PY_MINE trains --steps steps on 80% of the N rows and reports DV on the other
20% (as the server holds out 20%). KSG uses all N rows; its k-d tree search
degrades towards N^2 in high dimension, so it is skipped above
--ksg_max_rows_high_dim rows when x_dim + z_dim >= 20 (reported as missing).
"""
import argparse
import csv
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_mine  # noqa: E402  (sets one thread)
from ksg import ksg_multi  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out_dir", required=True)
    p.add_argument("--sizes", default="1000,2000,5000")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--ksg_max_rows_high_dim", type=int, default=5000)
    p.add_argument("--part", default="0/1",
                   help="i/n: run every n-th dataset from the i-th (for parallel processes)")
    args = p.parse_args()
    part, parts = (int(v) for v in args.part.split("/"))
    sizes = sorted(int(s) for s in args.sizes.split(","))
    with open(os.path.join(args.out_dir, "samples", "manifest.csv")) as f:
        datasets = list(csv.DictReader(f))[part::parts]
    rows = []
    name = "accuracy_python.csv" if parts == 1 else f"accuracy_python_{part}.csv"
    out_path = os.path.join(args.out_dir, name)
    for d in datasets:
        dim, seed = int(d["dim"]), int(d["seed"])
        x_all, z_all = reference_mine.load_csv(os.path.join(args.out_dir, d["samples_csv"]), dim)
        for n in sizes:
            x, z = x_all[:n], z_all[:n]
            results = []
            t0 = time.perf_counter()
            value = reference_mine.estimate(x, z, args.steps, seed=seed)
            results.append(("PY_MINE", value, time.perf_counter() - t0))
            if 2 * dim < 20 or n <= args.ksg_max_rows_high_dim:
                t0 = time.perf_counter()
                by_k = ksg_multi(x, z, (3, 5))
                seconds = (time.perf_counter() - t0) / 2
                results += [(f"KSG_k{k}", v, seconds) for k, v in by_k.items()]
            for name, value, seconds in results:
                rows.append(dict(case=d["case"], dim=dim, rho=d["rho"], transform=d["transform"],
                                 truth=d["truth"], estimator=name, seed=seed, n=n,
                                 estimate=round(value, 4), seconds=round(seconds, 2)))
            print(f"{d['case']} seed {seed} N {n}: "
                  + ", ".join(f"{name} {v:.3f}" for name, v, _ in results)
                  + f" (truth {float(d['truth']):.3f})", file=sys.stderr)
        with open(out_path, "w", newline="") as f:  # rewritten as it grows
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)


if __name__ == "__main__":
    main()
