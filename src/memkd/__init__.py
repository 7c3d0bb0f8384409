"""memkd: memorization inheritance in sequence-level knowledge distillation for NMT."""

__version__ = "0.1.0"
