"""Every operation says whether running it again changes nothing: pyinfra's
bare @operation() declares it idempotent, which waits and restarts are not."""

from pathlib import Path

from operations import bundle, k3s

REPO = Path(__file__).resolve().parents[2]


def test_no_operation_leaves_is_idempotent_to_the_default():
    bare = [path.name for path in (REPO / "operations").glob("*.py") if "@operation()" in path.read_text()]
    assert bare == []


def test_waits_restarts_and_the_peer_server_are_not_declared_idempotent():
    for op in (
        k3s.restarted_and_ready,
        k3s.nodes_ready,
        k3s.wait_until,
        bundle.peer_server,
        bundle.peer_server_stopped,
    ):
        assert op._inner.is_idempotent is False, op._inner.__name__
        assert op._inner.idempotent_notice, op._inner.__name__


def test_the_ones_that_converge_are():
    for op in (k3s.node_labelled, bundle.uploaded_files, bundle.installed_from_bundle):
        assert op._inner.is_idempotent is True, op._inner.__name__
