"""Adds the `features` output ([N,1280,7,7], the flip-averaged last feature map the CAM 1x1 conv reads)
to an exported serving graph, without retraining: the learning loop (npm run learn, #16) fits new
pattern heads on exactly this map in TypeScript. Every other output is bit-identical (checked here on
random and structured inputs); only the file's sha256 changes, so the manifest gets a patch version.

    /tmp/venv/bin/python training/add_features_output.py models/bcc-mtl-mnv2.onnx models/bcc-mtl-mnv2.json 1.5.1
"""
import hashlib
import json
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper, TensorProto


def head_conv(graph):
    """The 1x1 CAM conv: weight [8, C, 1, 1] whose input is the (flip-averaged) last feature map."""
    inits = {i.name: i for i in graph.initializer}
    for n in graph.node:
        if n.op_type == 'Conv' and n.input[1] in inits:
            dims = list(inits[n.input[1]].dims)
            if len(dims) == 4 and dims[0] == 8 and dims[2:] == [1, 1] and n.name.startswith('/head/'):
                return n, dims[1], inits
    raise SystemExit('no /head/ Conv with an [8, C, 1, 1] weight in the graph')


def main(onnx_path, manifest_path, version):
    m = onnx.load(onnx_path)
    g = m.graph
    if any(o.name == 'features' for o in g.output):
        raise SystemExit('the graph already has a features output')
    conv, c, inits = head_conv(g)
    dims = json.load(open(manifest_path))['outputs']['cam']['shape'][2:]
    g.node.append(helper.make_node('Identity', [conv.input[0]], ['features'], name='/features/Identity'))
    g.output.append(helper.make_tensor_value_info('features', TensorProto.FLOAT, ['N', c] + dims))
    onnx.checker.check_model(m)
    before = ort.InferenceSession(onnx_path, providers=['CPUExecutionProvider'])
    data = m.SerializeToString()
    after = ort.InferenceSession(data, providers=['CPUExecutionProvider'])
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.uniform(-1, 1, (2, 3, 224, 224)),
                        np.tile(np.linspace(-1, 1, 224), (1, 3, 224, 1))], 0).astype(np.float32)
    names = [o.name for o in before.get_outputs()]
    ref = before.run(names, {'image': x})
    new = after.run(names + ['features'], {'image': x})
    for name, a, b in zip(names, ref, new):
        if not np.array_equal(a, b):
            raise SystemExit(f'output {name} changed: max abs diff {np.abs(a - b).max()}')
    # The learned heads rely on this: the shipped head conv over `features` reproduces the CAM channels
    # it owns (the texture channels come from another conv and are skipped).
    feats, cam = new[-1], new[names.index('cam')]
    w = numpy_helper.to_array(inits[conv.input[1]])[:, :, 0, 0]
    b = numpy_helper.to_array(inits[conv.input[2]])
    recon = np.einsum('oc,nchw->nohw', w, feats) + b[None, :, None, None]
    for ch in (0, 2, 3, 4, 5, 6):
        err = float(np.abs(recon[:, ch] - cam[:, ch]).max())
        if err > 1e-3:
            raise SystemExit(f'head conv over features differs from cam channel {ch} by {err}')
    with open(onnx_path, 'wb') as f:
        f.write(data)
    sha = hashlib.sha256(data).hexdigest()
    man = json.load(open(manifest_path))
    previous = man['version']
    man['version'] = version
    man['sha256'] = sha
    man['outputs']['features'] = {'name': 'features', 'shape': ['N', c] + dims}
    man['modelCard'].setdefault('changes', []).append({
        'version': version, 'from': previous,
        'change': f'graph output `features` [N,{c},{dims[0]},{dims[1]}] added (the flip-averaged map the CAM conv reads) '
                  'for heads learned in the hospital (npm run learn); weights and every other output bit-identical '
                  '(training/add_features_output.py), so the figures below are those of ' + previous})
    with open(manifest_path, 'w') as f:
        json.dump(man, f, indent=2)
        f.write('\n')
    print(json.dumps({'version': version, 'sha256': sha, 'features': [c] + dims}))


if __name__ == '__main__':
    main(*sys.argv[1:4])
