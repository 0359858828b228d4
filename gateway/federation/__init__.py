"""Gateway-to-gateway exchange: the trust list of peer member states and the calls to them."""
