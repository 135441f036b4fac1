"""The serving graph (flips, gates, texture heads in one ONNX graph), ONNX export and parity."""
from __future__ import annotations

import hashlib

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .augment import preprocess
from .model import tap_stats


class Exported(nn.Module):
    """The serving graph: test-time flips averaged in-graph (logits and flipped-back maps), BCC and
    pattern probabilities, raw maps, the modality gate's probability and the OOD distance.

    The flipped copies are concatenated along the batch axis, run through the network once, reshaped to
    [flips, N, ...] (constant -1 for N: dynamic batch), flipped back and averaged. The 1x1 head is
    linear, so head(mean of feature maps) == mean of the per-flip maps, and logit = spatial mean still holds.
    """

    def __init__(self, net, flips=("none",), modality=None, ood=None, size=224, feat_hw=(7, 7), taps=(), texture=None,
                 modality_taps=True, emit=()):
        super().__init__()
        self.emit = tuple(emit)  # extra outputs after the five: "features" (last feature map), "textureFeatures"
        self.modality_taps = bool(modality_taps)
        self.net = net
        self.flips = list(flips)
        self.modality = modality
        self.taps = [int(t) for t in taps]  # earlier blocks whose mean/std-pooled maps also feed the modality head
        # Texture heads (config textureHeads): these pattern maps are a 1x1 conv over the last feature map plus
        # each tapped block's map and squared map, average-pooled to the CAM grid; spatial mean = the head's logit.
        self.texture_channels = [] if texture is None else [int(c) for c in texture["channels"]]
        self.texture_taps = bool(texture and texture.get("useTaps"))
        if texture is not None:
            self.register_buffer("tex_w", torch.as_tensor(texture["weight"], dtype=torch.float32))
            self.register_buffer("tex_b", torch.as_tensor(texture["bias"], dtype=torch.float32))
            with torch.no_grad():  # pooling kernel per tapped block: its map side / the CAM grid side
                h, self.tap_kernels = torch.zeros(1, 3, size, size), {}
                for bi, m in enumerate(net.features):
                    h = m(h)
                    if bi in self.taps:
                        kh, kw = h.shape[2] // feat_hw[0], h.shape[3] // feat_hw[1]
                        assert kh * feat_hw[0] == h.shape[2] and kw * feat_hw[1] == h.shape[3], "tap map not a multiple of the CAM grid"
                        self.tap_kernels[bi] = (kh, kw)
        self.register_buffer("rev_h_in", torch.arange(size - 1, -1, -1, dtype=torch.int64))
        self.register_buffer("rev_w_in", torch.arange(size - 1, -1, -1, dtype=torch.int64))
        self.register_buffer("rev_h_f", torch.arange(feat_hw[0] - 1, -1, -1, dtype=torch.int64))
        self.register_buffer("rev_w_f", torch.arange(feat_hw[1] - 1, -1, -1, dtype=torch.int64))
        self.feat_hw = tuple(int(v) for v in feat_hw)
        if ood is not None:
            self.register_buffer("ood_mu", torch.as_tensor(ood["mu"], dtype=torch.float32))
            self.register_buffer("ood_w", torch.as_tensor(ood["w"], dtype=torch.float32))
        self.has_ood = ood is not None

    def _flip(self, x, flip, rev_h, rev_w):
        # index_select (ONNX Gather with constant indices) instead of torch.flip: exports on every opset.
        if flip in ("v", "hv"):
            x = x.index_select(2, rev_h)
        if flip in ("h", "hv"):
            x = x.index_select(3, rev_w)
        return x

    def averaged_features(self, image):
        """(feature maps averaged over the flips, flipped back; tap statistics averaged over the flips or None;
        the texture maps [last features, pooled tap maps, pooled squared tap maps] likewise, or None)."""
        nf = len(self.flips)
        plain = nf == 1 and self.flips[0] == "none"
        h = image if plain else torch.cat([self._flip(image, fl, self.rev_h_in, self.rev_w_in) for fl in self.flips], 0)
        tapped, pooled_maps, pooled_sq = [], [], []
        for bi, m in enumerate(self.net.features):
            h = m(h)
            if bi in self.taps:
                tapped.append(tap_stats(h))
                if self.texture_taps:
                    kh, kw = self.tap_kernels[bi]
                    pooled_maps.append(F.avg_pool2d(h, (kh, kw)) if (kh, kw) != (1, 1) else h)
                    pooled_sq.append(F.avg_pool2d(h * h, (kh, kw)) if (kh, kw) != (1, 1) else h * h)
        t = torch.cat(tapped, 1) if tapped and self.modality_taps else None
        x = torch.cat([h] + pooled_maps + pooled_sq, 1) if self.texture_taps else h
        if not plain:
            if t is not None:
                t = t.reshape(nf, -1, t.shape[1]).mean(dim=0)
            xs = x.reshape(nf, -1, x.shape[1], self.feat_hw[0], self.feat_hw[1])
            acc = None
            for i, fl in enumerate(self.flips):
                fi = self._flip(xs[i], fl, self.rev_h_f, self.rev_w_f)
                acc = fi if acc is None else acc + fi
            x = acc / nf
        c = self.net.head.in_channels
        return (x[:, :c] if self.texture_taps else x), t, (x if self.texture_channels else None)

    def forward(self, image):
        f, t, tex = self.averaged_features(image)
        cam = self.net.head(f)
        if tex is not None:
            tmaps = F.conv2d(tex, self.tex_w[:, :, None, None], self.tex_b)
            chans = [tmaps[:, self.texture_channels.index(ci):self.texture_channels.index(ci) + 1]
                     if ci in self.texture_channels else cam[:, ci:ci + 1] for ci in range(cam.shape[1])]
            cam = torch.cat(chans, 1)
        logits = cam.mean(dim=(2, 3))
        outs = [torch.sigmoid(logits[:, 0]), torch.sigmoid(logits[:, 1:]), cam]
        pooled = f.mean(dim=(2, 3))
        if self.modality is not None:
            outs.append(torch.sigmoid(self.modality(pooled if t is None else torch.cat([pooled, t], 1))))
        if self.has_ood:
            y = (pooled - self.ood_mu) @ self.ood_w
            outs.append(torch.sqrt((y * y).sum(dim=1)))
        if "features" in self.emit:  # [N,1280,7,7]: the map the CAM 1x1 conv reads (flip-averaged if flips)
            outs.append(f)
        if "textureFeatures" in self.emit and tex is not None:  # [N,1280+2*sum(tap channels),7,7]: what the texture conv reads
            outs.append(tex)
        return tuple(outs)


