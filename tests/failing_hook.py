"""A hook module that fails as it is imported (checks' E008)."""

raise RuntimeError("needs VAULT_ADDR")
