"""Corpus readers. Each returns a DataFrame with columns id, <lang1>, <lang2>, flags."""
