"""Build data/starter: the balanced, attributed subset of the shared public corpus shipped in the repo.

Run once by a maintainer (the result is committed); a fresh clone never needs ../shared.
Selection is by *original recording* (`orig_candidate`), so every segment of a chosen
original comes along and splits grouped by original never leak.

    python scripts/make_starter_subset.py ../shared/data/public data/starter
"""
from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import pandas as pd

# Original recordings kept per speech source (music and noise are kept whole: they are
# the smaller classes). Chosen so the three classes carry similar minutes of audio.
SPEECH_ORIGINALS_PER_SOURCE = {
    "deb_asterisk_prompts": 190,
    "deb_tuxpaint_desc": 200,
    "deb_0ad_voices": 170,
    "deb_klettres": 100,
    "gh_fsdd": 150,
}
SEED = 0


def select(manifest: pd.DataFrame) -> pd.DataFrame:
    keep = []
    for (cls, source), rows in manifest.groupby(["class", "source"], sort=True):
        originals = sorted(rows["orig_candidate"].unique())
        n_keep = SPEECH_ORIGINALS_PER_SOURCE.get(source, len(originals)) if cls == "speech" else len(originals)
        chosen = pd.Series(originals).sample(n=min(n_keep, len(originals)), random_state=SEED)
        keep.append(rows[rows["orig_candidate"].isin(set(chosen))])
    return pd.concat(keep).sort_values("file").reset_index(drop=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    manifest = pd.read_csv(args.corpus / "manifest.csv")
    subset = select(manifest)
    for rel in subset["file"]:
        dst = args.out / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(args.corpus / rel, dst)
    subset.assign(split="starter").to_csv(args.out / "manifest.csv", index=False)
    summary = subset.groupby("class").agg(clips=("file", "size"), minutes=("seg_dur_s", lambda s: round(s.sum() / 60, 1)))
    print(summary.to_string())


if __name__ == "__main__":
    main()
