"""The package's version, in a module of its own so that any module can say which version made
a file (the report's footer, the Excel "About" sheet) without importing the package's front door.
The build reads it from here too (``[tool.hatch.version]`` in ``pyproject.toml``).

>>> from channelkpi import __version__ as front_door
>>> __version__ == front_door
True
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
