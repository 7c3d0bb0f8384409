"""The memorization stage on the tiny study: every table covers teacher, baseline and student in both directions,
CM comes from a balanced design over every study pair, and inconsistent inputs stop the run with a clear error."""

import json
import re
import shutil
import time

import pandas as pd
import pytest

from .conftest import ROOT, run_snakemake, write_config

pytestmark = pytest.mark.integration

TINY = ROOT / "tests" / "config" / "tiny.yaml"
TABLES = ["memorization", "hallucination", "quality_estimates", "counterfactual", "subgroups", "relative_change",
          "inheritance", "predictor", "qe_validity"]


def table(workdir, name):
    return pd.read_csv(workdir / "results" / "tables" / "bible" / f"{name}.tsv", sep="\t")


def test_every_table_covers_every_model_and_direction(tiny_study):
    for name in TABLES:
        assert not table(tiny_study, name).empty, name
    memorization = table(tiny_study, "memorization")
    assert set(zip(memorization.direction, memorization.role)) == {
        (d, r) for d in ("en-es", "es-en") for r in ("teacher", "baseline", "student")
    }
    # students and baselines are also compared with the teacher's outputs; the teacher is not
    assert set(memorization[memorization.role == "teacher"].against) == {"corpus"}
    assert set(memorization[memorization.role == "student"].against) == {"corpus", "teacher"}
    assert memorization.language_id.str.startswith("py3langid").all()
    assert memorization.decoding.str.startswith("decode:greedy").all()
    hallucination = table(tiny_study, "hallucination")
    assert set(hallucination.inputs) == {"study_train", "probe"}
    assert hallucination.qe_method.str.startswith("dual_xent").all()
    change = table(tiny_study, "relative_change")
    assert set(change.metric) >= {"replication", "exmem", "osc_hal_train", "nat_hal"}
    subgroups = table(tiny_study, "subgroups")
    assert {"all", "qe_bucket", "cm_bucket", "teacher_confidence", "random"} <= set(subgroups.subgroup)
    everything = subgroups[subgroups.subgroup == "all"]
    assert (everything["size"] == 300).all() and len(everything) == 6
    inheritance = table(tiny_study, "inheritance")
    assert set(zip(inheritance.direction, inheritance.student, inheritance.measure)) == {
        (d, "student", m) for d in ("en-es", "es-en") for m in ("replication", "exmem")
    }
    assert (inheritance.teacher_only + inheritance.inherited + inheritance.easy == inheritance.teacher_memorized).all()
    predictor = table(tiny_study, "predictor")
    assert set(zip(predictor.direction, predictor.student)) == {("en-es", "student"), ("es-en", "student")}
    # an AUC from k >= 2 folds, or no AUC and the reason why (a tiny student may replicate nothing)
    for row in predictor.itertuples():
        assert (row.folds >= 2 and 0 <= row.auc_mean <= 1) or (row.folds == 0 and "too few" in row.note), row
    assert predictor.features.str.contains("kl_teacher_baseline").all()


def read(path):
    return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)


def test_the_qe_models_never_trained_on_a_study_pair_and_their_validity_is_reported(tiny_study):
    data, qe = tiny_study / "results" / "data" / "bible", tiny_study / "results" / "qe" / "bible"
    study, train, held_out = read(data / "study_train.tsv"), read(data / "train.tsv"), read(qe / "train_pairs.tsv")
    assert len(held_out) == 300 and set(held_out.id) <= set(train.id)  # quality_estimation.train_pairs in tiny.yaml
    assert not set(held_out.id) & set(study.id)
    assert not set(held_out.group) & set(study.group)  # nor a duplicate of one
    for language in ("en", "es"):
        assert not set(held_out[language]) & set(study[language]), language
    for direction in ("en-es", "es-en"):
        summary = json.loads((qe / direction / "model" / "training_summary.json").read_text())
        assert summary["role"] == "qe" and summary["training_pairs"] == 300
        assert read(qe / direction / "train.tsv").id.tolist() == held_out.id.tolist()
    # one QE per pair whatever the seed: every table names the held-out models
    for name in ("hallucination", "quality_estimates", "subgroups", "counterfactual"):
        assert (table(tiny_study, name).qe_method == "dual_xent(qe models, 300 held-out pairs)").all(), name
    validity = table(tiny_study, "qe_validity")
    assert list(validity.direction) == ["en-es", "es-en"]
    pairs = read(qe / "validity_pairs.tsv")
    assert not set(pairs.group) & set(held_out.group)
    assert (validity.positives == (pairs.misaligned == "True").sum()).all()
    assert (validity.positives == validity.negatives).all()
    if validity.positives.iloc[0] > 0:  # the 2,000 sampled training pairs hold a few flagged verses
        assert validity.auc.between(0, 1).all()
    else:
        assert validity.note.str.startswith("n/a").all()
    # QE buckets: quintiles of the study pairs' QE
    buckets = table(tiny_study, "subgroups").query("subgroup == 'qe_bucket' and role == 'teacher'")
    assert buckets.qe_edges.str.startswith("quintiles").all()
    assert buckets.groupby(["direction", "seed"])["size"].sum().eq(300).all()
    assert buckets["size"].between(45, 75).all(), buckets


