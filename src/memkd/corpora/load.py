"""One entry point from a corpus config entry and its input files to the aligned table."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

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


def user_tsv_chunks(entry: dict, inputs: list[str], stats: dict) -> Iterator[pd.DataFrame]:
    from memkd.corpora.usertsv import iter_user_tsv

    report = {}
    yield from iter_user_tsv(entry["path"], tuple(entry["languages"]), entry.get("on_undecodable", "error"), report)
    stats.update({"path": entry["path"], **report, "aligned_pairs": report["rows"]})


def wmt20_chunks(entry: dict, inputs: list[str], stats: dict) -> Iterator[pd.DataFrame]:
    from memkd.corpora.wmt20 import iter_wmt20

    local = {Path(p).name: p for p in inputs}  # download_name(url) -> local file
    files = []
    for item in entry["files"]:
        item = dict(item, path=local[download_name(item["url"])])
        if item["format"] in ("plain", "sgm"):
            item["target_path"] = local[download_name(item["target_url"])]
        files.append(item)
    rows = 0
    for chunk in iter_wmt20(files, tuple(entry["languages"])):
        rows += len(chunk)
        yield chunk
    stats.update({"files": [f["url"] for f in entry["files"]], "aligned_pairs": rows})


def corpus_chunks(name: str, entry: dict, inputs: list[str]) -> tuple[Iterator[pd.DataFrame], dict]:
    """The aligned table (id, lang1, lang2, flags[, split]) of a corpus config entry, a chunk of rows at a time, and
    its stats, complete once the chunks are consumed. The corpora that can be large (a user's TSV, WMT20) are
    streamed; the Bible and LibreOffice help (tens of thousands of pairs) come as one chunk. A corpus without a
    pair raises InputError after its last chunk."""
    kind = entry["kind"]
    stats = {"corpus": name, "kind": kind}

    def chunks() -> Iterator[pd.DataFrame]:
        if kind == "bible":
            frame, more = load_bible(entry, inputs)
            parts = iter([frame])
        elif kind == "libreoffice_help":
            frame, more = load_libreoffice_help(entry, inputs)
            parts = iter([frame])
        elif kind == "tsv":
            parts, more = user_tsv_chunks(entry, inputs, stats), {}
        elif kind == "wmt20":
            parts, more = wmt20_chunks(entry, inputs, stats), {}
        else:
            raise InputError(f"config key corpora.{name}.kind: unknown kind {kind!r}")
        rows = 0
        for part in parts:
            rows += len(part)
            yield part
        if not rows:
            raise InputError(f"corpus {name!r} ({kind}) produced no aligned pairs")
        stats.update(more)

    return chunks(), stats

