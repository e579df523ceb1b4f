"""Turns the CSVs of bench/run.sh into summary.md (Markdown tables),
summary.json and PNG plots (matplotlib, Agg backend) in the same folder.

  /usr/bin/python3 bench/python/report.py --out_dir results/DIR
"""
import argparse
import csv
import json
import math
import os
import re
import shutil
import statistics
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read(out_dir, name):
    path = os.path.join(out_dir, name)
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return list(csv.DictReader(f))


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def speed(out_dir, md, js):
    server = {(r["batch"], r["dim"], r["net"]): r for r in read(out_dir, "speed_server.csv")}
    python = {(r["batch"], r["dim"], r["net"]): r for r in read(out_dir, "speed_python.csv")}
    ceiling = {(r["batch"], r["dim"], r["net"]): r for r in read(out_dir, "matmul_ceiling.csv")}
    rows, out = [], []
    for key in server:
        s, p, c = server[key], python.get(key), ceiling.get(key)
        sps = float(s["steps_per_s"])
        psps = float(p["steps_per_s"]) if p else float("nan")
        flops = float(c["flops_per_step"]) if c else float("nan")
        gflops = float(c["gflops"]) if c else float("nan")
        frac_s = sps * flops / 1e9 / gflops
        frac_p = psps * flops / 1e9 / gflops
        rows.append([key[0], key[1], key[2], f"{sps:.0f}", f"{sps * int(key[0]):,.0f}",
                     f"{psps:.0f}", f"{sps / psps:.2f}x", f"{gflops:.1f}",
                     f"{100 * frac_s:.1f}%", f"{100 * frac_p:.1f}%"])
        out.append(dict(batch=int(key[0]), dim=int(key[1]), net=key[2], server_steps_per_s=sps,
                        python_steps_per_s=psps, ratio=sps / psps, gemm_gflops=gflops,
                        server_fraction_of_ceiling=frac_s, python_fraction_of_ceiling=frac_p))
    js["throughput"] = out
    md.append("## Training throughput, one session: server over gRPC vs Python reference\n")
    md.append(table(["batch", "d", "net", "server steps/s", "server rows/s", "python steps/s",
                     "server/python", "GEMM ceiling GFLOP/s", "server % of ceiling",
                     "python % of ceiling"], rows))
    md.append("\nFLOPs per step: the reference step's GEMMs on 2 x batch rows (joint + marginal): "
              "forward, weight gradient, and the input gradient of every layer but the first; "
              "ceiling = those GEMMs timed alone on one thread (mine-matmul-ceiling). The server's "
              "step does ~5-20% fewer FLOPs (the x half of the first layer is shared by both "
              "halves of the batch) and is credited with the reference count, so its fraction "
              "can approach or pass 100%.\n")
    if out:
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), sharey=True)
        for ax, dim in zip(axes, sorted({o["dim"] for o in out})):
            sel = [o for o in out if o["dim"] == dim]
            labels = [f"{o['net']}\nB={o['batch']}" for o in sel]
            xs = range(len(sel))
            ax.bar([x - 0.2 for x in xs], [o["server_steps_per_s"] for o in sel], 0.4,
                   label="mine-server (gRPC)")
            ax.bar([x + 0.2 for x in xs], [o["python_steps_per_s"] for o in sel], 0.4,
                   label="Python reference")
            ax.set_xticks(list(xs))
            ax.set_xticklabels(labels, fontsize=6)
            ax.set_title(f"d = {dim}")
            ax.set_yscale("log")
            low = min(min(o["server_steps_per_s"], o["python_steps_per_s"]) for o in out)
            ax.set_ylim(bottom=low / 2)
        axes[0].set_ylabel("training steps/s (1 session)")
        axes[0].legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(os.path.join(out_dir, "throughput.png"), dpi=80)
        plt.close(fig)
        md.append("![throughput](throughput.png)\n")


