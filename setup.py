"""The wheel carries templates/ and static/ from the top of the repository as airsequel/templates
and airsequel/static (the rest of the metadata is in pyproject.toml). A package_dir mapping needs
the package list computed, which pyproject.toml's static tables cannot say."""

import warnings

from setuptools import find_packages, setup

# Their subfolders (static/vendor/graphiql-3.8.3, templates/pages) are data, not Python packages.
warnings.filterwarnings("ignore", message=".*is absent from the `packages` configuration")

setup(
    packages=[*find_packages(include=["airsequel", "airsequel.*"]), "airsequel.templates", "airsequel.static"],
    package_dir={"airsequel.templates": "templates", "airsequel.static": "static"},
    package_data={
        "airsequel.templates": ["**/*"],
        "airsequel.static": ["**/*"],
        "airsequel.core.functions": ["*.ts"],  # the harness of a function call (runner.ts)
    },
)
