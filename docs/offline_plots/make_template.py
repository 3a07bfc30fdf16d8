"""python docs/offline_plots/make_template.py [--out docs/offline_plots/template.html]

Builds the offline HTML template for `dvc plots show/diff --html-template`: DVC's default page
loads vega, vega-lite and vega-embed from a CDN and renders blank without internet. This
fetches the same versions DVC's renderer names (dvc_render/vega.py) with `npm pack`, and
inlines their minified builds into a page with DVC's `{plot_divs}` placeholder.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import tarfile
import tempfile
from pathlib import Path

PACKAGES = {
    "vega@5.20.2": "package/build/vega.min.js",
    "vega-lite@5.2.0": "package/build/vega-lite.min.js",
    "vega-embed@6.18.2": "package/build/vega-embed.min.js",
}
PAGE = """<!DOCTYPE html>
<html>
<head>
    <meta charset="utf-8">
    <title>DVC Plot (offline)</title>
{inlined}
    <style>
        table {{ border-spacing: 15px; }}
    </style>
</head>
<body>
    {{plot_divs}}
</body>
</html>
"""


def build(workdir: Path) -> str:
    """The template text with the three libraries inlined (and their sources named)."""
    parts = []
    for spec, member in PACKAGES.items():
        out = (
            subprocess.run(
                ["npm", "pack", spec, "--silent"],
                cwd=workdir,
                check=True,
                capture_output=True,
                text=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        with tarfile.open(workdir / out) as tar:
            fh = tar.extractfile(member)
            if fh is None:
                raise SystemExit(f"{spec}: {member} missing from the npm package")
            js = fh.read().decode("utf-8")
        sha = hashlib.sha256(js.encode()).hexdigest()
        # A literal "</script" inside the code would end the inline element early.
        js = js.replace("</script", "<\\/script")
        parts.append(f"    <!-- {spec} {member} sha256 {sha} -->\n    <script>{js}</script>")
    return PAGE.format(inlined="\n".join(parts))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("docs/offline_plots/template.html"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        text = build(Path(tmp))
    args.out.write_text(text, encoding="utf-8")
    print(f"{args.out}: {len(text.encode()) / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
