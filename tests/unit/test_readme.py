from pathlib import Path

from memkd.schema_doc import render

ROOT = Path(__file__).resolve().parents[2]


def test_the_config_reference_matches_the_schema():
    """Run `make docs` when this fails."""
    assert render(ROOT / "workflow" / "schemas" / "config.schema.yaml") in (ROOT / "docs" / "config.md").read_text()
    assert "(docs/config.md)" in (ROOT / "README.md").read_text()


def test_readme_has_the_two_setup_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text()
    assert "make study" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
