Invariant: bcc-provenance-1
Description: "Exactly one agent is the AI model: role Artificial-Intelligence (AIdeviceTypeCS, system and code only, as the IG's agent:AIagent fixes it), type author"
Expression: "agent.where(role.where(coding.count() = 1 and text.empty() and coding.where(system = 'http://hl7.org/fhir/uv/aitransparency/CodeSystem/AIdeviceTypeCS' and code = 'Artificial-Intelligence' and display.empty()).exists()).exists() and type.coding.where(system = 'http://terminology.hl7.org/CodeSystem/provenance-participant-type' and code = 'author').exists() and who.exists()).count() = 1"
Severity: #error

Profile: AiProvenance
Parent: http://hl7.org/fhir/uv/aitransparency/StructureDefinition/AI-Provenance
Id: ai-provenance
Title: "AI Provenance"
Description: """
Which resources the model produced (target), when, from which images (entity, role derivation), under
which policy and rule file, with the model Device as the authoring agent and the model card as an
entity. Derived from the AI Transparency on FHIR "AI Provenance" (claimed too): its reason:AIReason
slice is AIAST, exactly once; exactly one agent is the model (invariant bcc-provenance-1, besides the
IG's agent:AIagent slice, which validators match differently on the repeating role; see
fhir-profiles/README.md).
"""
* obeys bcc-provenance-1
* target 1..* MS
* target ^short = "The AI outputs: report, Observations, heatmap Media (not the Device)"
* occurred[x] 1..1 MS
* occurred[x] only dateTime
* policy 1..* MS
* policy ^short = "The decision-support policy, and the rule file that made the triage (<rules base><rules id>|<version>)"
* reason[AIReason] 1..1 MS
* reason[AIReason] = $v3-ObservationValue#AIAST
* activity 1..1 MS
* activity = $v3-DataOperation#CREATE
* agent 1..* MS
* agent.type 1..1 MS
* agent.role MS
* agent.who MS
* agent.who only Reference(AiModelDevice or Practitioner or PractitionerRole or Organization)
* entity 1..* MS
* entity ^short = "The dermoscopic images the model read, and the model card (AI-ModelCard DocumentReference)"
* entity.role = #derivation (exactly)
* entity.what MS
