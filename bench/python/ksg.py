"""KSG k-nearest-neighbour mutual information estimator (Kraskov, Stoegbauer
and Grassberger 2004, estimator 1), with the max-norm:

    I = psi(k) + psi(N) - < psi(n_x + 1) + psi(n_z + 1) >

where eps_i is the distance from point i to its k-th neighbour in the joint
space (max-norm over all coordinates), and n_x (n_z) counts the points j != i
with ||x_j - x_i||_max < eps_i (strictly). Uses scipy's cKDTree.

  /usr/bin/python3 bench/python/ksg.py --csv samples.csv --dim 5 --k 3
"""
import argparse

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import digamma


def ksg(x, z, k=3, jitter=1e-10, seed=0):
    """Estimate I(X; Z) in nats from paired rows x [N, dx], z [N, dz]."""
    return ksg_multi(x, z, (k,), jitter, seed)[k]


def ksg_multi(x, z, ks, jitter=1e-10, seed=0):
    """KSG for several k at once (the trees are built once): {k: nats}."""
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    z = np.asarray(z, dtype=np.float64).reshape(len(z), -1)
    n = x.shape[0]
    if n <= max(ks):
        raise ValueError("need more rows than k")
    # A tiny jitter breaks ties between repeated values (as in Kraskov's code).
    rng = np.random.default_rng(seed)
    x = x + jitter * rng.standard_normal(x.shape)
    z = z + jitter * rng.standard_normal(z.shape)
    joint = np.hstack([x, z])
    # k + 1 because the nearest point of each query is itself.
    dist = cKDTree(joint).query(joint, k=max(ks) + 1, p=np.inf)[0]
    x_tree, z_tree = cKDTree(x), cKDTree(z)
    out = {}
    for k in ks:
        # Strictly closer than eps: shrink the radius by one ulp.
        radius = np.nextafter(dist[:, k], 0)
        nx = x_tree.query_ball_point(x, radius, p=np.inf, return_length=True) - 1
        nz = z_tree.query_ball_point(z, radius, p=np.inf, return_length=True) - 1
        out[k] = float(digamma(k) + digamma(n) - np.mean(digamma(nx + 1) + digamma(nz + 1)))
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--csv", required=True, help="rows of x_1..x_d, z_1..z_d")
    p.add_argument("--dim", type=int, required=True)
    p.add_argument("--k", type=int, default=3)
    args = p.parse_args()
    data = np.loadtxt(args.csv, delimiter=",", comments="#", ndmin=2)
    print(f"{ksg(data[:, :args.dim], data[:, args.dim:2 * args.dim], args.k):.6f}")


if __name__ == "__main__":
    main()
