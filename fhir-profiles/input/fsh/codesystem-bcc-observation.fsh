CodeSystem: BccObservationCS
Id: bcc-observation
Title: "BCC-CDS observation codes"
Description: """
Observation and component codes for what the BCC-CDS model estimates. No LOINC or SNOMED CT code for
an AI-estimated probability of basal cell carcinoma was found, so these codes are our own
(fhir-profiles/terminology/codes.json `observation`).
"""
* ^caseSensitive = true
* ^content = #complete
* ^experimental = false
* #bcc-probability "Probability of basal cell carcinoma estimated by an AI model from a dermoscopic image" "The model's estimate, in [0, 1], that the lesion in the image is a basal cell carcinoma. Not calibrated to any clinic's prevalence; read it against the operating points named in Observation.method."
* #image-triage-category "Triage category of one dermoscopic image" "The priority the rules give one image of the referral (the report's category is the most urgent of its images'); coded from the BCC-CDS triage category code system."
* #pattern-probability "Probability that the dermoscopic pattern is present, estimated by an AI model" "The model's estimate, in [0, 1], that the dermoscopic pattern named by Observation.code is present in the image."
