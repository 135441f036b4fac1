"""GPU augmentation and input normalisation."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def augment(x_u8, m_u8, out_size, aug, gen):
    """x_u8: N,H,W,3 uint8 (cuda); m_u8: N,H,W uint8. Returns float images in 0..1 and masks."""
    n = x_u8.shape[0]
    dev = x_u8.device
    x = x_u8.permute(0, 3, 1, 2).float() / 255.0
    m = m_u8[:, None].float() / 255.0

    def U(lo, hi, shape=(n,)):
        return torch.rand(shape, device=dev, generator=gen) * (hi - lo) + lo

    theta = U(0, 2 * math.pi)  # dermoscopy has no up: any rotation
    s = U(*aug["scale"])
    asp = U(-aug["aspect"], aug["aspect"])
    sx, sy = 1 / (s * (1 + asp)), 1 / (s * (1 - asp))
    flip = torch.where(torch.rand(n, device=dev, generator=gen) < 0.5, -1.0, 1.0)
    cos, sin = torch.cos(theta), torch.sin(theta)
    A = torch.zeros(n, 2, 3, device=dev)
    A[:, 0, 0] = cos * sx * flip
    A[:, 0, 1] = -sin * sy
    A[:, 1, 0] = sin * sx * flip
    A[:, 1, 1] = cos * sy
    A[:, :, 2] = U(-aug["translate"], aug["translate"], (n, 2)) * 2
    grid = F.affine_grid(A, (n, 3, out_size, out_size), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    m = F.grid_sample(m, grid, mode="bilinear", padding_mode="reflection", align_corners=False)

    # Resolution augmentation: dermatoscopes and exports differ in sharpness (HAM10000 copies are
    # 200x150, derm7pt 320 px); blurring some images keeps sharpness from becoming a source cue.
    if aug.get("lowres", 0) > 0:
        sel = torch.rand(n, device=dev, generator=gen) < aug["lowres"]
        if bool(sel.any()):
            side = int(torch.randint(aug["lowresMin"], out_size, (1,), device=dev, generator=gen).item())
            small = F.interpolate(x[sel], size=(side, side), mode="area")
            x[sel] = F.interpolate(small, size=(out_size, out_size), mode="bilinear", align_corners=False)

    b = U(1 - aug["brightness"], 1 + aug["brightness"])[:, None, None, None]
    c = U(1 - aug["contrast"], 1 + aug["contrast"])[:, None, None, None]
    sat = U(1 - aug["saturation"], 1 + aug["saturation"])[:, None, None, None]
    gain = U(1 - aug["channelGain"], 1 + aug["channelGain"], (n, 3))[:, :, None, None]
    x = x * b * gain
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * c + mean
    gray = x.mean(dim=1, keepdim=True)
    x = (x - gray) * sat + gray
    return x.clamp(0, 1), m


def normalise(x01, mean, std):
    mean = torch.tensor(mean, device=x01.device)[None, :, None, None]
    std = torch.tensor(std, device=x01.device)[None, :, None, None]
    return (x01 - mean) / std


def preprocess(x01, cfg):
    """What the service does to a resized image in 0..1 before the network: (x - mean) / std."""
    return normalise(x01, cfg["input"]["mean"], cfg["input"]["std"])
