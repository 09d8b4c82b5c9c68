#!/usr/bin/env python3
"""Rebuild the samples bundled in src/dermnet/data/samples from the real data.

Usage: python scripts/build_samples.py [--data DIR]

``--data`` is the folder that holds ``ham10000/`` and ``malaria_rgb/``; it defaults to
``$DERMNET_DATA_ROOT`` (`dermnet.data.data_root`).

HAM10000 sample: 700 images, chosen by whole lesion (a lesion's images are never split
across the sample boundary) with a fixed seed, and per-class targets that keep the real
imbalance (nv is the largest class) while giving the rare classes enough images to be
evaluated on a held-out split: nv 250, mel 100, bkl 100, bcc 80, akiec 70, vasc 50, df 50.
Images are copied byte for byte (200x150 JPEGs, already downsized from 600x450).

Malaria sample: the 200 original NIH RGB cells (100 per class), copied byte for byte.
"""

from __future__ import annotations

import argparse
import random
import shutil
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "dermnet" / "data" / "samples"
TARGETS = {"nv": 250, "mel": 100, "bkl": 100, "bcc": 80, "akiec": 70, "vasc": 50, "df": 50}
SEED = 20261122

HAM_LICENSE = """HAM10000 sample bundled with dermnet

These 700 images and their metadata rows are a subset of the HAM10000 dataset
(the ISIC 2018 Task 3 training set), downsized to 200x150 by their public re-distributor.

License: Creative Commons Attribution-NonCommercial 4.0 International (CC BY-NC 4.0),
https://creativecommons.org/licenses/by-nc/4.0/ . Non-commercial use only; attribute the
authors (see CITATION.txt). The dermnet code is Apache-2.0; this license covers the data only.
"""
HAM_CITATION = """Tschandl P., Rosendahl C., Kittler H. The HAM10000 dataset, a large collection of
multi-source dermatoscopic images of common pigmented skin lesions. Sci. Data 5, 180161 (2018).
https://doi.org/10.1038/sdata.2018.161  Data: https://doi.org/10.7910/DVN/DBW86T
"""
MAL_LICENSE = """NIH/NLM malaria cell sample bundled with dermnet

200 segmented red-blood-cell images from thin blood smears (100 Parasitized, 100 Uninfected),
original RGB PNGs. U.S. Government work of the Lister Hill National Center for Biomedical
Communications (LHNCBC), National Library of Medicine: public domain.
"""
MAL_CITATION = """Rajaraman S., Antani S.K., Poostchi M., et al. Pre-trained convolutional
neural networks as feature extractors toward improved malaria parasite detection in thin
blood smear images.
PeerJ 6:e4568 (2018). https://doi.org/10.7717/peerj.4568
Data: https://lhncbc.nlm.nih.gov/LHC-research/LHC-projects/image-processing/malaria-datasheet.html
"""


def pick_lesions(meta: pd.DataFrame, rng: random.Random) -> pd.DataFrame:
    chosen = []
    for dx, target in TARGETS.items():
        lesions = meta[meta["dx"] == dx].groupby("lesion_id").size()
        order = sorted(lesions.index)
        rng.shuffle(order)
        count = 0
        for lesion in order:
            size = int(lesions[lesion])
            if count + size <= target:
                chosen.append(lesion)
                count += size
            if count == target:
                break
        if count != target:
            raise SystemExit(f"could not reach {target} images for {dx} (got {count})")
    return meta[meta["lesion_id"].isin(chosen)].sort_values("image_id")


def build_ham(data: Path) -> None:
    src = data / "ham10000"
    meta = pd.read_csv(src / "HAM10000_metadata.csv")
    sample = pick_lesions(meta, random.Random(SEED))
    out = OUT / "ham10000"
    shutil.rmtree(out, ignore_errors=True)
    (out / "images").mkdir(parents=True)
    for image_id in sample["image_id"]:
        shutil.copyfile(src / "images" / f"{image_id}.jpg", out / "images" / f"{image_id}.jpg")
    sample.to_csv(out / "HAM10000_metadata.csv", index=False)
    (out / "LICENSE.txt").write_text(HAM_LICENSE)
    (out / "CITATION.txt").write_text(HAM_CITATION)
    counts = sample["dx"].value_counts().to_dict()
    print(f"ham10000: {len(sample)} images, {sample['lesion_id'].nunique()} lesions, {counts}")


def build_malaria(data: Path) -> None:
    src = data / "malaria_rgb"
    out = OUT / "malaria"
    shutil.rmtree(out, ignore_errors=True)
    n = 0
    for cls in ("Parasitized", "Uninfected"):
        (out / cls).mkdir(parents=True)
        for path in sorted((src / cls).glob("*.png")):
            shutil.copyfile(path, out / cls / path.name)
            n += 1
    (out / "LICENSE.txt").write_text(MAL_LICENSE)
    (out / "CITATION.txt").write_text(MAL_CITATION)
    print(f"malaria: {n} images")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, help="the datasets' folder (default: $DERMNET_DATA_ROOT)"
    )
    args = parser.parse_args()
    if args.data is None:
        from dermnet import MissingFileError
        from dermnet.data import data_root

        try:
            args.data = data_root()
        except MissingFileError as exc:
            raise SystemExit(f"error: no --data given: {exc}") from None
    if not args.data.is_dir():
        raise SystemExit(f"real data folder not found: {args.data}")
    build_ham(args.data)
    build_malaria(args.data)


if __name__ == "__main__":
    main()
