Profile: HeatmapMedia
Parent: Media
Id: heatmap-media
Title: "Heatmap Media"
Description: """
A PNG overlay showing where the model's evidence for one output (the BCC probability or a pattern)
lies in one dermoscopic image, to lay over that image scaled to width x height. The image it explains
and the output are in extensions (R4 Media has no derivedFrom).
"""
* insert AiAssertedLabel
* extension contains HeatmapSourceImage named sourceImage 1..1 MS and HeatmapExplainedOutput named explainedOutput 1..1 MS
// Spelled out so the snapshot carries each slice's url: validators that match extension slices by
// the url element (Medplum's) need it there.
* extension[sourceImage].value[x] only Reference(Media or DocumentReference or ImagingStudy)
* extension[explainedOutput].value[x] only Coding
* basedOn 0..1 MS
* basedOn only Reference(ServiceRequest)
* basedOn ^comment = "By id (ServiceRequest/<id>), else by the referral's identifier (a logical reference); absent only when the draft referral had neither, since an invented id would resolve to nothing"
* status MS
* type 1..1 MS
* type = $media-type#image
* subject 1..1 MS
* subject only Reference(Patient)
* created[x] 1..1 MS
* created[x] only dateTime
* issued 1..1 MS
* device 1..1 MS
* device only Reference(AiModelDevice)
* bodySite MS
* width 1..1 MS
* height 1..1 MS
* content.contentType 1..1 MS
* content.contentType = #image/png (exactly)
* content.data 1..1 MS
* content.title MS
* note MS
