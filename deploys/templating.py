"""Templates live in deploys/templates/, next to the deploys that render them."""

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

_environment = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


def render(template: str, **values) -> str:
    return _environment.get_template(template).render(**values)
