"""Settings files shipped with the package (named configs: <verb prefix>_<name>.yaml)."""
