"""The network: MobileNetV2 features -> 1x1 CAM head, ImageNet start, BN re-estimation, tap statistics."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision


class MultiTaskCAM(nn.Module):
    """MobileNetV2 features -> 1x1 conv to 8 maps (BCC + 7 patterns); logit = spatial mean of its map.

    Because the head is linear, mean(conv(f)) == linear(mean(f)): the class activation map is exact,
    part of the graph, and equals Grad-CAM of the usual GAP + linear head.
    """

    def __init__(self, n_out=8, dropout=0.2, n_diagnoses=0, coupling=None):
        super().__init__()
        self.features = torchvision.models.mobilenet_v2(weights=None).features
        self.head = nn.Conv2d(1280, n_out, 1)
        # Training-only auxiliary task (which diagnosis): not exported, it only shapes the features.
        self.aux = nn.Linear(1280, n_diagnoses) if n_diagnoses else None
        self.dropout = dropout
        # Learned coupling: map j += alpha_j * BCC map (config train.coupling; alpha_j starts at the configured
        # value). A pattern with a handful of positives borrows the BCC evidence its labels say it shares.
        # Still one linear 1x1 head, so fold_coupling() merges it into the head weights before export.
        init = torch.zeros(n_out) if coupling is None else torch.as_tensor(coupling, dtype=torch.float32)
        self.register_buffer("coupling_mask", (init != 0).float())
        self.coupling = nn.Parameter(init.clone())

    def coupled(self, cam):
        a = self.coupling * self.coupling_mask
        return cam + a[None, :, None, None] * cam[:, :1]

    @torch.no_grad()
    def fold_coupling(self):
        """Merge alpha into the head (W_j += alpha_j W_0, b_j += alpha_j b_0); returns the alphas merged."""
        a = (self.coupling * self.coupling_mask).detach().clone()
        w0, b0 = self.head.weight[0:1].clone(), self.head.bias[0].clone()
        self.head.weight += a[:, None, None, None] * w0
        self.head.bias += a * b0
        self.coupling.zero_()
        self.coupling_mask.zero_()
        return a.cpu().numpy()

    def forward(self, x, with_aux=False):
        f = self.features(x)
        if self.training and self.dropout > 0:
            f = F.dropout(f, self.dropout)
        cam = self.coupled(self.head(f))
        if with_aux:
            return cam.mean(dim=(2, 3)), cam, self.aux(f.mean(dim=(2, 3)))
        return cam.mean(dim=(2, 3)), cam


FLIPS = ["none", "h", "v", "hv"]  # h = mirror left-right (width axis), v = up-down (height axis)


def flip_dims(flip):
    return {"none": [], "h": [3], "v": [2], "hv": [2, 3]}[flip]


def tap_stats(h):
    """Mean and standard deviation over space of each channel of an intermediate map: [N, 2C]."""
    mu = h.mean(dim=(2, 3))
    d = h - mu[:, :, None, None]
    return torch.cat([mu, torch.sqrt((d * d).mean(dim=(2, 3)) + 1e-6)], 1)


class StandardisedHead(nn.Module):
    """A binary head on features: body((x - mean) / std)[:, 0] is the logit (modality gate, texture heads)."""

    def __init__(self, mean, std, body):
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32))
        self.body = body

    def forward(self, pooled):
        return self.body((pooled - self.mean) / self.std)[:, 0]


def load_imagenet(net, npz_path):
    w = np.load(npz_path)
    sd = {k: torch.tensor(w[k].astype(np.float32)) for k in w.files if k.startswith("features.")}
    missing, unexpected = net.load_state_dict(sd, strict=False)
    missing = [m for m in missing if m.startswith("features.")]
    if missing or unexpected:
        raise SystemExit(f"ImageNet weights do not fit: missing={missing[:5]} unexpected={unexpected[:5]}")


@torch.no_grad()
def reestimate_bn(net, x):
    """The shipped weights have BN folded into the convs (BN = identity with stats 0/1).
    Give every BN the statistics of its real input and an affine that undoes them, so the
    network is unchanged in eval mode and BN in train mode starts near the identity."""
    stats = {}
    hooks = []
    for name, mod in net.named_modules():
        if isinstance(mod, nn.BatchNorm2d):
            def pre(m, inp, name=name):
                t = inp[0].float()
                stats[name] = (t.mean(dim=(0, 2, 3)), t.var(dim=(0, 2, 3), unbiased=False))
            hooks.append(mod.register_forward_pre_hook(pre))
    net.eval()
    net(x)
    for h in hooks:
        h.remove()
    for name, mod in net.named_modules():
        if isinstance(mod, nn.BatchNorm2d):
            mu, var = stats[name]
            mod.running_mean.copy_(mu)
            mod.running_var.copy_(var)
            mod.weight.copy_(torch.sqrt(var + mod.eps))
            mod.bias.copy_(mu)


def tap_channels(taps):
    """Channels of each tapped MobileNetV2 block, in tap order."""
    feats = torchvision.models.mobilenet_v2(weights=None).features.eval()
    out, h = [], torch.zeros(1, 3, 64, 64)
    with torch.no_grad():
        for bi, m in enumerate(feats):
            h = m(h)
            if bi in taps:
                out.append(int(h.shape[1]))
    return out
