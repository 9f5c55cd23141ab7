#!/usr/bin/env python3
"""Export torchvision's Mask R-CNN (ResNet-50 FPN) to ONNX as a real-architecture benchmark model.

Random weights (seeded) are enough: the graph, tensor sizes and operator mix are what the
calibration benchmark measures, not accuracy. Run with the Debian interpreter:

    /usr/bin/python3 scripts/torchvision/export_maskrcnn.py [OUT.onnx] [--part full|backbone]
        [--height 512] [--width 672] [--opset 13] [--score-thresh 0.0] [--seed 0] [--no-verify]

--part full      the whole detector, input `image` [1,3,H,W] in [0,1] RGB (the model normalises
                 internally), outputs boxes/labels/scores/masks with a data-dependent count.
--part backbone  ResNet-50 + FPN + RPN head only: static shapes everywhere, outputs the five FPN
                 levels and the RPN objectness/box-delta maps.

After exporting, it loads the file in onnxruntime-node (scripts/torchvision/verify-onnx.mjs,
run with `node`, or $NODE) and prints the size, operator counts and output shapes.
Works with torch 1.13 / torchvision 0.14 (Debian) and with torch 2.x (legacy exporter).
"""

from __future__ import annotations

import argparse
import collections
import inspect
import os
import subprocess
import sys
import time

import torch
import torchvision


class FullDetector(torch.nn.Module):
    """[1,3,H,W] tensor in, detections out; torchvision's own model takes a list of [3,H,W]."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor):  # noqa: D102
        det = self.model([image[0]])[0]
        return det["boxes"], det["labels"], det["scores"], det["masks"]


class BackboneRpnHead(torch.nn.Module):
    """The static-shape part: ResNet-50 + FPN and the RPN head convolutions, with the model's normalisation."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model
        t = model.transform
        self.register_buffer("mean", torch.tensor(t.image_mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(t.image_std).view(1, 3, 1, 1))

    def forward(self, image: torch.Tensor):  # noqa: D102
        x = (image - self.mean) / self.std
        feats = self.model.backbone(x)
        levels = list(feats.values())
        objectness, deltas = self.model.rpn.head(levels)
        return tuple(levels) + tuple(objectness) + tuple(deltas)


def build(args: argparse.Namespace) -> tuple[torch.nn.Module, list[str]]:
    torch.manual_seed(args.seed)
    model = torchvision.models.detection.maskrcnn_resnet50_fpn(
        weights=None,
        weights_backbone=None,
        # Keep the transform from resizing: with min/max equal to the input size the scale is 1.
        min_size=min(args.height, args.width),
        max_size=max(args.height, args.width),
        # Random heads score every class near 1/91; a zero threshold keeps box_detections_per_img
        # detections so the mask head really runs (on 100 RoIs) instead of on an empty set.
        box_score_thresh=args.score_thresh,
    )
    model.eval()
    if not args.paste_masks:
        # Stop at the 28×28 per-detection mask probabilities, as TAO's Mask R-CNN graph does
        # (DeepStream pastes masks into the frame). torchvision's paste step is an ONNX Loop
        # that rebuilds a [k, H, W] tensor each iteration: quadratic work, not network compute.
        model.transform.postprocess = lambda result, image_shapes, original_image_sizes: result
    if args.part == "full":
        return FullDetector(model).eval(), ["boxes", "labels", "scores", "masks"]
    names = [f"fpn_{k}" for k in ("p2", "p3", "p4", "p5", "pool")]
    names += [f"rpn_objectness_{i}" for i in range(5)] + [f"rpn_deltas_{i}" for i in range(5)]
    return BackboneRpnHead(model).eval(), names


def export(args: argparse.Namespace) -> None:
    wrapped, output_names = build(args)
    dummy = torch.rand(1, 3, args.height, args.width, generator=torch.Generator().manual_seed(args.seed))
    kwargs = dict(
        opset_version=args.opset,
        do_constant_folding=True,
        input_names=["image"],
        output_names=output_names,
    )
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False  # torch >= 2.5: keep the TorchScript exporter torchvision's symbolics target
    t0 = time.time()
    with torch.no_grad():
        wrapped(dummy)  # warm the model once so lazy buffers (anchors cache) exist
        torch.onnx.export(wrapped, (dummy,), args.output, **kwargs)
    print(f"exported {args.part} model in {time.time() - t0:.1f} s -> {args.output}")


def describe(path: str) -> None:
    import onnx

    m = onnx.load(path)
    ops = collections.Counter(n.op_type for n in m.graph.node)
    params = sum(int(torch.tensor(list(t.dims)).prod()) if t.dims else 1 for t in m.graph.initializer)
    print(f"size {os.path.getsize(path) / 1e6:.1f} MB, opset {m.opset_import[0].version}, "
          f"{len(m.graph.node)} nodes, {len(m.graph.initializer)} initializers ({params / 1e6:.1f} M values)")
    print("ops: " + ", ".join(f"{k}×{v}" for k, v in ops.most_common()))


def verify(path: str) -> int:
    node = os.environ.get("NODE", "node")
    here = os.path.dirname(os.path.abspath(__file__))
    return subprocess.call([node, os.path.join(here, "verify-onnx.mjs"), path])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("output", nargs="?", default=None, help="default /tmp/tv-maskrcnn.onnx (full) or /tmp/tv-maskrcnn-backbone.onnx")
    p.add_argument("--part", choices=["full", "backbone"], default="full")
    p.add_argument("--height", type=int, default=512)
    p.add_argument("--width", type=int, default=672)
    p.add_argument("--opset", type=int, default=13)
    p.add_argument("--score-thresh", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--paste-masks", action="store_true", help="keep torchvision's postprocess (masks pasted into [N,1,H,W])")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    p.add_argument("--no-verify", action="store_true", help="skip the onnxruntime-node load check")
    args = p.parse_args()
    if args.output is None:
        args.output = "/tmp/tv-maskrcnn.onnx" if args.part == "full" else "/tmp/tv-maskrcnn-backbone.onnx"
    if args.height % 32 or args.width % 32:
        p.error("height and width must be multiples of 32 (torchvision pads to 32; a padded input would change the shape)")
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, torchvision {torchvision.__version__}")
    export(args)
    describe(args.output)
    return 0 if args.no_verify else verify(args.output)


if __name__ == "__main__":
    sys.exit(main())
