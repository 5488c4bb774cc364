"""Mix-ups an owner makes at the command line get a message that names the mix-up,
never a traceback (issue 14, findings 7 and 9)."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner, Result

from pseudonymise import owner_cli
from pseudonymise.errors import KeyFileError, PackageError
from trelink.trust import keys

from .conftest import OwnerSetup


def _run(*arguments: str) -> Result:
    app = typer.Typer()
    owner_cli.register(app)
    return CliRunner().invoke(app, list(arguments))


def test_pseudonymise_out_naming_an_existing_file(owner: OwnerSetup) -> None:
    source = owner.root / "nrm.csv"
    owner.frame.to_csv(source, index=False)
    existing = owner.root / "taken.txt"
    existing.write_text("keep me")
    result = _run(
        "pseudonymise", "--in", str(source), "--linkage-key", str(owner.linkage_key),
        "--owner-key", str(owner.owner_key), "--out", str(existing),
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert not isinstance(result.exception, NotADirectoryError)
    assert "is an existing file" in " ".join(result.output.replace("│", " ").split())
    assert existing.read_text() == "keep me"


def test_package_of_a_file_instead_of_a_directory(owner: OwnerSetup) -> None:
    result = _run(
        "package", str(owner.extract / "manifest.json"),
        "--recipient", str(owner.recipient_public),
        "--signing-key", str(owner.signer_private), "--out", str(owner.root / "x.tlp"),
    )  # fmt: skip
    assert isinstance(result.exception, PackageError), result.exception
    assert "manifest.json: not a directory" in str(result.exception)


@pytest.mark.parametrize(
    "load",
    [keys.load_signing_private_key, keys.load_recipient_private_key, keys.load_secret],
)
def test_a_public_key_given_as_a_private_key_says_so(owner: OwnerSetup, load: object) -> None:
    for public in (owner.signer_public, owner.recipient_public):
        with pytest.raises(KeyFileError) as caught:
            load(public)  # type: ignore[operator]
        assert "holds a public key where a private key is expected" in str(caught.value)
        assert "permissions" not in str(caught.value)
    result = _run(
        "package", str(owner.extract), "--recipient", str(owner.recipient_public),
        "--signing-key", str(owner.signer_public), "--out", str(owner.root / "x.tlp"),
    )  # fmt: skip
    assert "private key is expected" in str(result.exception)


def test_a_directory_given_as_a_key(owner: OwnerSetup) -> None:
    with pytest.raises(KeyFileError, match="is a directory, not a key file"):
        keys.load_signing_private_key(owner.root)
    with pytest.raises(KeyFileError, match="is a directory, not a key file"):
        keys.load_signing_public_key(owner.extract)
