"""Sequence accelerators (bottom layer; never imports matfun)."""
