"""One remote command that takes 10 seconds, for the Ctrl-C test of
tests/e2e/test_faults.py (run against @local: it changes nothing)."""

from pyinfra.operations import server

server.shell(name="A remote command that takes 10 seconds", commands=["sleep 10"], _sudo=False)
