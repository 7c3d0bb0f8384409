"""Checks and lookups on the validated config that a JSON schema cannot express."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from urllib.parse import urlparse

import memkd

from memkd.corpora.bible import ANCHOR_MODULE, ENGLISH_MODULES, SPANISH_MODULE
from memkd.corpora.sword import DEBIAN_PACKAGES
from memkd.errors import InputError


def check_config(config: dict) -> None:
    """Raise InputError naming the key when the config is inconsistent."""
    name = config["corpus"]
    if name not in config["corpora"]:
        raise InputError(f"config key corpus: {name!r} is not one of corpora: {sorted(config['corpora'])}")
    languages = config["corpora"][name]["languages"]
    for direction in config["directions"]:
        source, target = direction.split("-")
        if {source, target} != set(languages):
            raise InputError(
                f"config key directions: {direction!r} does not match the languages {languages} of corpus {name!r}"
            )
    chosen = {"variant_seeds": config.get("variant_seeds")}
    chosen.update({f"variants.{name}.seeds": spec.get("seeds") for name, spec in (config.get("variants") or {}).items()
                   if spec})
    for key, seeds in chosen.items():
        extra = sorted(set(seeds if isinstance(seeds, list) else []) - set(config["seeds"]))
        if extra:
            raise InputError(f"config key {key}: {extra} not in seeds {config['seeds']} (the variants distil "
                             "from that seed's teacher and student)")
    permille = config["preprocess"]["split_permille"]
    if sum(permille.values()) >= 1000:
        raise InputError(f"config key preprocess.split_permille: {permille} leaves no training data")
    for key, entry in config["corpora"].items():
        if entry["kind"] == "tsv" and not os.path.isfile(entry["path"]) and key == name:
            raise InputError(f"config key corpora.{key}.path: file {entry['path']!r} does not exist")
    for key, variant in (config.get("variants") or {}).items():
        if not variant:
            continue
        if "seqkd_decoding" in variant and variant["data"] not in ("seqkd", "adaptive_seqkd"):
            raise InputError(f"config key variants.{key}.seqkd_decoding: only a variant with data: seqkd or "
                             f"adaptive_seqkd learns from a teacher's translations (this one has data: {variant['data']})")
        if (variant["data"] == "adaptive_seqkd") != ("selection" in variant):
            raise InputError(f"config key variants.{key}.selection: give it exactly when data is adaptive_seqkd "
                             f"(data: {variant['data']})")
        if (variant["data"] == "seq_inter") != ("seq_inter_k" in variant):
            raise InputError(f"config key variants.{key}.seq_inter_k: give it exactly when data is seq_inter "
                             f"(data: {variant['data']})")
        if "prune" in variant and "finetune" in variant:
            raise InputError(f"config key variants.{key}: prune and finetune both name a starting model; give one")
        start = variant.get("prune") or variant.get("finetune")
        if start and fine_tuning_rate(start) == {"lr": "final", "schedule": "inverse_sqrt"}:
            raise InputError(f"config key variants.{key}.{start_key(variant)}.lr: 'final' is the start model's last "
                             f"learning rate, held constant; with schedule inverse_sqrt give the peak as a number")
        if "control" in variant:
            check_control(key, variant, config["variants"])
        for other in variant.get("compare_with") or []:
            where = f"config key variants.{key}.compare_with"
            if other == key or not config["variants"].get(other):
                raise InputError(f"{where}: {other!r} is not another variant that is switched on")
            missing = sorted(set(variant_seeds(config, variant)) - set(variant_seeds(config, config["variants"][other])))
            if missing:
                raise InputError(f"{where}: {other!r} is not trained at seeds {missing}, where {key!r} is "
                                 f"(give it seeds: all, or the same seeds)")
    adaptive = config.get("adaptive_seqkd")
    if adaptive and adaptive["min_pairs"] > adaptive["max_pairs"]:
        raise InputError(f"config key adaptive_seqkd.min_pairs: {adaptive['min_pairs']} is above max_pairs "
                         f"{adaptive['max_pairs']}, so no Adaptive-SeqKD arm could carry a verdict")


def start_key(variant: dict) -> str:
    return "prune" if "prune" in variant else "finetune"


def fine_tuning_rate(start: dict) -> dict:
    """Learning rate and schedule of a variant's retraining or fine-tuning (its `prune` or `finetune` entry). By
    default the start model's final learning rate, held constant: a smaller rate than the student's peak (STUDY.md),
    so that the extra epochs go on where the start model stopped instead of restarting its schedule."""
    return {"lr": start.get("lr", "final"), "schedule": start.get("schedule", "constant")}


def check_control(key: str, variant: dict, variants: dict) -> None:
    """A variant that trains a trained model further (pruning with retraining, Seq-Inter fine-tuning) names its
    equal-budget control: the same start model trained the same extra epochs at the same rate on its own data, with
    no method of its own. Stop when the control is off or differs in budget."""
    name = variant["control"]
    where = f"config key variants.{key}.control"
    if "prune" not in variant and "finetune" not in variant:
        raise InputError(f"{where}: only a variant with prune or finetune has an equal-budget control")
    control = variants.get(name)
    if name == key or not control:
        raise InputError(f"{where}: {name!r} is not a variant that is switched on "
                         f"(switch it on, or remove the control key)")
    start, own = variant[start_key(variant)], control.get("finetune")
    if own is None or "prune" in control or "distillation" in control or "control" in control:
        raise InputError(f"{where}: {name!r} must be plain fine-tuning (finetune, no prune, distillation or control)")
    wanted_data = {"student": "seqkd", "baseline": "corpus"}[own["from"]]
    if control["data"] != wanted_data or "seqkd_decoding" in control:
        raise InputError(f"{where}: {name!r} must train {own['from']} on its own data (data: {wanted_data}, no "
                         f"seqkd_decoding), not data: {control['data']}")
    for field, mine, theirs in (("from", start["from"], own["from"]), ("epochs", start["epochs"], own["epochs"]),
                                ("lr", fine_tuning_rate(start)["lr"], fine_tuning_rate(own)["lr"]),
                                ("schedule", fine_tuning_rate(start)["schedule"], fine_tuning_rate(own)["schedule"])):
        if mine != theirs:
            raise InputError(f"{where}: {name!r} is not an equal-budget control: its finetune.{field} is {theirs!r}, "
                             f"this variant's {start_key(variant)}.{field} is {mine!r}; give both the same")


def bible_modules(entry: dict) -> list[str]:
    """The SWORD modules a Bible corpus reads: its English side, RV1909, and the KJV anchor."""
    return list(dict.fromkeys([ENGLISH_MODULES[entry.get("english", "web")], SPANISH_MODULE, ANCHOR_MODULE]))


def libreoffice_packages(entry: dict) -> dict[str, str]:
    """Language code -> Debian help package."""
    other = entry["languages"][1]
    return {"en": "libreoffice-help-en-us", other: f"libreoffice-help-{other}"}


def download_name(url: str) -> str:
    """A file name per address: the basename prefixed by a hash of the whole URL, so that two
    archives with the same name (WMT19's and WMT20's test.tgz) never overwrite each other."""
    return f"{hashlib.sha1(url.encode()).hexdigest()[:8]}-{os.path.basename(urlparse(url).path)}"


def wmt20_files(entry: dict) -> list[str]:
    """Basenames of every file a wmt20 corpus downloads (both files of a plain pair)."""
    names = []
    for item in entry["files"]:
        names.append(download_name(item["url"]))
        if item["format"] in ("plain", "sgm"):
            names.append(download_name(item["target_url"]))
    return list(dict.fromkeys(names))  # an archive holding both sides is downloaded once


def corpus_inputs(name: str, config: dict) -> list[str]:
    """Files the extract rule needs for corpus `name` (Debian package trees, downloads, user files)."""
    entry = config["corpora"][name]
    kind = entry["kind"]
    if kind == "bible":
        if entry.get("sword_roots"):
            return []
        return [f"resources/debian/{DEBIAN_PACKAGES[m]}" for m in bible_modules(entry)]
    if kind == "libreoffice_help":
        if entry.get("package_roots"):
            return []
        return [f"resources/debian/{p}" for p in libreoffice_packages(entry).values()]
    if kind == "tsv":
        return [entry["path"]]
    return [f"resources/downloads/{name}/{f}" for f in wmt20_files(entry)]


def wmt20_download_url(name: str, filename: str, config: dict) -> str:
    entry = config["corpora"].get(name, {})
    for item in entry.get("files", []):
        for key in ("url", "target_url"):
            if key in item and download_name(item[key]) == filename:
                return item[key]
    raise InputError(f"no download named {filename!r} in config corpora.{name}.files")


def library_version(*modules: str) -> str:
    """Package version plus a hash of the named library modules. Rule params carry it, so that
    changing the code behind a result reruns that result (Snakemake only tracks the rule script)."""
    digest = hashlib.sha256()
    for module in modules:
        digest.update((Path(memkd.__file__).parent / module).read_bytes())
    return f"{memkd.__version__}+{digest.hexdigest()[:12]}"


def variant_seeds(config: dict, variant: dict | None = None) -> list[int]:
    """The seeds whose chains also train a variant: its own `seeds`, else `variant_seeds`, or every seed when that
    is null or absent."""
    chosen = (variant or {}).get("seeds")
    chosen = config.get("variant_seeds") if chosen is None else chosen
    if chosen == "all":
        chosen = None
    return [seed for seed in config["seeds"] if chosen is None or seed in chosen]