def simple(out_dir, md, js, name, title, note=""):
    rows = read(out_dir, name)
    js[name[:-4]] = rows
    if rows:
        md.append(f"## {title}\n")
        md.append(table(list(rows[0]), [list(r.values()) for r in rows]))
        if note:
            md.append("\n" + note)
        md.append("")
    return rows


ESTIMATORS = ["MINE", "MINE_F", "INFONCE", "SMILE", "PY_MINE", "KSG_k3", "KSG_k5"]


def samples_to_within(by_n, truth, tolerance=0.10):
    """Smallest N from which every larger N's estimate is within tolerance x truth;
    None when the largest N is not within."""
    needed = None
    for n in sorted(by_n, reverse=True):
        if abs(by_n[n] - truth) > tolerance * truth:
            break
        needed = n
    return needed


def accuracy(out_dir, md, js):
    rows = read(out_dir, "accuracy.csv") + read(out_dir, "accuracy_python.csv")
    runs = defaultdict(dict)  # (case, estimator, seed) -> {n: estimate}
    truth = {}
    for r in rows:
        runs[(r["case"], r["estimator"], int(r["seed"]))][int(r["n"])] = float(r["estimate"])
        truth[r["case"]] = float(r["truth"])
    order = list(dict.fromkeys(r["case"] for r in rows))
    out, tab, zero_tab = [], [], []
    for case in order:
        t = truth[case]
        for est in ESTIMATORS:
            seeds = sorted(s for (c, e, s) in runs if c == case and e == est)
            if not seeds:
                continue
            sizes = sorted({n for s in seeds for n in runs[(case, est, s)]})
            n_max = sizes[-1]
            vals = [runs[(case, est, s)][n_max] for s in seeds if n_max in runs[(case, est, s)]]
            mean = statistics.mean(vals)
            sd = statistics.stdev(vals) if len(vals) > 1 else 0.0
            entry = dict(case=case, truth=t, estimator=est, n_max=n_max, mean=mean, bias=mean - t,
                         sd=sd, seeds=len(vals))
            if t == 0:
                # No relative error for MI 0: mean absolute error at each N instead.
                mae = {n: statistics.mean(abs(runs[(case, est, s)][n]) for s in seeds
                                          if n in runs[(case, est, s)]) for n in sizes}
                entry["mean_abs_error"] = mae
                zero_tab.append([case, est] + [f"{mae[n]:.3f}" if n in mae else "-"
                                               for n in ALL_SIZES(rows)])
            else:
                # Per seed the smallest N that stays within 10%; the median over seeds,
                # counting a seed that never gets there as infinitely many samples.
                per_seed = [samples_to_within(runs[(case, est, s)], t) for s in seeds]
                ranked = sorted(float("inf") if n is None else n for n in per_seed)
                med = statistics.median(ranked)
                entry["samples_to_10pct_per_seed"] = per_seed
                entry["samples_to_10pct_median"] = None if math.isinf(med) else med
                reached = sum(n is not None for n in per_seed)
                need = "not reached" if math.isinf(med) else f"{med:,.0f}"
                tab.append([case, f"{t:.3f}", est, f"{mean:.3f}", f"{mean - t:+.3f}", f"{sd:.3f}",
                            f"{need} ({reached}/{len(seeds)})"])
            out.append(entry)
    js["accuracy"] = out
    md.append("## Accuracy against closed-form MI (nats)\n")
    md.append(table(["case", "truth", "estimator", "mean at largest N", "bias", "spread (sd)",
                     "samples to within 10% (median; seeds that got there)"], tab))
    md.append("\nFor each sample size N, every estimator sees the first N rows of the same "
              "dataset (per case and seed). MINE, MINE_F, INFONCE, SMILE: the server's core in "
              "process, trained until CONVERGED or the step budget; PY_MINE: "
              "bench/python/reference_mine.py (80/20 split, standardised inputs, the same step "
              "budget); KSG_k3/k5: bench/python/ksg.py on all N rows. Samples to within 10%: "
              "the smallest N from which every larger N is within 10% of the truth.\n")
    if zero_tab:
        md.append("### Independent data (MI 0): mean absolute error by N (nats)\n")
        md.append(table(["case", "estimator"] + [f"N={n:,}" for n in ALL_SIZES(rows)], zero_tab))
        md.append("")
    if out:
        plot_accuracy(out_dir, out, order, truth)
        plot_accuracy_vs_n(out_dir, runs, order, truth)
        md.append("![accuracy](accuracy.png)\n\n![accuracy by N](accuracy_vs_n.png)\n")


