Invariant: bcc-probability-1
Description: "A probability is a number in [0, 1]"
Expression: "value.exists() and value >= 0 and value <= 1"
Severity: #error

Invariant: bcc-observation-1
Description: "Exactly one AI Transparency AIconfidence extension, a valueDecimal in [0, 1]"
Expression: "extension.where(url = 'http://hl7.org/fhir/uv/aitransparency/StructureDefinition/AIconfidence').count() = 1 and extension.where(url = 'http://hl7.org/fhir/uv/aitransparency/StructureDefinition/AIconfidence').all(value.ofType(decimal).exists() and value >= 0 and value <= 1)"
Severity: #error

Profile: BccProbabilityObservation
Parent: Observation
Id: bcc-probability
Title: "BCC probability Observation"
Description: "The model's probability of basal cell carcinoma for one dermoscopic image, interpreted (POS/NEG) at the rules' network operating point named in method."
* insert ImageObservation
* code = BccObservationCS#bcc-probability
* value[x] 1..1 MS
* value[x] only Quantity
* valueQuantity obeys bcc-probability-1
* valueQuantity.value 1..1
* valueQuantity.system 1..1
* valueQuantity.system = $ucum
* valueQuantity.code 1..1
* valueQuantity.code = #1
* interpretation 0..1 MS
* interpretation from BccInterpretationVS (required)
* method MS
* method.coding 0..1 MS
* method.coding ^short = "The triage rule that decided this image: system = <canonical>/rules/<rules id>, version = the rules version, code = the rule"
* derivedFrom.display MS
* derivedFrom.display ^short = "The image's label, as a clinician calls it"
* component 0..1 MS
* component.code = BccObservationCS#image-triage-category
* component.value[x] 1..1 MS
* component.value[x] only CodeableConcept
* component.valueCodeableConcept from BccTriageCategoryVS (required)
