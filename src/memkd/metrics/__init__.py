"""Memorization metrics, one module per metric; each is computed per training example first."""