def ALL_SIZES(rows):  # noqa: N802 (a derived constant of the run)
    return sorted({int(r["n"]) for r in rows})


def plot_accuracy(out_dir, out, order, truth):
    if not out:
        return
    ests = list(dict.fromkeys(o["estimator"] for o in out))
    fig, ax = plt.subplots(figsize=(9, 3.5))
    width = 0.8 / len(ests)
    for i, est in enumerate(ests):
        xs, ys, es = [], [], []
        for j, case in enumerate(order):
            o = next((o for o in out if o["case"] == case and o["estimator"] == est), None)
            if o:
                xs.append(j - 0.4 + (i + 0.5) * width)
                ys.append(o["mean"])
                es.append(o["sd"])
        ax.errorbar(xs, ys, yerr=es, fmt="o", ms=3, label=est)
    for j, case in enumerate(order):
        ax.hlines(truth[case], j - 0.45, j + 0.45, colors="k", linewidth=1)
    ax.set_xticks(range(len(order)))
    ax.set_xticklabels(order, rotation=30, fontsize=7, ha="right")
    ax.set_ylabel("MI at the largest N (nats); black = truth")
    ax.legend(fontsize=6, ncol=4)
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, "accuracy.png"), dpi=80)
    plt.close(fig)


def plot_accuracy_vs_n(out_dir, runs, order, truth):
    cases = [c for c in order if truth[c] > 0]
    if not cases:
        return
    cols = min(4, len(cases))
    nrows = (len(cases) + cols - 1) // cols
    fig, axes = plt.subplots(nrows, cols, figsize=(3 * cols, 2.6 * nrows), squeeze=False)
    for ax, case in zip(axes.flat, cases):
        for est in ESTIMATORS:
            seeds = [s for (c, e, s) in runs if c == case and e == est]
            if not seeds:
                continue
            sizes = sorted({n for s in seeds for n in runs[(case, est, s)]})
            med = [statistics.median(runs[(case, est, s)][n] for s in seeds
                                     if n in runs[(case, est, s)]) for n in sizes]
            ax.plot(sizes, med, "o-", ms=2, lw=1, label=est)
        t = truth[case]
        ax.axhspan(0.9 * t, 1.1 * t, color="0.85")
        ax.axhline(t, color="k", lw=0.8)
        ax.set_xscale("log")
        ax.minorticks_off()
        all_n = sorted({n for (c, e, s) in runs if c == case for n in runs[(c, e, s)]})
        ax.set_xticks(all_n)
        ax.set_xticklabels([f"{n / 1000:g}k" for n in all_n])
        ax.set_title(case, fontsize=8)
        ax.tick_params(labelsize=6)
    for ax in list(axes.flat)[len(cases):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=5)
    fig.supxlabel("N (rows)", fontsize=8)
    fig.supylabel("median estimate (nats); grey = truth +-10%", fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, "accuracy_vs_n.png"), dpi=80)
    plt.close(fig)


