"""Python reference of the server's MINE training step (PyTorch, one thread).

Mirrors server/core: an MLP on the concatenated pair (first layer split into
x and z weights, same as one Linear on [x, z]), ELU, Adam, z shuffled within
the batch for marginal pairs, the net run once on the 2B joint+marginal rows,
and the bias-corrected DV loss mean(exp(T_q - log_ema)) - mean(T_p) with the
moving average of E_B[e^T] kept as a logarithm (rate 0.01).

  /usr/bin/python3 bench/python/reference_mine.py speed --seconds 3 --out speed_python.csv
  /usr/bin/python3 bench/python/reference_mine.py estimate --csv samples.csv --dim 5 --steps 2000
"""
import argparse
import csv
import math
import os
import sys
import time

for _v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)
try:
    torch.set_num_interop_threads(1)
except RuntimeError:
    pass


class StatisticsNetwork(torch.nn.Module):
    def __init__(self, x_dim, z_dim, hidden):
        super().__init__()
        layers, width = [], x_dim + z_dim
        for h in hidden:
            layers += [torch.nn.Linear(width, h), torch.nn.ELU()]
            width = h
        layers.append(torch.nn.Linear(width, 1))
        self.net = torch.nn.Sequential(*layers)

    def forward(self, x, z):
        return self.net(torch.cat([x, z], dim=1)).squeeze(-1)


class MineTrainer:
    """One session's network, optimiser and moving average."""

    def __init__(self, dim, hidden, lr=1e-3, ema_rate=0.01, seed=1):
        torch.manual_seed(seed)
        self.net = StatisticsNetwork(dim, dim, hidden)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=lr)
        self.rate = ema_rate
        self.log_ema = None

    def step(self, x, z):
        n = x.shape[0]
        zm = z[torch.randperm(n)]
        t = self.net(torch.cat([x, x]), torch.cat([z, zm]))
        tp, tq = t[:n], t[n:]
        log_mean_exp = (torch.logsumexp(tq.detach().double(), 0) - math.log(n)).item()
        if self.log_ema is None:
            self.log_ema = log_mean_exp
        else:
            a = math.log1p(-self.rate) + self.log_ema
            b = math.log(self.rate) + log_mean_exp
            hi = max(a, b)
            self.log_ema = hi + math.log(math.exp(a - hi) + math.exp(b - hi))
        loss = torch.exp(tq - self.log_ema).mean() - tp.mean()
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return loss.item()

    @torch.no_grad()
    def dv(self, x, z, generator=None):
        n = x.shape[0]
        zm = z[torch.randperm(n, generator=generator)]
        tp = self.net(x, z).double()
        tq = self.net(x, zm).double()
        return (tp.mean() - (torch.logsumexp(tq, 0) - math.log(n))).item()


def cmd_speed(args):
    if args.flush_denormal:
        torch.set_flush_denormal(True)
    rows = []
    for net in args.nets.split(","):
        hidden = [int(h) for h in net.split("-")]
        for dim in [int(d) for d in args.dims.split(",")]:
            for batch in [int(b) for b in args.batches.split(",")]:
                rho = 0.8
                x = torch.randn(args.window, dim)
                z = rho * x + math.sqrt(1 - rho * rho) * torch.randn(args.window, dim)
                tr = MineTrainer(dim, hidden)
                def one():
                    idx = torch.randint(0, args.window, (batch,))
                    tr.step(x[idx], z[idx])
                for _ in range(20):
                    one()
                clock = time.process_time if args.cpu_time else time.perf_counter
                steps, t0 = 0, clock()
                while clock() - t0 < args.seconds:
                    for _ in range(10):
                        one()
                    steps += 10
                sps = steps / (clock() - t0)
                rows.append(dict(batch=batch, dim=dim, net=net, steps_per_s=round(sps, 1),
                                 rows_per_s=round(sps * batch)))
                print(f"python batch {batch} dim {dim} net {net}: {sps:.1f} steps/s", file=sys.stderr)
    with open(args.out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def load_csv(path, dim):
    data = np.loadtxt(path, delimiter=",", comments="#", dtype=np.float32, ndmin=2)
    return data[:, :dim], data[:, dim:2 * dim]


def estimate(x, z, steps, batch=256, hidden=(128, 128), seed=1, holdout=0.2):
    """Trains on the first (1 - holdout) of the rows, reports DV on the rest
    (mean of 10 shuffles of the held-out z). Inputs standardised per column."""
    x = (x - x.mean(0)) / (x.std(0) + 1e-8)
    z = (z - z.mean(0)) / (z.std(0) + 1e-8)
    n = x.shape[0]
    n_train = int(n * (1 - holdout))
    xt, zt = torch.from_numpy(x[:n_train]), torch.from_numpy(z[:n_train])
    xh, zh = torch.from_numpy(x[n_train:]), torch.from_numpy(z[n_train:])
    tr = MineTrainer(x.shape[1], list(hidden), seed=seed)
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        idx = torch.randint(0, n_train, (batch,), generator=g)
        tr.step(xt[idx], zt[idx])
    return max(0.0, float(np.mean([tr.dv(xh, zh, g) for _ in range(10)])))


def cmd_estimate(args):
    x, z = load_csv(args.csv, args.dim)
    print(f"{estimate(x, z, args.steps, seed=args.seed):.6f}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("speed")
    s.add_argument("--batches", default="64,256,1024")
    s.add_argument("--dims", default="2,20")
    s.add_argument("--nets", default="100-100,128-128")
    s.add_argument("--window", type=int, default=32768)
    s.add_argument("--seconds", type=float, default=3)
    s.add_argument("--cpu_time", action="store_true",
                   help="process CPU time instead of wall time (steadier on a loaded machine)")
    s.add_argument("--flush_denormal", action="store_true",
                   help="treat denormal floats as zero (as the server's step does)")
    s.add_argument("--out", required=True)
    e = sub.add_parser("estimate")
    e.add_argument("--csv", required=True)
    e.add_argument("--dim", type=int, required=True)
    e.add_argument("--steps", type=int, default=2000)
    e.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    {"speed": cmd_speed, "estimate": cmd_estimate}[args.cmd](args)


if __name__ == "__main__":
    main()
