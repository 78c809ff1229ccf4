"""where an account signed up from, as a keyed hash: the operators' "sign-ups from one address"

- users.signup_source: an HMAC (the server's secret) of the client address the account signed
  up from, 16 hex characters; NULL for accounts made before this revision, by the CLI or with
  no known address. It groups accounts made from one address (the stuffing sign
  `shared_address` on /admin/votes) without keeping the address itself.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # a nullable column with no default: ALTER TABLE ADD COLUMN on both databases, no rewrite
    op.add_column("users", sa.Column("signup_source", sa.String(length=16), nullable=True))
    op.create_index("ix_users_signup_source", "users", ["signup_source"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_users_signup_source", table_name="users")
    op.drop_column("users", "signup_source")
