import torch

from memkd import train as train_module
from memkd.model import build_model, count_parameters
from memkd.prune import magnitude_prune, make_permanent, nonzero_parameters, prunable

from .test_train import PRESET, SETTINGS, _data


def prunable_weights(model):
    return sum(module.weight.numel() for module, _ in prunable(model))


def test_pruning_zeroes_the_smallest_share_of_linear_weights_only():
    model = build_model(PRESET, vocab_size=50, seed=0)
    embeddings = model.model.shared.weight.detach().clone()
    before = nonzero_parameters(model)
    pruned = magnitude_prune(model, 0.5)
    assert pruned == prunable_weights(model) // 2
    assert nonzero_parameters(model) == before - pruned
    assert torch.equal(model.model.shared.weight, embeddings)
    # what survived is larger in magnitude than anything pruned (global magnitude pruning)
    kept = torch.cat([m.weight[m.weight_mask == 1].abs().flatten() for m, _ in prunable(model)])
    dropped = torch.cat([m.weight_orig[m.weight_mask == 0].abs().flatten() for m, _ in prunable(model)])
    assert kept.min() >= dropped.max()


def test_pruned_weights_stay_zero_through_retraining_and_after_saving(tmp_path):
    sources, targets = _data(n=40)
    model = build_model(PRESET, vocab_size=50, seed=0)
    magnitude_prune(model, 0.6)
    masks = {id(m): m.weight_mask.clone() for m, _ in prunable(model)}
    train_module.train(model, sources, targets, dict(SETTINGS, max_steps=20, lr=1e-2), tmp_path / "p.pt")
    for module, _ in prunable(model):
        assert (module.weight[masks[id(module)] == 0] == 0).all()
    make_permanent(model)
    assert not any(hasattr(m, "weight_mask") for m, _ in prunable(model))
    zero_share = sum(int((m.weight == 0).sum()) for m, _ in prunable(model)) / prunable_weights(model)
    assert zero_share >= 0.6
    assert nonzero_parameters(model) < count_parameters(model)
