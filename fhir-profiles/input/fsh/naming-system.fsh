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
