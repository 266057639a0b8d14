"""How long does one interaction with notebook 09's explorer take, cold and cached?

    .venv/bin/python benchmarks/bench_explore.py                  # the demo model, layer2-4
    .venv/bin/python benchmarks/bench_explore.py --images 3 --layers layer4

Loads (or trains) the model of the profile (``TUTORIAL_PROFILE``; the demo by default), builds
the explorer over its test split, and times ``Explorer.explain`` per method and layer with
``helpers.explore.time_interactions``: **cold**, the image seen for the first time (the map of
the prediction and the contrastive map are computed); **warm**, the same choice again (all from
the cache). Medians over ``--images`` test images; drawing the picture is timed apart (it is the
same for every method). Prints a markdown table; the numbers are this machine's.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from helpers import explore
from helpers.config import load_config
from helpers.course.prepare import prepare_metadata
from helpers.data import LesionDataset, eval_transform, lesion_split
from helpers.models import load_or_train

METHODS = ["CAM", "Grad-CAM", "Grad-CAM++", "LayerCAM", "XGrad-CAM", "HiResCAM", "Score-CAM"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=5, help="test images per method")
    parser.add_argument("--layers", nargs="+", default=list(explore.LAYERS))
    parser.add_argument("--top-k", type=int, default=explore.SCORE_CAM_TOP_K,
                        help="Score-CAM channels (0: all)")
    args = parser.parse_args()

    cfg = load_config()
    model, _ = load_or_train(cfg)
    test_df = lesion_split(prepare_metadata(cfg), seed=cfg.seed)["test"].reset_index(drop=True)
    dataset = LesionDataset(test_df.head(args.images), eval_transform(cfg.image_size))
    X = torch.stack([dataset[i][0] for i in range(len(dataset))])
    explorer = explore.Explorer(model, X, dataset.df["label"].to_numpy(),
                                score_cam_top_k=args.top_k or None)
    indices = list(range(len(explorer)))
    print(f"{cfg.describe()}\ntorch threads: {torch.get_num_threads()}; "
          f"Score-CAM top_k: {args.top_k or 'all'}; median over {len(indices)} images\n")
    print("| layer | method | cold ms | warm ms | maps computed cold |")
    print("|---|---|---|---|---|")
    for layer in args.layers:
        methods = [m for m in METHODS if m != "CAM" or layer == "layer4"]  # CAM: layer4 only
        table = explore.time_interactions(explorer, methods, indices, layer)
        for method, row in table.iterrows():
            print(f"| {layer} | {method} | {row['cold ms']:.0f} | {row['warm ms']:.2f} | "
                  f"{row['maps computed (cold)']:.0f} |")
    drawing = []
    for i in indices:
        e = explorer.explain(i, "Grad-CAM", args.layers[-1])
        start = time.perf_counter()
        explore.explanation_png(e)
        drawing.append(time.perf_counter() - start)
    print(f"\ndrawing the picture (explanation_png): {1000 * statistics.median(drawing):.0f} ms")


if __name__ == "__main__":
    main()
