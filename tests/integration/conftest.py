import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def run_snakemake(
    workdir: Path, *args: str, configs: list[Path] = (), check: bool = True, snakefile: Path = ROOT / "Snakefile"
) -> subprocess.CompletedProcess:
    """Run the real workflow in `workdir` with the embedded default plus `configs` layered on top."""
    command = [
        SNAKEMAKE,
        "--snakefile", str(snakefile),
        "--directory", str(workdir),
        "--configfile", str(ROOT / "config.yaml"), *map(str, configs),
        "--cores", "2",
        *args,
    ]
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    if check and done.returncode != 0:
        raise AssertionError(f"snakemake failed ({done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    return done


def write_config(path: Path, config: dict) -> Path:
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="session")
def tiny_study(tmp_path_factory):
    """The tiny study (real Bible packages, tiny models), run once for the session."""
    workdir = tmp_path_factory.mktemp("tiny")
    run_snakemake(workdir, configs=[ROOT / "tests" / "config" / "tiny.yaml"])
    return workdir
