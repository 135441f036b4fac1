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
    if aug.get("device"):  # other dermatoscopes (config train.augment.device; absent = no draws, as before)
        x = device_augment(x.clamp(0, 1), aug["device"], gen)
    return x.clamp(0, 1), m


def normalise(x01, mean, std):
    mean = torch.tensor(mean, device=x01.device)[None, :, None, None]
    std = torch.tensor(std, device=x01.device)[None, :, None, None]
    return (x01 - mean) / std


def shades_of_grey(x01, p, clamp=(0.25, 4.0)):
    """Colour constancy (Finlayson & Trezzi): per image and channel c, e_c = (mean over pixels of x_c^p)^(1/p);
    gain g_c = mean(e_R, e_G, e_B) / e_c, clamped to [clamp]; x'_c = min(1, x_c * g_c). x01: [N,3,H,W] in 0..1."""
    e = x01.clamp(min=0).pow(p).mean(dim=(2, 3)).pow(1.0 / p).clamp(min=1e-6)
    g = (e.mean(dim=1, keepdim=True) / e).clamp(clamp[0], clamp[1])
    return (x01 * g[:, :, None, None]).clamp(0, 1)


def preprocess(x01, cfg):
    """What the service does to a resized image in 0..1 before the network: colour constancy if the config's
    input.colorConstancy asks for it (manifest input section), then (x - mean) / std."""
    cc = cfg["input"].get("colorConstancy")
    if cc:
        x01 = shades_of_grey(x01, float(cc["p"]), tuple(cc.get("gainClamp", (0.25, 4.0))))
    return normalise(x01, cfg["input"]["mean"], cfg["input"]["std"])


def _u(gen, n, lo, hi, dev):
    return torch.rand(n, device=dev, generator=gen) * (hi - lo) + lo


def circular_field(x, d, gen):
    """Contact dermatoscopes: a circular field (radius 0.8-1.15 of the half side, centre jittered) with a dark
    surround and a soft edge, plus a radial vignette."""
    n, _, hgt, wid = x.shape
    dev = x.device
    yy = torch.linspace(-1, 1, hgt, device=dev)[None, :, None]
    xx = torch.linspace(-1, 1, wid, device=dev)[None, None, :]
    cx, cy = _u(gen, n, -0.1, 0.1, dev)[:, None, None], _u(gen, n, -0.1, 0.1, dev)[:, None, None]
    r = _u(gen, n, *d.get("circleRadius", (0.8, 1.15)), dev)[:, None, None]
    dist = torch.sqrt((xx - cx) ** 2 + (yy - cy) ** 2)
    inside = torch.sigmoid((r - dist) / 0.02)
    vig = 1 - _u(gen, n, 0, d.get("vignette", 0.4), dev)[:, None, None] * (dist / r).clamp(max=1) ** 2
    dark = _u(gen, n, 0, 0.08, dev)[:, None, None, None]
    use = (torch.rand(n, device=dev, generator=gen) < d.get("circle", 0.3)).float()[:, None, None, None]
    y = x * (inside * vig)[:, None] + dark * (1 - inside)[:, None]
    return use * y + (1 - use) * x


def ruler(x, d, gen):
    """Rulers and scale marks: a dark or light line near one edge with ticks every 6-16 px."""
    n, _, hgt, wid = x.shape
    dev = x.device
    yy = torch.arange(hgt, device=dev, dtype=torch.float32)[None, :, None]
    xx = torch.arange(wid, device=dev, dtype=torch.float32)[None, None, :]
    horiz = (torch.rand(n, device=dev, generator=gen) < 0.5)[:, None, None]
    along, across = torch.where(horiz, xx.expand(n, hgt, wid), yy.expand(n, hgt, wid)), torch.where(horiz, yy.expand(n, hgt, wid), xx.expand(n, hgt, wid))
    pos = _u(gen, n, 0.04, 0.25, dev) * hgt
    pos = torch.where(torch.rand(n, device=dev, generator=gen) < 0.5, pos, hgt - 1 - pos)[:, None, None]
    thick = _u(gen, n, 0.6, 2.0, dev)[:, None, None]
    period = _u(gen, n, 6, 16, dev)[:, None, None]
    tick = _u(gen, n, 3, 10, dev)[:, None, None]
    line = ((across - pos).abs() < thick) | (((across - pos).abs() < tick) & (torch.remainder(along, period) < thick))
    colour = torch.where(torch.rand(n, device=dev, generator=gen) < 0.7, _u(gen, n, 0.0, 0.2, dev), _u(gen, n, 0.85, 1.0, dev))
    use = (torch.rand(n, device=dev, generator=gen) < d.get("ruler", 0.2))[:, None, None]
    a = (line & use).float()[:, None]
    return x * (1 - a) + colour[:, None, None, None] * a


def device_augment(x, d, gen):
    """Imitates other dermatoscopes: colour cast and gamma (sensors, polarised vs not), circular fields with dark borders and vignettes (contact), rulers and scale marks."""
    n = x.shape[0]
    dev = x.device
    cast = d.get("cast", 0.2)
    x = x * _u(gen, n * 3, 1 - cast, 1 + cast, dev).reshape(n, 3, 1, 1)
    gamma = torch.exp(_u(gen, n, -d.get("gamma", 0.3), d.get("gamma", 0.3), dev))[:, None, None, None]
    x = x.clamp(1e-4, 1) ** gamma
    x = circular_field(x, d, gen)
    x = ruler(x, d, gen)
    return x.clamp(0, 1)
