"""A trivial deploy for the lab's end-to-end test: one file, one systemd unit,
one package through the lab's APT proxy. Nothing of ConvectHub."""

from io import StringIO

from pyinfra.operations import apt, files, systemd

MARKER = "/etc/convecthub-lab/trivial.conf"
UNIT = "convecthub-lab-hello.service"
UNIT_TEXT = """\
[Unit]
Description=ConvectHub lab end-to-end check: a long-running unit
[Service]
ExecStart=/bin/sleep infinity
[Install]
WantedBy=multi-user.target
"""

files.directory(name="Lab directory", path="/etc/convecthub-lab", mode="755")
files.put(name="Marker file", src=StringIO("deployed-by=pyinfra\n"), dest=MARKER, mode="644")
unit = files.put(name="Hello unit", src=StringIO(UNIT_TEXT), dest=f"/etc/systemd/system/{UNIT}", mode="644")
systemd.daemon_reload(name="Reload systemd for the new unit", _if=unit.did_change)
systemd.service(name="Hello unit running and enabled", service=UNIT, running=True, enabled=True)
apt.packages(name="A small package through the APT proxy", packages=["tree"], update=True, cache_time=3600)
