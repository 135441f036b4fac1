CodeSystem: DermoscopicPatternCS
Id: dermoscopic-pattern
Title: "Dermoscopic patterns of basal cell carcinoma"
Description: """
Dermoscopic patterns that the BCC-CDS model reports, with the role each plays in the dermatologists'
criterion for basal cell carcinoma (Menzies et al., Arch Dermatol 2000;136:1012-6; as used by Matas et
al., Sci Rep 2026, arXiv 2407.00104): the one *negative* feature (pigment network) argues against BCC,
each *positive* feature argues for it.

Codes are the model manifest's pattern ids (`models/*.json` `patterns[].id`), displays the manifest's
displays. The system is meant to grow: a later model that learns another pattern (for example shiny
white-red structureless areas) adds a code in a new version of this CodeSystem, and the value set
DermoscopicPatternVS, which takes every code of the system, follows without change.
"""
* ^caseSensitive = true
* ^content = #complete
* ^experimental = false
* ^versionNeeded = false
* ^property[+].code = #role
* ^property[=].uri = "http://bcc-cds.org/fhir/CodeSystem/dermoscopic-pattern#role"
* ^property[=].description = "positive: the pattern argues for BCC in the criterion; negative: it argues against BCC"
* ^property[=].type = #code

* #pigment_network "Pigment network" "A grid of brown lines over a lighter background (reticular pattern). Its presence argues against BCC: the criterion reads a lesion with pigment network as not BCC."
* #pigment_network ^property[+].code = #role
* #pigment_network ^property[=].valueCode = #negative

* #ulceration "Ulceration" "Absence of the epidermis, often with congealed blood, not due to a well-described recent history of trauma."
* #ulceration ^property[+].code = #role
* #ulceration ^property[=].valueCode = #positive

* #blue_gray_ovoid_nests "Blue-gray ovoid nests" "Well-circumscribed, confluent or near-confluent pigmented ovoid or elongated areas, larger than globules, not intimately connected to a pigmented tumour body."
* #blue_gray_ovoid_nests ^property[+].code = #role
* #blue_gray_ovoid_nests ^property[=].valueCode = #positive

* #multiple_blue_gray_globules "Multiple blue-gray globules" "Multiple round to oval, well-circumscribed blue-gray structures, smaller than nests, not intimately connected to a pigmented tumour body."
* #multiple_blue_gray_globules ^property[+].code = #role
* #multiple_blue_gray_globules ^property[=].valueCode = #positive

* #leaf_like_areas "Leaf-like areas" "Brown to gray-blue discrete bulbous extensions forming a leaf-like pattern, not located within a pigment network and usually not arising from a confluent pigmented tumour body."
* #leaf_like_areas ^property[+].code = #role
* #leaf_like_areas ^property[=].valueCode = #positive

* #spoke_wheel_areas "Spoke-wheel areas" "Well-circumscribed radial projections, usually tan, sometimes blue or gray, meeting at an often darker (dark brown, black or blue) central axis."
* #spoke_wheel_areas ^property[+].code = #role
* #spoke_wheel_areas ^property[=].valueCode = #positive

* #arborizing_telangiectasia "Arborizing telangiectasia" "Sharply focused red vessels of large diameter that branch repeatedly into finer vessels, like the branches of a tree."
* #arborizing_telangiectasia ^property[+].code = #role
* #arborizing_telangiectasia ^property[=].valueCode = #positive
