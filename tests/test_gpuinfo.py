"""mist_ds.gpuinfo.driver_version reads nvidia-smi's first line, and is empty where nvidia-smi fails."""

import os
import stat

from mist_ds.gpuinfo import driver_version


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
