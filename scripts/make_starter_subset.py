"""Build data/starter: the small, attributed subset of corpus v2 shipped in the repo (what a fresh clone trains on).

Run by a maintainer after `audioclf corpus build data/cache/corpus/v2` (the result is committed; a fresh clone
needs neither the corpus nor the network). Every clip comes from a package registry, as in corpus v2.

- **Every source of v2 is kept**, so that source-held-out cross-validation on the starter sees the same variety,
  with at most a fixed number of original recordings per source (a few large sources cannot dominate) and, for
  long music tracks, one clip per track (more tracks rather than more minutes of the same track).
- **The split travels with the clip**: the `split` column of the written manifest is the train/val/test split the
  clip has in corpus v2 (split by original recording, seed 0, as notebook 01 splits v2), and notebook 01 keeps it
  (`audioclf_lib.data.assigned_splits`). The bundled checkpoints are trained on v2's training split, so every
  starter test clip is a clip they never trained on.

    python scripts/make_starter_subset.py data/cache/corpus/v2 data/starter
"""
from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import pandas as pd

from audioclf_lib.data import build_manifest, corpus_splits

# Original recordings kept per source, by class; clips kept per original recording. Chosen so the starter stays
# near 40 MiB (the repository's limit is 60) with the three classes at a similar number of minutes.
ORIGINALS_PER_SOURCE = {"music": 14, "noise": 40, "speech": 200}
CLIPS_PER_ORIGINAL = {"music": 1, "noise": 1, "speech": 1}
SEED = 0


def with_v2_splits(corpus: Path) -> pd.DataFrame:
    """Corpus v2's manifest with the split notebook 01 gives it (``data.corpus_splits``: by original recording, seed 0)."""
    listed = pd.read_csv(corpus / "manifest.csv")
    scanned, _ = build_manifest(corpus)
    split = corpus_splits(scanned, corpus, seed=SEED).set_index("path")["split"]
    return listed.assign(split=listed["file"].map(split)).dropna(subset=["split"])


def select(manifest: pd.DataFrame) -> pd.DataFrame:
    keep = []
    for (cls, _source), rows in manifest.groupby(["class", "source"], sort=True):
        originals = pd.Series(sorted(rows["orig_candidate"].unique()))
        chosen = set(originals.sample(n=min(ORIGINALS_PER_SOURCE[cls], len(originals)), random_state=SEED))
        for _, clips in rows[rows["orig_candidate"].isin(chosen)].groupby("orig_candidate", sort=True):
            keep.append(clips.sample(n=min(CLIPS_PER_ORIGINAL[cls], len(clips)), random_state=SEED))
    return pd.concat(keep).sort_values("file").reset_index(drop=True)


def write_credits(subset: pd.DataFrame, path: Path) -> None:
    """One line per source with its package, registry, licence and clip count; the manifest has the per-clip rows."""
    lines = [
        "# Credits for the bundled starter audio",
        "",
        "Every clip here is a real recording taken unchanged from corpus v2 (`audioclf corpus build`), which decodes",
        "audio distributed by package registries (Debian, PyPI, npm) to 16 kHz mono Ogg Vorbis clips of at most 10 s.",
        "`manifest.csv` beside this file has one row per clip: its split, class, source, file, the original file inside",
        "its package (`orig_candidate`), segment start and length, original sample rate, licence, package and registry.",
        "Several licences (GPL, CC-BY-SA) require attribution and that redistributions carry the same licence:",
        "keep this file and the manifest with the audio.",
        "",
        "| class | source | package | registry | clips | licence |",
        "|---|---|---|---|---|---|",
    ]
    for (cls, source), rows in subset.groupby(["class", "source"], sort=True):
        licences = "; ".join(sorted(rows["license"].unique()))
        packages = ", ".join(sorted(rows["package"].unique()))
        registries = ", ".join(sorted(rows["registry"].unique()))
        lines.append(f"| {cls} | {source} | {packages} | {registries} | {len(rows)} | {licences} |")
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path, help="corpus v2 (audioclf corpus build DIR)")
    parser.add_argument("out", type=Path, help="the starter folder, replaced")
    args = parser.parse_args()
    subset = select(with_v2_splits(args.corpus))
    if args.out.exists():
        for class_dir in ("music", "noise", "speech"):
            shutil.rmtree(args.out / class_dir, ignore_errors=True)
    for rel in subset["file"]:
        dst = args.out / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(args.corpus / rel, dst)
    columns = ["split"] + [c for c in subset.columns if c != "split"]
    subset[columns].to_csv(args.out / "manifest.csv", index=False)
    write_credits(subset, args.out / "CREDITS.md")
    sizes = subset["file"].map(lambda rel: (args.out / rel).stat().st_size)
    summary = subset.assign(bytes=sizes).groupby("class").agg(
        sources=("source", "nunique"), clips=("file", "size"),
        minutes=("seg_dur_s", lambda s: round(s.sum() / 60, 1)), MiB=("bytes", lambda b: round(b.sum() / 2**20, 1)))
    print(summary.to_string())
    print(pd.crosstab(subset["class"], subset["split"]).to_string())


if __name__ == "__main__":
    main()
