"""envs/memkd.yaml (conda deployments) pins exactly what pyproject.toml pins."""

import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_conda_env_mirrors_pyproject_pins():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    env = yaml.safe_load((ROOT / "envs" / "memkd.yaml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert sorted(pip_section) == sorted(project)
    assert all("==" in requirement for requirement in project), "pin every dependency"
