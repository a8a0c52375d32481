"""Built-in components, registered through the same hook as third-party plugins."""

from kssl.hookspecs import hookimpl


@hookimpl
def kssl_register(registry):
    pass
