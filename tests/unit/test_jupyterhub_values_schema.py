"""The operator's JupyterHub values against the chart's values.schema.json,
on the provisioner, before any host changes (docs/contracts.md section 3):
what `helm install` would refuse on the cluster is refused here, every error
at once, each naming its key. The schema's rules are Zero to JupyterHub
4.4.0's, as the stand-in chart carries them (tests/standins/chart.py)."""

from types import SimpleNamespace

import pytest

from convecthub.cluster.json_schema import schema_errors
from convecthub.cluster.jupyterhub_values import chart_defaults_and_schema, our_values
from convecthub.cluster.provisioner import JupyterHubValuesRefused, operator_values
from tests.standins.chart import write_standin_chart

IMAGES = {
    "jupyterhub-hub": "quay.io/jupyterhub/k8s-hub:4.4.0",
    "jupyterhub-proxy": "quay.io/jupyterhub/configurable-http-proxy:5.2.0",
    "jupyterhub-singleuser": "quay.io/jupyterhub/k8s-singleuser-sample:4.4.0",
}


@pytest.fixture(scope="module")
def chart(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("chart") / "jupyterhub-4.4.0.tgz"
    return write_standin_chart(path, version="4.4.0", images=IMAGES).read_bytes()


def values_from(tmp_path, chart, text, gpu=False):
    path = tmp_path / "jupyterhub.yaml"
    path.write_text(text)
    data = SimpleNamespace(jhub_config_path=str(path))
    return operator_values(data, SimpleNamespace(cwd=str(tmp_path)), our_values(IMAGES, gpu=gpu), chart)


def refusal(tmp_path, chart, text) -> str:
    with pytest.raises(JupyterHubValuesRefused) as refused:
        values_from(tmp_path, chart, text)
    return str(refused.value)


def test_the_chart_ships_its_schema_and_defaults(chart):
    defaults, schema = chart_defaults_and_schema(chart)
    assert schema is not None and schema["additionalProperties"] is False
    assert defaults["singleuser"]["cloudMetadata"]["ip"] == "169.254.169.254"


@pytest.mark.parametrize("gpu", [False, True])
def test_our_values_and_the_labs_pass_the_charts_schema(tmp_path, chart, gpu):
    lab_values = "hub:\n  config:\n    JupyterHub:\n      authenticator_class: dummy\n"
    values = values_from(tmp_path, chart, lab_values, gpu=gpu)
    assert values["hub"]["config"]["JupyterHub"]["authenticator_class"] == "dummy"


def test_a_misspelt_key_is_refused_naming_it(tmp_path, chart):
    text = refusal(tmp_path, chart, "hub:\n  baseurl: /jhub/\n")
    assert "hub.baseurl: is not a value the chart knows" in text
    assert "fix: correct it in the file" in text


def test_two_wrong_types_are_refused_together(tmp_path, chart):
    text = refusal(tmp_path, chart, "singleuser:\n  profileList: {}\ningress:\n  tls: secret\n")
    assert "singleuser.profileList: is object, the chart wants array" in text
    assert "ingress.tls: is string, the chart wants array" in text
    assert "(2 problems)" in text


def test_a_required_value_the_operator_removes_is_refused(tmp_path, chart):
    text = refusal(tmp_path, chart, "prePuller:\n  hook:\n    enabled: null\n")
    assert "prePuller.hook.enabled: is null, the chart wants boolean" in text


# -- the checker itself, on JSON Schema's own rules --------------------------------


def errors(value, schema):
    return list(schema_errors(value, schema))


def test_booleans_are_not_integers_and_integers_are_numbers():
    assert errors(True, {"type": "integer"}) == [("", "is boolean, the chart wants integer")]
    assert errors(3, {"type": "number"}) == []
    assert errors(None, {"type": ["string", "null"]}) == []


def test_additional_properties_may_be_a_schema_and_pattern_properties_count():
    schema = {
        "type": "object",
        "patternProperties": {"^x-": {"type": "string"}},
        "additionalProperties": {"type": "integer"},
    }
    assert errors({"x-a": "s", "n": 1}, schema) == []
    assert errors({"x-a": 1, "n": "s"}, schema) == [
        ("x-a", "is integer, the chart wants string"),
        ("n", "is string, the chart wants integer"),
    ]


def test_any_of_passes_when_one_form_fits_and_items_are_checked_by_index():
    schema = {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "object"}]}}
    assert errors(["a", {}], schema) == []
    assert errors(["a", 1], schema) == [("[1]", "1 matches none of the forms the chart allows")]
