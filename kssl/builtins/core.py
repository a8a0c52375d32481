"""Built-in components, registered through the same hook as third-party plugins."""

from kssl.hookspecs import hookimpl


@hookimpl
def kssl_register(registry):
    # pretext tasks
    from kssl.pretext.simclr import SimCLR

    registry.add("pretext", "simclr", SimCLR)
    pass
