"""ClusterSpec hostfile parsing, hardware profiles and the request's cross-field rules."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from mist_ds.config import ClusterSpec, InterferenceFactor, TuneRequest, get_preset
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
    ],
)
def test_malformed_hostfiles_are_rejected(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ClusterSpec.from_hostfile_text(text)


def test_single_node_hostfile_text_is_localhost() -> None:
    assert ClusterSpec(num_nodes=1, gpus_per_node=4).hostfile_text() == "localhost slots=4\n"


def test_shipped_profiles_load() -> None:
    assert {"h100-sxm-80gb", "h200"} <= set(available_profiles())
    profile = load_hardware("h100-sxm-80gb")
    assert profile.gpu_memory_bytes > 70 * 2**30
    assert profile.provenance.source in ("datasheet", "measured")


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
