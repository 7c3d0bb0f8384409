import json
import math
import platform
import random
import subprocess
import sys
import types

import numpy as np
import pytest
import torch

from memkd import train as train_module
from memkd.data import IGNORE_INDEX, TokenArrays, collate, encode, epoch_order, make_batches, round_up
from memkd.losses import label_smoothed_loss
from memkd.model import build_model, count_parameters

PRESET = {"d_model": 16, "encoder_layers": 1, "decoder_layers": 1, "heads": 2, "ffn_dim": 32, "dropout": 0.1, "max_positions": 64}
SETTINGS = {
    "seed": 3, "max_tokens": 64, "epochs": 3, "max_steps": None, "lr": 1e-3, "warmup_steps": 4,
    "label_smoothing": 0.1, "grad_accumulation": 1, "clip_norm": 1.0, "precision": "fp32",
    "log_every": 1, "checkpoint_every": 3,
}


def _data(n=40, seed=0):
    rng = random.Random(seed)
    sources = [[rng.randrange(4, 50) for _ in range(rng.randrange(2, 12))] + [3] for _ in range(n)]
    targets = [list(reversed(s[:-1])) + [3] for s in sources]
    return sources, targets


def test_make_batches_respects_the_token_budget_and_covers_every_example():
    lengths = [3, 17, 8, 9, 1, 30, 12, 5]
    batches = make_batches(lengths, lengths, max_tokens=40)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for batch in batches:
        assert len(batch) == 1 or round_up(max(lengths[i] for i in batch), 8) * len(batch) <= 40


def _batches_by_definition(source_lengths, target_lengths, max_tokens, multiple=8):
    """make_batches as first written, with Python sorts and lists: the definition the numpy version must equal."""
    order = sorted(range(len(source_lengths)), key=lambda i: (round_up(source_lengths[i], multiple),
                                                              round_up(target_lengths[i], multiple), i))
    batches, current, longest = [], [], 0
    for i in order:
        length = round_up(max(source_lengths[i], target_lengths[i]), multiple)
        if current and max(longest, length) * (len(current) + 1) > max_tokens:
            batches.append(current)
            current, longest = [], 0
        current.append(i)
        longest = max(longest, length)
    return batches + [current] if current else batches


def test_make_batches_equals_its_definition_across_chunks_and_budgets(monkeypatch):
    """The same batches in the same order as the list-and-sort definition, also when the greedy cut runs over
    several chunks of lengths (a batch spanning a chunk boundary) and for budgets below one example."""
    import numpy as np

    import memkd.data as data_module

    monkeypatch.setattr(data_module, "_PACK_CHUNK", 7)
    rng = random.Random(3)
    for n in (0, 1, 2, 50, 333):
        source = [rng.randrange(1, 70) for _ in range(n)]
        target = [rng.randrange(1, 70) for _ in range(n)]
        for budget in (1, 8, 40, 100, 1000, 10**6):
            got = make_batches(source, target, budget)
            assert all(isinstance(b, np.ndarray) for b in got)
            assert [b.tolist() for b in got] == _batches_by_definition(source, target, budget)
            assert [b.tolist() for b in make_batches(np.array(source), np.array(target), budget)] == \
                [b.tolist() for b in got]


def test_epoch_order_depends_only_on_seed_and_epoch():
    assert epoch_order(10, 1, 2) == epoch_order(10, 1, 2)
    assert epoch_order(10, 1, 2) != epoch_order(10, 1, 3)


def test_collate_pads_to_multiples_of_eight_and_masks_labels():
    batch = collate([[5, 6, 3]], [[7, 3]])
    assert batch["input_ids"].shape == (1, 8) and batch["attention_mask"].sum() == 3
    assert batch["labels"][0, :2].tolist() == [7, 3] and (batch["labels"][0, 2:] == -100).all()


def test_inverse_sqrt_schedule():
    assert train_module.inverse_sqrt(2, 4) == 0.5
    assert train_module.inverse_sqrt(4, 4) == 1.0
    assert math.isclose(train_module.inverse_sqrt(16, 4), 0.5)


