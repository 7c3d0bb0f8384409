"""The language-model track: memorization in soft and hard distillation of decoder-only LMs (after Borkar et al.,
arXiv 2601.15394). data -> model -> losses -> train -> extraction -> analysis -> plots/summary."""
