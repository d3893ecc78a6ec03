"""ClusterSpec: nodes x GPUs per node, optionally read from a DeepSpeed hostfile."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field, model_validator

from mist_ds.config.base import StrictModel

_HOSTFILE_LINE = re.compile(r"^(?P<host>\S+)\s+slots\s*=\s*(?P<slots>[0-9]+)\s*$")
# Host names reach remote shells unquoted: DeepSpeed's pdsh runner joins `-w host,host` and
# `--master_addr=HOST` into one ssh command line (launcher/multinode_runner.py PDSHRunner.get_cmd),
# and pdsh reads '[1-3]' as a host range. So only letters, digits and '_.:-' (IPv6 needs ':'),
# starting with a letter or digit (a leading '-' would be read as an option), at most 253 characters
# (the DNS limit).
SAFE_HOST = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-]{0,252}")

# Caps that keep every request's work bounded (the search enumerates divisors of these numbers and
# writes one hostfile line per node). The largest training clusters reported so far have
# ~100,000 GPUs on ~12,500 8-GPU nodes: 2**20 GPUs and 65,536 nodes leave ~10x headroom; no server
# has more than 16 GPUs and an NVLink domain is at most 576 (NVL576), below 1,024.
MAX_NODES = 65_536
MAX_GPUS_PER_NODE = 1_024
MAX_GPUS = 2**20


class ClusterSpec(StrictModel):
    """A homogeneous GPU cluster."""

    num_nodes: int = Field(ge=1, le=MAX_NODES)
    """Number of nodes (at most MAX_NODES)."""
    gpus_per_node: int = Field(ge=1, le=MAX_GPUS_PER_NODE)
    """GPUs on every node (DeepSpeed 'slots'; at most MAX_GPUS_PER_NODE)."""
    hosts: tuple[str, ...] = ()
    """Host names in hostfile order (shell-safe: SAFE_HOST); empty means a single local node."""

    @model_validator(mode="after")
    def _gpus_within_cap(self) -> ClusterSpec:
        if self.num_gpus > MAX_GPUS:
            raise ValueError(f"{self.num_nodes} nodes x {self.gpus_per_node} GPUs = {self.num_gpus} GPUs "
                             f"is above the limit of {MAX_GPUS} GPUs")
        return self

    @model_validator(mode="after")
    def _hosts_match_nodes(self) -> ClusterSpec:
        if self.hosts and len(self.hosts) != self.num_nodes:
            raise ValueError(f"{len(self.hosts)} hosts listed but num_nodes is {self.num_nodes}")
        if len(set(self.hosts)) != len(self.hosts):
            raise ValueError("a host is listed twice")
        return self

    @model_validator(mode="after")
    def _hosts_are_shell_safe(self) -> ClusterSpec:
        for host in self.hosts:
            check_host_name(host)
        return self

    @property
    def num_gpus(self) -> int:
        """Total GPUs in the cluster."""
        return self.num_nodes * self.gpus_per_node

    def host_names(self) -> tuple[str, ...]:
        """Hosts to write into a hostfile ('localhost' for an unnamed single node)."""
        if self.hosts:
            return self.hosts
        if self.num_nodes == 1:
            return ("localhost",)
        return tuple(f"worker-{i}" for i in range(self.num_nodes))

    def hostfile_text(self) -> str:
        """DeepSpeed hostfile contents ('host slots=N' per line)."""
        return "".join(f"{host} slots={self.gpus_per_node}\n" for host in self.host_names())

    @classmethod
    def from_hostfile(cls, path: str | Path) -> ClusterSpec:
        """Parse a DeepSpeed hostfile; every host must have the same number of slots."""
        from mist_ds.fileio import read_text_bounded

        return cls.from_hostfile_text(read_text_bounded(path, "hostfile"), str(path))

    @classmethod
    def from_hostfile_text(cls, text: str, origin: str = "hostfile") -> ClusterSpec:
        """Parse hostfile text; `origin` names it in error messages."""
        hosts: dict[str, int] = {}
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            match = _HOSTFILE_LINE.match(line)
            if not match:
                raise ValueError(f"{origin}:{number}: expected 'HOST slots=N', got '{_shorten(raw)}'")
            host, slots = match["host"], match["slots"]
            try:
                check_host_name(host)
            except ValueError as err:
                raise ValueError(f"{origin}:{number}: {err}") from None
            if host in hosts:
                raise ValueError(f"{origin}:{number}: host '{host}' is listed twice")
            if len(slots.lstrip("0")) > len(str(MAX_GPUS_PER_NODE)) or int(slots) > MAX_GPUS_PER_NODE:
                raise ValueError(f"{origin}:{number}: slots={_shorten(slots)} is above the limit of "
                                 f"{MAX_GPUS_PER_NODE} GPUs per node")
            hosts[host] = int(slots)
            if len(hosts) > MAX_NODES:
                raise ValueError(f"{origin}: more than {MAX_NODES} hosts")
        if not hosts:
            raise ValueError(f"{origin}: no hosts found")
        counts = sorted(set(hosts.values()))
        if len(counts) != 1 or counts[0] < 1:
            raise ValueError(f"{origin}: every host needs the same positive slot count, got "
                             f"{', '.join(map(str, counts[:5]))}{' ...' if len(counts) > 5 else ''}")
        return cls(num_nodes=len(hosts), gpus_per_node=counts[0], hosts=tuple(hosts))


def check_host_name(host: str) -> None:
    """Raise a one-line ValueError unless `host` is a shell-safe host name (SAFE_HOST)."""
    if not SAFE_HOST.fullmatch(host):
        raise ValueError(
            f"host name '{_shorten(host)}' is refused: use letters, digits and '_.:-', starting with a "
            "letter or digit (DeepSpeed's pdsh runner passes host names unquoted to remote shells)")


def _shorten(text: str, limit: int = 60) -> str:
    """`text` stripped and cut to `limit` characters for an error message."""
    text = text.strip()
    return text if len(text) <= limit else text[:limit] + "..."
