CodeSystem: BccTriageCategoryCS
Id: bcc-triage-category
Title: "BCC triage categories"
Description: """
The priority BCC-CDS suggests for a dermatology referral. Codes are the rule file's categories
(`models/rules/*.json` `categories[]`), displays its displays, `rank` its rank (1 = most urgent).
The categories are a triage suggestion for the reviewing dermatologist, not a diagnosis.
"""
* ^caseSensitive = true
* ^content = #complete
* ^experimental = false
* ^property[+].code = #rank
* ^property[=].uri = "http://bcc-cds.org/fhir/CodeSystem/bcc-triage-category#rank"
* ^property[=].description = "Urgency order, 1 = most urgent; the image with the lowest rank decides the referral's category"
* ^property[=].type = #integer

* #high "High priority: first in queue" "Seen first. The BCC probability is at or above the high-specificity operating point, or at or above the triage operating point with the dermoscopic criterion reading the lesion as BCC."
* #high ^property[+].code = #rank
* #high ^property[=].valueInteger = 1
* #moderate "Moderate priority: before routine" "Seen before routine referrals. The BCC probability is at or above the triage operating point (chosen for sensitivity >= 0.95) and the dermoscopic criterion gives no answer."
* #moderate ^property[+].code = #rank
* #moderate ^property[=].valueInteger = 2
* #indeterminate "Indeterminate: dermatologist review" "The network and the dermoscopic criterion disagree (probability at or above the triage point with pigment network, or below it with a BCC pattern), or the probability lies just below the triage point (between the review point, chosen for sensitivity >= 0.99, and the triage point)."
* #indeterminate ^property[+].code = #rank
* #indeterminate ^property[=].valueInteger = 3
* #low "Routine priority: usual order" "Usual queue order. The BCC probability is below the review operating point and no BCC pattern was seen."
* #low ^property[+].code = #rank
* #low ^property[=].valueInteger = 4
