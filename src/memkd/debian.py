"""Fetch a Debian package and unpack it into a folder, without installing it on the system."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from memkd.errors import InputError


def _run(command: list[str], cwd: str | Path | None, package: str) -> str:
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    except FileNotFoundError:
        raise InputError(
            f"Debian package {package}: {command[0]} is not available on this machine; "
            "unpack the package yourself and point the corpus' sword_root/package_root setting at it"
        ) from None
    if done.returncode != 0:
        message = (done.stderr or done.stdout).strip().splitlines()
        raise InputError(f"Debian package {package}: `{' '.join(command)}` failed: {' | '.join(message[-3:])}")
    return done.stdout


def fetch_and_unpack(package: str, dest: str | Path) -> str:
    """`apt-get download` the package and `dpkg-deb -x` it into `dest`; return its version.

    The tree is built in a sibling temporary folder and renamed into place, so `dest` exists only
    when complete. The .deb and its version are kept in `dest` for provenance.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        # apt-get drops privileges to _apt when it can; a world-writable folder avoids its warning.
        os.chmod(work, 0o777)
        _run(["apt-get", "download", package], cwd=work, package=package)
        debs = sorted(glob.glob(str(work / f"{package}_*.deb")))
        if not debs:
            raise InputError(f"Debian package {package}: apt-get download produced no .deb file")
        tree = work / "tree"
        _run(["dpkg-deb", "-x", debs[-1], str(tree)], cwd=None, package=package)
        version = _run(["dpkg-deb", "-f", debs[-1], "Version"], cwd=None, package=package).strip()
        (tree / "DEBIAN_PACKAGE").write_text(f"{package}\t{version}\t{os.path.basename(debs[-1])}\n")
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(tree, dest)
        return version
    finally:
        shutil.rmtree(work, ignore_errors=True)
