"""Files whose whole content the deploy decides (configs, units, manifests,
certificates), secrets among them."""

import hashlib
import posixpath
import shlex
from io import BytesIO

from pyinfra import host
from pyinfra.api import FileUploadCommand, StringCommand, operation
from pyinfra.facts.files import Directory

from facts.files import ManagedFile


@operation(is_idempotent=True)
def content(dest: str, text: str, staging_dir: str, mode: str = "644", user: str = "root", group: str = "root"):
    """
    Make ``dest`` hold exactly ``text``, with this mode and owner.

    + dest: the file on the node
    + text: its whole content
    + staging_dir: a directory on the node owned by the SSH login user, mode
      700 (see ``staging_directory``): the upload lands there, unreadable by
      anybody else, so a secret is never in a world-readable file, not even
      for a moment
    + mode, user, group: wanted permissions and owner

    Unlike ``files.put`` it never prints the content or a diff (``--diff``):
    many of these files hold the cluster token or a password.
    """
    data = text.encode()
    current = host.get_fact(ManagedFile, path=dest)
    wanted_owner = {"mode": mode.lstrip("0") or "0", "user": user, "group": group}
    if current and current["sha256"] == hashlib.sha256(data).hexdigest():
        if all(current[key] == value for key, value in wanted_owner.items()):
            host.noop(f"{dest} is up to date")
            return
        yield StringCommand("chown", f"{user}:{group}", shlex.quote(dest), "&&", "chmod", mode, shlex.quote(dest))
        return
    staged = posixpath.join(staging_dir, hashlib.sha1(dest.encode()).hexdigest())
    yield FileUploadCommand(BytesIO(data), staged, _sudo=False)
    yield StringCommand(
        "mkdir -p",
        shlex.quote(posixpath.dirname(dest)),
        "&& install -m",
        mode,
        "-o",
        user,
        "-g",
        group,
        shlex.quote(staged),
        shlex.quote(dest),
        "&& rm -f",
        shlex.quote(staged),
    )


@operation(is_idempotent=True)
def staging_directory(path: str, login_user: str):
    """
    A directory owned by the SSH login user, mode 700, for uploads that must
    not pass through a world-readable temp file or sudo's extra copy.

    + path: the directory on the node
    + login_user: the SSH login user (who uploads without sudo)
    """
    current = host.get_fact(Directory, path=path)
    if current and current["user"] == login_user and current["mode"] == 700:
        host.noop(f"{path} is the login user's, mode 700")
        return
    yield StringCommand("install -d -m 700 -o", shlex.quote(login_user), shlex.quote(path))
