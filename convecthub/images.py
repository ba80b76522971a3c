"""Container image references: which registry an image comes from, and where
it lives in the private registry that mirrors them all."""

from dataclasses import dataclass

DEFAULT_REGISTRY = "docker.io"


@dataclass(frozen=True)
class ImageReference:
    registry: str  # quay.io, docker.io, registry.k8s.io, nvcr.io ...
    repository: str  # jupyterhub/k8s-hub, library/registry
    tag: str

    @property
    def path_and_tag(self) -> str:
        """How the image is pushed to (and pulled through) the mirror."""
        return f"{self.repository}:{self.tag}"


def parse_image(reference: str) -> ImageReference:
    """Split `quay.io/jupyterhub/k8s-hub:4.4.0` the way containerd does: the
    first component is a registry only if it has a dot or a port or is
    `localhost`; short names are Docker Hub's, under `library/`."""
    name, _, digest = reference.partition("@")
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = name.rsplit(":", 1)
    else:
        tag = "latest" if not digest else digest
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        registry, repository = first, rest
    else:
        registry, repository = DEFAULT_REGISTRY, name
    if registry == DEFAULT_REGISTRY and "/" not in repository:
        repository = f"library/{repository}"
    return ImageReference(registry, repository, tag)


def registries_of(images) -> list:
    """The registries a set of image references comes from, sorted."""
    return sorted({parse_image(image).registry for image in images})
