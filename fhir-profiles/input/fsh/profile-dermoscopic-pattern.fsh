Profile: DermoscopicPatternObservation
Parent: Observation
Id: dermoscopic-pattern
Title: "Dermoscopic pattern Observation"
Description: """
Whether the model found one dermoscopic pattern in one image (valueBoolean, at the pattern's
threshold named in method), with the model's probability as a component. Only patterns the model was
trained on are reported: an untrained head's output means nothing, so there is no "absent" row for it.
"""
* insert ImageObservation
* code from DermoscopicPatternVS (required)
* code ^short = "The pattern (DermoscopicPatternCS)"
* value[x] 1..1 MS
* value[x] only boolean
* value[x] ^short = "true: present; false: absent (at the pattern's operating point)"
* interpretation 0..1 MS
* interpretation from BccInterpretationVS (required)
* component 1..1 MS
* component.code = BccObservationCS#pattern-probability
* component.value[x] 1..1 MS
* component.value[x] only Quantity
* component.valueQuantity obeys bcc-probability-1
* component.valueQuantity.value 1..1
* component.valueQuantity.system 1..1
* component.valueQuantity.system = $ucum
* component.valueQuantity.code 1..1
* component.valueQuantity.code = #1
* component.referenceRange 0..1 MS
* component.referenceRange ^short = "low: the probability at or above which the pattern is reported present (the pattern's threshold)"
* component.referenceRange.low 1..1
