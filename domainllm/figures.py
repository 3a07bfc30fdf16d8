"""Figures the stages write as PNG: pure functions from data to PNG bytes (the stage writes them).

matplotlib is imported on first use with the Agg backend (no display on CI or the build
machine), so importing this module costs nothing.
"""

from __future__ import annotations

import io
from typing import Any


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Any) -> bytes:
    """The figure as PNG bytes (dpi 110); the figure is closed."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    _pyplot().close(fig)
    return buf.getvalue()


def curves_png(curves: dict[str, dict[str, Any]], points: dict[str, tuple], title: str) -> bytes:
    """ROC and precision-recall panels: one curve per scored component, operating points."""
    fig, (roc, pr) = _pyplot().subplots(1, 2, figsize=(10, 4.2))
    for name, c in curves.items():
        if c["roc"]:
            roc.plot(*zip(*c["roc"], strict=True), label=f"{name} (AUC {c['roc_auc']})")
            pr.plot(*zip(*c["pr"], strict=True), label=f"{name} (AP {c['average_precision']})")
    for name, (fpr, tpr, prec) in points.items():
        roc.scatter([fpr], [tpr], marker="o", s=25)
        roc.annotate(name, (fpr, tpr), fontsize=7)
        pr.scatter([tpr], [prec], marker="o", s=25)
        pr.annotate(name, (tpr, prec), fontsize=7)
    roc.set(xlabel="false-block rate (safe rows blocked)", ylabel="recall (unsafe rows blocked)",
            title="ROC")  # fmt: skip
    pr.set(xlabel="recall", ylabel="precision", title="precision-recall")
    roc.legend(fontsize=7, loc="lower right")
    pr.legend(fontsize=7, loc="lower left")
    fig.suptitle(title)
    fig.tight_layout()
    return _png(fig)


def confusion_png(records: list[dict[str, str]], title: str) -> bytes:
    """A labelled confusion-matrix heatmap (``actual`` rows, ``predicted`` columns)."""
    actual = sorted({r["actual"] for r in records})
    pred = sorted({r["predicted"] for r in records})
    grid = [
        [sum(r["actual"] == a and r["predicted"] == p for r in records) for p in pred]
        for a in actual
    ]
    fig, ax = _pyplot().subplots(figsize=(1.2 * len(pred) + 3, 0.6 * len(actual) + 2))
    ax.imshow(grid, cmap="Blues")
    ax.set_xticks(range(len(pred)), pred, rotation=40, ha="right")
    ax.set_yticks(range(len(actual)), actual)
    for i, row in enumerate(grid):
        for j, v in enumerate(row):
            ax.text(j, i, str(v), ha="center", va="center")
    ax.set_xlabel("predicted (final decision)")
    ax.set_ylabel("actual category")
    ax.set_title(title)
    fig.tight_layout()
    return _png(fig)
