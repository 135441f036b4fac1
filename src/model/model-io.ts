import type { InferenceSession } from 'onnxruntime-node';
import { OperationOutcomeError, manyIssues } from '../common/outcomes.ts';
import type { ModelManifest } from './manifest.ts';

type Meta = InferenceSession.ValueMetadata;

/**
 * Checks the ONNX graph's inputs and outputs against the manifest, so a model/manifest mismatch is
 * a startup error that names what differs, not a wrong answer later.
 */
export function checkModelIo(m: ModelManifest, inputs: readonly Meta[], outputs: readonly Meta[]): void {
  const problems: { expr: string; text: string }[] = [];
  const input = inputs.find((i) => i.name === m.input.name);
  if (!input) {
    problems.push({ expr: 'input.name', text: `graph has no input "${m.input.name}" (inputs: ${inputs.map((i) => i.name).join(', ')})` });
  } else if (input.isTensor) {
    if (input.type !== 'float32') {
      problems.push({ expr: 'input.type', text: `graph input is ${input.type}, manifest says float32` });
    }
    const want = [null, 3, m.input.size, m.input.size];
    if (input.shape.length !== 4 || want.some((w, k) => w !== null && input.shape[k] !== w)) {
      problems.push({ expr: 'input.size', text: `graph input shape [${input.shape.join(',')}] is not [N,3,${m.input.size},${m.input.size}]` });
    }
  }
  const out = (key: 'bcc' | 'patterns' | 'cam' | 'dermoscopy' | 'ood' | 'features', shape: readonly (number | null)[]): void => {
    const spec = m.outputs[key];
    if (!spec) {
      return;
    }
    const name = spec.name;
    const o = outputs.find((x) => x.name === name);
    if (!o) {
      problems.push({ expr: `outputs.${key}.name`, text: `graph has no output "${name}" (outputs: ${outputs.map((x) => x.name).join(', ')})` });
      return;
    }
    if (o.isTensor && (o.shape.length !== shape.length || shape.some((w, k) => w !== null && o.shape[k] !== w))) {
      problems.push({ expr: `outputs.${key}`, text: `graph output shape [${o.shape.join(',')}] is not [${shape.map((s) => s ?? 'N').join(',')}]` });
    }
  };
  const [, c, h, w] = m.outputs.cam.shape;
  out('bcc', [null]);
  out('patterns', [null, m.patterns.length]);
  out('cam', [null, c, h, w]);
  out('dermoscopy', [null]);
  out('ood', [null]);
  const f = m.outputs.features;
  if (f) {
    out('features', [null, f.shape[1], f.shape[2], f.shape[3]]);
  }
  if (problems.length) {
    throw new OperationOutcomeError(manyIssues('invalid', problems.map((p) => ({ text: p.text, expression: `manifest.${p.expr}` }))));
  }
}
