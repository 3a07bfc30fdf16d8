"""Rendering of the iteration report: ``reports/comparison.md`` and its PNG plots."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display on CI or the build machine
import matplotlib.pyplot as plt

from domainllm.discovery import KINDS
from domainllm.report import Iteration, confusion, decisions

PLOTS = ("scores.png", "failures.png", "confusion.png", "loss.png")
HEADLINE = ("judge.good", "judge.bad", "judge.composite", "answer.valid_rate",
            "safety.block_recall",
            "safety.false_block_rate", "discover.failure_rate")  # fmt: skip


def read_loss_curves(train_dir: Path) -> dict[str, list[tuple[float, float]]]:
    """DVCLive step-wise loss series below ``train_dir/plots/metrics`` -> {split/name: [(x, y)]}."""
    out: dict[str, list[tuple[float, float]]] = {}
    base = train_dir / "plots" / "metrics"
    for tsv in sorted(base.rglob("*.tsv")) if base.is_dir() else []:
        if "loss" not in tsv.stem:
            continue
        with tsv.open(encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh, delimiter="\t"))
        if not rows:
            continue
        ycol = [c for c in rows[0] if c not in ("step", "timestamp")][-1]
        name = tsv.relative_to(base).with_suffix("").as_posix()
        out[name] = [(float(r.get("step", i)), float(r[ycol])) for i, r in enumerate(rows)]
    return out


def fmt(m: dict[str, Any]) -> str:
    """'0.812 [0.750, 0.860]' (rates as percentages)."""
    if m["n"] == 0 or math.isnan(m["value"]):
        return "n/a"
    if m["kind"] == "rate":
        return f"{100 * m['value']:.1f}% [{100 * m['lo']:.1f}, {100 * m['hi']:.1f}]"
    return f"{m['value']:.3f} [{m['lo']:.3f}, {m['hi']:.3f}]"


def _errbars(ax: Any, names: list[str], series: dict[str, list[dict]], scale: float) -> None:
    width = 0.8 / max(1, len(series))
    for i, (it, ms) in enumerate(series.items()):
        xs = [j + (i - (len(series) - 1) / 2) * width for j in range(len(names))]
        vals = [scale * (0 if math.isnan(m["value"]) else m["value"]) for m in ms]
        lo = [max(0.0, v - scale * m["lo"]) if m["n"] else 0 for v, m in zip(vals, ms, strict=True)]
        hi = [max(0.0, scale * m["hi"] - v) if m["n"] else 0 for v, m in zip(vals, ms, strict=True)]
        ax.bar(xs, vals, width, yerr=[lo, hi], capsize=3, label=it)
    ax.set_xticks(range(len(names)), names, rotation=20, ha="right")
    ax.legend(fontsize=8)


def plot_scores(path: Path, metrics: dict[str, dict], crit: list[str]) -> None:
    """Name-judge shares (good, bad names per answer) and mean score, one bar per iteration."""
    fig, ax = plt.subplots(figsize=(8, 4))
    _errbars(ax, crit, {it: [m[f"judge.{c}"] for c in crit] for it, m in metrics.items()}, 1.0)
    ax.set_ylim(0, 1)
    ax.set_ylabel("per answer (0-1)")
    ax.set_title("Name judge: share of names good / bad, mean score, 95% intervals")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_failures(path: Path, metrics: dict[str, dict]) -> None:
    """Share of items per failure kind with Wilson intervals."""
    fig, ax = plt.subplots(figsize=(9, 4))
    _errbars(ax, list(KINDS), {it: [m[f"discover.{k}"] for k in KINDS]
                               for it, m in metrics.items()}, 100.0)  # fmt: skip
    ax.set_ylabel("% of items")
    ax.set_title("Failure kinds (edge-case discovery)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_confusion(path: Path, its: list[Iteration]) -> None:
    """One 2x2 safety confusion matrix per iteration (rows: expected, columns: decided)."""
    fig, axes = plt.subplots(1, len(its), figsize=(3.2 * len(its), 3.2), squeeze=False)
    for ax, it in zip(axes[0], its, strict=True):
        c = confusion(decisions(it.predict))
        grid = [[c["tn"], c["fp"]], [c["fn"], c["tp"]]]
        ax.imshow(grid, cmap="Blues")
        for i in range(2):
            for j in range(2):
                dark = grid[i][j] > max(map(max, grid)) / 2
                color = "white" if dark else "black"
                ax.text(j, i, str(grid[i][j]), ha="center", va="center", fontsize=12, color=color)
        ax.set_xticks([0, 1], ["answered", "blocked"])
        ax.set_yticks([0, 1], ["safe", "unsafe"])
        ax.set_title(it.name)
        ax.set_xlabel("decided")
        ax.set_ylabel("expected")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_loss(path: Path, its: list[Iteration]) -> None:
    """Training and evaluation loss curves of the trained iterations."""
    fig, ax = plt.subplots(figsize=(7, 4))
    drawn = 0
    for i, it in enumerate(its):
        for name, pts in it.loss.items():
            # one colour per iteration, solid for training loss, dashed for evaluation loss
            style = "-" if name.startswith("train") else "--"
            xs, ys = [x for x, _ in pts], [y for _, y in pts]
            ax.plot(xs, ys, style, color=f"C{i}", marker=".", label=f"{it.name} {name}")
            drawn += 1
    if drawn:
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "no training logs", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title("Loss curves (DVCLive)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def pairwise_lines(pw: dict[str, Any]) -> list[str]:
    """The pairwise table: B's wins, ties and win rate per pair of iterations."""
    j = pw.get("judge", {})
    lines = ["", f"## Pairwise, asked in both orders ({j.get('model')})", "",
             "A list wins only when both orders prefer it; disagreements are ties. A judge that "
             "always prefers the first list (mean P(first better) > 0.5 in both orders) makes "
             "every verdict a tie; the position-debiased column compares P(first better) with B "
             "first against A first instead.", "",
             "| A vs B | n | B wins | A wins | ties | B win rate (decided) | B score (tie = 1/2) "
             "| position consistency | B preferred, position-debiased | mean P(first better) |",
             "|---|---:|---:|---:|---:|---|---|---:|---|---:|"]  # fmt: skip
    for name, m in pw.get("pairs", {}).items():
        d, s = m["b_win_rate_decided"], m["b_score_ties_half"]
        dec = f"{d['value']:.2f} [{d['lo']:.2f}, {d['hi']:.2f}]" if d["n"] else "-"
        sc = f"{s['mean']:.2f} [{s['ci_low']:.2f}, {s['ci_high']:.2f}]" if s["n"] else "-"
        db = m.get("b_pref_debiased") or {}
        deb = f"{db['mean']:.2f} [{db['ci_low']:.2f}, {db['ci_high']:.2f}]" if db.get("n") else "-"
        lines.append(f"| {name} | {m['n']} | {m['b_wins']} | {m['a_wins']} | {m['ties']} | "
                     f"{dec} | {sc} | {m['position_consistency']} | {deb} | "
                     f"{m.get('mean_p_first_better', '-')} |")  # fmt: skip
    return lines


