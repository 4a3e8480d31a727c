"""The per-source rules of the corpus (see :mod:`audioclf_lib.corpus.rules` for their shape)."""
from __future__ import annotations

from .rules import Rule

__all__ = ["SOURCES"]

SOURCES: tuple[Rule, ...] = ()
