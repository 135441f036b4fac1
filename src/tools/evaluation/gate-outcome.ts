/**
 * The evaluation scores every image and still wants to know which ones the gate would refuse: it
 * runs the gate with every `reject` turned into `warn` (so a refused image is scored, with the
 * reason among its warnings) and reads the refusals back against the gate as configured.
 */
import type { GateAction, GateConfig } from '../../gate/gate-config.ts';
import type { GateReason } from '../../gate/gate-reasons.ts';
import { MODEL_REASONS } from '../../gate/gate-reasons.ts';
import type { GateOutcome } from './per-source.ts';

/** What the configured gate does on a check; a model check the file does not name rejects (judgeModelGate). */
function actionOf(config: GateConfig, code: string): GateAction {
  const quality = config.checks.find((c) => c.code === code);
  if (quality) {
    return quality.action;
  }
  const model: Partial<Record<string, GateAction>> = config.modelChecks;
  return model[code] ?? 'reject';
}

/** The same gate, refusing nothing: its `reject` checks warn instead; `off` stays off. */
export function withRefusalsAsWarnings(config: GateConfig): GateConfig {
  const warn = (a: GateAction): GateAction => (a === 'reject' ? 'warn' : a);
  return {
    ...config,
    checks: config.checks.map((c) => ({ ...c, action: warn(c.action) })),
    modelChecks: Object.fromEntries(MODEL_REASONS.map((c) => [c, warn(actionOf(config, c))])) as GateConfig['modelChecks'],
  };
}

/** The configured gate's verdict from the warnings of a run under withRefusalsAsWarnings(config). */
export function gateOutcomeOf(warnings: readonly Pick<GateReason, 'code'>[], config: GateConfig): GateOutcome {
  const refusals = [...new Set(warnings.filter((w) => actionOf(config, w.code) === 'reject').map((w) => w.code))];
  return { accepted: refusals.length === 0, refusals };
}
