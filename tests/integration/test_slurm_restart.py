"""A killed SLURM test run leaves no trap; what is not ours is never touched.

A run killed before its fixture's teardown (a timeout, Ctrl-C twice) leaves munged, slurmctld, slurmd and the
/etc/slurm/slurm.conf symlink behind. tests/slurm/start_local_slurm.sh recognises such a stale instance of its own (its
daemons carry a mark in their environment, the link is recorded next to it) and stops it before starting anew; a
slurm.conf or SLURM daemons that are not ours stop it with a clear error and stay as they were. Needs root, like
test_slurm.py.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.integration
START = ROOT / "tests" / "slurm" / "start_local_slurm.sh"
STOP = ROOT / "tests" / "slurm" / "stop_local_slurm.sh"
SYS_CONF = Path("/etc/slurm/slurm.conf")
DAEMONS = ("munged", "slurmctld", "slurmd")

# a test run that starts a cluster and is then killed before it can stop it: this process is the instance's starter
KILLED_RUN = """
import subprocess, sys
with open(sys.argv[2], "w") as log:
    started = subprocess.run([sys.argv[1]], stdout=log, stderr=subprocess.STDOUT)
print(started.returncode, flush=True)
sys.stdin.read()  # wait to be killed
"""


@pytest.fixture(autouse=True)
def as_root():
    if os.geteuid() != 0:
        pytest.skip("starting a local SLURM needs root")


def new_base() -> Path:
    base = Path(tempfile.mkdtemp(prefix="memkd-slurm-"))
    base.chmod(0o755)  # munged wants every folder above its socket executable by all
    return base


def slurm_env(base: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "SLURM_CONF"}
    return {**env, "LOCAL_SLURM_DIR": str(base)}


def script(path: Path, base: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(path)], env=slurm_env(base), capture_output=True, text=True, timeout=300)


def daemons_of(base: Path) -> dict[int, str]:
    """Running (not zombie) munged/slurmctld/slurmd started for `base`, read from /proc independently of the scripts."""
    found = {}
    for proc in Path("/proc").iterdir():
        try:
            name = (proc / "comm").read_text().strip()
            if name not in DAEMONS or not running(int(proc.name)):
                continue
            environ = (proc / "environ").read_bytes().split(b"\0")
        except (OSError, IndexError):
            continue
        if f"MEMKD_LOCAL_SLURM={base}".encode() in environ:
            found[int(proc.name)] = name
    return found


def running(pid: int) -> bool:
    """pid is a live process (a zombie is not: PID 1 of some containers reaps them late)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def wait_until(condition, seconds: float) -> bool:
    deadline = time.time() + seconds
    while not condition():
        if time.time() > deadline:
            return False
        time.sleep(0.25)
    return True


