"""Keys, certificates and signatures: the federation PKI and what is signed with it.

An adapter layer: it reads and writes key material on disk (``GATEWAY_PKI_DIR``) and knows the
cryptography libraries; the FHIR and domain layers below it know nothing of keys.
"""
