"""Snakemake reruns a job when its rule script changes, not when a library module it imports does; the rules carry
`code=library_version(...)` in their params for that (workflow/rules/common.smk). Here: every rule script's direct
`memkd` imports are among its rule's code modules, apart from the plumbing below and the gaps listed (each with why it
is still open). Direct imports only: a module's own imports are not followed."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "workflow" / "rules"
PLUMBING = {"io.py", "errors.py", "rulerun.py", "config.py"}  # reading, writing and logging: no result depends on them
KNOWN_GAPS = {
    "train_model": {"distributed.py", "tokenizer.py"},
    "train_cm_models": {"distributed.py", "tokenizer.py"},  # train_model's script and code
    "train_qe_model": {"distributed.py", "tokenizer.py"},
    # tables.py (aligned, geometric_mean_probability) changes often; the confidence belongs in a stabler module
    "adaptive_selection": {"tables.py"},
    "lm_pretrain": {"tokenizer.py"},
    "lm_train": {"tokenizer.py"},
    "study_subset": {"tokenizer.py"},
    "fetch_debian_package": {"debian.py"},  # downloads
    "download_file": {"corpora/wmt20.py"},
}


def smk_text() -> str:
    return "\n".join(path.read_text() for path in sorted(RULES.glob("*.smk")))


def modules_of(arguments: str) -> set[str]:
    return set(re.findall(r'"([^"]+\.py)"', arguments))


def rule_code() -> dict[str, tuple[str, set[str]]]:
    """Rule -> (its script, the modules of its code param)."""
    text = smk_text()
    named = {m.group(1): modules_of(m.group(2))
             for m in re.finditer(r"^(\w+_CODE) = library_version\((.*?)\)\n", text, re.S | re.M)}
    rules = {}
    # rules defined under an `if` (decode.smk's shard rules) are indented
    parts = re.split(r"^[ \t]*(?:rule|checkpoint) (\w+):", text, flags=re.M)
    for name, body in zip(parts[1::2], parts[2::2]):
        script = re.search(r'script:\s*\n\s*"\.\./\.\./scripts/(\w+\.py)"', body)
        if not script:
            continue
        code = set()
        if constant := re.search(r"code=(\w+_CODE)\b", body):
            code |= named[constant.group(1)]
        if inline := re.search(r"code=library_version\((.*?)\)", body, re.S):
            code |= modules_of(inline.group(1))
        rules[name] = (script.group(1), code)
    return rules


def imported_modules(script: str) -> set[str]:
    """The memkd module files a script imports directly."""
    used = set()
    for node in ast.walk(ast.parse((ROOT / "scripts" / script).read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("memkd"):
            module = node.module.removeprefix("memkd").lstrip(".").replace(".", "/")
            used |= {module + ".py"} if module else {alias.name + ".py" for alias in node.names}
        elif isinstance(node, ast.Import):
            used |= {alias.name.removeprefix("memkd.").replace(".", "/") + ".py" for alias in node.names
                     if alias.name.startswith("memkd.")}
    return {module for module in used if (ROOT / "src" / "memkd" / module).is_file()}


RULE_CODE = rule_code()


def test_the_rules_were_read():
    assert len(RULE_CODE) > 40
    assert "adaptive.py" in RULE_CODE["adaptive_selection"][1]  # the selection follows the selection code
    assert "adaptive.py" not in RULE_CODE["train_model"][1]  # training does not rerun when the selection changes
    assert "adaptive.py" in RULE_CODE["adaptive_seqkd_table"][1]  # no_verdict_reason, the selection label
    assert "shards.py" in RULE_CODE["translate_shard"][1]  # a rule indented under `if` (decode.smk)


@pytest.mark.parametrize("rule", sorted(RULE_CODE))
def test_a_rules_code_param_names_the_library_modules_its_script_imports(rule):
    script, code = RULE_CODE[rule]
    missing = imported_modules(script) - code - PLUMBING
    assert missing == KNOWN_GAPS.get(rule, set()), f"{rule} ({script}) imports {sorted(missing)} outside its code"
