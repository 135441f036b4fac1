/**
 * The CapabilityStatement for `GET [base]/metadata`. FhirRouter has no metadata route, so this is built
 * from what the router and the indexed R4 definitions actually support, and cached per base URL.
 */
import { getResourceTypes, getSearchParameters } from '@medplum/core';
import type {
  CapabilityStatement,
  CapabilityStatementRestResource,
  CapabilityStatementRestResourceSearchParam,
} from '@medplum/fhirtypes';

/** Interactions FhirRouter routes for every type (type-level history is not among them). */
const TYPE_INTERACTIONS: CapabilityStatementRestResource['interaction'] = [
  { code: 'read' },
  { code: 'vread' },
  { code: 'update' },
  { code: 'patch' },
  { code: 'delete' },
  { code: 'history-instance' },
  { code: 'create' },
  { code: 'search-type' },
];

/** Abstract bases that getResourceTypes() can include but that are not instantiable resources. */
const ABSTRACT_TYPES: ReadonlySet<string> = new Set(['Resource', 'DomainResource']);

const cache = new Map<string, CapabilityStatement>();

function searchParams(resourceType: string): CapabilityStatementRestResourceSearchParam[] {
  const params = getSearchParameters(resourceType) ?? {};
  return Object.entries(params).map(([name, param]) => ({ name, definition: param.url, type: param.type }));
}

export function capabilityStatement(baseUrl: string): CapabilityStatement {
  const cached = cache.get(baseUrl);
  if (cached) {
    return cached;
  }
  const resource = getResourceTypes()
    .filter((type) => !ABSTRACT_TYPES.has(type))
    .sort()
    .map((type): CapabilityStatementRestResource => ({ type, interaction: TYPE_INTERACTIONS, searchParam: searchParams(type) }));
  const statement: CapabilityStatement = {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString(),
    kind: 'instance',
    software: { name: 'BCC-CDS sandbox FHIR server (Medplum FhirRouter + in-memory repository)' },
    implementation: { description: 'In-memory FHIR R4 server for the BCC-CDS sandbox and integration tests; data is lost on exit.', url: baseUrl },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    rest: [
      {
        mode: 'server',
        resource,
        // No search-system: MemoryRepository answers `[base]?_type=...` with an empty Bundle.
        interaction: [{ code: 'transaction' }, { code: 'batch' }],
      },
    ],
  };
  cache.set(baseUrl, statement);
  return statement;
}
