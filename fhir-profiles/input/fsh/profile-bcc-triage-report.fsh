Invariant: bcc-report-1
Description: "Exactly one conclusionCode coding is a triage category"
Expression: "conclusionCode.coding.where(system = 'http://bcc-cds.org/fhir/CodeSystem/bcc-triage-category').count() = 1"
Severity: #error

Invariant: bcc-report-2
Description: "SNOMED CT 254701007 (BCC suspected on AI triage) is sent only with triage category high"
Expression: "conclusionCode.coding.where(system = 'http://snomed.info/sct' and code = '254701007').exists() implies conclusionCode.coding.where(system = 'http://bcc-cds.org/fhir/CodeSystem/bcc-triage-category' and code = 'high').exists()"
Severity: #error

Profile: BccTriageReport
Parent: DiagnosticReport
Id: bcc-triage-report
Title: "BCC triage DiagnosticReport"
Description: """
The AI triage of a dermatology referral's dermoscopic images: the suggested priority (conclusionCode),
the per-image Observations (result) and heatmaps (media). Preliminary until a dermatologist reviews it.
No performer: R4 DiagnosticReport.performer cannot reference a Device; the model is named in
Observation.device, Media.device and the AI Provenance's agent.
"""
* insert AiAssertedLabel
* obeys bcc-report-1 and bcc-report-2
* basedOn 0..1 MS
* basedOn only Reference(ServiceRequest)
* basedOn ^short = "The dermatology referral under triage"
* basedOn ^comment = "By id (ServiceRequest/<id>), else by the referral's identifier (a logical reference); absent only when the draft referral had neither, since an invented id would resolve to nothing"
* status MS
* status ^comment = "preliminary as emitted; the reviewing dermatologist makes it final"
* category ^slicing.discriminator.type = #pattern
* category ^slicing.discriminator.path = "$this"
* category ^slicing.rules = #open
* category contains imaging 1..1 MS
* category[imaging] = $v2-0074#IMG
* code = $sct#1237125003
* code ^short = "SNOMED CT 1237125003 |Optical dermatoscopy of skin|"
* subject 1..1 MS
* subject only Reference(Patient)
* effective[x] 1..1 MS
* effective[x] only dateTime
* issued 1..1 MS
* result 1..* MS
* result only Reference(BccProbabilityObservation or DermoscopicPatternObservation)
* media MS
* media.link only Reference(HeatmapMedia)
* conclusion 1..1 MS
* conclusionCode 1..* MS
* conclusionCode from BccConclusionVS (required)
* presentedForm MS
* presentedForm ^short = "The report as a PDF (images, heatmaps, patterns, rule trace, priority, risk statement); a link to the result viewer when configured"
