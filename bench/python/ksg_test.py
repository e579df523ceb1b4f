"""Behaviour of the KSG estimator (no speed checks): close to the closed form
on correlated Gaussians, near 0 on independent data, invariant to monotone
maps. Tolerances: KSG's bias at N = 2,000 and these MI values is a few
hundredths of a nat; the bounds leave room for its sampling spread."""
import math
import os
import sys
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ksg import ksg  # noqa: E402


def gaussian(n, dim, rho, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, dim))
    z = rho * x + math.sqrt(1 - rho * rho) * rng.standard_normal((n, dim))
    return x, z


class KsgTest(unittest.TestCase):
    def test_matches_closed_form_on_correlated_gaussian(self):
        for dim, rho in [(1, 0.8), (2, 0.6)]:
            truth = -0.5 * dim * math.log(1 - rho * rho)
            x, z = gaussian(2000, dim, rho, seed=1)
            for k in (3, 5):
                self.assertAlmostEqual(ksg(x, z, k), truth, delta=0.08, msg=f"d={dim} k={k}")

    def test_near_zero_on_independent_data(self):
        x, z = gaussian(2000, 2, 0.0, seed=2)
        self.assertLess(abs(ksg(x, z, 3)), 0.05)

    def test_invariant_to_monotone_maps(self):
        x, z = gaussian(2000, 1, 0.8, seed=3)
        self.assertAlmostEqual(ksg(x ** 3, np.arcsinh(z), 3), ksg(x, z, 3), delta=0.02)


if __name__ == "__main__":
    unittest.main()
