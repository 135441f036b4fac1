import { z } from 'zod';
import { ACTION_TYPES, INDICATORS, LINK_TYPES, SELECTION_BEHAVIORS, SUMMARY_MAX_CHARS } from './card.ts';

// Field-level checks where possible: zod skips an object's refinements once a field failed, and
// a card with two faults should report both.

const absoluteUrl = z.string().regex(/^https?:\/\/\S+$/, 'must be an absolute http(s) URL');

const coding = z.object({ system: z.string().optional(), code: z.string().min(1), display: z.string().optional() });

const overrideReason = coding.extend({ display: z.string().min(1, 'is required for an override reason') });

const summary = z
  .string()
  .min(1, 'is required')
  .superRefine((s, ctx) => {
    // Code points, not UTF-16 units: the limit is in characters a person sees.
    const chars = Array.from(s).length;
    if (chars > SUMMARY_MAX_CHARS) {
      ctx.addIssue({ code: 'custom', message: `must be shorter than 140 characters (has ${chars})` });
    }
  });

const action = z
  .object({
    type: z.enum(ACTION_TYPES),
    description: z.string().min(1, 'is required'),
    resource: z.looseObject({ resourceType: z.string().min(1) }).optional(),
    resourceId: z.string().optional(),
  })
  .superRefine((a, ctx) => {
    if ((a.type === 'create' || a.type === 'update') && !a.resource) {
      ctx.addIssue({ code: 'custom', path: ['resource'], message: `is required for a ${a.type} action` });
    }
    if (a.type === 'delete' && !a.resourceId) {
      ctx.addIssue({ code: 'custom', path: ['resourceId'], message: 'should name the resource to delete (Type/id)' });
    }
  });

const suggestion = z.object({
  label: z.string().min(1, 'is required'),
  uuid: z.string().optional(),
  isRecommended: z.boolean().optional(),
  actions: z.array(action).optional(),
});

const link = z
  .object({
    label: z.string().min(1, 'is required'),
    url: z.string().min(1, 'is required'),
    type: z.enum(LINK_TYPES),
    appContext: z.string().optional(),
  })
  .superRefine((l, ctx) => {
    if (l.type === 'absolute' && !absoluteUrl.safeParse(l.url).success) {
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'must be an absolute http(s) URL for an absolute link' });
    }
    // The EHR adds iss and launch to the URL and opens it: it must be somewhere a browser can go.
    if (l.type === 'smart' && !absoluteUrl.safeParse(l.url).success) {
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'must be an absolute http(s) launch URL for a smart link' });
    }
    if (l.type === 'absolute' && l.appContext !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['appContext'], message: 'is only valid for smart links' });
    }
  });

const cardSchema = z
  .object({
    // Optional in CDS Hooks 2.0; this service requires it: feedback calls must name the card.
    uuid: z.string().min(1, 'is required by this service (feedback and audit)'),
    summary,
    detail: z.string().optional(),
    indicator: z.enum(INDICATORS),
    source: z.object({ label: z.string().min(1, 'is required'), url: absoluteUrl.optional(), icon: absoluteUrl.optional(), topic: coding.optional() }),
    suggestions: z.array(suggestion).optional(),
    selectionBehavior: z.enum(SELECTION_BEHAVIORS).optional(),
    overrideReasons: z.array(overrideReason).optional(),
    links: z.array(link).optional(),
  })
  .superRefine((c, ctx) => {
    if (c.suggestions?.length && !c.selectionBehavior) {
      ctx.addIssue({ code: 'custom', path: ['selectionBehavior'], message: 'is required when suggestions are present' });
    }
    if (c.selectionBehavior === 'at-most-one' && (c.suggestions ?? []).filter((s) => s.isRecommended).length > 1) {
      ctx.addIssue({ code: 'custom', path: ['suggestions'], message: 'only one suggestion may be recommended when selectionBehavior is at-most-one' });
    }
  });

/**
 * Violations of the CDS Hooks 2.0 card rules (plus this service's: uuid present), one line each,
 * naming the element (`card.suggestions.0.actions.2.resource: ...`). Empty when the card is fine.
 * Takes `unknown`: the edge checks what it is about to send, whatever built it.
 */
export function checkCard(card: unknown): string[] {
  const r = cardSchema.safeParse(card);
  if (r.success) {
    return [];
  }
  return r.error.issues.map((i) => `${['card', ...i.path.map(String)].join('.')}: ${i.message}`);
}
