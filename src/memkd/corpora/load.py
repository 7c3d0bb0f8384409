"""One entry point from a corpus config entry and its input files to the aligned table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from memkd.config import bible_modules, download_name, libreoffice_packages
from memkd.corpora import bible, sword
from memkd.corpora.sword import DEBIAN_PACKAGES
from memkd.errors import InputError


def _root_for(name: str, inputs: list[str], overrides: dict | None, fallback_dir: str) -> Path:
    if overrides:
        if name not in overrides:
            raise InputError(f"no folder given for {name!r} in the corpus' roots setting: {overrides}")
        return Path(overrides[name])
    for path in inputs:
        if Path(path).name == fallback_dir:
            return Path(path)
    raise InputError(f"{fallback_dir} is not among the inputs {inputs}")


def load_bible(entry: dict, inputs: list[str]) -> tuple[pd.DataFrame, dict]:
    raw = {}
    for module in bible_modules(entry):
        overrides = entry.get("sword_roots")
        if overrides:
            root = _root_for(module, inputs, overrides, DEBIAN_PACKAGES[module])
        else:
            root = sword.sword_root(_root_for(module, inputs, None, DEBIAN_PACKAGES[module]))
        raw[module] = sword.read_module(root, module)
    return bible.build_corpus(raw, english=entry.get("english", "web"))


def load_libreoffice_help(entry: dict, inputs: list[str]) -> tuple[pd.DataFrame, dict]:
    from memkd.corpora.lohelp import read_lohelp

    packages = libreoffice_packages(entry)
    other = entry["languages"][1]
    roots = {lang: _root_for(lang if entry.get("package_roots") else package, inputs, entry.get("package_roots"), package)
             for lang, package in packages.items()}
    frame = read_lohelp(roots["en"], roots[other], other)
    return frame, {"packages": packages, "aligned_pairs": len(frame)}


def load_user_tsv(entry: dict, inputs: list[str]) -> tuple[pd.DataFrame, dict]:
    from memkd.corpora.usertsv import read_user_tsv

    frame, report = read_user_tsv(entry["path"], tuple(entry["languages"]), entry.get("on_undecodable", "error"))
    return frame, {"path": entry["path"], **report, "aligned_pairs": len(frame)}


def load_wmt20(name: str, entry: dict, inputs: list[str]) -> tuple[pd.DataFrame, dict]:
    from memkd.corpora.wmt20 import read_wmt20

    local = {Path(p).name: p for p in inputs}  # download_name(url) -> local file
    files = []
    for item in entry["files"]:
        item = dict(item, path=local[download_name(item["url"])])
        if item["format"] in ("plain", "sgm"):
            item["target_path"] = local[download_name(item["target_url"])]
        files.append(item)
    frame = read_wmt20(files, tuple(entry["languages"]))
    return frame, {"files": [f["url"] for f in entry["files"]], "aligned_pairs": len(frame)}


def load_corpus(name: str, entry: dict, inputs: list[str]) -> tuple[pd.DataFrame, dict]:
    kind = entry["kind"]
    if kind == "bible":
        frame, stats = load_bible(entry, inputs)
    elif kind == "libreoffice_help":
        frame, stats = load_libreoffice_help(entry, inputs)
    elif kind == "tsv":
        frame, stats = load_user_tsv(entry, inputs)
    elif kind == "wmt20":
        frame, stats = load_wmt20(name, entry, inputs)
    else:
        raise InputError(f"config key corpora.{name}.kind: unknown kind {kind!r}")
    if frame.empty:
        raise InputError(f"corpus {name!r} ({kind}) produced no aligned pairs")
    return frame, {"corpus": name, "kind": kind, **stats}
