"""The teaching sandbox: three member states' gateways on one machine (``make federation``)."""
