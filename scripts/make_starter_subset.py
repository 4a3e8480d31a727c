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


def write_credits(subset: pd.DataFrame, path: Path) -> None:
    """One line per source with its licence and clip count; the manifest has the per-clip rows."""
    lines = [
        "# Credits for the bundled starter audio",
        "",
        "Every clip here is a real recording taken unchanged from the project's shared public corpus",
        "(16 kHz mono Ogg Vorbis, at most 10 s). Sources are Debian packages of free games and educational",
        "software, the Asterisk telephony voice prompts (Debian), and the Free Spoken Digit Dataset.",
        "`manifest.csv` beside this file has one row per clip: class, source, file, the original file inside",
        "its package (`orig_candidate`), segment start and length, original sample rate and licence.",
        "The licences (GPL-2/GPL-3, CC-BY-SA-3.0, CC-BY-SA-4.0, Drascula licence) require attribution and,",
        "for the share-alike ones, that redistributions carry the same licence: keep this file and the",
        "manifest with the audio.",
        "",
        "| class | source | clips | licence |",
        "|---|---|---|---|",
    ]
    for (cls, source), rows in subset.groupby(["class", "source"], sort=True):
        licences = "; ".join(sorted(rows["license"].unique()))
        lines.append(f"| {cls} | {source} | {len(rows)} | {licences} |")
    path.write_text("\n".join(lines) + "\n")


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
    write_credits(subset, args.out / "CREDITS.md")
    summary = subset.groupby("class").agg(clips=("file", "size"), minutes=("seg_dur_s", lambda s: round(s.sum() / 60, 1)))
    print(summary.to_string())


if __name__ == "__main__":
    main()
