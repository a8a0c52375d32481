"""Built-in audio components, registered through the same hook as third-party plugins.

Each factory is a lazy reference (``"module:attribute"``): registering imports nothing heavy.
"""

from kssl.hookspecs import hookimpl


@hookimpl
def kssl_register(registry):
    pass