def export_onnx(wrapped, path, size, input_name, out_names):
    wrapped = wrapped.float().cpu().eval()
    dummy = torch.zeros(2, 3, size, size)
    kw = dict(input_names=[input_name], output_names=out_names, opset_version=17,
              dynamic_axes={input_name: {0: "N"}, **{n: {0: "N"} for n in out_names}})
    try:
        torch.onnx.export(wrapped, (dummy,), path, dynamo=False, **kw)
    except TypeError:
        torch.onnx.export(wrapped, (dummy,), path, **kw)
    import onnx
    m = onnx.load(path)
    onnx.checker.check_model(m)
    return wrapped


def check_parity(wrapped, path, x_u8, cfg, out_names):
    """ONNX Runtime (CPU) vs PyTorch (CPU) on the same real images: absolute and relative differences of every
    output, and the same images run as batches of 1 and 3 (dynamic batch) against the full batch."""
    import onnxruntime as ort
    x = torch.from_numpy(np.ascontiguousarray(x_u8)).permute(0, 3, 1, 2).float() / 255
    x = preprocess(x, cfg).contiguous()
    with torch.no_grad():
        ref = [t.numpy() for t in wrapped(x)]
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    onnx_names = [o.name for o in sess.get_outputs()]
    assert onnx_names == out_names, onnx_names
    feed = cfg["input"]["name"]
    got = sess.run(None, {feed: x.numpy()})
    diffs = {"maxAbsDiff": {n: float(np.abs(a - b).max()) for n, a, b in zip(out_names, ref, got)},
             "relative": {n: float((np.abs(a - b) / np.maximum(1.0, np.abs(a))).max()) for n, a, b in zip(out_names, ref, got)}}
    diffs["maxAbsDiff"]["camMaxAbs"] = float(np.abs(ref[2]).max())
    diffs["maxAbsDiff"]["oodMax"] = float(np.abs(ref[out_names.index("ood")]).max()) if "ood" in out_names else None
    one = sess.run(None, {feed: x.numpy()[:1]})
    three = sess.run(None, {feed: x.numpy()[1:4]})
    dyn = 0.0
    for a, b, c in zip(got, one, three):
        assert b.shape[0] == 1 and c.shape[0] == 3, (b.shape, c.shape)
        dyn = max(dyn, float((np.abs(a[:1] - b) / np.maximum(1.0, np.abs(a[:1]))).max()),
                  float((np.abs(a[1:4] - c) / np.maximum(1.0, np.abs(a[1:4]))).max()))
    diffs["dynamicBatch"] = {"batchSizes": [1, 3, int(len(x))], "maxRelativeDiff": dyn}
    shapes = {o.name: [d if isinstance(d, int) else str(d) for d in o.shape] for o in sess.get_outputs()}
    return diffs, shapes, ref


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
