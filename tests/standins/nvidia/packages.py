"""What each stand-in package holds: the real package names, STAND-IN contents.

The names are Ubuntu's driver packages (`nvidia-headless-<branch>-server`,
`nvidia-utils-<branch>-server`) and NVIDIA's container toolkit
(`nvidia-container-toolkit`, `nvidia-container-toolkit-base`), so the deploy
installs exactly what it would install from a real mirror. The files are shell
scripts from scripts/, each saying it is a stand-in.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

SCRIPTS = Path(__file__).parent / "scripts"
MAINTAINER = "ConvectHub tests (STAND-IN) <standin@convecthub.invalid>"
ARCHITECTURE = "amd64"  # the real packages' architecture, and the lab's
# The driver release each branch imitates; a branch not listed gets "<branch>.0.0".
DRIVER_RELEASES = {"550": "550.127.05"}
TOOLKIT_RELEASE = "1.17.8"
TOOLKIT_VERSION = f"{TOOLKIT_RELEASE}-1+standin"


@dataclass(frozen=True)
class PackageFile:
    path: str  # where it is installed, absolute
    content: str
    mode: int = 0o755


@dataclass(frozen=True)
class PackageSpec:
    name: str
    version: str
    summary: str
    files: tuple[PackageFile, ...] = ()
    maintainer_scripts: tuple[tuple[str, str], ...] = ()  # (postinst|postrm, content)
    depends: tuple[str, ...] = ()

    @property
    def deb_filename(self) -> str:
        return f"{self.name}_{self.version}_{ARCHITECTURE}.deb"

    def control(self) -> str:
        """The DEBIAN/control file."""
        fields = {
            "Package": self.name,
            "Version": self.version,
            "Architecture": ARCHITECTURE,
            "Maintainer": MAINTAINER,
            "Installed-Size": str(sum(math.ceil(len(f.content.encode()) / 1024) for f in self.files)),
            "Depends": ", ".join(self.depends),
            "Section": "misc",
            "Priority": "optional",
            "Description": f"{self.summary}\n{_DESCRIPTION_BODY}",
        }
        return "".join(f"{key}: {value}\n" for key, value in fields.items() if value)


_DESCRIPTION_BODY = (
    " STAND-IN made by ConvectHub's tests (tests/standins/nvidia); this is not\n"
    " NVIDIA software. It has the real package's name and the files the deploy\n"
    " and K3s look for, as shell scripts; it has no driver and drives no GPU."
)


def standin_packages(driver_branch: str = "550") -> list[PackageSpec]:
    """The four stand-in packages for a driver branch such as "550"."""
    if not driver_branch.isdigit():
        raise ValueError(f"driver branch must be digits like '550', not {driver_branch!r}")
    driver_release = DRIVER_RELEASES.get(driver_branch, f"{driver_branch}.0.0")
    driver_version = f"{driver_release}-0ubuntu1+standin"
    return [
        _driver(driver_branch, driver_version),
        _utils(driver_branch, driver_release, driver_version),
        _toolkit_base(),
        _toolkit(),
    ]


def _driver(branch: str, version: str) -> PackageSpec:
    name = f"nvidia-headless-{branch}-server"
    values = {"PACKAGE": name, "VERSION": version}
    return PackageSpec(
        name=name,
        version=version,
        summary=f"STAND-IN for the NVIDIA {branch} server driver (not NVIDIA software)",
        maintainer_scripts=(
            ("postinst", render_script("driver-postinst", **values)),
            ("postrm", render_script("driver-postrm", **values)),
        ),
    )


def _utils(branch: str, release: str, version: str) -> PackageSpec:
    name = f"nvidia-utils-{branch}-server"
    smi = render_script("nvidia-smi", PACKAGE=name, VERSION=version, UPSTREAM_VERSION=release)
    return PackageSpec(
        name=name,
        version=version,
        summary=f"STAND-IN for the NVIDIA {branch} server driver utilities (not NVIDIA software)",
        files=(PackageFile("/usr/bin/nvidia-smi", smi),),
    )


def _toolkit_base() -> PackageSpec:
    name = "nvidia-container-toolkit-base"
    values = {"PACKAGE": name, "VERSION": TOOLKIT_VERSION, "UPSTREAM_VERSION": TOOLKIT_RELEASE}
    return PackageSpec(
        name=name,
        version=TOOLKIT_VERSION,
        summary="STAND-IN for NVIDIA Container Toolkit base (not NVIDIA software)",
        files=(
            _program("nvidia-container-runtime", "container-runtime", values),
            _program("nvidia-container-runtime.cdi", "container-runtime", values),
            _program("nvidia-ctk", "unimplemented", values),
        ),
    )


def _toolkit() -> PackageSpec:
    name = "nvidia-container-toolkit"
    values = {"PACKAGE": name, "VERSION": TOOLKIT_VERSION, "UPSTREAM_VERSION": TOOLKIT_RELEASE}
    return PackageSpec(
        name=name,
        version=TOOLKIT_VERSION,
        summary="STAND-IN for NVIDIA Container Toolkit (not NVIDIA software)",
        files=(_program("nvidia-container-runtime-hook", "unimplemented", values),),
        depends=(f"nvidia-container-toolkit-base (= {TOOLKIT_VERSION})",),
    )


def _program(name: str, template: str, values: dict[str, str]) -> PackageFile:
    return PackageFile(f"/usr/bin/{name}", render_script(template, NAME=name, **values))


def render_script(template: str, **values: str) -> str:
    """scripts/<template> with each @KEY@ replaced by values[KEY]."""
    text = (SCRIPTS / template).read_text()
    for key, value in values.items():
        text = text.replace(f"@{key}@", value)
    leftover = re.findall(r"@[A-Z_]+@", text)
    if leftover:
        raise ValueError(f"scripts/{template}: no value for {sorted(set(leftover))}")
    return text