def render_markdown(
    its: list[Iteration],
    metrics: dict[str, dict],
    tests: dict[str, dict],
    alpha: float,
    confidence: float,
    pairwise: dict[str, Any] | None = None,
) -> str:
    """``reports/comparison.md`` (``pairwise``: metrics/compare.json, when it was run)."""
    names = [it.name for it in its]
    last, prev = names[-1], names[-2]
    head = tests[f"{prev} vs {last}"]
    lines = ["# Iteration comparison: " + " vs ".join(names), "", "## Headline", ""]
    for key, what in (
        ("judge.good", "share of good names"),
        ("judge.composite", "mean name score"),
    ):
        comp = head.get(key)
        if not comp:
            continue
        lines.append(
            f"- {last} vs {prev}: {what} {comp['mean_diff']:+.3f} "
            f"[{comp['ci_low']:+.3f}, {comp['ci_high']:+.3f}], paired bootstrap "
            f"p = {comp['p_value']:.3g} "
            f"(n = {comp['n']} items)."
        )
    s = head["safety.decisions"]
    lines += [
        f"- Safety decisions: {s['b01']} items fixed, {s['b10']} broken, McNemar p = "
        f"{s['p_value']:.3g} (n = {s['n']}).",
        f"- {last}: "
        + "; ".join(f"{k} {fmt(metrics[last][k])}" for k in HEADLINE if k in metrics[last]),
        "",
        "## Produced by",
        "",
    ]
    for it in its:
        prov = ", ".join(f"{k} `{v}`" for k, v in sorted(it.provenance.items())) or "-"
        lines.append(f"- **{it.name}**: {prov}")
    pct = round(100 * confidence)
    lines += ["", f"## Every metric ({pct}% intervals)", "",
              "| metric | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]  # fmt: skip
    for key in metrics[names[0]]:
        lines.append(f"| {key} | " + " | ".join(fmt(metrics[n][key]) for n in names) + " |")
    lines += ["", f"## Paired tests (significant at p < {alpha})", ""]
    lines += ["| pair | metric | n | difference [interval] | p |", "|---|---|---:|---|---:|"]
    for pair, ts in tests.items():
        for key, t in ts.items():
            star = " *" if t["p_value"] < alpha else ""
            if key == "safety.decisions":
                diff = f"fixed {t['b01']}, broken {t['b10']} (McNemar)"
            else:
                diff = f"{t['mean_diff']:+.3f} [{t['ci_low']:+.3f}, {t['ci_high']:+.3f}]"
            lines.append(f"| {pair} | {key} | {t['n']} | {diff} | {t['p_value']:.3g}{star} |")
    lines += pairwise_lines(pairwise) if pairwise else []
    lines += [
        "",
        "## Plots",
        "",
        "![judge scores](scores.png)",
        "",
        "![failure kinds](failures.png)",
        "",
        "![safety confusion matrices](confusion.png)",
        "",
        "![loss curves](loss.png)",
        "",
        "## How to read this",
        "",
        "- Every iteration is evaluated on the same test and suite items; tests pair items by "
        "suite and id. Rates carry Wilson intervals, means percentile bootstrap intervals.",
        "- The judge is an LM; a judge from the base model's family may favour that family's "
        "outputs, so read judge scores beside the deterministic checks and safety rates.",
        "- Failure kinds and worst items per iteration: `reports/edge_cases_<iteration>.md`.",
        "",
    ]
    return "\n".join(lines)
