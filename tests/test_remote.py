"""`dvc push`, losing the cache, `dvc pull` restores every tracked file byte for byte.

Two remotes: a local directory, and an S3-compatible server (moto) started on loopback, used
through dvc-s3. Everything runs in a temporary git + DVC repository through the real CLI.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
DVC = [sys.executable, "-m", "dvc"]


def sh(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert res.returncode == 0, f"{' '.join(cmd)} failed:\n{res.stdout}\n{res.stderr}"
    return res.stdout


def tree_digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git + DVC repo tracking data/ (binary and text files, a subfolder); shared by the
    tests of this module, each of which sets its own default remote."""
    root = tmp_path_factory.mktemp("remote") / "repo"
    (root / "data" / "sub").mkdir(parents=True)
    rnd = __import__("random").Random(7)
    (root / "data" / "blob.bin").write_bytes(bytes(rnd.getrandbits(8) for _ in range(200_000)))
    (root / "data" / "rows.jsonl").write_text('{"id": "a"}\n{"id": "b"}\n')
    (root / "data" / "sub" / "empty.txt").write_bytes(b"")
    sh(["git", "init", "-q"], root)
    sh([*DVC, "init", "-q"], root)
    sh([*DVC, "add", "-q", "data"], root)
    return root


def set_default_remote(root: Path, name: str, url: str, **options: str) -> None:
    """What `dvc remote add -f -d NAME URL` (+ `dvc remote modify`) writes, without 2-3 dvc
    start-ups; the push and pull below go through the CLI."""
    lines = ["[core]", f"    remote = {name}", f"['remote \"{name}\"']", f"    url = {url}"]
    lines += [f"    {k} = {v}" for k, v in options.items()]
    (root / ".dvc" / "config").write_text("\n".join(lines) + "\n")


def roundtrip(root: Path, env: dict[str, str] | None = None) -> None:
    """Push, delete the cache and the tracked files, pull, compare bytes."""
    before = tree_digest(root / "data")
    sh([*DVC, "push", "-q"], root, env)
    shutil.rmtree(root / ".dvc" / "cache")
    for p in (root / "data").rglob("*"):
        if p.is_file():
            p.unlink()
    assert tree_digest(root / "data") == {}
    sh([*DVC, "pull", "-q"], root, env)
    assert tree_digest(root / "data") == before
    # The cache is whole again too: every object is named by the md5 of its bytes.
    objs = [p for p in (root / ".dvc" / "cache" / "files" / "md5").rglob("*") if p.is_file()]
    assert len(objs) == len(before) + 1  # the files and the directory manifest
    for p in objs:
        if not p.name.endswith(".dir"):
            assert hashlib.md5(p.read_bytes()).hexdigest() == p.parent.name + p.name


def test_local_directory_remote_roundtrip(repo: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    set_default_remote(repo, "local", str(store))
    roundtrip(repo)
    assert any(p.is_file() for p in store.rglob("*"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def s3(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A moto S3 server on loopback with bucket `dvc`: (endpoint, env for dvc and boto3)."""
    pytest.importorskip("dvc_s3", reason="dvc-s3 is in requirements.txt")
    moto_server = pytest.importorskip("moto.server", reason="moto[server] is in requirements.txt")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one log line per request
    port = free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    # Only test credentials; no user config or proxy may leak in.
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(("AWS_", "HTTP"))}
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=str(tmp_path / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-aws-credentials"),
        NO_PROXY="127.0.0.1",
        no_proxy="127.0.0.1",
    )
    try:
        yield f"http://127.0.0.1:{port}", env
    finally:
        server.stop()


def test_s3_compatible_remote_roundtrip(
    repo: Path, s3: tuple[str, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    endpoint, env = s3
    for k, v in env.items():
        if k.startswith(("AWS_", "NO_PROXY", "no_proxy")):
            monkeypatch.setenv(k, v)
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    client.create_bucket(Bucket="dvc")
    set_default_remote(repo, "s3r", "s3://dvc/store", endpointurl=endpoint)
    roundtrip(repo, env)
    keys = [o["Key"] for o in client.list_objects_v2(Bucket="dvc")["Contents"]]
    assert len(keys) == 4 and all(k.startswith("store/files/md5/") for k in keys)
    assert "testing" not in (repo / ".dvc" / "config").read_text()  # no secret in the repo
