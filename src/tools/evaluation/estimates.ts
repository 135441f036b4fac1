/**
 * What the figures of one `npm run evaluate` run are worth, and where the honest ones are. The
 * installed model was trained on every image of the development set, so a run on that set is
 * in-sample: it checks the installed files (model, gate, thresholds) end to end, not how the model
 * does on lesions it has not seen. The honest estimates are in the manifest: grouped out-of-fold
 * (modelCard.metrics, gate.modality.metrics) and leave-one-source-out of the recipe (loso).
 */
import type { ModelManifest } from '../../model/manifest.ts';
import type { HonestEstimate } from '../../model/source-figures.ts';
import { leaveOneSourceOutBySource, outOfFoldBySource } from '../../model/source-figures.ts';

export interface EstimatesNote {
  /** `in-sample`: the run's images trained the installed model (the development set). */
  readonly thisRun: 'in-sample' | 'out-of-sample unless its images are in the development set';
  readonly text: string;
  readonly honest: readonly HonestEstimate[];
}

/** `developmentSet`: the run's folder is the development set the installed model was trained on. */
export function describeEstimates(manifest: ModelManifest, developmentSet: boolean): EstimatesNote {
  const honest = [outOfFoldBySource(manifest), leaveOneSourceOutBySource(manifest)].filter((e): e is HonestEstimate => e !== undefined);
  return developmentSet
    ? {
        thisRun: 'in-sample',
        text: 'IN-SAMPLE: the installed model (and its gate) was trained on these images, so these figures check the installed files end to end and are optimistic; they are not estimates for unseen lesions. Honest estimates: grouped out-of-fold and leave-one-source-out, below (from the manifest).',
        honest,
      }
    : {
        thisRun: 'out-of-sample unless its images are in the development set',
        text: 'Out-of-sample for lesions the installed model did not see in training (its development set: the model card\'s trainingData); any image also in the development set is in-sample. The training-time estimates follow for comparison.',
        honest,
      };
}
