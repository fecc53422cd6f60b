"""A tiny convolutional detector with fixed weights, built in code (no download): the examples' model.

It is not trained: its weights come from a fixed seed, so the same frame always
gives the same boxes, which is what the examples and their tests need (a real
network on real frames, whose answers can be checked against the same network
run outside framesupplier). Swap in your own torch.nn.Module and post-processing.
"""
import torch
import torch.nn.functional as F

INPUT_LONG_SIDE = 320
STRIDE = 8
TOP_K = 3


def build_net() -> torch.nn.Module:
    torch.manual_seed(35)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, stride=2, padding=1),
        torch.nn.ReLU(),
        torch.nn.Conv2d(8, 16, 3, stride=2, padding=1),
        torch.nn.ReLU(),
        torch.nn.Conv2d(16, 16, 3, stride=2, padding=1),
        torch.nn.ReLU(),
        torch.nn.Conv2d(16, 5, 1),  # per cell: score, then box offsets (x1, y1, x2, y2) in cells
    )
    return net.eval()


def to_input(rgb) -> torch.Tensor:
    """H x W x 3 uint8 RGB to the network's input: 1 x 3 x h x w floats, long side INPUT_LONG_SIDE."""
    x = torch.from_numpy(rgb).permute(2, 0, 1).unsqueeze(0).float() / 255.0
    h, w = rgb.shape[:2]
    scale = INPUT_LONG_SIDE / max(h, w)
    return F.interpolate(x, size=(max(STRIDE, round(h * scale)), max(STRIDE, round(w * scale))), mode="area")


def boxes_from_output(out: torch.Tensor):
    """The TOP_K best cells as detections, boxes normalised to 0-1."""
    _, _, gh, gw = out.shape
    scores = torch.sigmoid(out[0, 0]).flatten()
    best = torch.topk(scores, min(TOP_K, scores.numel()))
    detections = []
    for score, index in zip(best.values.tolist(), best.indices.tolist()):
        cy, cx = divmod(index, gw)
        off = torch.sigmoid(out[0, 1:, cy, cx]).tolist()
        x1, y1 = max(0.0, (cx - off[0]) / gw), max(0.0, (cy - off[1]) / gh)
        x2, y2 = min(1.0, (cx + 1 + off[2]) / gw), min(1.0, (cy + 1 + off[3]) / gh)
        detections.append({"class_id": 0, "class_name": "object", "confidence": round(score, 6), "bbox": [round(v, 6) for v in (x1, y1, x2, y2)]})
    return detections


def frame_detections(out: torch.Tensor, placements, size):
    """A batch's output (N x 5 x h x w, on the CPU) as each frame's detections: the TOP_K best cells of each, their
    boxes from the input of ``size`` (width, height) mapped back to the frame by its framesupplier.batch placement."""
    width, height = size
    results = []
    for i, place in enumerate(placements):
        detections = boxes_from_output(out[i : i + 1])  # normalised to the input ...
        for d in detections:  # ... then in input pixels, mapped to the frame
            x1, y1, x2, y2 = d["bbox"]
            d["bbox"] = place.boxes_to_frame([[x1 * width, y1 * height, x2 * width, y2 * height]])[0].round(6).tolist()
        results.append(detections)
    return results


@torch.no_grad()
def detect(net: torch.nn.Module, rgb):
    return boxes_from_output(net(to_input(rgb)))
