"""mist_ds.gpuinfo: driver_version and local_gpu_name read nvidia-smi's first line (empty / None where it
fails); hardware_arg resolves `--hardware auto` to the shipped profile of this node's GPU and cores."""

import os
import stat
import sys

import pytest

from mist_ds import gpuinfo
from mist_ds.gpuinfo import driver_version, hardware_arg, local_gpu_name


def _fake_smi(tmp_path, body: str) -> str:
    smi = tmp_path / "nvidia-smi"
    smi.write_text("#!/bin/sh\n" + body + "\n")
    smi.chmod(smi.stat().st_mode | stat.S_IEXEC)
    return str(tmp_path)


def test_first_gpu_line(tmp_path, monkeypatch):
    fake = _fake_smi(tmp_path, "printf '580.159.04\\n580.159.04\\n'")
    monkeypatch.setenv("PATH", fake + os.pathsep + os.environ["PATH"])
    assert driver_version() == "580.159.04"


def test_failing_or_absent_nvidia_smi_gives_empty(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", _fake_smi(tmp_path, "echo 'NVIDIA-SMI has failed'; exit 9"))
    assert driver_version() == ""
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    assert driver_version() == ""


def test_gpu_name_is_nvidia_smis_first_line(tmp_path, monkeypatch):
    fake = _fake_smi(tmp_path, "printf 'NVIDIA H200\\nNVIDIA H200\\n'")
    monkeypatch.setenv("PATH", fake + os.pathsep + os.environ["PATH"])
    assert local_gpu_name() == "NVIDIA H200"


def test_no_nvidia_smi_and_no_torch_means_no_gpu(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    monkeypatch.setitem(sys.modules, "torch", None)     # import torch raises ImportError
    assert local_gpu_name() is None


def _node(monkeypatch, gpu, cores):
    monkeypatch.setattr(gpuinfo, "local_gpu_name", lambda: gpu)
    monkeypatch.setattr(gpuinfo, "host_cpu_cores", lambda: cores)


@pytest.mark.parametrize("cores, profile", [(16, "h200-1gpu-node"), (32, "h200"), (64, "h200")])
def test_auto_is_the_profile_of_this_nodes_card_and_cores(monkeypatch, cores, profile):
    _node(monkeypatch, "NVIDIA H200", cores)
    assert hardware_arg("auto") == profile


def test_a_named_profile_passes_through_without_looking_at_the_node(monkeypatch):
    _node(monkeypatch, None, 16)
    assert hardware_arg("h100-sxm-80gb") == "h100-sxm-80gb"


@pytest.mark.parametrize("gpu, fragment", [(None, "no GPU visible"), ("NVIDIA A100-SXM4-80GB", "'NVIDIA A100")])
def test_auto_without_a_shipped_profile_says_what_to_do(monkeypatch, gpu, fragment):
    _node(monkeypatch, gpu, 16)
    with pytest.raises(ValueError, match="--hardware auto") as err:
        hardware_arg("auto")
    assert fragment in str(err.value) and "python -m mist_ds.profile" in str(err.value)


@pytest.mark.parametrize(("text", "expected"), [("48M\n", 48 * 2**20), ("49152K", 48 * 2**20), ("1G", 2**30),
                                               ("12345", 12345), ("0K", None), ("big", None), ("", None)])
def test_l3_size_as_sysfs_writes_it(tmp_path, text, expected):
    size_file = tmp_path / "size"
    size_file.write_text(text)
    assert gpuinfo.host_l3_bytes(str(size_file)) == expected
    assert gpuinfo.host_l3_bytes(str(tmp_path / "absent")) is None


def test_cpu_model_is_the_first_model_name_line():
    model = gpuinfo.host_cpu_model()
    assert isinstance(model, str) and model == model.strip()
    if sys.platform == "linux":
        with open("/proc/cpuinfo") as info:
            names = [line.split(":", 1)[1].strip() for line in info if line.startswith("model name")]
        assert not names or model == " ".join(names[0].split())