def variants(out_dir, md, js):
    rows = read(out_dir, "variants.csv")
    if not rows:
        return
    cases = list(dict.fromkeys(r["case"] for r in rows))
    truth = {r["case"]: float(r["truth"]) for r in rows}
    tab, out = [], []
    for v in dict.fromkeys(r["variant"] for r in rows):
        cells, rel, secs = [], [], []
        for c in cases:
            vals = [float(r["estimate"]) for r in rows if r["variant"] == v and r["case"] == c]
            secs += [float(r["seconds"]) for r in rows if r["variant"] == v and r["case"] == c]
            mean = statistics.mean(vals)
            sd = statistics.stdev(vals) if len(vals) > 1 else 0.0
            cells.append(f"{mean:.3f} ± {sd:.3f}")
            rel.append((mean - truth[c]) / truth[c])
        out.append(dict(variant=v, relative_bias=rel, mean_relative_bias=statistics.mean(rel),
                        seconds_per_run=statistics.mean(secs)))
        tab.append([v] + cells + [f"{100 * statistics.mean(rel):+.1f}%",
                                  f"{statistics.mean(secs):.2f}"])
    js["variants"] = out
    n = rows[0]["n"]
    md.append(f"## Defaults sweep: MINE with one setting changed (N = {int(n):,}, "
              f"{len({r['seed'] for r in rows})} seeds)\n")
    md.append(table(["variant"] + [f"{c} (truth {truth[c]:.3f})" for c in cases]
                    + ["mean relative bias", "s/run"], tab))
    md.append("\nMean ± sd over seeds (nats); `default` = the server's defaults (MINE, 128-128 ELU, "
              "Adam 1e-3, batch 256, quantile inputs, in-batch shuffle); each other row changes one "
              "of them. s/run: wall seconds per run in this (parallel) run.\n")


