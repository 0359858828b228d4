"""FHIR R4 output: IPS / EU Patient Summary documents built from the neutral clinical record.

Pure functions from :mod:`gateway.domain.records` to plain JSON-ready dicts; no I/O. Depends on
the domain, the gateway's errors and the standard library only.

- :mod:`gateway.fhir.ips`: :func:`build_document`, the document Bundle
- :mod:`gateway.fhir.sections`: section order, codes, titles, empty reasons, narratives
- :mod:`gateway.fhir.resources`, :mod:`~gateway.fhir.clinical`,
  :mod:`~gateway.fhir.observations`: one builder per resource, following its IPS profile
- :mod:`gateway.fhir.datatypes`, :mod:`~gateway.fhir.narrative`: data types, escaped XHTML
- :mod:`gateway.fhir.canonical`: profile and code system URLs

Import the modules themselves (``from gateway.fhir.ips import build_document``): the package
imports nothing, so ``gateway translate vcf`` loads only the genomics builders.
"""
