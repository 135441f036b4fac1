Extension: HeatmapSourceImage
Id: heatmap-source-image
Title: "Heatmap source image"
Description: "The dermoscopic image a heatmap overlays and explains. R4 Media has no derivedFrom (R5 added it), and Media.partOf means a step of a larger event, so the link travels in this extension."
* ^context[+].type = #element
* ^context[=].expression = "Media"
* value[x] only Reference(Media or DocumentReference or ImagingStudy)
* valueReference 1..1

Extension: HeatmapExplainedOutput
Id: heatmap-explained-output
Title: "Heatmap explained output"
Description: "The model output a heatmap explains: the BCC probability or one dermoscopic pattern, coded as the Observation that carries the output's value."
* ^context[+].type = #element
* ^context[=].expression = "Media"
* value[x] only Coding
* valueCoding 1..1
* valueCoding from HeatmapExplainedOutputVS (required)
