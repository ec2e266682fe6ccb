"""The hostile corpus (see corpus.py)."""
