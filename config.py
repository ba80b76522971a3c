# pyinfra executes this file (from the current directory) before it loads the
# inventory; settings go on pyinfra's config object.
from pyinfra import config

# The deploy is written against pyinfra 3.10's operations and CLI.
config.REQUIRE_PYINFRA_VERSION = ">=3.10,<3.11"

# Every node-side step needs root; the login user gets there through sudo,
# with a password only where the inventory gives one (`_sudo_password`).
config.SUDO = True
