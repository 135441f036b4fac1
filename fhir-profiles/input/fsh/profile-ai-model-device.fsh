Invariant: bcc-device-1
Description: "The model's SHA-256 identifiers (network file, manifest) are 64 lower-case hex digits"
Expression: "identifier.where(system = 'http://bcc-cds.org/fhir/NamingSystem/model-sha256' or system = 'http://bcc-cds.org/fhir/NamingSystem/model-manifest-sha256').all(value.matches('^[0-9a-f]{64}$'))"
Severity: #error

Invariant: bcc-device-2
Description: "The AI Transparency AIKind extension is present, with a valueCodeableConcept"
Expression: "extension.where(url = 'http://hl7.org/fhir/uv/aitransparency/StructureDefinition/aitransparency.AIKind').exists() and extension.where(url = 'http://hl7.org/fhir/uv/aitransparency/StructureDefinition/aitransparency.AIKind').all(value.ofType(CodeableConcept).exists())"
Severity: #error

Profile: AiModelDevice
Parent: Device
Id: ai-model-device
Title: "AI model Device"
Description: """
The installed BCC-CDS model, after the AI Transparency on FHIR "AI Device" (type Artificial-Intelligence,
AIKind extension, name and version), with the SHA-256 of the ONNX file as identifier so a result can be
traced to the exact weights. Intended use, licence and limits are in note. Derived from R4 Device, not
from the IG's AI-Device (see fhir-profiles/README.md).
"""
// AIKind is the IG's extension. Its definition is not in the offline cache and FSH allows no
// inline extension slice in a profile, so an invariant requires it instead of a slice.
* obeys bcc-device-1 and bcc-device-2
* extension MS
* extension ^short = "AI Transparency AIKind (http://hl7.org/fhir/uv/aitransparency/StructureDefinition/aitransparency.AIKind): the kind of AI"
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
* type = $AIdeviceTypeCS#Artificial-Intelligence
* version 1..* MS
* version.value MS
* note MS
* note ^short = "Intended use, licence and limits from the model card"
