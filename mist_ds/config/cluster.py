"""ClusterSpec: nodes x GPUs per node, optionally read from a DeepSpeed hostfile."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field, model_validator

from mist_ds.config.base import StrictModel

_HOSTFILE_LINE = re.compile(r"^(?P<host>[A-Za-z0-9_.\-:\[\]]+)\s+slots\s*=\s*(?P<slots>\d+)\s*$")


class ClusterSpec(StrictModel):
    """A homogeneous GPU cluster."""

    num_nodes: int = Field(ge=1)
    """Number of nodes."""
    gpus_per_node: int = Field(ge=1)
    """GPUs on every node (DeepSpeed 'slots')."""
    hosts: tuple[str, ...] = ()
    """Host names in hostfile order; empty means a single local node ('localhost')."""

    @model_validator(mode="after")
    def _hosts_match_nodes(self) -> ClusterSpec:
        if self.hosts and len(self.hosts) != self.num_nodes:
            raise ValueError(f"{len(self.hosts)} hosts listed but num_nodes is {self.num_nodes}")
        if len(set(self.hosts)) != len(self.hosts):
            raise ValueError("a host is listed twice")
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
        path = Path(path)
        try:
            text = path.read_text()
        except OSError as err:
            raise ValueError(f"cannot read hostfile {path}: {err.strerror}") from None
        return cls.from_hostfile_text(text, str(path))

    @classmethod
    def from_hostfile_text(cls, text: str, origin: str = "hostfile") -> ClusterSpec:
        """Parse hostfile text; `origin` names it in error messages."""
        hosts: list[str] = []
        slots: list[int] = []
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            match = _HOSTFILE_LINE.match(line)
            if not match:
                raise ValueError(f"{origin}:{number}: expected 'HOST slots=N', got '{raw.strip()}'")
            if match["host"] in hosts:
                raise ValueError(f"{origin}:{number}: host '{match['host']}' is listed twice")
            hosts.append(match["host"])
            slots.append(int(match["slots"]))
        if not hosts:
            raise ValueError(f"{origin}: no hosts found")
        if len(set(slots)) != 1 or slots[0] < 1:
            raise ValueError(f"{origin}: every host needs the same positive slot count, got {slots}")
        return cls(num_nodes=len(hosts), gpus_per_node=slots[0], hosts=tuple(hosts))
