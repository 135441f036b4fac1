// External code systems and canonicals. Our own ones are referenced by FSH name.
Alias: $sct = http://snomed.info/sct
Alias: $ucum = http://unitsofmeasure.org
Alias: $v2-0074 = http://terminology.hl7.org/CodeSystem/v2-0074
Alias: $observation-category = http://terminology.hl7.org/CodeSystem/observation-category
Alias: $v3-ObservationValue = http://terminology.hl7.org/CodeSystem/v3-ObservationValue
Alias: $v3-ObservationInterpretation = http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation
Alias: $media-type = http://terminology.hl7.org/CodeSystem/media-type
Alias: $provenance-participant-type = http://terminology.hl7.org/CodeSystem/provenance-participant-type
Alias: $v3-DataOperation = http://terminology.hl7.org/CodeSystem/v3-DataOperation
Alias: $provenance-entity-role = http://hl7.org/fhir/provenance-entity-role

// HL7 AI Transparency on FHIR (STU1 ballot, http://hl7.org/fhir/uv/aitransparency), built into
// fhir-profiles/aitransparency by npm run ig and a SUSHI dependency here (scripts/seed-ig-package.ts).
Alias: $AIdeviceTypeCS = http://hl7.org/fhir/uv/aitransparency/CodeSystem/AIdeviceTypeCS
