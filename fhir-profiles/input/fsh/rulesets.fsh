// The AI Transparency IG's first-level observability: AIAST on every resource whose content the model asserted.
RuleSet: AiAssertedLabel
* meta.security ^slicing.discriminator.type = #pattern
* meta.security ^slicing.discriminator.path = "$this"
* meta.security ^slicing.rules = #open
* meta.security ^slicing.description = "The AIAST label; other labels may follow"
* meta.security contains aiAsserted 1..1 MS
* meta.security[aiAsserted] = $v3-ObservationValue#AIAST
* meta.security[aiAsserted] ^short = "AIAST: Artificial Intelligence asserted (AI Transparency on FHIR)"

// What the BCC probability and the pattern Observations of one image share (src/report/probability-observations.ts).
RuleSet: ImageObservation
* insert AiAssertedLabel
* obeys bcc-observation-1
* extension MS
* extension ^short = "AI Transparency AIconfidence: the model's probability that the reported interpretation (positive / present, or negative / absent) is right"
* status MS
* status ^comment = "preliminary as emitted (model output nobody has reviewed); the reviewing dermatologist may make it final"
* category ^slicing.discriminator.type = #pattern
* category ^slicing.discriminator.path = "$this"
* category ^slicing.rules = #open
* category contains imaging 1..1 MS
* category[imaging] = $observation-category#imaging
* basedOn 0..1 MS
* basedOn only Reference(ServiceRequest)
* basedOn ^short = "The dermatology referral"
* basedOn ^comment = "By id (ServiceRequest/<id>), else by the referral's identifier (a logical reference); absent only when the draft referral had neither, since an invented id would resolve to nothing"
* subject 1..1 MS
* subject only Reference(Patient)
* effective[x] 1..1 MS
* effective[x] only dateTime
* issued 1..1 MS
* device 1..1 MS
* device only Reference(AiModelDevice)
* device ^short = "The AI model that produced the value"
* derivedFrom 1..1 MS
* derivedFrom only Reference(Media or DocumentReference or ImagingStudy)
* derivedFrom ^short = "The dermoscopic image the model read"
* bodySite MS
* bodySite ^short = "Where the lesion is, when the referral says so"
* method MS
* note MS
* hasMember 0..0
