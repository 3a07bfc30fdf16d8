"""The RDAP bootstrap (RFC 9224): which RDAP server answers for which TLD.

Where the file comes from, first found wins: ``$DOMAINLLM_RDAP_BOOTSTRAP`` (a path to a file in
IANA's format: tests, a private mirror, an air-gapped user), the copy ``domainllm
availability-refresh`` downloaded into the user cache folder, else the subset shipped as
``domainllm/availability/dns.json``.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from domainllm.params import UserError

ENV_VAR = "DOMAINLLM_RDAP_BOOTSTRAP"
IANA_URL = "https://data.iana.org/rdap/dns.json"
SHIPPED = Path(__file__).resolve().parent / "dns.json"


def cache_dir() -> Path:
    """The user cache folder (``$XDG_CACHE_HOME/domainllm``, else ``~/.cache/domainllm``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "domainllm"


def refreshed_path() -> Path:
    """Where ``availability-refresh`` writes by default (and where loading looks for it)."""
    return cache_dir() / "rdap-dns.json"


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename: readers never see half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class Bootstrap:
    """Suffix -> RDAP base URLs (lower case, no leading dot), with where it was read from."""

    servers: dict[str, tuple[str, ...]]
    publication: str
    source: str

    @classmethod
    def parse(cls, data: Any, source: str) -> Bootstrap:
        """Validate IANA's format: ``{"services": [[[tld, ...], [url, ...]], ...], ...}``."""
        if not isinstance(data, dict) or not isinstance(data.get("services"), list):
            raise ValueError("not an RDAP bootstrap file (no 'services' list)")
        servers: dict[str, tuple[str, ...]] = {}
        for i, entry in enumerate(data["services"]):
            ok = isinstance(entry, list) and len(entry) == 2
            if not ok or not all(isinstance(x, list) for x in entry):
                raise ValueError(f"services[{i}] is not [[tlds...], [urls...]]")
            urls = tuple(u for u in entry[1] if isinstance(u, str) and u.startswith("http"))
            # RFC 9224 section 3: prefer HTTPS where a service lists both
            urls = tuple(sorted(urls, key=lambda u: not u.startswith("https:")))
            for tld in entry[0]:
                if isinstance(tld, str) and urls:
                    servers[tld.lower().strip(".")] = urls
        return cls(servers, str(data.get("publication", "")), source)

    @classmethod
    def read(cls, path: Path, what: str) -> Bootstrap:
        """Read a bootstrap file; a missing or broken one is a one-line UserError naming it."""
        try:
            return cls.parse(json.loads(path.read_text(encoding="utf-8")), str(path))
        except FileNotFoundError:
            raise UserError(f"{what} {path}: file not found") from None
        except (OSError, ValueError) as exc:  # JSONDecodeError is a ValueError
            raise UserError(f"{what} {path}: {str(exc).splitlines()[0]}") from None

    @classmethod
    def load(cls) -> Bootstrap:
        """The environment's file, else the refreshed copy, else the shipped subset."""
        env = os.environ.get(ENV_VAR)
        if env:
            return cls.read(Path(env), ENV_VAR)
        if refreshed_path().is_file():
            return cls.read(refreshed_path(), "refreshed bootstrap")
        return cls.read(SHIPPED, "shipped bootstrap")

    def base_url(self, domain: str) -> str | None:
        """The RDAP base URL for ``domain`` by its longest listed suffix (``co.uk`` before
        ``uk``), or None when no server is listed (then DNS is asked instead)."""
        labels = domain.lower().strip(".").split(".")
        for i in range(1, len(labels)):
            urls = self.servers.get(".".join(labels[i:]))
            if urls:
                return urls[0] if urls[0].endswith("/") else urls[0] + "/"
        return None


def refresh(url: str, out: Path, timeout_s: float = 30.0) -> Bootstrap:
    """Download a bootstrap file (IANA's by default), check it parses, write it atomically."""
    import httpx

    keep = "the old file stays in use"
    try:
        r = httpx.get(url, timeout=timeout_s, follow_redirects=True)
    except httpx.HTTPError as exc:
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"--url {url}: download failed ({why}); {keep}") from None
    if r.status_code != 200:
        raise UserError(f"--url {url}: HTTP {r.status_code}; {keep}")
    try:
        boot = Bootstrap.parse(r.json(), url)
    except ValueError as exc:
        raise UserError(f"--url {url}: {str(exc).splitlines()[0]}; {keep}") from None
    atomic_write(out, r.text)
    return Bootstrap(boot.servers, boot.publication, str(out))
