import type { FhirResource } from 'fhir/r4';

/**
 * CDS Hooks 2.0 response shapes. Enumerations are declared once, here, and both the types and
 * `checkCard` derive from them (a hand-copied `'hard-stop'` is how Medplum's cds.ts drifted).
 * {@link https://cds-hooks.hl7.org/2.0/#card-attributes}
 */

/** Card urgency, in increasing order. */
export const INDICATORS = ['info', 'warning', 'critical'] as const;
export type Indicator = (typeof INDICATORS)[number];

export const SELECTION_BEHAVIORS = ['at-most-one', 'any'] as const;
export type SelectionBehavior = (typeof SELECTION_BEHAVIORS)[number];

export const ACTION_TYPES = ['create', 'update', 'delete'] as const;
export type ActionType = (typeof ACTION_TYPES)[number];

export const LINK_TYPES = ['absolute', 'smart'] as const;
export type LinkType = (typeof LINK_TYPES)[number];

/** The spec: "One-sentence, <140-character summary". */
export const SUMMARY_MAX_CHARS = 139;

/** {@link https://cds-hooks.hl7.org/2.0/#coding} */
export interface CdsCoding {
  readonly system?: string;
  readonly code: string;
  /** Required for override reasons. */
  readonly display?: string;
}

/** {@link https://cds-hooks.hl7.org/2.0/#source} */
export interface CardSource {
  readonly label: string;
  readonly url?: string;
  readonly icon?: string;
  readonly topic?: CdsCoding;
}

/** {@link https://cds-hooks.hl7.org/2.0/#action} */
export interface CardAction {
  readonly type: ActionType;
  readonly description: string;
  /** The whole resource, for create and update. */
  readonly resource?: FhirResource;
  /** Relative reference (`Type/id`), for delete. */
  readonly resourceId?: string;
}

/** {@link https://cds-hooks.hl7.org/2.0/#suggestion} */
export interface Suggestion {
  readonly label: string;
  readonly uuid?: string;
  readonly isRecommended?: boolean;
  readonly actions?: readonly CardAction[];
}

/** {@link https://cds-hooks.hl7.org/2.0/#link} */
export interface CardLink {
  readonly label: string;
  readonly url: string;
  readonly type: LinkType;
  /** Only for `smart` links. */
  readonly appContext?: string;
}

/** {@link https://cds-hooks.hl7.org/2.0/#card-attributes} */
export interface Card {
  readonly uuid?: string;
  readonly summary: string;
  /** GitHub-flavoured markdown. */
  readonly detail?: string;
  readonly indicator: Indicator;
  readonly source: CardSource;
  readonly suggestions?: readonly Suggestion[];
  /** Required when suggestions are present. */
  readonly selectionBehavior?: SelectionBehavior;
  readonly overrideReasons?: readonly CdsCoding[];
  readonly links?: readonly CardLink[];
}

/** {@link https://cds-hooks.hl7.org/2.0/#system-action}: an Action whose description is optional. */
export type SystemAction = Omit<CardAction, 'description'> & { readonly description?: string };

/** {@link https://cds-hooks.hl7.org/2.0/#cds-service-response} */
export interface CdsServiceResponse {
  readonly cards: readonly Card[];
  /** Actions the CDS client may apply without showing them to anyone. */
  readonly systemActions?: readonly SystemAction[];
}
