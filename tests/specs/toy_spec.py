"""The start of a small dataset spec the spec and prepare tests build on: one identity
table, ``referral``, whose first column is its record id. Tests append their columns."""

from __future__ import annotations

TOY_IDENTITY_TABLE = """\
version: 1
dataset: toy
tables:
  - name: referral
    kind: identity
    unique_record_id: true
    columns:
      - {name: record_id, role: record_id, required: true}
"""
