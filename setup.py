"""Package layout the pyproject cannot express alone: the shipped resources (icons, desktop
entry, lexicons) live in the top-level ``resources/`` folder and are mapped into the package
as ``cryptodesk.resources``, so the wheel and the bundle find them beside that module."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["cryptodesk", "cryptodesk.*"]), "cryptodesk.resources"],
    package_dir={"cryptodesk.resources": "resources"},
)
