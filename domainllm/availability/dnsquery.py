"""A minimal DNS NS query over UDP (RFC 1035), the fallback where RDAP lists no server.

No dnspython in the environment, and the answer needed is one bit: does the name exist in DNS?
NXDOMAIN (the TLD's SOA in the authority section) means no delegation: very likely free.
NOERROR (NS records, or the name exists without them) means registered. Anything else, or no
answer in time, is unknown.
"""

from __future__ import annotations

import asyncio
import secrets
import struct
from pathlib import Path

NS, IN = 2, 1
NOERROR, NXDOMAIN = 0, 3


def system_resolver(resolv_conf: Path = Path("/etc/resolv.conf")) -> tuple[str, int] | None:
    """The first ``nameserver`` of resolv.conf, or None."""
    try:
        for line in resolv_conf.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0] == "nameserver":
                return parts[1], 53
    except OSError:
        pass
    return None


def parse_server(text: str) -> tuple[str, int]:
    """'127.0.0.1:5353' -> ('127.0.0.1', 5353); a bare host gets port 53."""
    host, _, port = text.rpartition(":") if text.count(":") == 1 else (text, "", "")
    if not host or not (port or "53").isdigit() or not 0 < int(port or 53) < 65536:
        raise ValueError(f"'{text}' is not host[:port] (e.g. 127.0.0.1:5353)")
    return host, int(port or 53)


def encode_query(qid: int, name: str, qtype: int = NS) -> bytes:
    """A recursion-desired query for one name and type."""
    header = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    qname = b"".join(bytes([len(p)]) + p.encode("ascii") for p in name.strip(".").split("."))
    return header + qname + b"\x00" + struct.pack(">HH", qtype, IN)


def rcode_of(reply: bytes, qid: int) -> int | None:
    """The response code of ``reply`` to query ``qid``; None if it is not that reply."""
    if len(reply) < 12:
        return None
    rid, flags = struct.unpack(">HH", reply[:4])
    if rid != qid or not flags & 0x8000:  # wrong id, or not a response (QR bit)
        return None
    return flags & 0x000F


class _Reply(asyncio.DatagramProtocol):
    def __init__(self, qid: int, fut: asyncio.Future[bytes]) -> None:
        self.qid, self.fut = qid, fut

    def datagram_received(self, data: bytes, addr: object) -> None:
        if rcode_of(data, self.qid) is not None and not self.fut.done():
            self.fut.set_result(data)

    def error_received(self, exc: Exception) -> None:
        if not self.fut.done():
            self.fut.set_exception(exc)


async def ns_exists(domain: str, server: tuple[str, int], timeout_s: float) -> bool | None:
    """True if ``domain`` exists in DNS, False on NXDOMAIN, None when unknown or no answer."""
    loop = asyncio.get_running_loop()
    qid = secrets.randbelow(0x10000)
    fut: asyncio.Future[bytes] = loop.create_future()
    try:
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Reply(qid, fut), remote_addr=server
        )
    except OSError:
        return None
    try:
        transport.sendto(encode_query(qid, domain))
        reply = await asyncio.wait_for(fut, timeout_s)
    except (TimeoutError, OSError):
        return None
    finally:
        transport.close()
    code = rcode_of(reply, qid)
    return {NOERROR: True, NXDOMAIN: False}.get(code) if code is not None else None
