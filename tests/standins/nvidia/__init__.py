"""STAND-IN NVIDIA driver and container toolkit packages in a flat APT repository.

NVIDIA's packages cannot be downloaded here; these have the real names and the
files the deploy and K3s look for (docs/standins-nvidia.md).
"""

from tests.standins.nvidia.repo import apt_source_line, build_nvidia_standin_repo

__all__ = ["apt_source_line", "build_nvidia_standin_repo"]
