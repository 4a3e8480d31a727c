"""audioclf_lib: music / speech / noise classification from mel-spectrograms.

Modules by concern: ``config`` (settings, paths), ``audio`` (load, resample, normalise, silence),
``features`` (the one front end), ``data`` / ``windows`` / ``cache`` (corpus, splits, windows),
``augment``, ``models``, ``checkpoint``, ``train``, ``metrics``, ``predict``, ``viz``, ``cli``.
Importing the package changes no global state; notebooks call ``runtime.setup_notebook``.
"""
__version__ = "0.1.0"
