"""Who is asking: the client's address, from the socket's peer or, when that peer is a proxy
listed in FORWARDED_ALLOW_IPS, from the X-Forwarded-For header it adds."""

from __future__ import annotations

import ipaddress
import logging
from functools import lru_cache

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
logger = logging.getLogger(__name__)


@lru_cache(maxsize=8)
def trusted_networks(allowed: str) -> tuple[Network, ...]:
    """FORWARDED_ALLOW_IPS as networks: comma-separated addresses or networks, `*` for any
    peer; an entry that is neither is logged and skipped (never a failed request)."""
    networks: list[Network] = []
    for entry in (part.strip() for part in allowed.split(",")):
        if entry == "*":
            networks += [ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0")]
        elif entry:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                logger.warning("FORWARDED_ALLOW_IPS: %r is not an address or network", entry)
    return tuple(networks)


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(_bare(address))
    except ValueError:
        return False
    return any(ip.version == net.version and ip in net for net in networks)


def client_address(peer: str | None, forwarded_for: str | None, *, allowed: str) -> str | None:
    """The address that sent the request. X-Forwarded-For is believed only as far as it was
    written by trusted proxies: walking it from the right (each proxy appends the address it
    saw), the first address that is not a trusted proxy is the client. Without a trusted peer
    the header is ignored: anyone can send one."""
    networks = trusted_networks(allowed)
    peer = _bare(peer) if peer else peer
    if not peer or not networks or not _trusted(peer, networks):
        return peer or None
    hops = [_bare(hop) for hop in (forwarded_for or "").split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # a malformed entry: the proxy's own view is all we know
    return hops[0] if hops else peer


def _bare(hop: str) -> str:
    """An address as proxies write it, without a port or brackets: `[2001:db8::1]:443`,
    `203.0.113.9:5678`."""
    hop = hop.strip()
    if hop.startswith("["):
        return hop[1:].split("]", 1)[0]
    if hop.count(":") == 1:
        return hop.split(":", 1)[0]
    return hop


def network_of(address: str | None) -> str | None:
    """What throttles count as one client: an IPv4 address (IPv4-mapped IPv6 included), an
    IPv6 address's /64, or the text as it is when it is not an address."""
    if not address:
        return None
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def is_loopback(address: str | None) -> bool:
    """An address of this machine (127.0.0.0/8, ::1)."""
    try:
        return address is not None and ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False