@pytest.mark.parametrize("base_folder", ["kept", "removed"])
def test_start_stops_the_stale_instance_of_a_killed_run(base_folder, tmp_path):
    stale, fresh = new_base(), new_base()
    killed_run = subprocess.Popen(
        [sys.executable, "-c", KILLED_RUN, str(START), str(tmp_path / "stale_start.log")],
        env=slurm_env(stale), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert killed_run.stdout.readline().strip() == "0", (tmp_path / "stale_start.log").read_text()
        stale_daemons = daemons_of(stale)
        assert sorted(stale_daemons.values()) == sorted(DAEMONS)
        assert os.readlink(SYS_CONF) == f"{stale}/etc/slurm.conf"

        # while the run that owns it is alive, the instance is live: a second start refuses and changes nothing
        refused = script(START, fresh)
        assert refused.returncode != 0
        assert f"a live local SLURM of this script runs from {stale}" in refused.stderr, refused.stdout + refused.stderr
        assert daemons_of(stale) == stale_daemons and daemons_of(fresh) == {}

        job_pid = stale / "job.pid"
        if base_folder == "kept":  # a job still running on the stale cluster is cancelled through it
            submitted = subprocess.run(
                ["sbatch", "--parsable", "-o", "/dev/null", "--wrap", f"echo $$ > {job_pid}; exec sleep 600"],
                env={**slurm_env(stale), "SLURM_CONF": f"{stale}/etc/slurm.conf"}, capture_output=True, text=True,
            )
            assert submitted.returncode == 0, submitted.stderr
            assert wait_until(job_pid.exists, 60), "the job on the stale cluster did not start"
            sleeper = int(job_pid.read_text())

        # the killed run: SIGKILL, no teardown; its daemons and the link stay behind (the trap)
        killed_run.send_signal(signal.SIGKILL)
        killed_run.wait(timeout=30)
        if base_folder == "removed":  # as a later pytest session removes an old basetemp
            shutil.rmtree(stale)
        assert daemons_of(stale) == stale_daemons
        assert os.readlink(SYS_CONF) == f"{stale}/etc/slurm.conf"

        started = script(START, fresh)
        assert started.returncode == 0, started.stdout + started.stderr
        assert f"stopping a stale instance left by a killed run: {stale}" in started.stdout
        assert daemons_of(stale) == {}, "the stale daemons still run"
        assert not any(running(pid) for pid in stale_daemons if pid not in daemons_of(fresh))
        assert sorted(daemons_of(fresh).values()) == sorted(DAEMONS)
        assert os.readlink(SYS_CONF) == f"{fresh}/etc/slurm.conf"
        if base_folder == "kept":
            assert wait_until(lambda: not running(sleeper), 30), "the stale cluster's job still runs"

        # the new cluster takes a job; without SLURM_CONF, through the /etc/slurm link, as the jobstep plugin does
        ran = subprocess.run(
            ["srun", "-N1", "-n1", "-t", "1", "hostname"], env=slurm_env(fresh), capture_output=True, text=True,
            timeout=120,
        )
        assert ran.returncode == 0, ran.stderr
        assert ran.stdout.strip() == socket.gethostname()
    finally:
        if killed_run.poll() is None:
            killed_run.kill()
            killed_run.wait()
        for base in (fresh, stale):  # by their marks: works with the folder gone too
            script(STOP, base)
        assert daemons_of(fresh) == {} and daemons_of(stale) == {}
        assert not SYS_CONF.is_symlink() or not os.readlink(SYS_CONF).startswith((f"{fresh}/", f"{stale}/"))
        shutil.rmtree(stale, ignore_errors=True)
        shutil.rmtree(fresh, ignore_errors=True)


@pytest.mark.parametrize("kind", ["regular file", "symlink shaped like ours"])
def test_start_leaves_a_slurm_conf_that_is_not_ours_untouched(kind, tmp_path):
    if SYS_CONF.exists() or SYS_CONF.is_symlink():
        pytest.skip(f"{SYS_CONF} exists here: this test only puts its own there")
    made_dir = not SYS_CONF.parent.exists()
    base = new_base()
    try:
        SYS_CONF.parent.mkdir(parents=True, exist_ok=True)
        if kind == "regular file":
            SYS_CONF.write_text("# a system SLURM's configuration\n")
        else:  # a slurm.conf in a folder laid out like a base of ours, but no start of ours made the link
            foreign = tmp_path / "etc" / "slurm.conf"
            foreign.parent.mkdir()
            foreign.write_text("# someone else's\n")
            SYS_CONF.symlink_to(foreign)
        before = os.lstat(SYS_CONF)
        target = os.readlink(SYS_CONF) if SYS_CONF.is_symlink() else None
        content = SYS_CONF.read_text()

        done = script(START, base)

        assert done.returncode != 0
        assert f"{SYS_CONF} exists and is not our symlink" in done.stderr, done.stdout + done.stderr
        after = os.lstat(SYS_CONF)
        assert (after.st_ino, after.st_mtime_ns, after.st_mode) == (before.st_ino, before.st_mtime_ns, before.st_mode)
        assert SYS_CONF.read_text() == content
        assert (os.readlink(SYS_CONF) if SYS_CONF.is_symlink() else None) == target
        assert daemons_of(base) == {} and list(base.iterdir()) == [], "nothing may be started or made"
    finally:
        if SYS_CONF.is_symlink() or SYS_CONF.exists():
            SYS_CONF.unlink()
        if made_dir:
            SYS_CONF.parent.rmdir()
        shutil.rmtree(base, ignore_errors=True)


def test_slurm_daemons_that_are_not_ours_are_refused_and_never_stopped(tmp_path):
    """A process named slurmctld without our mark (a system SLURM's, or an old leftover) is named and left alone."""
    fake = tmp_path / "slurmctld"
    shutil.copy("/bin/sleep", fake)
    process = subprocess.Popen([str(fake), "600"])
    base = new_base()
    try:
        assert wait_until(lambda: Path(f"/proc/{process.pid}/comm").read_text().strip() == "slurmctld", 10)
        done = script(START, base)
        assert done.returncode != 0
        assert "SLURM daemons not started by this script are running" in done.stderr
        assert f"pid {process.pid} (slurmctld)" in done.stderr, done.stderr
        assert daemons_of(base) == {} and list(base.iterdir()) == []
        # even with its pid in our PID file, stop leaves it alone
        (base / "run").mkdir()
        (base / "run" / "slurmctld.pid").write_text(f"{process.pid}\n")
        stopped = script(STOP, base)
        assert f"pid {process.pid} in {base}/run/slurmctld.pid is not our slurmctld: left alone" in stopped.stdout
        time.sleep(0.5)
        assert process.poll() is None, "stop_local_slurm.sh killed a process that is not ours"
    finally:
        process.kill()
        process.wait()
        shutil.rmtree(base, ignore_errors=True)
