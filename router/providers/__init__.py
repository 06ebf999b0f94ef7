"""Provider adapters, one per wire protocol, behind the Provider protocol (base.py)."""