def test_cm_is_estimated_for_every_study_pair_from_a_balanced_design(tiny_study):
    cm = table(tiny_study, "counterfactual")
    for direction in ("en-es", "es-en"):
        pairs = pd.read_csv(tiny_study / "results" / "data" / "bible" / direction / "study_train.tsv", sep="\t")
        rows = cm[cm.direction == direction]
        assert rows.id.tolist() == pairs.id.tolist()
    models = cm.cm_models.iloc[0]
    assert models == 4
    assert (cm.in_models == models // 2).all() and (cm.out_models == models // 2).all()
    assert (cm.cm - (cm.p_in - cm.p_out)).abs().max() < 1e-5
    design = pd.read_csv(tiny_study / "results" / "cm" / "bible" / "en-es" / "seed1" / "design.tsv", sep="\t")
    assert design.id.tolist() == cm[cm.direction == "en-es"].id.tolist()
    # a CM model trains on the study pairs its design column marks: no copy of the pairs per half
    assert not (tiny_study / "results" / "cm" / "bible" / "en-es" / "seed1" / "cm00").exists()
    for role in ("cm00", "cm01"):
        summary = tiny_study / "results" / "models" / "bible" / "en-es" / "seed1" / role / "training_summary.json"
        assert json.loads(summary.read_text())["training_pairs"] == int(design[role].sum())


@pytest.fixture
def study_copy(tiny_study, tmp_path):
    """A copy of the finished tiny study to damage."""
    copy = tmp_path / "study"
    shutil.copytree(tiny_study, copy, symlinks=True, ignore=shutil.ignore_patterns("checkpoints"))
    return copy


def test_a_short_translation_file_stops_the_run(study_copy):
    translation = study_copy / "results/translations/bible/en-es/seed1/student/study_train.greedy.txt"
    lines = translation.read_text().splitlines(keepends=True)
    translation.write_text("".join(lines[:-3]))
    target = "results/memorization/bible/en-es/seed1/student/examples.tsv"
    done = run_snakemake(
        study_copy, target, "--allowed-rules", "memorization_examples", "quality_estimate",
        configs=[TINY], check=False,
    )
    assert done.returncode != 0
    assert f"study_train.greedy.txt: {len(lines) - 3} lines for {len(lines)} study pairs" in done.stdout + done.stderr
    examples = study_copy / target
    assert not examples.exists() or len(pd.read_csv(examples, sep="\t")) == len(lines)


def test_a_model_missing_from_the_cm_design_stops_the_run(study_copy):
    design = study_copy / "results/cm/bible/en-es/seed1/design.tsv"
    frame = pd.read_csv(design, sep="\t")
    frame.drop(columns=["cm03"]).to_csv(design, sep="\t", index=False)
    target = "results/cm/bible/en-es/seed1/examples.tsv"
    done = run_snakemake(
        study_copy, target, "--allowed-rules", "counterfactual_memorization", "--forcerun", "counterfactual_memorization",
        configs=[TINY], check=False,
    )
    assert done.returncode != 0
    assert "the config asks for ['cm00', 'cm01', 'cm02', 'cm03']" in done.stdout + done.stderr
    assert not (study_copy / target).exists()


FIGURES = ["model_comparison", "relative_change", "memorization_map", "subgroups", "predictor_roc"]


def scheduled_jobs(output: str) -> dict[str, int]:
    """The 'Job stats' table of a dry run: rule -> count."""
    table = output.split("Job stats:", 1)[1].split("total", 1)[0]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.MULTILINE)}


