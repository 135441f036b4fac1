"""Losses of one training step: BCC BCE, masked pattern BCE, attention (mask) loss, auxiliary diagnosis CE."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def attention_loss(cam, y, has_mask, m):
    """Share of positive BCC evidence that lies outside the lesion mask (BCC images with masks)."""
    sel = (y >= 0.5) & has_mask
    if sel.any():
        a = F.relu(cam[sel, 0])
        mm = F.adaptive_avg_pool2d(m[sel], a.shape[-2:])[:, 0]
        return ((a * (1 - mm)).sum(dim=(1, 2)) / (a.sum(dim=(1, 2)) + 1e-4)).mean()
    return torch.zeros((), device=cam.device)


def multitask_losses(logits, cam, aux, m, batch, pos_weight):
    """(l_bcc, l_pat, l_mask, l_dx) for one batch; batch holds the targets y, yp (NaN = not annotated), has_mask, dx."""
    l_dx = F.cross_entropy(aux, batch["dx"], ignore_index=-1)
    y = batch["y"]
    l_bcc = F.binary_cross_entropy_with_logits(logits[:, 0], y)
    yp = batch["yp"]
    known = ~torch.isnan(yp)
    lp = F.binary_cross_entropy_with_logits(logits[:, 1:], torch.nan_to_num(yp), pos_weight=pos_weight,
                                            reduction="none")
    l_pat = (lp * known).sum() / known.sum().clamp(min=1)
    l_mask = attention_loss(cam, y, batch["has_mask"], m)
    return l_bcc, l_pat, l_mask, l_dx


def total_loss(parts, tcfg):
    l_bcc, l_pat, l_mask, l_dx = parts
    return (l_bcc + tcfg["patternLossWeight"] * l_pat + tcfg["maskLossWeight"] * l_mask
            + tcfg["diagnosisLossWeight"] * l_dx)
