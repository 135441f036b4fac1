/**
 * Shown with every AI result. Same words as the CLI's notice (src/tools/cli/analyze.ts), which cannot be
 * imported here: importing that module runs the CLI.
 */
export const DECISION_SUPPORT_NOTICE =
  'Decision support for triage only, not a diagnosis: a dermatologist reviews every referral. Research model, not for clinical decisions.';