def test_figures_and_summary_redraw_from_the_cached_tables_only(study_copy):
    figures = study_copy / "results" / "figures" / "bible"
    assert sorted(p.name for p in figures.iterdir()) == sorted(f"{n}.{e}" for n in FIGURES for e in ("png", "pdf"))
    summary = (study_copy / "results" / "summary" / "bible.md").read_text()
    assert "## Student vs baseline" in summary and "| en-es | 1 | teacher |" in summary
    nothing = run_snakemake(study_copy, "figures", "--dry-run", configs=[TINY])
    assert "Nothing to be done" in nothing.stdout + nothing.stderr

    # A copy of the workflow (mtimes kept) with one plot script touched: only that plot is redrawn.
    code = study_copy / "code"
    code.mkdir()
    shutil.copy2(ROOT / "Snakefile", code / "Snakefile")
    for folder in ("workflow", "scripts", "envs"):
        shutil.copytree(ROOT / folder, code / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (code / "scripts" / "plot_subgroups.py").touch()
    planned = run_snakemake(study_copy, "figures", "--dry-run", configs=[TINY], snakefile=code / "Snakefile")
    assert scheduled_jobs(planned.stdout) == {"plot_subgroups": 1, "figures": 1}
    before = (figures / "subgroups.png").stat().st_mtime
    start = time.perf_counter()
    run_snakemake(study_copy, "figures", configs=[TINY], snakefile=code / "Snakefile")
    print(f"redrawing one figure took {time.perf_counter() - start:.1f} s")
    assert (figures / "subgroups.png").stat().st_mtime > before


def test_distillation_variants_are_trained_from_the_teacher_and_measured_like_the_student(study_copy, tmp_path):
    variants = write_config(tmp_path / "variants.yaml", {"variants": {
        "seqkd_word_kd": {"data": "seqkd", "distillation": {"method": "word_kd", "alpha": 0.5, "temperature": 1.0}},
        "self_evolution": {"data": "corpus", "distillation": {
            "method": "self_evolution", "prior_weight": 0.5, "difficulty_threshold": "q0.8", "max_difficulty": 5.0,
            "nll_weight": 0.0, "max_proxy_weight": 1.0}},
        "seqkd_beam2": {"data": "seqkd", "seqkd_decoding": "beam2"},  # plain SeqKD from beam search
        # the equal-budget control of the two below: the student, 2 more epochs at its final rate on its own targets
        "more_epochs": {"data": "seqkd", "finetune": {"from": "student", "epochs": 2}},
        "pruned": {"data": "seqkd", "prune": {"from": "student", "sparsity": 0.5, "epochs": 2}, "control": "more_epochs"},
        "seq_inter": {"data": "seq_inter", "seq_inter_k": 2, "finetune": {"from": "student", "epochs": 2},
                      "control": "more_epochs"},
    }})
    base = "bible/en-es/seed1"
    roles = ("seqkd_word_kd", "self_evolution", "seqkd_beam2", "more_epochs", "pruned", "seq_inter")
    targets = [f"results/{kind}/{base}/{role}/{name}" for role in roles
               for kind, name in (("memorization", "summary.json"), ("metrics", "test.greedy.json"))]
    planned = run_snakemake(study_copy, *targets, "--dry-run", configs=[TINY, variants])
    jobs = scheduled_jobs(planned.stdout)
    assert jobs["train_model"] == 6, jobs  # the six variants; teacher, student and greedy SeqKD data are reused
    assert jobs["seqkd_data"] == 1 and jobs["seq_inter_data"] == 1, jobs  # beam-2 SeqKD data; 2-best Seq-Inter data
    run_snakemake(study_copy, *targets, configs=[TINY, variants])
    for role, data in (("seqkd_word_kd", "results/seqkd/bible/en-es/seed1/greedy/train.tsv"),
                       ("self_evolution", "results/data/bible/en-es/study_train.tsv"),
                       ("seqkd_beam2", "results/seqkd/bible/en-es/seed1/beam2/train.tsv"),
                       ("more_epochs", "results/seqkd/bible/en-es/seed1/greedy/train.tsv"),
                       ("pruned", "results/seqkd/bible/en-es/seed1/greedy/train.tsv"),
                       ("seq_inter", "results/seqinter/bible/en-es/seed1/k2/train.tsv")):
        summary = json.loads((study_copy / f"results/models/{base}/{role}/training_summary.json").read_text())
        method = summary["settings"].get("distillation", {}).get("method")
        assert method == {"seqkd_word_kd": "word_kd", "self_evolution": "self_evolution"}.get(role)
        if role == "pruned":  # half of the linear-layer weights stay zero after retraining
            assert summary["nonzero_parameters"] < summary["parameters"] - 1000, summary
            assert summary["settings"]["prune"]["sparsity"] == 0.5
        else:
            assert summary["nonzero_parameters"] > 0.99 * summary["parameters"]
        assert summary["training_pairs"] == len(pd.read_csv(study_copy / data, sep="\t"))
        memorization = json.loads((study_copy / f"results/memorization/{base}/{role}/summary.json").read_text())
        assert memorization["role"] == role and memorization["pairs"] == 300
        assert memorization["replication_vs_teacher"] is not None
    # retraining, fine-tuning and their control go on at the student's final learning rate, held constant, for the
    # same number of epochs (the tiny training log has a record every 5 steps and at the last)
    student = json.loads((study_copy / f"results/models/{base}/student/training_summary.json").read_text())
    final = student["settings"]["lr"] * min(student["steps"] / student["settings"]["warmup_steps"],
                                            (student["settings"]["warmup_steps"] / student["steps"]) ** 0.5)
    steps = {}
    for role in ("more_epochs", "pruned", "seq_inter"):
        model = study_copy / f"results/models/{base}/{role}"
        summary = json.loads((model / "training_summary.json").read_text())
        assert summary["settings"]["lr"] == pytest.approx(final) and summary["settings"]["schedule"] == "constant"
        assert summary["settings"]["epochs"] == 2 and summary["settings"]["max_steps"] is None
        logged = pd.read_csv(model / "training_log.tsv", sep="\t")
        assert logged.lr.to_numpy() == pytest.approx([final] * len(logged))  # below the student's peak throughout
        assert final < student["settings"]["lr"]
        steps[role] = summary["steps"]
    assert steps["pruned"] == steps["more_epochs"]  # the same pairs, the same epochs: the same budget
    kbest = pd.read_csv(study_copy / "results/seqinter/bible/en-es/seed1/k2/kbest.tsv", sep="\t", keep_default_na=False)
    assert kbest.id.nunique() == 300 and set(kbest["rank"]) <= {1, 2}
    seq_inter = pd.read_csv(study_copy / "results/seqinter/bible/en-es/seed1/k2/train.tsv", sep="\t", keep_default_na=False)
    chosen = kbest.merge(seq_inter, left_on=["id", "hypothesis"], right_on=["id", "tgt"])
    assert chosen.id.nunique() == 300  # every Seq-Inter target is one of that source's k-best candidates


def test_adaptive_seqkd_fine_tunes_the_teacher_on_the_selection_and_compares_both_arms(study_copy, tmp_path):
    adaptive = write_config(tmp_path / "adaptive.yaml", {"variants": {
        "adaptive_seqkd": {"data": "adaptive_seqkd", "selection": "quality"},
        "adaptive_seqkd_random": {"data": "adaptive_seqkd", "selection": "random"},
    }, "adaptive_seqkd": {"rank_by": "shuffle"}})  # the default's shuffle and cap (tiny.yaml: no chrF/confidence threshold)
    planned = run_snakemake(study_copy, "--dry-run", configs=[TINY, adaptive])
    jobs = scheduled_jobs(planned.stdout)
    # per direction two fine-tuned teachers and two students; teacher, baseline, student and CM are reused
    assert jobs["train_model"] == 8 and jobs["adaptive_selection"] == 2 and jobs["adaptive_seqkd_data"] == 4, jobs
    run_snakemake(study_copy, configs=[TINY, adaptive])

    models = study_copy / "results/models/bible/en-es/seed1"
    selection = pd.read_csv(study_copy / "results/adaptive/bible/en-es/seed1/selection.tsv", sep="\t")
    assert len(selection) == 300 and selection.quality.sum() == selection["random"].sum() == 30  # max_pairs 30
    chosen, passed_over = selection[selection.quality == 1], selection[(selection.quality == 0) & (selection.eligible == 1)]
    assert (chosen.eligible == 1).all() and (chosen.source_words > 5).all() and len(passed_over) > 30
    assert chosen.chrf.min() < passed_over.chrf.max()  # a shuffle of the passing pairs, not the best by chrF
    # the teacher's confidence in its own greedy output, 2 ** (mean ln p)
    assert (selection.confidence_of == "greedy_output").all() and selection.confidence.between(0, 1).all()
    teacher = json.loads((models / "teacher/training_summary.json").read_text())
    for arm in ("quality", "random"):
        tuned = json.loads((models / f"teacher_{arm}/training_summary.json").read_text())
        fine_tuning = pd.read_csv(study_copy / f"results/adaptive/bible/en-es/seed1/{arm}.tsv", sep="\t")
        assert sorted(fine_tuning.id) == sorted(selection[selection[arm] == 1].id)
        assert tuned["training_pairs"] == 30 and tuned["settings"]["schedule"] == "constant"
        # at the teacher's final learning rate, going on with its Adam moments; 30 pairs in 20 smaller batches,
        # each pair seen once (min_steps_by smaller_batches), not 20 passes over 1-2 batches
        assert (models / "teacher/optimizer.pt").stat().st_size > 0
        log = (study_copy / f"logs/train_model/bible/en-es/seed1/teacher_{arm}.log").read_text()
        one_pass = re.search(r"30 pairs in (\d+) batches: (\d+) optimizer steps \(1 epoch\(s\) of (\d+) steps", log)
        assert "with the optimizer state of" in log and one_pass and int(one_pass[2]) == int(one_pass[3]) >= 20, log
        assert tuned["settings"]["lr"] == pytest.approx(teacher["settings"]["lr"] * min(
            teacher["steps"] / teacher["settings"]["warmup_steps"],
            (teacher["settings"]["warmup_steps"] / teacher["steps"]) ** 0.5))
        assert tuned["steps"] == tuned["settings"]["max_steps"] >= 20 and tuned["settings"]["min_steps"] == 20
        fine_tuning_lr = tuned["settings"]["lr"]
        student = json.loads((models / f"adaptive_seqkd{'_random' if arm == 'random' else ''}/training_summary.json").read_text())
        assert student["training_pairs"] == 300
        hypotheses = (study_copy / f"results/translations/bible/en-es/seed1/teacher_{arm}/study_train.greedy.txt").read_text()
        targets = pd.read_csv(study_copy / f"results/adaptive/bible/en-es/seed1/{arm}/seqkd.greedy.tsv", sep="\t",
                              keep_default_na=False)
        assert targets.tgt.tolist() == hypotheses.rstrip("\n").split("\n")  # the student learns the tuned teacher's outputs

    compared = table(study_copy, "adaptive_seqkd")
    assert set(zip(compared.direction, compared.arm)) == {(d, a) for d in ("en-es", "es-en") for a in ("quality", "random")}
    assert set(compared.metric) >= {"bleu_greedy", "bleu_beam2", "replication", "exmem", "osc_hal_train", "nat_hal"}
    assert (compared.compared_with == "student").all() and (compared.fine_tuning_pairs == 30).all()
    # per arm what the summary needs for a verdict: pairs, optimizer steps, learning rate, and no reason against one
    assert (compared.fine_tuning_steps >= 20).all() and compared.no_verdict_reason.isna().all()
    # how far the fine-tuning moved each teacher, from both teachers' translations of the 300 study sources
    assert compared.tuned_distinct_outputs.between(1, 300).all() and compared.teacher_distinct_outputs.between(1, 300).all()
    assert compared.copied_selected_target_pct.between(0, 100).all() and compared.unchanged_outputs_pct.between(0, 100).all()
    en_es = compared[compared.direction == "en-es"]
    assert en_es.fine_tuning_lr.to_numpy() == pytest.approx([fine_tuning_lr] * len(en_es))
    assert "2 ** (mean ln p) of the teacher's greedy output" in compared.selection.iloc[0]
    assert compared.set_index(["direction", "arm", "metric"]).loc[("en-es", "quality", "exmem"), "paper"] == -23.7
    assert (study_copy / "results/figures/bible/adaptive_seqkd.png").stat().st_size > 10_000
    summary = (study_copy / "results/summary/bible.md").read_text()
    assert "## Adaptive-SeqKD" in summary and "adaptive_seqkd_random (random)" in summary
    assert "distinct outputs for the study sources (teacher" in summary
