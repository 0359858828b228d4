"""National profiles: how each country's records, identifiers and codes become EU patient
summaries. Pure functions from data to data, no I/O.

- :mod:`gateway.profiles.identifiers`: national identifier systems (FHIR system URIs and
  OIDs), the country each belongs to, and their check-digit validation

Sources and verified examples: ``reference/national-records.md`` §2.
"""
