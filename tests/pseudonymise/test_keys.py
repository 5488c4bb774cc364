"""Key files: generation, permissions, type and truncation checks, key ids."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import typer
from cryptography.hazmat.primitives.asymmetric import ed25519
from typer.testing import CliRunner

from pseudonymise import owner_cli
from pseudonymise.errors import KeyFileError
from trelink.trust import keys


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_secret_is_256_bits_private_and_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "linkage.key"
    identifier = keys.generate_secret(path)
    secret = keys.load_secret(path)
    assert len(secret) == 32
    assert _mode(path) == 0o600
    assert identifier == keys.key_id(secret)
    assert secret.hex() not in identifier
    before = path.read_bytes()
    with pytest.raises(KeyFileError, match="already exists"):
        keys.generate_secret(path)
    assert path.read_bytes() == before


def test_two_secrets_differ(tmp_path: Path) -> None:
    keys.generate_secret(tmp_path / "a")
    keys.generate_secret(tmp_path / "b")
    assert keys.load_secret(tmp_path / "a") != keys.load_secret(tmp_path / "b")


@pytest.mark.parametrize("kem", ["x25519", "mlkem768-x25519"])
def test_recipient_pair_round_trip(tmp_path: Path, kem: keys.RecipientKem) -> None:
    prefix = tmp_path / "tre"
    identifier = keys.generate_recipient_keypair(prefix, kem=kem)
    private = keys.load_recipient_private_key(keys.private_key_path(prefix))
    public = keys.load_recipient_public_key(keys.public_key_path(prefix))
    assert private.kem == public.kem == kem
    assert private.key_id == public.key_id == identifier == keys.key_id(public)
    assert _mode(keys.private_key_path(prefix)) == 0o600


def test_signer_pair_round_trip(tmp_path: Path) -> None:
    identifier = keys.generate_signer_keypair(tmp_path / "owner")
    private = keys.load_signing_private_key(tmp_path / "owner.private.pem")
    public = keys.load_signing_public_key(tmp_path / "owner.public.pem")
    assert isinstance(private, ed25519.Ed25519PrivateKey)
    public.verify(private.sign(b"manifest"), b"manifest")
    assert keys.key_id(private) == keys.key_id(public) == identifier


def test_loose_permissions_refused(tmp_path: Path) -> None:
    keys.generate_secret(tmp_path / "s")
    keys.generate_signer_keypair(tmp_path / "o")
    os.chmod(tmp_path / "s", 0o644)
    os.chmod(tmp_path / "o.private.pem", 0o640)
    with pytest.raises(KeyFileError, match=r"s: permissions 0644 .*chmod 600"):
        keys.load_secret(tmp_path / "s")
    with pytest.raises(KeyFileError, match="permissions 0640"):
        keys.load_signing_private_key(tmp_path / "o.private.pem")


def test_wrong_key_types_refused(tmp_path: Path) -> None:
    keys.generate_secret(tmp_path / "s")
    keys.generate_signer_keypair(tmp_path / "o")
    keys.generate_recipient_keypair(tmp_path / "t")
    with pytest.raises(KeyFileError, match=r"o.private.pem: a PEM key; expected a secret"):
        keys.load_secret(tmp_path / "o.private.pem")
    with pytest.raises(KeyFileError, match="holds an X25519 private key; expected an Ed25519"):
        keys.load_signing_private_key(tmp_path / "t.private.pem")
    with pytest.raises(KeyFileError, match="holds an Ed25519 public key; expected an HPKE"):
        keys.load_recipient_public_key(tmp_path / "o.public.pem")
    with pytest.raises(KeyFileError, match="looks like a secret"):
        keys.load_recipient_private_key(tmp_path / "s")
    with pytest.raises(KeyFileError, match="not a readable public key"):
        keys.load_signing_public_key(tmp_path / "o.private.pem")


def test_truncated_and_missing_keys_refused(tmp_path: Path) -> None:
    keys.generate_secret(tmp_path / "s")
    text = (tmp_path / "s").read_text()
    (tmp_path / "s").write_text(text[:40])
    with pytest.raises(KeyFileError, match="truncated") as caught:
        keys.load_secret(tmp_path / "s")
    assert text[18:40] not in str(caught.value)
    keys.generate_recipient_keypair(tmp_path / "t", kem="mlkem768-x25519")
    private = tmp_path / "t.private.pem"
    private.write_bytes(private.read_bytes()[:150])
    with pytest.raises(KeyFileError, match=r"t\.private\.pem"):
        keys.load_recipient_private_key(private)
    with pytest.raises(KeyFileError, match="not found"):
        keys.load_secret(tmp_path / "absent")
    (tmp_path / "empty").touch(mode=0o600)
    with pytest.raises(KeyFileError, match="empty"):
        keys.load_secret(tmp_path / "empty")


def test_cli_writes_keys_and_refuses_overwrite(tmp_path: Path) -> None:
    runner = CliRunner()
    app = typer.Typer()
    owner_cli.register(app)
    result = runner.invoke(app, ["keys", "signer", "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert keys.key_id(keys.load_signing_public_key(tmp_path / "o.public.pem")) in result.output
    result = runner.invoke(
        app, ["keys", "recipient", "--out", str(tmp_path / "t"), "--kem", "mlkem768-x25519"]
    )
    assert result.exit_code == 0, result.output
    assert keys.load_recipient_public_key(tmp_path / "t.public.pem").kem == "mlkem768-x25519"
    result = runner.invoke(app, ["keys", "secret", "--out", str(tmp_path / "s")])
    assert result.exit_code == 0
    secret_hex = keys.load_secret(tmp_path / "s").hex()
    assert secret_hex not in result.output
    again = runner.invoke(app, ["keys", "secret", "--out", str(tmp_path / "s")])
    assert again.exit_code != 0


def test_describe_key_file_names_kind_and_id(tmp_path: Path) -> None:
    secret_id = keys.generate_secret(tmp_path / "s")
    signer_id = keys.generate_signer_keypair(tmp_path / "o")
    recipient_id = keys.generate_recipient_keypair(tmp_path / "t", kem="mlkem768-x25519")
    assert keys.describe_key_file(tmp_path / "s") == ("secret", secret_id)
    assert keys.describe_key_file(tmp_path / "o.private.pem") == ("Ed25519 private key", signer_id)
    assert keys.describe_key_file(tmp_path / "o.public.pem") == ("Ed25519 public key", signer_id)
    assert keys.describe_key_file(tmp_path / "t.public.pem") == (
        "mlkem768-x25519 recipient public key",
        recipient_id,
    )
    os.chmod(tmp_path / "t.private.pem", 0o644)
    with pytest.raises(KeyFileError, match="permissions"):
        keys.describe_key_file(tmp_path / "t.private.pem")
