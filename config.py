# pyinfra executes this file (from the current directory) before it loads the
# inventory; settings go on pyinfra's config object.
import logging

from pyinfra import config

from convecthub.pyinfra_fixes.connection import dropped_connections_fail_only_their_host
from convecthub.pyinfra_fixes.host_keys import accept_new_host_keys_by_name
from convecthub.pyinfra_fixes.interrupt import stop_the_run_on_ctrl_c

# The deploy is written against pyinfra 3.10's operations and CLI.
config.REQUIRE_PYINFRA_VERSION = ">=3.10,<3.11"

# Every node-side step needs root; the login user gets there through sudo,
# with a password only where the inventory gives one (`_sudo_password`; kept
# off command lines by convecthub/pyinfra_fixes/sudo.py).
config.SUDO = True

# Fixes to pyinfra 3.10's run behaviour (each module says why): Ctrl-C
# exits 130, not 0; a node whose SSH connection drops fails alone, without a
# traceback that ends every host's run.
stop_the_run_on_ctrl_c()
dropped_connections_fail_only_their_host()
# First contact with a host as OpenSSH's accept-new: known_hosts created
# 0600, each new key announced with its fingerprint, a changed key refused.
accept_new_host_keys_by_name()

# pyinfra reports a host it cannot connect to (and the preflight says why);
# paramiko's transport thread would add its own traceback (ERROR records)
# after the table. Its INFO/DEBUG records (-vvv, pyinfra-debug.log) stay.
logging.getLogger("paramiko.transport").addFilter(lambda record: record.levelno < logging.ERROR)
