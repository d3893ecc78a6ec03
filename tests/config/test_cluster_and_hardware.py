"""ClusterSpec hostfile parsing, hardware profiles and the request's cross-field rules."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from mist_ds.config import ClusterSpec, HardwareProfile, InterferenceFactor, TuneRequest, get_preset
from mist_ds.config.hardware import RETIRED_FIELDS
from mist_ds.config.profiles import available_profiles, load_hardware


def test_hostfile_parses_hosts_and_slots() -> None:
    text = "# cluster\nnode-a slots=8\n\nnode-b  slots = 8  # second\n"
    cluster = ClusterSpec.from_hostfile_text(text)
    assert (cluster.num_nodes, cluster.gpus_per_node, cluster.num_gpus) == (2, 8, 16)
    assert cluster.hosts == ("node-a", "node-b")
    assert ClusterSpec.from_hostfile_text(cluster.hostfile_text()) == cluster


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("node-a 8\n", "expected 'HOST slots=N'"),
        ("node-a slots=8\nnode-a slots=8\n", "listed twice"),
        ("node-a slots=8\nnode-b slots=4\n", "same positive slot count"),
        ("# nothing\n", "no hosts"),
        ("node-a slots=99999999999999999999\n", "above the limit of 1024 GPUs per node"),
        ("node-a slots=\u0663\n", "expected 'HOST slots=N'"),  # Arabic-Indic digit: not [0-9]
        ("-rf slots=8\n", "host name '-rf' is refused"),
        ("a;reboot slots=8\n", "is refused"),
        ("$(id) slots=8\n", "is refused"),
        ("node[1-4] slots=8\n", "is refused"),  # pdsh would read a host range
        ("node-a slots=0\n", "same positive slot count"),
    ],
)
def test_malformed_hostfiles_are_rejected(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ClusterSpec.from_hostfile_text(text)


def test_hostfile_host_count_is_capped() -> None:
    from mist_ds.config.cluster import MAX_NODES

    text = "".join(f"n{i} slots=1\n" for i in range(MAX_NODES + 1))
    with pytest.raises(ValueError, match=f"more than {MAX_NODES} hosts"):
        ClusterSpec.from_hostfile_text(text)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (dict(num_nodes=1, gpus_per_node=1025), "less than or equal to 1024"),
        (dict(num_nodes=65537, gpus_per_node=1), "less than or equal to 65536"),
        (dict(num_nodes=2048, gpus_per_node=1024), "above the limit of 1048576 GPUs"),
        (dict(num_nodes=1, gpus_per_node=8, hosts=("-oProxyCommand=x",)), "is refused"),
    ],
)
def test_cluster_caps_and_host_names(fields: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ClusterSpec(**fields)


def test_hostfile_reads_are_bounded(tmp_path) -> None:
    big = tmp_path / "hostfile"
    big.write_bytes(b"# " + b"x" * (16 * 1024**2) + b"\n")
    with pytest.raises(ValueError, match="larger than 16 MiB"):
        ClusterSpec.from_hostfile(big)
    with pytest.raises(ValueError, match="does not exist"):
        ClusterSpec.from_hostfile(tmp_path / "missing")
    (tmp_path / "bin").write_bytes(b"\xff\xfe slots=2\n")
    with pytest.raises(ValueError, match="not UTF-8"):
        ClusterSpec.from_hostfile(tmp_path / "bin")


def test_single_node_hostfile_text_is_localhost() -> None:
    assert ClusterSpec(num_nodes=1, gpus_per_node=4).hostfile_text() == "localhost slots=4\n"


def test_shipped_profiles_load() -> None:
    assert {"h100-sxm-80gb", "h200"} <= set(available_profiles())
    profile = load_hardware("h100-sxm-80gb")
    assert profile.gpu_memory_bytes > 70 * 2**30
    assert profile.provenance.source in ("datasheet", "measured")


def test_retired_fields_are_dropped_unknown_ones_rejected() -> None:
    # a profile calibrated before session 56 carries allocator_cache_fraction: it still loads, the same
    hw = load_hardware("h200-1gpu-node")
    data = hw.model_dump(mode="json")
    assert HardwareProfile.from_json_text(json.dumps({**data, "allocator_cache_fraction": 0.0191})) == hw
    assert set(RETIRED_FIELDS).isdisjoint(HardwareProfile.model_fields)
    with pytest.raises(ValidationError, match="allocator_cache_fractoin"):
        HardwareProfile.from_json_text(json.dumps({**data, "allocator_cache_fractoin": 0.0191}))


def test_unknown_profile_suggests() -> None:
    with pytest.raises(ValueError, match="did you mean"):
        load_hardware("h100-sxm")


def test_interference_needs_one_slowdown_per_channel() -> None:
    with pytest.raises(ValidationError, match="one slowdown per channel"):
        InterferenceFactor(channels=("compute", "nccl"), slowdowns=(1.2,))


def test_request_rejects_sequence_longer_than_model() -> None:
    with pytest.raises(ValidationError, match="exceeds"):
        TuneRequest(model=get_preset("gpt-1.3b"), cluster=ClusterSpec(num_nodes=1, gpus_per_node=2),
                    global_batch_size=32, seq_len=4096)
