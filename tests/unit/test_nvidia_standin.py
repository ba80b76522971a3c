"""The NVIDIA stand-in packages and their flat APT repository (dpkg-deb only, no Docker)."""

from __future__ import annotations

import gzip
import hashlib
import os
import subprocess

import pytest

from tests.standins.nvidia import apt_source_line, build_nvidia_standin_repo, deb

DRIVER_VERSION = "550.127.05-0ubuntu1+standin"
TOOLKIT_VERSION = "1.17.8-1+standin"
EXPECTED = {  # package -> (version, files it installs)
    "nvidia-headless-550-server": (DRIVER_VERSION, []),
    "nvidia-utils-550-server": (DRIVER_VERSION, ["/usr/bin/nvidia-smi"]),
    "nvidia-container-toolkit-base": (
        TOOLKIT_VERSION,
        ["/usr/bin/nvidia-container-runtime", "/usr/bin/nvidia-container-runtime.cdi", "/usr/bin/nvidia-ctk"],
    ),
    "nvidia-container-toolkit": (TOOLKIT_VERSION, ["/usr/bin/nvidia-container-runtime-hook"]),
}


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    return build_nvidia_standin_repo(tmp_path_factory.mktemp("nvidia-repo"))


def debs(repo):
    return {field(path, "Package"): path for path in repo.glob("*.deb")}


def field(deb_path, *names):
    """One field's value; with no name, the whole control file."""
    return subprocess.run(
        ["dpkg-deb", "--field", str(deb_path), *names], check=True, capture_output=True, text=True
    ).stdout.strip()


def installed_files(deb_path, kind="-"):
    """(path, mode string, owner) of each entry of a kind ("-" file, "d" directory) in the package."""
    listing = subprocess.run(
        ["dpkg-deb", "--contents", str(deb_path)], check=True, capture_output=True, text=True
    ).stdout
    rows = [line.split() for line in listing.splitlines()]
    return [(row[5].lstrip("."), row[0], row[1]) for row in rows if row[0].startswith(kind)]


def maintainer_script(deb_path, name):
    run = subprocess.run(["dpkg-deb", "--info", str(deb_path), name], capture_output=True, text=True)
    return run.stdout if run.returncode == 0 else None


def paragraphs(text):
    """deb822 paragraphs as dicts; a continued field keeps its lines joined by newlines."""
    result, current, key = [], {}, None
    for line in text.splitlines():
        if not line.strip():
            if current:
                result.append(current)
            current = {}
        elif line.startswith(" "):
            current[key] = (current[key] + "\n" + line[1:]).lstrip("\n")
        else:
            key, _, value = line.partition(":")
            current[key] = value.strip()
    if current:
        result.append(current)
    return result


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_real_package_names_at_standin_versions_for_amd64(repo):
    packages = debs(repo)

    assert sorted(packages) == sorted(EXPECTED)
    for name, (version, _) in EXPECTED.items():
        assert field(packages[name], "Version") == version
        assert field(packages[name], "Architecture") == "amd64"
        assert packages[name].name == f"{name}_{version}_amd64.deb"


def test_every_package_says_it_is_a_standin_and_not_nvidia_software(repo):
    for deb_path in debs(repo).values():
        assert field(deb_path, "Maintainer").startswith("ConvectHub tests (STAND-IN)")
        summary = field(deb_path, "Description").splitlines()[0]
        assert summary.startswith("STAND-IN for ") and "not NVIDIA software" in summary


def test_each_package_installs_its_programs_executable_and_root_owned(repo):
    packages = debs(repo)

    for name, (_, files) in EXPECTED.items():
        assert installed_files(packages[name]) == [(path, "-rwxr-xr-x", "root/root") for path in files]


def test_every_installed_program_says_it_is_a_standin(repo, tmp_path):
    for deb_path in debs(repo).values():
        subprocess.run(["dpkg-deb", "--extract", str(deb_path), str(tmp_path)], check=True)

    programs = sorted(tmp_path.glob("usr/bin/*"))
    assert [f"/usr/bin/{p.name}" for p in programs] == sorted(f for _, files in EXPECTED.values() for f in files)
    for program in programs:
        text = program.read_text()
        assert text.startswith("#!/bin/sh\n# STAND-IN for ") and "not NVIDIA software" in text, program


def test_a_restrictive_umask_does_not_reach_the_packages(tmp_path):
    previous = os.umask(0o077)
    try:
        repo = build_nvidia_standin_repo(tmp_path)
    finally:
        os.umask(previous)

    for deb_path in repo.glob("*.deb"):
        assert {mode for _, mode, _ in installed_files(deb_path, "d")} == {"drwxr-xr-x"}, deb_path.name
        assert {mode for _, mode, _ in installed_files(deb_path)} <= {"-rwxr-xr-x"}, deb_path.name


