import numpy as np
import pytest

from memkd.metrics.inheritance import inheritance_sets, student_kind

#                    e0  e1  e2  e3  e4  e5
TEACHER = np.array([1, 1, 1, 1, 0, 0], bool)
BASELINE = np.array([0, 0, 1, 1, 0, 1], bool)
STUDENT = np.array([0, 1, 1, 0, 1, 0], bool)


def test_sets_on_a_hand_made_case():
    sets = inheritance_sets(TEACHER, BASELINE, STUDENT)
    assert np.flatnonzero(sets["teacher_only"]).tolist() == [0]
    assert np.flatnonzero(sets["inherited"]).tolist() == [1]
    assert np.flatnonzero(sets["easy"]).tolist() == [2, 3]  # with or without the student
    assert np.flatnonzero(sets["student_only"]).tolist() == [4]


def test_the_first_three_sets_partition_the_teachers_memorized_examples():
    rng = np.random.default_rng(0)
    t, b, s = rng.random((3, 500)) < 0.4
    sets = inheritance_sets(t, b, s)
    parts = sets["teacher_only"].astype(int) + sets["inherited"] + sets["easy"]
    assert (parts == t).all()
    assert not (sets["student_only"] & t).any()


def test_flags_of_different_lengths_are_refused():
    with pytest.raises(ValueError, match="differ in length"):
        inheritance_sets([1, 0], [1, 0, 1], [0, 0])


def test_student_kind_names_hard_soft_and_both():
    variants = {"word_kd": {"data": "corpus", "distillation": {"method": "word_kd"}},
                "seqkd_word_kd": {"data": "seqkd", "distillation": {"method": "word_kd"}},
                "seqkd_beam5": {"data": "seqkd", "seqkd_decoding": "beam5"},
                "seq_inter": {"data": "seq_inter", "seq_inter_k": 35, "finetune": {"from": "student", "epochs": 10}},
                "pruned": {"data": "seqkd", "prune": {"from": "student", "sparsity": 0.5, "epochs": 20}},
                "adaptive_random": {"data": "adaptive_seqkd", "selection": "random"}}
    assert student_kind("student", variants) == "hard: SeqKD"
    assert student_kind("word_kd", variants) == "soft: word_kd on references"
    assert student_kind("seqkd_word_kd", variants) == "hard+soft: SeqKD + word_kd"
    assert student_kind("seqkd_beam5", variants) == "hard: SeqKD from beam5"
    assert student_kind("seq_inter", variants) == "hard: Seq-Inter (k=35), fine-tuned from student"
    assert student_kind("pruned", variants) == "pruned student (sparsity 0.5)"
    assert student_kind("adaptive_random", variants) == "hard: Adaptive-SeqKD (random arm)"
