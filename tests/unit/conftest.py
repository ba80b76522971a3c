import pytest


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    """Loopback traffic in unit tests must not be sent to a proxy configured
    on the machine."""
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
