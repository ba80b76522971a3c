import pytest

from convecthub.images import ImageReference, parse_image, registries_of


@pytest.mark.parametrize(
    "reference, expected",
    [
        ("quay.io/jupyterhub/k8s-hub:4.4.0", ImageReference("quay.io", "jupyterhub/k8s-hub", "4.4.0")),
        ("registry:3.1.2", ImageReference("docker.io", "library/registry", "3.1.2")),
        ("traefik", ImageReference("docker.io", "library/traefik", "latest")),
        ("jupyterhub/k8s-hub:4.4.0", ImageReference("docker.io", "jupyterhub/k8s-hub", "4.4.0")),
        ("nvcr.io/nvidia/k8s-device-plugin:v0.20.0", ImageReference("nvcr.io", "nvidia/k8s-device-plugin", "v0.20.0")),
        ("localhost/thing:1", ImageReference("localhost", "thing", "1")),
        ("10.0.0.5:5000/team/img:2", ImageReference("10.0.0.5:5000", "team/img", "2")),
    ],
)
def test_references_split_like_containerd(reference, expected):
    assert parse_image(reference) == expected


def test_path_and_tag_is_what_the_mirror_serves():
    assert parse_image("quay.io/jupyterhub/k8s-hub:4.4.0").path_and_tag == "jupyterhub/k8s-hub:4.4.0"


def test_registries_of_a_set_of_images():
    images = ["quay.io/a/b:1", "registry:3", "nvcr.io/n/p:v1", "quay.io/c/d:2"]
    assert registries_of(images) == ["docker.io", "nvcr.io", "quay.io"]
