Invariant: bcc-device-1
Description: "The model's SHA-256 identifiers (network file, manifest) are 64 lower-case hex digits"
Expression: "identifier.where(system = 'http://bcc-cds.org/fhir/NamingSystem/model-sha256' or system = 'http://bcc-cds.org/fhir/NamingSystem/model-manifest-sha256').all(value.matches('^[0-9a-f]{64}$'))"
Severity: #error

Invariant: bcc-device-2
Description: "The AI Transparency AIKind extension is present, with a valueCodeableConcept"
Expression: "extension.where(url = 'http://hl7.org/fhir/uv/aitransparency/StructureDefinition/aitransparency.AIKind').exists() and extension.where(url = 'http://hl7.org/fhir/uv/aitransparency/StructureDefinition/aitransparency.AIKind').all(value.ofType(CodeableConcept).exists())"
Severity: #error

Invariant: bcc-device-3
Description: "The AI Transparency modelCardDescription extension refers to the model card (an AI-ModelCard DocumentReference)"
Expression: "extension.where(url = 'http://hl7.org/fhir/uv/aitransparency/StructureDefinition/aitransparency.modelCardDescription').exists() and extension.where(url = 'http://hl7.org/fhir/uv/aitransparency/StructureDefinition/aitransparency.modelCardDescription').all(value.ofType(Reference).reference.exists())"
Severity: #error

Profile: AiModelDevice
Parent: http://hl7.org/fhir/uv/aitransparency/StructureDefinition/AI-Device
Id: ai-model-device
Title: "AI model Device"
Description: """
The installed BCC-CDS model, after the AI Transparency on FHIR "AI Device" (type Artificial-Intelligence,
fixed exactly as the IG fixes it; AIKind extensions; the model card by modelCardDescription; name and
version), with the SHA-256 of the ONNX file as identifier so a result can be traced to the exact weights.
Intended use, licence and limits are also in note. Derived from the IG's AI-Device (claimed too), built
from its FSH into fhir-profiles/aitransparency (see fhir-profiles/README.md).
"""
// AIKind and modelCardDescription: the IG's slices, made required here; the invariants also
// require their values (the slice cardinality alone is met by an empty extension).
* obeys bcc-device-1 and bcc-device-2 and bcc-device-3
* extension[aiKind] 1..* MS
* extension[modelCardDescription] 1..1 MS
// Spelled out so the snapshot carries each slice's url: Medplum matches extension slices by the
// url element, which the IG's snapshot leaves unfolded.
* extension[aiKind].value[x] only CodeableConcept
* extension[modelCardDescription].value[x] only Reference(http://hl7.org/fhir/uv/aitransparency/StructureDefinition/AI-ModelCard)
* extension MS
* extension ^short = "AI Transparency AIKind (the kinds of AI) and modelCardDescription (the model card DocumentReference)"
* identifier ^slicing.discriminator.type = #value
* identifier ^slicing.discriminator.path = "system"
* identifier ^slicing.rules = #open
* identifier contains modelSha256 1..1 MS
* identifier[modelSha256].system 1..1
* identifier[modelSha256].system = "http://bcc-cds.org/fhir/NamingSystem/model-sha256" (exactly)
* identifier[modelSha256].value 1..1
* identifier contains manifestSha256 0..1 MS
* identifier[manifestSha256] ^short = "SHA-256 of the manifest's canonical JSON: the model version (learned heads share the network)"
* identifier[manifestSha256].system 1..1
* identifier[manifestSha256].system = "http://bcc-cds.org/fhir/NamingSystem/model-manifest-sha256" (exactly)
* identifier[manifestSha256].value 1..1
* status MS
* deviceName 1..* MS
* deviceName.name MS
* deviceName.type MS
* type 1..1 MS
* type = $AIdeviceTypeCS#Artificial-Intelligence (exactly)
* type ^comment = "Fixed exactly, as the IG's AI-Device fixes it: system and code, no display, no text"
* version 1..* MS
* version.value MS
* note MS
* note ^short = "Intended use, licence and limits from the model card"
