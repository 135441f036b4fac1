Instance: model-sha256
InstanceOf: NamingSystem
Usage: #definition
Title: "SHA-256 of an AI model file"
Description: "Device.identifier system for the SHA-256 (lower-case hex) of the ONNX file behind an AI model Device: the exact weights a result came from."
* name = "ModelSha256"
* status = #active
* kind = #identifier
* date = "2026-11-27"
* description = "Device.identifier system for the SHA-256 (lower-case hex) of the ONNX file behind an AI model Device: the exact weights a result came from."
* uniqueId.type = #uri
* uniqueId.value = "http://bcc-cds.org/fhir/NamingSystem/model-sha256"
* uniqueId.preferred = true

Instance: model-manifest-sha256
InstanceOf: NamingSystem
Usage: #definition
Title: "SHA-256 of an AI model version's manifest"
Description: "Device.identifier system for the SHA-256 (lower-case hex) of the canonical JSON of the model manifest: one model version (network plus its heads, thresholds and calibration). Versions learned in the hospital share the network (model-sha256) but not this digest."
* name = "ModelManifestSha256"
* status = #active
* kind = #identifier
* date = "2026-12-02"
* description = "Device.identifier system for the SHA-256 (lower-case hex) of the canonical JSON of the model manifest: one model version (network plus its heads, thresholds and calibration). Versions learned in the hospital share the network (model-sha256) but not this digest."
* uniqueId.type = #uri
* uniqueId.value = "http://bcc-cds.org/fhir/NamingSystem/model-manifest-sha256"
* uniqueId.preferred = true
