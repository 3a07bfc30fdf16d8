"""The iteration report: intervals, paired tests, plots and the stage on generated files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from evalfixtures import judge_row, make_iteration, make_train_logs, predict_row

from domainllm.io import read_json
from domainllm.params import ParamsError, validate_section
from domainllm.report import Iteration, ReportParams, compare, confusion, decisions
from domainllm.report_render import read_loss_curves
from domainllm.safety import ci95
from domainllm.stats import wilson

ROOT = Path(__file__).resolve().parents[1]
P = ReportParams(bootstrap_n=500)


def test_wilson_matches_reference_values() -> None:
    # Reference values of the 95% Wilson score interval (e.g. Newcombe 1998, table I).
    assert wilson(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson(10, 10) == pytest.approx((0.7225, 1.0), abs=1e-4)


def test_the_one_wilson_agrees_with_the_closed_form_and_each_callers_format() -> None:
    """``wilson`` (scipy's binomtest) against the textbook closed form, and the callers'
    formats: the closed form is what this module computed before it called scipy."""
    import math

    def closed(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
        p, den = k / n, 1 + z * z / n
        mid = (p + z * z / (2 * n)) / den
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
        return max(0.0, mid - half), min(1.0, mid + half)

    assert ci95(0, 10)[0] == 0.0 and ci95(10, 10)[1] == 1.0  # exact bounds once rounded
    for k, n in ((0, 10), (5, 10), (3, 7), (1, 263), (59, 60), (146, 147)):
        lo, hi = closed(k, n)
        assert wilson(k, n) == pytest.approx((lo, hi), abs=1e-12)
        # safety metrics and the engine bench: a JSON list rounded to 4 places, as before
        assert ci95(k, n) == [round(lo, 4), round(hi, 4)]
    assert ci95(5, 10) == [0.2366, 0.7634] and ci95(0, 0) is None
    lo, hi = wilson(5, 10, confidence=0.99)  # the report's own confidence level
    assert lo < 0.2366 and hi > 0.7634
    assert all(x != x for x in wilson(0, 0))  # nan, the report's "no data"


def test_confusion_counts_each_cell() -> None:
    rows = [
        predict_row("1", "redteam", expected="blocked", blocked_by="guard"),  # tp
        predict_row("2", "redteam", expected="blocked"),  # fn
        predict_row("3", "test", blocked_by="model"),  # fp
        predict_row("4", "test"),  # tn
        predict_row("5", "test"),  # tn
    ]
    assert confusion(decisions(rows)) == {"tp": 1, "fn": 1, "fp": 1, "tn": 2}


def _it(name: str, rows: list[dict], judges: list[dict]) -> Iteration:
    return Iteration(name, rows, judges, {"n": len(rows), "n_failed": 0, "by_failure": {}})


def test_compare_pairs_items_by_suite_and_id() -> None:
    a_rows = [predict_row(str(i), "redteam", expected="blocked") for i in range(6)]
    b_rows = [predict_row(str(i), "redteam", expected="blocked", blocked_by="guard")
              for i in range(5)] + [predict_row("5", "redteam", expected="blocked")]  # fmt: skip
    a_rows[0] = predict_row("0", "redteam", expected="blocked", blocked_by="guard")
    b_rows[0] = predict_row("0", "redteam", expected="blocked")
    ja = [judge_row(str(i), "test", {"relevance": 2.0}) for i in range(8)]
    jb = [judge_row(str(i), "test", {"relevance": 3.0}) for i in range(8)]
    jb.append(judge_row("99", "test", {"relevance": 5.0}))  # only in b: not paired
    jb[0] = judge_row("0", "test", {"relevance": 1.0}, error="timeout")  # judge error: dropped
    t = compare(_it("a", a_rows, ja), _it("b", b_rows, jb), ["relevance", "composite"], P)
    assert t["judge.relevance"]["n"] == 7
    assert t["judge.relevance"]["mean_diff"] == pytest.approx(1.0)
    s = t["safety.decisions"]
    assert (s["b01"], s["b10"], s["n"]) == (4, 1, 6)
    assert 0 < s["p_value"] <= 1


def test_identical_iterations_show_no_difference() -> None:
    rows = [predict_row(str(i), "test") for i in range(5)]
    js = [judge_row(str(i), "test", {"relevance": float(i)}) for i in range(5)]
    t = compare(_it("a", rows, js), _it("b", rows, js), ["relevance"], P)
    assert t["judge.relevance"]["mean_diff"] == 0 and t["judge.relevance"]["p_value"] == 1.0
    assert t["safety.decisions"]["p_value"] == 1.0


def test_params_reject_single_or_repeated_iterations() -> None:
    with pytest.raises(ParamsError, match=r"report\.iterations"):
        validate_section({"iterations": ["baseline"]}, "report", ReportParams)
    with pytest.raises(ParamsError, match=r"report\.iterations"):
        validate_section({"iterations": ["a", "a"]}, "report", ReportParams)


def test_read_loss_curves(tmp_path: Path) -> None:
    folder = make_train_logs(tmp_path, "baseline", steps=4)
    curves = read_loss_curves(folder)
    assert sorted(curves) == ["eval/loss", "train/loss"]
    assert [x for x, _ in curves["train/loss"]] == [0, 1, 2, 3]
    assert curves["train/loss"][0][1] > curves["train/loss"][-1][1]
    assert read_loss_curves(tmp_path / "missing") == {}


REPORT_ARGS = [
    "--predict-root", "data/predict", "--judge-root", "data/judge",
    "--discover-root", "metrics/discover", "--metrics-root", "metrics",
    "--train-root", "dvclive/train", "--out-md", "reports/comparison.md",
    "--plots-dir", "reports", "--out-metrics", "metrics/report.json",
]  # fmt: skip


def _run(tmp: Path, script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "stages" / script), *args],
        cwd=tmp, capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_report_stage_end_to_end(tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_text("discover: {}\nreport:\n  bootstrap_n: 300\n")
    for i, (it, q) in enumerate([("prompt-only", 0.2), ("baseline", 0.6), ("improved", 0.9)]):
        make_iteration(tmp_path, it, q, n=40, seed=i)
        res = _run(tmp_path, "discover.py", "--iteration", it, "--predict", f"data/predict/{it}",
                   "--judge", f"data/judge/{it}.jsonl", "--out-md", f"reports/edge_cases_{it}.md",
                   "--out-metrics", f"metrics/discover/{it}.json")  # fmt: skip
        assert res.returncode == 0, res.stderr
    make_train_logs(tmp_path, "baseline")
    make_train_logs(tmp_path, "improved")
    res = _run(tmp_path, "report.py", *REPORT_ARGS)
    assert res.returncode == 0, res.stderr
    for png in ("scores", "failures", "confusion", "loss"):
        assert (tmp_path / "reports" / f"{png}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (tmp_path / "reports/comparison.md").read_text()
    assert "| judge.composite |" in md and "McNemar" in md and "![loss curves](loss.png)" in md
    assert "predict.model `m-improved`" in md and "train.data_version `v1`" in md
    assert "train.init `base`" in md  # where training started is part of the provenance
    m = read_json(tmp_path / "metrics/report.json")
    assert set(m["tests"]) == {"prompt-only vs baseline", "prompt-only vs improved",
                               "baseline vs improved"}  # fmt: skip
    po, imp = m["iterations"]["prompt-only"], m["iterations"]["improved"]
    assert imp["judge.composite"] > po["judge.composite"]
    assert m["tests"]["prompt-only vs improved"]["judge.composite"]["p_value"] < 0.05


def test_report_stage_missing_input_one_line(tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_text("report: {}\n")
    make_iteration(tmp_path, "prompt-only", 0.5, n=8)
    res = _run(tmp_path, "report.py", *REPORT_ARGS)
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0 and "discover@prompt-only" in res.stderr
    assert not (tmp_path / "reports").exists()


TEMPLATE = ROOT / "docs" / "offline_plots" / "template.html"


def test_offline_template_inlines_vega_and_is_small() -> None:
    text = TEMPLATE.read_text(encoding="utf-8")
    assert TEMPLATE.stat().st_size < 2_000_000
    assert text.count("{plot_divs}") == 1 and "{scripts}" not in text  # no CDN tags added
    for lib in ("vega@5.20.2", "vega-lite@5.2.0", "vega-embed@6.18.2"):
        assert f"<!-- {lib} " in text
    assert text.count("<script>") == 3 and text.count("</script>") == 3  # nothing closes early
    assert 'src="http' not in text


@pytest.mark.slow
def test_dvc_plots_show_with_offline_template(tmp_path: Path) -> None:
    folder = make_train_logs(tmp_path, "baseline")
    dvc = [sys.executable, "-m", "dvc"]
    subprocess.run([*dvc, "init", "-q", "--no-scm"], cwd=tmp_path, check=True)
    tsv = (folder / "plots/metrics/train/loss.tsv").relative_to(tmp_path)
    res = subprocess.run(
        [*dvc, "plots", "show", str(tsv), "--html-template", str(TEMPLATE), "-o", "html"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    html = (tmp_path / "html" / "index.html").read_text(encoding="utf-8")
    assert "cdn.jsdelivr" not in html and 'src="http' not in html
    assert "vegaEmbed('#" in html and '"loss"' in html and "{plot_divs}" not in html