def test_constant_schedule_keeps_the_learning_rate_and_final_rate_follows_the_schedule(tmp_path):
    sources, targets = _data()
    model = build_model(PRESET, vocab_size=50, seed=0)
    records = train_module.train(model, sources, targets, dict(SETTINGS, schedule="constant", lr=3e-4), tmp_path / "c.pt")
    assert {r["lr"] for r in records} == {3e-4}
    assert train_module.final_learning_rate(dict(SETTINGS, schedule="constant", lr=3e-4), 100) == 3e-4
    # inverse-sqrt: warm-up 4, so after 16 steps half of the peak; the last logged rate of a run is its final one
    assert math.isclose(train_module.final_learning_rate(SETTINGS, 16), 0.5e-3)
    model = build_model(PRESET, vocab_size=50, seed=0)
    records = train_module.train(model, sources, targets, SETTINGS, tmp_path / "d.pt")
    assert math.isclose(records[-1]["lr"], train_module.final_learning_rate(SETTINGS, records[-1]["step"]))


def test_label_smoothed_loss_without_smoothing_is_cross_entropy():
    logits = torch.tensor([[[2.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
    labels = torch.tensor([[0, -100]])
    loss, n = label_smoothed_loss(logits, labels, 0.0)
    assert n == 1 and math.isclose(loss.item(), -torch.log_softmax(logits[0, 0], -1)[0].item(), rel_tol=1e-6)


def test_training_reduces_the_loss(tmp_path):
    sources, targets = _data()
    model = build_model(PRESET, vocab_size=50, seed=0)
    records = train_module.train(model, sources, targets, dict(SETTINGS, epochs=30, lr=1e-2), tmp_path / "c.pt")
    assert records[-1]["loss"] < records[0]["loss"] - 0.5


def test_a_killed_run_resumes_exactly_from_its_checkpoint(tmp_path, monkeypatch):
    sources, targets = _data()
    reference = build_model(PRESET, vocab_size=50, seed=0)
    train_module.train(reference, sources, targets, SETTINGS, tmp_path / "ref.pt")

    real_save = train_module.save_checkpoint

    def save_then_die(path, state):
        real_save(path, state)
        if state["step"] == 6:
            raise KeyboardInterrupt  # as if the job were killed right after this checkpoint

    monkeypatch.setattr(train_module, "save_checkpoint", save_then_die)
    interrupted = build_model(PRESET, vocab_size=50, seed=0)
    with pytest.raises(KeyboardInterrupt):
        train_module.train(interrupted, sources, targets, SETTINGS, tmp_path / "run.pt")
    monkeypatch.setattr(train_module, "save_checkpoint", real_save)

    resumed = build_model(PRESET, vocab_size=50, seed=99)  # fresh weights: everything must come from the checkpoint
    records = train_module.train(resumed, sources, targets, SETTINGS, tmp_path / "run.pt")
    assert records[0]["step"] == 1 and records[-1]["step"] > 6
    for (name, a), b in zip(reference.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name


def test_checkpoint_of_other_settings_is_not_resumed(tmp_path):
    sources, targets = _data()
    model = build_model(PRESET, vocab_size=50, seed=0)
    train_module.train(model, sources, targets, dict(SETTINGS, max_steps=4, checkpoint_every=2), tmp_path / "c.pt")
    other = build_model(PRESET, vocab_size=50, seed=0)
    records = train_module.train(other, sources, targets, dict(SETTINGS, max_steps=4, lr=5e-4), tmp_path / "c.pt")
    assert [r["step"] for r in records] == [1, 2, 3, 4]


def test_embeddings_are_tied_and_counted_once():
    model = build_model(PRESET, vocab_size=50, seed=0)
    assert model.lm_head.weight.data_ptr() == model.model.shared.weight.data_ptr()
    untied = sum(p.numel() for p in model.state_dict().values() if p.dtype.is_floating_point)
    assert count_parameters(model) < untied


def test_word_kd_with_alpha_zero_trains_exactly_like_plain_training(tmp_path):
    sources, targets = _data()
    teacher = build_model(PRESET, vocab_size=50, seed=7)
    plain = build_model(PRESET, vocab_size=50, seed=0)
    train_module.train(plain, sources, targets, dict(SETTINGS, max_steps=6), tmp_path / "a.pt")
    distilled = build_model(PRESET, vocab_size=50, seed=0)
    kd = {"method": "word_kd", "alpha": 0.0, "temperature": 1.0}
    train_module.train(distilled, sources, targets, dict(SETTINGS, max_steps=6, distillation=kd), tmp_path / "b.pt",
                       teacher=teacher)
    for (name, a), b in zip(plain.state_dict().items(), distilled.state_dict().values()):
        assert torch.equal(a, b), name
    # with alpha > 0 the teacher's distributions change what the student learns, and the teacher stays as it was
    before = {k: v.clone() for k, v in teacher.state_dict().items()}
    soft = build_model(PRESET, vocab_size=50, seed=0)
    train_module.train(soft, sources, targets, dict(SETTINGS, max_steps=6, distillation=dict(kd, alpha=0.5)),
                       tmp_path / "c.pt", teacher=teacher)
    assert any(not torch.equal(a, b) for a, b in zip(plain.state_dict().values(), soft.state_dict().values()))
    assert all(torch.equal(before[k], v) for k, v in teacher.state_dict().items())


def test_a_loaded_model_keeps_its_position_tables_fixed(tmp_path):
    from memkd.model import load, save

    model = build_model(PRESET, vocab_size=50, seed=0)
    spm = tmp_path / "spm.model"
    spm.write_bytes(b"")
    save(model, tmp_path / "m", spm)
    loaded = load(tmp_path / "m")
    assert count_parameters(loaded) == count_parameters(model)
    assert not any(p.requires_grad for n, p in loaded.named_parameters() if "embed_positions" in n)


def test_cached_teacher_logits_train_exactly_like_recomputed_ones(tmp_path):
    sources, targets = _data()
    teacher = build_model(PRESET, vocab_size=50, seed=7)
    calls = []
    teacher.lm_head.register_forward_hook(lambda module, args, output: calls.append(1))  # once per forward pass
    settings = dict(SETTINGS, epochs=3, distillation={"method": "word_kd", "alpha": 0.5, "temperature": 1.0})
    n_batches = len(make_batches([len(s) for s in sources], [len(t) for t in targets], SETTINGS["max_tokens"]))

    cached = build_model(PRESET, vocab_size=50, seed=0)
    train_module.train(cached, sources, targets, settings, tmp_path / "a.pt", teacher=teacher)
    assert len(calls) == n_batches  # one teacher forward per batch, not per step
    calls.clear()
    recomputed = build_model(PRESET, vocab_size=50, seed=0)
    train_module.train(recomputed, sources, targets, dict(settings, teacher_cache_mb=0), tmp_path / "b.pt",
                       teacher=teacher)
    assert len(calls) == 3 * n_batches
    for (name, a), b in zip(cached.state_dict().items(), recomputed.state_dict().values()):
        assert torch.equal(a, b), name


def test_the_teacher_cache_budget_does_not_change_the_checkpoint_identity():
    assert train_module.settings_fingerprint(dict(SETTINGS, teacher_cache_mb=0), 10) == \
        train_module.settings_fingerprint(SETTINGS, 10)
    assert train_module.settings_fingerprint(dict(SETTINGS, lr=1.0), 10) != train_module.settings_fingerprint(SETTINGS, 10)


def test_teacher_forced_logits_equal_those_of_a_call_with_labels():
    """Hugging Face's MarianMTModel called with labels (it shifts them right itself) on the same parameters."""
    from memkd.marian import to_hugging_face
    from memkd.model import teacher_forced_logits

    sources, targets = _data(n=6)
    model = build_model(PRESET, vocab_size=50, seed=0).eval()
    batch = collate(sources, targets)
    with torch.no_grad():
        assert torch.equal(teacher_forced_logits(model, batch), to_hugging_face(model)(**batch).logits)


def test_target_logits_are_the_full_logits_at_the_non_padding_positions():
    from memkd.model import TargetLogits, teacher_forced_logits

    sources, targets = _data(n=6)
    model = build_model(PRESET, vocab_size=50, seed=0).eval()
    batch = collate(sources, targets)
    mask = batch["labels"] != IGNORE_INDEX
    assert 0 < int(mask.sum()) < mask.numel()  # the batch has padding to leave out
    with torch.no_grad():
        rows = TargetLogits(model)(**batch)
        full = teacher_forced_logits(model, batch)
    assert rows.shape == (int(mask.sum()), 50)
    torch.testing.assert_close(rows, full[mask], rtol=1e-5, atol=1e-5)


def test_auto_precision_takes_bf16_on_the_cpu_only_where_it_was_measured_faster():
    # bf16 autocast trained these models 30-37% slower than fp32 on a Xeon with AMX, 1.6x faster on an EPYC
    assert train_module.pick_precision("auto", "cpu") is None  # no measurement: the exact path
    assert train_module.pick_precision("auto", "cpu", {"fp32": 1.0, "bf16": 0.6}) == torch.bfloat16
    assert train_module.pick_precision("auto", "cpu", {"fp32": 1.0, "bf16": 1.3}) is None
    assert train_module.pick_precision("auto", "cpu", {"fp32": 1.0, "bf16": 0.99}) is None  # within the noise
    assert train_module.pick_precision("auto", "cpu", {"fp32": 0.83, "bf16": 0.80}) is None  # a tie that once flipped
    assert train_module.pick_precision("auto", "cpu", {"fp32": 0.316, "bf16": 0.285}) is None  # 9.8%: a near-tie
    # the student preset's steady-state probe on a Xeon with AMX: 1.2-1.4x faster in bf16
    assert train_module.pick_precision("auto", "cpu", {"fp32": 0.47, "bf16": 0.38}) == torch.bfloat16
    assert train_module.pick_precision("auto", "cpu", {"fp32": 1.99, "bf16": 1.01}) == torch.bfloat16  # the teacher's
    assert train_module.pick_precision("bf16", "cpu") == torch.bfloat16
    assert train_module.pick_precision("fp32", "cuda") is None


def test_the_precision_probe_times_the_steady_state_not_the_first_step_of_a_batch_shape(monkeypatch):
    # oneDNN builds bf16 kernels the first time it meets a batch shape (1-3 ms each); a training job meets each
    # shape again every epoch, so the probe must time the repeated step. A clock that a forward pass moves by 1,
    # and by 10 more when bf16 meets a shape for the first time (the kernel builds), makes the timings exact.
    real = train_module.TargetLogits
    seen, clock = set(), [0.0]

    class FirstMeetingCost(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.inner = real(model)
            self.model = self.inner.model

        def forward(self, **batch):
            shape = tuple(batch["labels"].shape)
            clock[0] += 1.0
            if torch.is_autocast_enabled("cpu") and shape not in seen:
                seen.add(shape)
                clock[0] += 10.0
            return self.inner(**batch)

    monkeypatch.setattr(train_module, "TargetLogits", FirstMeetingCost)
    monkeypatch.setattr(train_module, "time", types.SimpleNamespace(perf_counter=lambda: clock[0]))
    sources, targets = _data()
    batches = make_batches([len(s) for s in sources], [len(t) for t in targets], SETTINGS["max_tokens"])[:3]
    collated = [collate([sources[i] for i in b], [targets[i] for i in b]) for b in batches]
    model = build_model(PRESET, vocab_size=50, seed=0)
    seconds = train_module.time_precisions(model, collated, SETTINGS, "cpu", warmup=1)
    assert len(seen) == len({tuple(b["labels"].shape) for b in collated})  # every shape paid its builds once
    assert seconds == {"fp32": 2.0, "bf16": 2.0}  # none of them timed; two batches timed, one step each


def _write_cached_timings(model, settings, seconds):
    path = train_module.precision_cache_path(train_module.machine_and_preset_key(model, settings, "cpu"))
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"seconds": seconds}))
    return path


def test_auto_precision_is_timed_once_per_machine_and_preset_then_read_from_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MEMKD_CACHE_DIR", str(tmp_path))
    sources, targets = _data()
    batches = make_batches([len(s) for s in sources], [len(t) for t in targets], SETTINGS["max_tokens"])
    model = build_model(PRESET, vocab_size=50, seed=0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    settings = {**SETTINGS, "precision": "auto"}
    dtype, how = train_module.measured_precision(model, sources, targets, batches, settings, "cpu")
    path = train_module.precision_cache_path(train_module.machine_and_preset_key(model, settings, "cpu"))
    seconds = json.loads(path.read_text())["seconds"]
    assert set(seconds) == {"fp32", "bf16"} and all(v > 0 for v in seconds.values())
    assert dtype == train_module.pick_precision("auto", "cpu", seconds) and "measured now" in how
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # timed on a copy

    def no_timing(*args, **kwargs):
        raise AssertionError("timed again although the cache holds the timings")

    monkeypatch.setattr(train_module, "time_precisions", no_timing)
    again, how = train_module.measured_precision(model, sources, targets, batches, settings, "cpu")
    assert again == dtype and "cached" in how
    other = {**settings, "max_tokens": 128}  # another batch size is another measurement
    with pytest.raises(AssertionError, match="timed again"):
        train_module.measured_precision(model, sources, targets, batches, other, "cpu")
    # so is other training code: a choice timed on an older forward pass or loss is not reused
    monkeypatch.setattr(train_module, "training_code_digest", lambda: "edited")
    with pytest.raises(AssertionError, match="timed again"):
        train_module.measured_precision(model, sources, targets, batches, settings, "cpu")


def test_the_training_code_digest_follows_the_modules_a_step_runs(tmp_path, monkeypatch):
    package = tmp_path / "memkd"
    package.mkdir()
    for name in ("model.py", "losses.py", "train.py"):
        (package / name).write_text(f"# {name}\n")
    monkeypatch.setattr(train_module, "__file__", str(package / "train.py"))
    first = train_module.training_code_digest()
    (package / "model.py").write_text("# model.py, edited\n")
    assert train_module.training_code_digest() != first


def test_auto_precision_trains_exactly_like_the_precision_it_chose_and_names_it(tmp_path, monkeypatch):
    monkeypatch.setenv("MEMKD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(train_module, "cpu_has_native_bf16", lambda: True)
    sources, targets = _data()
    settings = {**SETTINGS, "epochs": 1, "checkpoint_every": 2}
    auto = build_model(PRESET, vocab_size=50, seed=0)
    _write_cached_timings(auto, settings, {"fp32": 1.0, "bf16": 0.5})
    saved = []
    monkeypatch.setattr(train_module, "save_checkpoint", lambda path, state: saved.append(state["precision"]))
    records = train_module.train(auto, sources, targets, {**settings, "precision": "auto"}, tmp_path / "a.pt")
    assert {r["precision"] for r in records} == {"bf16"} and saved and set(saved) == {"bf16"}
    bf16 = build_model(PRESET, vocab_size=50, seed=0)
    train_module.train(bf16, sources, targets, {**settings, "precision": "bf16"}, tmp_path / "b.pt")
    for (name, a), b in zip(auto.state_dict().items(), bf16.state_dict().values()):
        assert torch.equal(a, b), name

def _weight_change(before: dict, model: torch.nn.Module) -> float:
    """Mean absolute change of the trainable weights."""
    moved = [(param.detach() - before[name]).abs().flatten() for name, param in model.named_parameters()
             if param.requires_grad]
    return float(torch.cat(moved).mean())


def test_fine_tuning_goes_on_with_the_saved_optimizer_state_and_steps_smaller_than_a_fresh_adam(tmp_path):
    """Adaptive-SeqKD's teacher: a fresh Adam's first step moves every weight by about lr whatever its gradient;
    the model's own moments (from a long run) take the small steps its training ended with."""
    sources, targets = _data(n=60)
    model = build_model(PRESET, vocab_size=50, seed=0)
    long_run = dict(SETTINGS, epochs=30, checkpoint_every=10_000)
    train_module.train(model, sources, targets, long_run, tmp_path / "a.pt", moments_path=tmp_path / "moments.pt")
    moments = torch.load(tmp_path / "moments.pt", weights_only=True)
    trainable = {name for name, param in model.named_parameters() if param.requires_grad}
    assert set(moments) == trainable and all(float(m["step"]) > 30 for m in moments.values())

    lr = 1e-3
    fine_tune = dict(SETTINGS, epochs=1, max_steps=1, lr=lr, schedule="constant")
    changes = {}
    for name, start in (("fresh", None), ("continue", moments)):
        tuned = build_model(PRESET, vocab_size=50, seed=0)
        tuned.load_state_dict(model.state_dict())
        before = {n: p.detach().clone() for n, p in tuned.named_parameters()}
        train_module.train(tuned, sources[:8], targets[:8], fine_tune, tmp_path / f"{name}.pt",
                           initial_moments=start)
        changes[name] = _weight_change(before, tuned)
    print(changes)
    assert changes["fresh"] > 0.3 * lr  # about lr for every weight with a gradient
    assert changes["continue"] < 0.5 * changes["fresh"]


def test_optimizer_state_of_another_architecture_is_refused(tmp_path):
    sources, targets = _data(n=20)
    model = build_model(PRESET, vocab_size=50, seed=0)
    train_module.train(model, sources, targets, dict(SETTINGS, max_steps=2), tmp_path / "a.pt",
                       moments_path=tmp_path / "moments.pt")
    moments = torch.load(tmp_path / "moments.pt", weights_only=True)
    bigger = build_model(dict(PRESET, ffn_dim=64), vocab_size=50, seed=0)
    with pytest.raises(ValueError, match="shape"):
        train_module.train(bigger, sources, targets, dict(SETTINGS, max_steps=1), tmp_path / "b.pt",
                           initial_moments=moments)
    deeper = build_model(dict(PRESET, decoder_layers=2), vocab_size=50, seed=0)
    with pytest.raises(ValueError, match="missing"):
        train_module.train(deeper, sources, targets, dict(SETTINGS, max_steps=1), tmp_path / "c.pt",
                           initial_moments=moments)


def linear_budget_for_steps(source_lengths, target_lengths, max_tokens, batches):
    """budget_for_steps as it was (a scan down from max_tokens in steps of 8): what the binary search must match."""
    for budget in range(max_tokens, 0, -8):
        if len(make_batches(source_lengths, target_lengths, budget)) >= batches:
            return budget
    return 1


def budget_cases():
    """Hand-made cases (none, one, equal or very long pairs, budgets below a pair, not multiples of 8, more batches
    than pairs) and random selections of several sizes and length spreads."""
    yield [], [], 800, 0
    yield [], [], 800, 1
    yield [5], [7], 800, 1
    yield [5], [7], 800, 2
    yield [10] * 30, [10] * 30, 800, 30
    yield [10] * 30, [10] * 30, 800, 7
    yield [300, 5, 5], [5, 300, 5], 100, 2  # pairs longer than the budget get a batch of their own
    yield [3, 9, 17, 33], [40, 2, 8, 16], 7, 3  # max_tokens below one pair's padded length
    for max_tokens in (1, 8, 9, 15, 16, 17, 63, 64, 801, 4096):
        yield [1, 2, 3, 8, 9, 16, 17, 24], [24, 17, 16, 9, 8, 3, 2, 1], max_tokens, 4
    rng = random.Random(7)
    for case in range(200):
        n = rng.choice([1, 2, 3, 5, 10, 21, 40, 100])
        spread = rng.choice([(1, 8), (5, 40), (1, 120), (30, 31)])
        sources = [rng.randint(*spread) for _ in range(n)]
        targets = [rng.randint(*spread) for _ in range(n)]
        yield sources, targets, rng.choice([8, 100, 512, 800, 1000, 2049]), rng.randint(0, 2 * n + 2)


def test_budget_for_steps_matches_the_linear_scan():
    seen = set()
    for sources, targets, max_tokens, batches in budget_cases():
        expected = linear_budget_for_steps(sources, targets, max_tokens, batches)
        assert train_module.budget_for_steps(sources, targets, max_tokens, batches) == expected, (
            sources, targets, max_tokens, batches)
        seen.add("unchanged" if expected == max_tokens else "one" if expected == 1 else "between")
    assert seen == {"unchanged", "one", "between"}  # the cases reach every outcome of the scan


def test_budget_for_steps_takes_few_batchings(monkeypatch):
    calls = []
    counted = lambda *args: calls.append(args[2]) or make_batches(*args)
    monkeypatch.setattr(train_module, "make_batches", counted)
    rng = random.Random(3)
    sources, targets = [rng.randint(5, 60) for _ in range(500)], [rng.randint(5, 60) for _ in range(500)]
    budget = train_module.budget_for_steps(sources, targets, 4096, 200)
    assert budget == linear_budget_for_steps(sources, targets, 4096, 200) and 1 < budget < 4096
    assert len(calls) <= 11  # log2(4096 / 8) + 2; the scan made (4096 - budget) / 8 + 1


def test_budget_for_steps_cuts_a_small_selection_into_enough_batches():
    rng = random.Random(1)
    sources = [rng.randrange(5, 40) for _ in range(40)]
    targets = [rng.randrange(5, 40) for _ in range(40)]
    assert len(make_batches(sources, targets, 800)) < 20  # the teacher's batches: a few steps per pass
    budget = train_module.budget_for_steps(sources, targets, 800, 20)
    assert len(make_batches(sources, targets, budget)) >= 20
    assert len(make_batches(sources, targets, budget + 8)) < 20  # the largest such budget (fewest, fullest batches)
    assert train_module.budget_for_steps(sources, targets, 800, 2) == 800  # already enough: unchanged
    # fewer pairs than steps: one pair per batch, the passes make up the rest (fine_tuning_steps)
    assert len(make_batches(sources[:5], targets[:5], train_module.budget_for_steps(sources[:5], targets[:5], 800, 20))) == 5


def test_token_arrays_hold_the_same_sequences_as_lists():
    sources, _ = _data(n=30)
    arrays = TokenArrays.from_lists(sources)
    assert len(arrays) == 30 and arrays.lengths.tolist() == [len(s) for s in sources]
    assert [arrays[i].tolist() for i in range(30)] == sources
    assert arrays.ids.dtype == np.int32 and arrays.ids.nbytes == 4 * sum(len(s) for s in sources)
    with pytest.raises(ValueError, match="offsets"):
        TokenArrays(arrays.ids, arrays.offsets[:-1])


class _Processor:
    """SentencePiece's encode on a list: a token per character code (enough to test chunking)."""

    def encode(self, texts):
        return [[4 + ord(c) % 40 for c in text] for text in texts]

    def vocab_size(self):
        return 44


def test_training_on_token_arrays_is_identical_to_training_on_lists(tmp_path):
    sources, targets = _data()
    runs = []
    for name, (src, tgt) in {"lists": (sources, targets),
                             "arrays": (TokenArrays.from_lists(sources), TokenArrays.from_lists(targets))}.items():
        model = build_model(PRESET, vocab_size=50, seed=0)
        records = train_module.train(model, src, tgt, SETTINGS, tmp_path / f"{name}.pt")
        runs.append(([r["loss"] for r in records], [p.detach().clone() for p in model.parameters()]))
    assert runs[0][0] == runs[1][0]
    assert all(torch.equal(a, b) for a, b in zip(runs[0][1], runs[1][1]))


def test_training_keeps_freed_memory_so_a_step_faults_in_no_fresh_pages():
    """memkd.train.keep_freed_memory (glibc): blocks of 12-14 MB, three at a time and of varying sizes, as a training
    step's logits and activations vary with its batch, freed and allocated again, come back from the heap instead of
    as fresh pages from the kernel. In fresh processes, as the setting is process-wide. The contrast is glibc at its
    starting threshold (128 KiB), which hands them back and faults them in again (about 190,000 faults here); the
    contrast pins it because glibc's own threshold moves with what the process freed before (left to itself, the
    same probe faulted 3,125 or 186,856 times in three runs)."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        pytest.skip("glibc's malloc only")
    probe = (
        "import resource, sys, torch\n"
        "from memkd.train import keep_freed_memory\n"
        "if sys.argv[1] == 'kept': keep_freed_memory()\n"
        "if sys.argv[1] == 'handed_back': import ctypes; ctypes.CDLL('libc.so.6').mallopt(-3, 128 * 1024)\n"
        "def step(k): blocks = [torch.ones(3_000_000 + 100_000 * ((k + j) % 5)) for j in range(3)]\n"
        "for k in range(5): step(k)\n"  # the first steps fault in their pages either way
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
        "for k in range(20): step(k)\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)\n"
    )
    faults = {how: int(subprocess.run([sys.executable, "-c", probe, how], capture_output=True, text=True,
                                      check=True).stdout)
              for how in ("handed_back", "kept")}
    assert faults["handed_back"] > 20_000  # 20 steps of three blocks of ~3,000 pages each
    assert faults["kept"] < 1_000
