"""Corpus builder: rules, fetching, cutting, deduplication, resume and the reserved packages.

No network: a tiny Debian package is built with ``dpkg-deb --build`` and a tiny wheel with
``zipfile``, and the fetcher's download step copies them instead of calling apt-get or pip.
"""
from __future__ import annotations

import argparse
import csv
import shutil
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from audioclf_lib.config import REPO_ROOT
from audioclf_lib.corpus import command
from audioclf_lib.corpus.build import MANIFEST_COLUMNS, build_corpus
from audioclf_lib.corpus.clips import clip_name, segment_starts
from audioclf_lib.corpus.fetch import FetchError, Fetcher
from audioclf_lib.corpus.rules import Archive, ReservedPackageError, Rule, check_allowed, package_name

SR = 16_000
pytestmark = pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs dpkg-deb")

# Written out here rather than read from the module, so a name dropped there fails the test.
RESERVED = [
    ("debian", "asterisk-moh-opsound-wav"), ("debian", "asterisk-moh-opsound-g722"),
    ("debian", "asterisk-moh-opsound-gsm"), ("debian", "asterisk-moh-opsound-ulaw"),
    ("debian", "hedgewars-data"), ("debian", "ktuberling-data"), ("debian", "lincity-ng-data"),
    ("debian", "scratch"), ("debian", "sonic-pi-samples"), ("debian", "Hedgewars-Data=1.0.2-1"),
    ("pypi", "pocketsphinx"), ("pypi", "praat-parselmouth"), ("pypi", "Praat_Parselmouth==0.4.3"),
    ("pypi", "dcase-util"), ("pypi", "dcase_util"), ("pypi", "nnmnkwii"), ("pypi", "pysptk>=0.2"),
    ("pypi", "amfm-decompy"), ("pypi", "amfm_decompy"), ("pypi", "audiomentations"),
    ("npm", "supersonic-scsynth-samples"), ("npm", "supersonic-scsynth-samples@0.1.0"),
    # a name reserved in one registry is refused in the others too
    ("pypi", "sonic-pi-samples"), ("npm", "hedgewars-data"),
]


