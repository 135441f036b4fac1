ValueSet: DermoscopicPatternVS
Id: dermoscopic-pattern
Title: "Dermoscopic patterns"
Description: "Every code of DermoscopicPatternCS, so new patterns join with a new CodeSystem version. Bound (required) to the dermoscopic pattern Observation's code."
* ^experimental = false
* include codes from system DermoscopicPatternCS

ValueSet: BccTriageCategoryVS
Id: bcc-triage-category
Title: "BCC triage categories"
Description: "Every code of BccTriageCategoryCS."
* ^experimental = false
* include codes from system BccTriageCategoryCS

ValueSet: BccConclusionVS
Id: bcc-conclusion
Title: "BCC triage report conclusion codes"
Description: "DiagnosticReport.conclusionCode of the BCC triage report: the triage category, and SNOMED CT 254701007 |Basal cell carcinoma of skin| (sent only with category high, as 'BCC suspected on AI triage', never as a histological diagnosis)."
* ^experimental = false
* include codes from system BccTriageCategoryCS
* $sct#254701007 "Basal cell carcinoma of skin"

ValueSet: HeatmapExplainedOutputVS
Id: heatmap-explained-output
Title: "Model outputs a heatmap explains"
Description: "What a heatmap Media explains: the BCC probability, or one dermoscopic pattern. The code is the one the Observation carrying that output's value uses."
* ^experimental = false
* BccObservationCS#bcc-probability
* include codes from system DermoscopicPatternCS

ValueSet: BccInterpretationVS
Id: bcc-interpretation
Title: "BCC-CDS interpretations"
Description: "Positive / negative, from v3 ObservationInterpretation: BCC probability at or above the rules' network operating point, or a pattern found present."
* ^experimental = false
* $v3-ObservationInterpretation#POS "Positive"
* $v3-ObservationInterpretation#NEG "Negative"

ValueSet: DermatologyReferralVS
Id: dermatology-referral
Title: "Dermatology referrals BCC-CDS reacts to"
Description: """
A ServiceRequest is a dermatology referral, and triggers the BCC-CDS hook, when its performerType
carries the specialty (394582007 |Dermatology|) or its code one of the referral procedures below.
Mirrors cds-hooks/referral-codes.json, which the service reads at startup; a test keeps the two equal.
"""
* ^experimental = false
* $sct#394582007 "Dermatology"
* $sct#308472003 "Referral to dermatologist"
* $sct#183897008 "Private referral to dermatologist"

ValueSet: CdsOverrideReasonVS
Id: cds-override-reason
Title: "BCC-CDS card override reasons"
Description: "Every code of CdsOverrideReasonCS."
* ^experimental = false
* include codes from system CdsOverrideReasonCS

ValueSet: CdsTopicVS
Id: cds-topic
Title: "BCC-CDS card topics"
Description: "Every code of CdsTopicCS."
* ^experimental = false
* include codes from system CdsTopicCS
