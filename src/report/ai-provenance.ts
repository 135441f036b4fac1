import type { Provenance, Reference } from 'fhir/r4';
import type { BuildContext } from './build-context.ts';
import { modelTitle } from './build-context.ts';
import type { AllocatedId } from './ids.ts';
import { toCoding, toExactCoding } from './terminology.ts';

/**
 * Second-level AI observability (AI Transparency IG "AI Provenance"): which resources the model
 * produced, when, from which images, under which policy. Agent: the model Device, type `author`
 * (the IG's examples use author for an AI that created a resource; there is no human agent yet,
 * the reviewing dermatologist adds one), role Artificial-Intelligence as the profile fixes.
 * Targets are the AI outputs only: the Device is referenced as agent; listing it as a target too
 * would claim the model authored its own description. Entities: each input image, and the model
 * card (the IG's entity:modelCard). The rule file that turned probabilities into a triage is a
 * policy, `<rules base><rules id>|<version>`, as Observation.method names it.
 */
export function buildAiProvenance(ctx: BuildContext, targets: readonly string[], inputs: readonly Reference[], ids: AllocatedId, modelCard: Reference): Provenance {
  const t = ctx.terminology;
  const ai = t.aiTransparency;
  return {
    resourceType: 'Provenance',
    id: ids.id,
    meta: { profile: [t.profiles.aiProvenance, ai.provenanceProfile] },
    target: targets.map((reference) => ({ reference })),
    occurredDateTime: ctx.now,
    recorded: ctx.now,
    policy: [t.policy, `${t.observation.triageRuleSystemBase}${ctx.rules.id}|${ctx.rules.version}`],
    reason: [
      {
        coding: [toCoding(ai.securityLabel)],
        text: `AI triage of referral images for basal cell carcinoma (decision support; rules ${ctx.rules.id} ${ctx.rules.version})`,
      },
    ],
    activity: { coding: [toCoding(ai.provenanceActivity)] },
    agent: [
      {
        type: { coding: [toCoding(ai.provenanceAgentType)] },
        // Fixed exactly by the IG's agent:AIagent slice: system and code only.
        role: [{ coding: [toExactCoding(ai.deviceType)] }],
        who: { ...ctx.device, display: modelTitle(ctx.manifest) },
      },
    ],
    entity: [...inputs.map((what) => ({ role: ai.inputEntityRole, what })), { role: ai.inputEntityRole, what: { ...modelCard, display: `Model card ${modelTitle(ctx.manifest)}` } }],
  };
}