def test_only_the_driver_has_maintainer_scripts_and_its_postinst_asks_for_a_reboot(repo):
    packages = debs(repo)
    postinst = maintainer_script(packages["nvidia-headless-550-server"], "postinst")

    assert postinst.startswith("#!/bin/sh")
    assert "/proc/sys/kernel/random/boot_id" in postinst and "installed-boot-id" in postinst
    assert "reboot-required.pkgs" in postinst and '"nvidia-headless-550-server"' in postinst
    assert maintainer_script(packages["nvidia-headless-550-server"], "postrm")
    for name in set(EXPECTED) - {"nvidia-headless-550-server"}:
        assert maintainer_script(packages[name], "postinst") is None
        assert maintainer_script(packages[name], "postrm") is None


def test_the_toolkit_depends_on_its_base_at_the_same_version(repo):
    packages = debs(repo)

    assert (
        field(packages["nvidia-container-toolkit"], "Depends") == f"nvidia-container-toolkit-base (= {TOOLKIT_VERSION})"
    )


def test_packages_index_lists_each_deb_with_its_control_fields_size_and_hashes(repo):
    stanzas = {stanza["Package"]: stanza for stanza in paragraphs((repo / "Packages").read_text())}

    assert sorted(stanzas) == sorted(EXPECTED)
    for name, deb_path in debs(repo).items():
        stanza = stanzas[name]
        data = deb_path.read_bytes()
        assert stanza["Filename"] == f"./{deb_path.name}"
        assert int(stanza["Size"]) == len(data)
        assert stanza["SHA256"] == hashlib.sha256(data).hexdigest()
        assert stanza["MD5sum"] == hashlib.md5(data).hexdigest()
        control = paragraphs(field(deb_path))[0]  # the package's whole control file
        assert {key: stanza.get(key) for key in control} == control


def test_packages_gz_holds_the_same_index(repo):
    assert gzip.decompress((repo / "Packages.gz").read_bytes()) == (repo / "Packages").read_bytes()


def test_release_hashes_and_sizes_match_both_index_files(repo):
    (release,) = paragraphs((repo / "Release").read_text())

    for section, algorithm in (("MD5Sum", "md5"), ("SHA1", "sha1"), ("SHA256", "sha256")):
        listed = {
            name: (digest, int(size)) for digest, size, name in (line.split() for line in release[section].splitlines())
        }
        assert listed == {
            name: (hashlib.new(algorithm, (repo / name).read_bytes()).hexdigest(), (repo / name).stat().st_size)
            for name in ("Packages", "Packages.gz")
        }
    assert "Suite" not in release and "Codename" not in release  # flat: apt would compare them


def test_the_same_inputs_give_byte_identical_packages(repo, tmp_path):
    again = build_nvidia_standin_repo(tmp_path)

    assert {p.name: sha256(p) for p in again.glob("*.deb")} == {p.name: sha256(p) for p in repo.glob("*.deb")}
    assert (again / "Release").read_bytes() == (repo / "Release").read_bytes()


def test_a_second_build_with_the_same_inputs_reuses_the_directory(tmp_path, monkeypatch):
    first = build_nvidia_standin_repo(tmp_path)
    monkeypatch.setattr(deb, "build_deb", _must_not_build)

    assert build_nvidia_standin_repo(tmp_path) == first == tmp_path.resolve()


def test_another_driver_branch_replaces_the_previous_build(tmp_path):
    build_nvidia_standin_repo(tmp_path)

    build_nvidia_standin_repo(tmp_path, driver_version="570")

    names = sorted(stanza["Package"] for stanza in paragraphs((tmp_path / "Packages").read_text()))
    assert names == [
        "nvidia-container-toolkit",
        "nvidia-container-toolkit-base",
        "nvidia-headless-570-server",
        "nvidia-utils-570-server",
    ]
    assert len(list(tmp_path.glob("*.deb"))) == 4
    assert field(next(tmp_path.glob("nvidia-utils-570-server_*.deb")), "Version") == "570.0.0-0ubuntu1+standin"


@pytest.mark.parametrize("damage", ["marker", "index"])
def test_a_changed_recipe_or_missing_file_rebuilds(tmp_path, damage):
    build_nvidia_standin_repo(tmp_path)
    if damage == "marker":
        (tmp_path / ".standin-recipe").write_text("an older recipe\n")
    else:
        (tmp_path / "Packages.gz").unlink()

    build_nvidia_standin_repo(tmp_path)

    assert (tmp_path / "Packages.gz").is_file()
    assert (tmp_path / ".standin-recipe").read_text() != "an older recipe\n"


def test_a_driver_branch_must_be_digits(tmp_path):
    with pytest.raises(ValueError, match="digits"):
        build_nvidia_standin_repo(tmp_path, driver_version="550-server")


def test_apt_source_line():
    assert apt_source_line("10.0.0.2", 8088) == "deb [trusted=yes] http://10.0.0.2:8088/ ./"


def _must_not_build(*args, **kwargs):
    raise AssertionError("rebuilt a repository that was already built from the same recipe")