def _tone(seconds: float, sr: int, freq: float, *, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _rcc(files: dict[str, bytes]) -> bytes:
    """A compiled Qt resource (format 2) with one folder; even-numbered files zlib-compressed."""
    folder = sorted({name.split("/")[0] for name in files})
    assert len(folder) == 1
    names, payload, nodes = b"", b"", []

    def add_name(text: str) -> int:
        nonlocal names
        offset = len(names)
        names += struct.pack(">HI", len(text), 0) + text.encode("utf-16-be")
        return offset

    nodes.append(struct.pack(">IHII", 0, 2, 1, 1) + bytes(8))  # root: one child, node 1
    nodes.append(struct.pack(">IHII", add_name(folder[0]), 2, len(files), 2) + bytes(8))
    for i, (name, blob) in enumerate(sorted(files.items())):
        flags = 0
        if i % 2 == 0:
            flags, blob = 1, struct.pack(">I", len(blob)) + zlib.compress(blob)
        nodes.append(struct.pack(">IHHHI", add_name(name.split("/")[1]), flags, 0, 0, len(payload)) + bytes(8))
        payload += struct.pack(">I", len(blob)) + blob
    tree = b"".join(nodes)
    header = 20
    return (b"qres" + struct.pack(">IIII", 2, header, header + len(tree), header + len(tree) + len(payload))
            + tree + payload + names)


def _cat(entries: list[tuple[str, bytes]]) -> bytes:
    """An OpenTTD sound catalogue: (offset, size) table, then length-prefixed name + RIFF."""
    bodies = [bytes([len(n) + 1]) + n.encode() + b"\0" + blob for n, blob in entries]
    offset, table = 8 * len(entries), b""
    for body in bodies:
        table += struct.pack("<II", offset | 0x80000000, len(body))  # top bit: the newer format
        offset += len(body)
    return table + b"".join(bodies)


@pytest.fixture(scope="module")
def packages(tmp_path_factory) -> dict[str, Path]:
    """A fake .deb (sounds + a pk3 archive + copyright) and a fake wheel, as local files."""
    root = tmp_path_factory.mktemp("pkgs")
    rng = np.random.default_rng(0)
    tree = root / "fake-sounds"
    snd = tree / "usr/share/games/fake/sounds"
    snd.mkdir(parents=True)
    noise = np.clip(0.2 * rng.standard_normal(SR) * 32767, -32768, 32767).astype(np.int16)
    sf.write(snd / "door.wav", noise, SR, subtype="PCM_16")
    # the same samples again under another name and format: an exact duplicate once decoded
    (snd / "dups").mkdir()
    sf.write(snd / "dups/door_copy.flac", noise, SR, subtype="PCM_16")
    sf.write(snd / "bell.ogg", _tone(2.0, SR, 660.0), SR)
    sf.write(snd / "long_rain.wav", (0.1 * rng.standard_normal(35 * 22_050)).astype(np.float32), 22_050)
    stereo = np.stack([_tone(3.0, 44_100, 440.0), _tone(3.0, 44_100, 440.0)], axis=1)
    sf.write(snd / "stereo_hum.wav", stereo, 44_100)
    sf.write(snd / "tick.wav", _tone(0.1, SR, 1000.0), SR)
    sf.write(snd / "quiet.wav", np.zeros(2 * SR, np.float32), SR)
    (snd / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot really audio" * 10)
    (snd / "notes.txt").write_text("not audio\n")
    (snd / "CREDITS").write_text("sounds by nobody\n")
    (tree / "usr/share/games/fake/textures").mkdir(parents=True)
    (tree / "usr/share/games/fake/textures/wall.png").write_bytes(b"\x89PNG fake")
    # a game archive: a zip under another name, with audio and non-audio members
    voice = root / "voice.wav"
    sf.write(voice, _tone(1.5, 11_025, 220.0) * np.hanning(int(1.5 * 11_025)).astype(np.float32), 11_025)
    with zipfile.ZipFile(tree / "usr/share/games/fake/data.pk3", "w") as zf:
        zf.write(voice, "sound/voice/hello.wav")
        zf.writestr("textures/rock.png", b"\x89PNG fake")
        zf.writestr("music/theme.txt", "no audio here")
    (tree / "usr/share/games/fake/sounds.rcc").write_bytes(_rcc({"sfx/bird.wav": voice.read_bytes(),
                                                                "sfx/notes.txt": b"not audio"}))
    (tree / "usr/share/games/fake/sample.cat").write_bytes(_cat([("train.wav", voice.read_bytes()),
                                                                 ('"Steam horn/whistle". By Nobody. License: CC0.',
                                                                  voice.read_bytes())]))
    doc = tree / "usr/share/doc/fake-sounds"
    doc.mkdir(parents=True)
    (doc / "copyright").write_text("Files: *\nLicense: CC0-1.0\n")
    (tree / "DEBIAN").mkdir()
    (tree / "DEBIAN/control").write_text("Package: fake-sounds\nVersion: 1.0-1\nArchitecture: all\n"
                                         "Maintainer: Nobody <nobody@example.org>\nDescription: test sounds\n")
    deb = root / "fake-sounds_1.0-1_all.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(tree), str(deb)], check=True,
                   capture_output=True)
    wheel = root / "fakewheel-0.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.write(voice, "fakewheel/data/voice.wav")  # the pk3's voice again: a duplicate across sources
        other = root / "voice2.wav"
        sf.write(other, _tone(1.0, 22_050, 330.0), 22_050)
        zf.write(other, "fakewheel/data/voice2.wav")
        zf.writestr("fakewheel/__init__.py", "")
        zf.writestr("fakewheel-0.1.dist-info/LICENSE", "MIT\n")
    return {"fake-sounds": deb, "fakewheel": wheel}


class LocalFetcher(Fetcher):
    """The real fetcher whose download step copies a local file and counts the calls."""

    def __init__(self, cache, files, **kw):
        super().__init__(cache, log=lambda line: None, **kw)
        self.files, self.calls = files, []

    def download(self, registry, spec, dest):
        self.calls.append((registry, spec))
        name = package_name(registry, spec)
        if name not in self.files:
            raise FetchError(f"{registry}:{name}: no such package")
        dest.mkdir(parents=True, exist_ok=True)
        return Path(shutil.copy(self.files[name], dest))


def _rules(**overrides) -> list[Rule]:
    where = "usr/share/games/fake/sounds"
    return [
        Rule("noise", "deb_fake_sfx", "debian", ("fake-sounds",), "CC0-1.0 (test)", "test sounds", where=where,
             exclude=overrides.get("exclude", ""), max_clips_per_file=overrides.get("max_clips", 3)),
        Rule("speech", "deb_fake_voice", "debian", ("fake-sounds",), "CC0-1.0 (test)", "voice in a pk3",
             archives=(Archive("usr/share/games/fake/data.pk3", r"^sound/"),),
             where="usr/share/games/fake/data.pk3.d/sound/voice"),
        Rule("speech", "pypi_fake_voice", "pypi", ("fakewheel==0.1",), "MIT (test)", "voice in a wheel",
             where="fakewheel/data"),
    ]


def _manifest(out: Path) -> list[dict]:
    with (out / "manifest.csv").open() as f:
        return list(csv.DictReader(f))


@pytest.fixture()
def built(tmp_path, packages):
    fetcher = LocalFetcher(tmp_path / "cache", packages)
    out = tmp_path / "corpus"
    report = build_corpus(out, _rules(), fetcher, max_clips_per_file=6)
    return out, fetcher, report


def test_build_writes_clips_manifest_and_credits(built):
    out, fetcher, report = built
    # the .deb is fetched once although two rules use it
    assert sorted(fetcher.calls) == [("debian", "fake-sounds"), ("pypi", "fakewheel==0.1")]
    assert report.downloads == 2
    rows = _manifest(out)
    files = {r["file"] for r in rows}
    assert files == {
        "noise/deb_fake_sfx__door.ogg", "noise/deb_fake_sfx__bell.ogg", "noise/deb_fake_sfx__stereo_hum.ogg",
        "noise/deb_fake_sfx__long_rain__s00.ogg", "noise/deb_fake_sfx__long_rain__s01.ogg",
        "noise/deb_fake_sfx__long_rain__s02.ogg",
        "speech/deb_fake_voice__hello.ogg", "speech/pypi_fake_voice__voice2.ogg",
    }
    assert sorted((out / "noise").iterdir()) == sorted(out / f for f in files if f.startswith("noise/"))
    for r in rows:
        info = sf.info(out / r["file"])
        assert (info.samplerate, info.channels, info.format, info.subtype) == (SR, 1, "OGG", "VORBIS")
        assert info.duration <= 10.0 + 1e-3
        assert abs(info.duration - float(r["seg_dur_s"])) < 0.01
    by_file = {r["file"]: r for r in rows}
    stereo = by_file["noise/deb_fake_sfx__stereo_hum.ogg"]
    assert (stereo["orig_sr"], stereo["package"], stereo["registry"]) == ("44100", "fake-sounds", "debian")
    assert stereo["orig_candidate"] == "noise/deb_fake_sfx/fake-sounds/stereo_hum.wav"
    y, _ = sf.read(out / stereo["file"])
    spectrum = np.abs(np.fft.rfft(y))
    assert abs(np.argmax(spectrum) * SR / len(y) - 440.0) < 2.0  # the tone survived mono + resampling
    # a 35-s file with at most 3 clips per file (the rule's cap): 3 evenly spaced 10-s clips
    starts = [float(by_file[f"noise/deb_fake_sfx__long_rain__s0{k}.ogg"]["seg_start_s"]) for k in range(3)]
    assert starts == pytest.approx([0.833, 12.5, 24.167], abs=1e-3)
    assert {by_file[f"noise/deb_fake_sfx__long_rain__s0{k}.ogg"]["seg_dur_s"] for k in range(3)} == {"10.0"}
    assert by_file["speech/pypi_fake_voice__voice2.ogg"]["license"] == "MIT (test)"
    assert by_file["speech/deb_fake_voice__hello.ogg"]["orig_sr"] == "11025"
    # the duplicate, the silent and the too-short files give no clip; the broken one is reported
    sfx = report.sources["deb_fake_sfx"]
    assert (sfx.files, sfx.clips, sfx.duplicates, sfx.silent, sfx.too_short, sfx.failed) == (8, 6, 1, 1, 1, 1)
    assert [(s, Path(f).name) for s, f, _ in report.failed_files] == [("deb_fake_sfx", "broken.wav")]
    assert not report.ok and not report.problems
    # the wheel's copy of the pk3's voice is a duplicate across sources: the earlier rule keeps it
    assert (report.sources["pypi_fake_voice"].clips, report.sources["pypi_fake_voice"].duplicates) == (1, 1)
    credits = (out / "CREDITS.md").read_text()
    assert "| noise | deb_fake_sfx | debian | fake-sounds 1.0-1 | CC0-1.0 (test) | 6 |" in credits
    assert "| speech | pypi_fake_voice | pypi | fakewheel 0.1 | MIT (test) |" in credits


def test_starter_manifest_has_the_corpus_columns(built):
    # data/starter is cut from corpus v2 (scripts/make_starter_subset.py): the same columns, with the
    # split each clip has in v2 in the "split" column (train/val/test, which notebook 01 keeps).
    out, _, _ = built
    with (REPO_ROOT / "data/starter/manifest.csv").open() as f:
        starter = next(csv.reader(f))
    with (out / "manifest.csv").open() as f:
        header = next(csv.reader(f))
    assert header == MANIFEST_COLUMNS
    assert starter == header
    starter_splits = set(pd.read_csv(REPO_ROOT / "data/starter/manifest.csv")["split"])
    assert starter_splits == {"train", "val", "test"}


def test_fetch_unpacks_only_audio_and_licences(built):
    _, fetcher, _ = built
    tree = fetcher.tree_dir("debian", "fake-sounds")
    taken = sorted(p.relative_to(tree).as_posix() for p in tree.rglob("*") if p.is_file())
    assert "usr/share/doc/fake-sounds/copyright" in taken
    assert "usr/share/games/fake/sounds/CREDITS" in taken  # credit files next to the audio are kept
    assert "usr/share/games/fake/data.pk3.d/sound/voice/hello.wav" in taken
    assert not any(t.endswith((".png", ".txt", ".pk3")) for t in taken), taken  # textures, notes, the archive
    assert not list((fetcher.cache / "debs").glob("*.deb"))  # download deleted after unpacking
    stamp = fetcher.stamp_path("debian", "fake-sounds")
    assert '"version": "1.0-1"' in stamp.read_text()


def test_qt_resources_and_sound_catalogues_are_unpacked(tmp_path, packages):
    fetcher = LocalFetcher(tmp_path / "cache", packages)
    tree = fetcher.fetch("debian", "fake-sounds", [Archive("usr/share/games/fake/sounds.rcc"),
                                                   Archive("usr/share/games/fake/sample.cat")]).root
    rcc = tree / "usr/share/games/fake/sounds.rcc.d"
    cat = tree / "usr/share/games/fake/sample.cat.d"
    assert sorted(p.relative_to(rcc).as_posix() for p in rcc.rglob("*")) == ["sfx", "sfx/bird.wav"]
    assert sorted(p.name for p in cat.iterdir()) == ["000_train.wav", "001_Steam horn-whistle.wav"]
    for path in [rcc / "sfx/bird.wav", *cat.iterdir()]:
        assert sf.info(path).samplerate == 11_025 and sf.info(path).frames == int(1.5 * 11_025)
    assert not (tree / "usr/share/games/fake/sounds.rcc").exists()


def test_second_run_downloads_and_writes_nothing(built, packages):
    out, first, _ = built
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*.ogg")}
    manifest = (out / "manifest.csv").read_text()
    again = LocalFetcher(first.cache, packages)
    report = build_corpus(out, _rules(), again, max_clips_per_file=6)
    assert again.calls == [] and report.downloads == 0
    assert report.written == 0 and report.removed == 0
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.ogg")} == before
    assert (out / "manifest.csv").read_text() == manifest
    # the broken file is still reported from the log, without decoding it again
    assert [Path(f).name for _, f, _ in report.failed_files] == ["broken.wav"]


def test_resume_redoes_only_what_is_missing(built, packages):
    out, first, _ = built
    (out / "noise/deb_fake_sfx__long_rain__s01.ogg").unlink()
    report = build_corpus(out, _rules(), LocalFetcher(first.cache, packages), max_clips_per_file=6)
    assert report.written == 3  # that file's clips are cut again (two are rewritten identically)
    assert (out / "noise/deb_fake_sfx__long_rain__s01.ogg").exists()
    assert len(_manifest(out)) == 8


def test_renamed_clips_are_rewritten_and_the_old_names_removed(built, packages, monkeypatch):
    from audioclf_lib.corpus import build

    out, first, _ = built
    original = build.clip_name
    monkeypatch.setattr(build, "clip_name", lambda source, relpath: original(source, "v2_" + relpath))
    report = build_corpus(out, _rules(), LocalFetcher(first.cache, packages), max_clips_per_file=6)
    assert report.written == 8 and report.removed == 8
    assert all("__v2_" in r["file"] for r in _manifest(out))
    assert sorted(p.name.split("__")[1][:3] for p in out.rglob("*.ogg")) == ["v2_"] * 8


def test_only_some_sources_keeps_the_others(built, packages):
    out, first, _ = built
    rules = _rules(exclude=r"long_")
    report = build_corpus(out, rules[:1], LocalFetcher(first.cache, packages), max_clips_per_file=6)
    # the excluded file's clips go, the other sources' clips stay in the manifest
    assert report.removed == 3 and report.written == 0
    files = {r["file"] for r in _manifest(out)}
    assert not any("long_rain" in f for f in files)
    assert {"speech/pypi_fake_voice__voice2.ogg", "speech/deb_fake_voice__hello.ogg"} <= files
    # sources not built now keep their credit line only when their rules are known
    assert "| pypi | fakewheel |" in (out / "CREDITS.md").read_text()
    build_corpus(out, rules[:1], LocalFetcher(first.cache, packages), max_clips_per_file=6, known_rules=rules)
    assert "| pypi | fakewheel 0.1 | MIT (test) | 1 | 0.0 | voice in a wheel |" in (out / "CREDITS.md").read_text()
    assert not list(out.glob("noise/*long_rain*"))


def test_a_missing_package_is_reported_and_the_build_goes_on(tmp_path, packages):
    fetcher = LocalFetcher(tmp_path / "cache", packages)
    rules = [Rule("music", "deb_nowhere", "debian", ("no-such-package",), "?", "missing"), *_rules()]
    report = build_corpus(tmp_path / "out", rules, fetcher)
    assert any("deb_nowhere" in p and "no such package" in p for p in report.problems)
    assert report.sources["deb_fake_sfx"].clips > 0


def test_a_wrong_folder_is_reported(tmp_path, packages):
    rule = Rule("noise", "deb_fake_elsewhere", "debian", ("fake-sounds",), "CC0", "x", where="usr/share/nothing")
    report = build_corpus(tmp_path / "out", [rule], LocalFetcher(tmp_path / "cache", packages))
    assert any("usr/share/nothing" in p for p in report.problems)
    assert any("no file matched" in p for p in report.problems)


@pytest.mark.parametrize("registry,spec", RESERVED)
def test_reserved_packages_are_refused(tmp_path, registry, spec):
    with pytest.raises(ReservedPackageError, match="reserved"):
        check_allowed(registry, spec)
    with pytest.raises(ReservedPackageError):
        Rule("music", "reserved_src", registry, (spec,), "?", "must not exist")
    fetcher = LocalFetcher(tmp_path / "cache", {})
    with pytest.raises(ReservedPackageError):
        fetcher.fetch(registry, spec)
    assert fetcher.calls == []  # refused before any download
    assert not (tmp_path / "cache").exists()


def test_similar_names_are_allowed():
    for registry, spec in [("debian", "asterisk-core-sounds-en-wav"), ("debian", "scratch-games"),
                           ("pypi", "pysptk-extra"), ("npm", "supersonic")]:
        check_allowed(registry, spec)


def test_the_project_rules():
    from audioclf_lib.corpus.sources import SOURCES

    names = [r.source for r in SOURCES]
    assert len(names) == len(set(names)) and len(names) >= 60
    assert not any("fsdd" in n for n in names)  # the spoken-digit snapshot is not a registry source
    assert {r.label for r in SOURCES} == {"music", "speech", "noise"}
    for r in SOURCES:
        assert r.license.strip() and r.note.strip(), r.source
        assert r.source.startswith({"debian": "deb_", "pypi": "pypi_", "npm": "npm_"}[r.registry]), r.source
        for spec in r.packages:
            check_allowed(r.registry, spec)


def test_clip_names_drop_the_folders_a_package_shares(tmp_path, packages):
    rule = Rule("noise", "deb_whole", "debian", ("fake-sounds",), "CC0", "the whole package",
                include=r"/(bell|stereo_hum)\.(ogg|wav)$")
    build_corpus(tmp_path / "out", [rule], LocalFetcher(tmp_path / "cache", packages))
    assert sorted(p.name for p in (tmp_path / "out/noise").iterdir()) == ["deb_whole__bell.ogg",
                                                                          "deb_whole__stereo_hum.ogg"]


def test_helpers():
    assert segment_starts(8.0) == [0.0]
    assert segment_starts(60.0, max_clips=3) == [5.0, 25.0, 45.0]
    assert segment_starts(25.0, max_clips=6) == [1.25, 13.75]
    assert clip_name("deb_x", "voices/en/Hello World!.ogg") == "deb_x__voices_en_Hello_World"
    assert clip_name("deb_x", "a__b/c.wav") == "deb_x__a_b_c"
    long = clip_name("deb_x", "d/" + "n" * 200 + ".wav")
    assert len(long) < 110 and long != clip_name("deb_x", "d/" + "n" * 201 + ".wav")
    assert package_name("pypi", "Foo_Bar.baz==1.0") == "foo-bar-baz"
    assert package_name("npm", "@scope/pkg@1.2.3") == "@scope/pkg"
    assert package_name("debian", "pkg=1.0-1") == "pkg"
    with pytest.raises(ValueError, match="label"):
        Rule("silence", "x", "debian", ("p",), "?", "?")
    with pytest.raises(ValueError, match="__"):
        Rule("noise", "a__b", "debian", ("p",), "?", "?")


def test_command(tmp_path, packages, monkeypatch, capsys):
    from audioclf_lib.corpus import sources

    monkeypatch.setattr(sources, "SOURCES", tuple(_rules(max_clips=None)))
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    out = tmp_path / "corpus"
    fetcher = LocalFetcher(tmp_path / "cache", packages)
    args = parser.parse_args(["build", str(out), "--sources", "deb_fake_*", "--max-clips-per-file", "2"])
    assert command.run(args, fetcher=fetcher) == 1  # the broken file
    captured = capsys.readouterr()
    assert "failed: deb_fake_sfx:" in captured.err and "broken.wav" in captured.err
    assert "total" in captured.out and "1 package(s) downloaded" in captured.out
    assert sorted(p.name for p in out.glob("noise/*long_rain*")) == [
        "deb_fake_sfx__long_rain__s00.ogg", "deb_fake_sfx__long_rain__s01.ogg"]
    assert not list(out.glob("speech/pypi_*"))
    assert command.run(parser.parse_args(["build", str(out), "--sources", "nothing_*"]), fetcher=fetcher) == 2
    assert command.run(parser.parse_args(["list"])) == 0
    assert "deb_fake_voice" in capsys.readouterr().out


def test_command_parser_is_cheap_to_import():
    # the main CLI builds every subcommand's parser: no numpy or audio library for that
    code = ("import sys, argparse; from audioclf_lib.corpus import command; "
            "command.add_arguments(argparse.ArgumentParser()); "
            "print(sorted(m for m in ('numpy', 'soundfile', 'pandas') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"

