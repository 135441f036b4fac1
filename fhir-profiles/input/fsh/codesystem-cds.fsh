CodeSystem: CdsTopicCS
Id: cds-topic
Title: "BCC-CDS card topics"
Description: "Topics of the CDS Hooks cards BCC-CDS returns (card.topic in feedback; codes.json `cards.topic`)."
* ^caseSensitive = true
* ^content = #complete
* ^experimental = false
* #bcc-triage "Basal cell carcinoma referral triage" "A card that suggests a priority for a dermatology referral from an AI reading of its dermoscopic images."

CodeSystem: CdsOverrideReasonCS
Id: cds-override-reason
Title: "BCC-CDS card override reasons"
Description: "Reasons a clinician may give for not following a BCC-CDS card (CDS Hooks 2.0 overrideReasons; codes.json `cards.overrideReasons`)."
* ^caseSensitive = true
* ^content = #complete
* ^experimental = false
* #disagree-clinical-judgement "Clinical judgement differs from the AI triage" "The clinician's own reading of the referral leads to a different priority."
* #image-quality "Image quality too poor for the AI result to be relied on" "Blur, glare, framing or exposure make the model's reading unreliable."
* #not-a-skin-lesion-image "Image is not a dermoscopic image of a skin lesion" "The attached image is not what the model was built for (a photograph, a document, another body part)."
* #already-triaged "Referral already triaged by a dermatologist" "A dermatologist has already set the priority; the card adds nothing."