def staircase(out_dir, md, js):
    rows = read(out_dir, "staircase.csv")
    if not rows:
        return
    by = defaultdict(list)
    for r in rows:
        by[r["estimator"]].append(r)
    tab, out = [], {}
    levels = list(dict.fromkeys(float(r["truth"]) for r in rows))
    for est, rs in by.items():
        ends = []
        for lv in levels:
            sel = [float(r["estimate"]) for r in rs if float(r["truth"]) == lv]
            ends.append(sel[-1] if sel else float("nan"))
        out[est] = ends
        tab.append([est] + [f"{e:.2f}" for e in ends])
    js["staircase_end_of_level"] = dict(levels=levels, estimates=out)
    md.append("## Staircase, d = 20 (estimate at the end of each level, nats)\n")
    md.append(table(["estimator"] + [f"truth {lv:g}" for lv in levels], tab))
    md.append("")
    fig, ax = plt.subplots(figsize=(7, 3))
    for est, rs in by.items():
        ax.plot([int(r["rows_seen"]) for r in rs], [float(r["estimate"]) for r in rs], label=est,
                lw=1)
    ax.plot([int(r["rows_seen"]) for r in by[next(iter(by))]],
            [float(r["truth"]) for r in by[next(iter(by))]], "k--", lw=1, label="truth")
    ax.set_xlabel("rows streamed")
    ax.set_ylabel("MI (nats)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, "staircase.png"), dpi=80)
    plt.close(fig)
    md.append("![staircase](staircase.png)\n")


def scaling_plot(out_dir, rows):
    if not rows:
        return
    fig, ax = plt.subplots(figsize=(4, 3))
    n = [int(r["sessions"]) for r in rows]
    ax.plot(n, [float(r["steps_per_s"]) for r in rows], "o-", label="aggregate")
    ax.plot(n, [float(r["steps_per_s_per_session"]) for r in rows], "s--", label="per session")
    ax.set_xlabel("sessions")
    ax.set_ylabel("steps/s (d=20, B=256, 128-128)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, "scaling.png"), dpi=80)
    plt.close(fig)


def readme_summary(js):
    """A short block for the README: headline speed and accuracy, the machine, the plots."""
    m, lines = js.get("machine", {}), []
    load = js.get("duration", {}).get("loadavg_at_end", "?")
    lines.append(f"Measured by `bench/run.sh` on {m.get('nproc', '?')} cores of an "
                 f"{m.get('cpu', '?')} (OpenBLAS, LibTorch 1.13.1; load average "
                 f"{m.get('loadavg_at_start', '?')} at the start, {load} at the end); full "
                 f"tables in docs/BENCHMARKS.md.\n")
    tp = [t for t in js.get("throughput", []) if t["dim"] == 20 and t["net"] == "128-128"]
    if tp:
        lines.append("| one session, d = 20, default net 128-128 | " +
                     " | ".join(f"batch {t['batch']:,}" for t in tp) + " |")
        lines.append("|---|" + "---|" * len(tp))
        lines.append("| mine-server over gRPC, steps/s | " +
                     " | ".join(f"{t['server_steps_per_s']:,.0f}" for t in tp) + " |")
        lines.append("| Python PyTorch loop of the same step, steps/s | " +
                     " | ".join(f"{t['python_steps_per_s']:,.0f}" for t in tp) + " |")
        lines.append("| server / Python | " + " | ".join(f"{t['ratio']:.2f}x" for t in tp) + " |")
        lines.append("| share of the one-core GEMM ceiling, server / Python | " +
                     " | ".join(f"{100 * t['server_fraction_of_ceiling']:.0f}% / "
                                f"{100 * t['python_fraction_of_ceiling']:.0f}%" for t in tp) + " |")
        lines.append("")
    acc = {(a["case"], a["estimator"]): a for a in js.get("accuracy", []) if a["truth"] > 0}
    headline = ("d1_rho0.9", "d5_rho0.8", "d20_rho0.5", "d1_rho0.9_cube")
    cases = [c for c in headline if any(k[0] == c for k in acc)]
    ests = [e for e in ("MINE", "SMILE", "PY_MINE", "KSG_k3") if any((c, e) in acc for c in cases)]
    if cases:
        n_max = max(a["n_max"] for a in acc.values())
        lines.append(f"| MI in nats (mean of seeds at N = {n_max:,}; samples to within 10%, — = not "
                     f"by {n_max / 1000:g}k) | truth | "
                     + " | ".join(ests) + " |")
        lines.append("|---|---|" + "---|" * len(ests))
        for c in cases:
            cells = []
            for e in ests:
                a = acc.get((c, e))
                if a is None:
                    cells.append("-")
                    continue
                need = a.get("samples_to_10pct_median")
                at = "" if a["n_max"] == n_max else f" at N = {a['n_max'] / 1000:g}k"
                cells.append(f"{a['mean']:.2f}{at} ({'—' if need is None else f'{need / 1000:g}k'})")
            lines.append(f"| {c} | {acc[(c, ests[0])]['truth']:.2f} | " + " | ".join(cells) + " |")
        lines.append("")
    lines.append("![throughput](throughput.png) ![accuracy by N](accuracy_vs_n.png)")
    return "\n".join(lines) + "\n"


README_BEGIN = "<!-- README summary, generated by bench/python/report.py: begin -->"
README_END = "<!-- README summary, generated by bench/python/report.py: end -->"
BEGIN = "<!-- generated by bench/python/report.py: begin -->"
END = "<!-- generated by bench/python/report.py: end -->"


def replace_block(text, begin, end, body, doc):
    if begin not in text or end not in text:
        raise SystemExit(f"{doc}: no generated block ({begin} ... {end})")
    head, rest = text.split(begin, 1)
    return head + begin + "\n" + body + "\n" + end + rest.split(end, 1)[1]


def update_doc(out_dir, doc, assets, summary, readme):
    """Copies the run's small files into `assets` and replaces the generated
    blocks of `doc` (README summary, full summary), image links pointing at
    `assets` (relative to the doc for the full summary, to the repository root
    for the README block)."""
    os.makedirs(assets, exist_ok=True)
    for name in sorted(os.listdir(out_dir)):
        if name.endswith((".csv", ".json", ".png", ".md")):
            shutil.copy(os.path.join(out_dir, name), assets)

    def relink(markdown, base):
        rel = os.path.relpath(assets, base)
        return re.sub(r"\]\(([\w.]+\.png)\)", lambda m: f"]({rel}/{m.group(1)})", markdown)

    with open(doc) as f:
        text = f.read()
    text = replace_block(text, README_BEGIN, README_END, relink(readme, os.getcwd()), doc)
    text = replace_block(text, BEGIN, END,
                         relink(summary, os.path.dirname(os.path.abspath(doc))), doc)
    with open(doc, "w") as f:
        f.write(text)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out_dir", required=True)
    p.add_argument("--doc", help="Markdown file whose generated block is replaced by the summary")
    p.add_argument("--doc_assets", help="folder for the run's CSV/JSON/PNG next to --doc")
    args = p.parse_args()
    md, js = [], {}
    machine_path = os.path.join(args.out_dir, "machine.json")
    if os.path.exists(machine_path):
        with open(machine_path) as f:
            js["machine"] = json.load(f)
        md.append("Machine: " + ", ".join(f"{k} {v}" for k, v in js["machine"].items()) + "\n")
    duration_path = os.path.join(args.out_dir, "duration.json")
    if os.path.exists(duration_path):
        with open(duration_path) as f:
            js["duration"] = json.load(f)
        d = js["duration"]
        md.append(f"Duration: {d['total_seconds'] / 60:.1f} min (speed {d['speed_seconds']} s, "
                  f"accuracy {d['accuracy_seconds']} s); load average at the end "
                  f"{d.get('loadavg_at_end', '?')}.\n")
    speed(args.out_dir, md, js)
    simple(args.out_dir, md, js, "step_profile.csv", "Where a step's time goes (in process, one thread)",
           "minimal: plain LibTorch loop of the same step with autograd and torch::optim::Adam "
           "(the C++ twin of the Python reference); trainer: mine::Trainer::Step on consecutive "
           "batches of the window; session: Session::RunSlice with a full window (batch and "
           "marginal sampling, an evaluation every 50 steps); evaluate_4096_ms: one held-out "
           "evaluation of 4,096 rows.")
    scaling = simple(args.out_dir, md, js, "scaling.csv", "Scaling (default net, d = 20, B = 256)")
    if scaling:
        scaling_plot(args.out_dir, scaling)
        md.append("![scaling](scaling.png)\n")
    simple(args.out_dir, md, js, "ingest.csv", "Ingest over gRPC (rows/s, MB/s of serialized messages)",
           "transport_only: PushSamples of the same bytes to an unknown session (NOT_FOUND after "
           "the server parsed the message). Sessions use an 8-unit net; its training competes.")
    simple(args.out_dir, md, js, "latency.csv", "Latency: batch sent -> first streamed estimate covering it",
           "load 1.00 = the measured StreamSamples capacity into one default-net session (d = 20, "
           "256-row batches); 0.50 / 0.90 stream at that fraction of it.")
    simple(args.out_dir, md, js, "memory.csv", "Memory (server VmRSS, d = 20, default config)")
    accuracy(args.out_dir, md, js)
    variants(args.out_dir, md, js)
    staircase(args.out_dir, md, js)
    summary = "\n".join(md) + "\n"
    with open(os.path.join(args.out_dir, "summary.md"), "w") as f:
        f.write(summary)
    with open(os.path.join(args.out_dir, "summary.json"), "w") as f:
        json.dump(js, f, indent=1, default=lambda o: None if isinstance(o, float) and math.isnan(o) else o)
    readme = readme_summary(js)
    with open(os.path.join(args.out_dir, "readme_summary.md"), "w") as f:
        f.write(readme)
    if args.doc:
        update_doc(args.out_dir, args.doc, args.doc_assets or os.path.join(
            os.path.dirname(args.doc), "bench", "run"), summary, readme)


if __name__ == "__main__":
    main()
