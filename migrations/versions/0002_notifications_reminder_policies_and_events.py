"""Reminders: per-plan policy overrides, reminder events (the sweep's dedup), a due-date index.

Revision ID: 0002_notifications
Revises: 0001
Create Date: 2026-11-23 07:30:32.124279
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_notifications"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "plan_reminder_policies",
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("reminder_days", sa.String(length=64), nullable=True),
        sa.Column("on_the_day", sa.Boolean(), nullable=True),
        sa.Column("escalation_ladder", sa.String(length=255), nullable=True),
        sa.Column("repeat_every", sa.Integer(), nullable=True),
        sa.Column("max_repeats", sa.Integer(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["plans.id"],
            name=op.f("fk_plan_reminder_policies_plan_id_plans"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["users.id"],
            name=op.f("fk_plan_reminder_policies_updated_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("plan_id", name=op.f("pk_plan_reminder_policies")),
    )
    op.create_table(
        "reminder_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedup_key", sa.String(length=255), nullable=False),
        sa.Column("recipient_email", sa.String(length=320), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("audience", sa.String(length=32), nullable=False),
        sa.Column("obligation_id", sa.Integer(), nullable=True),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("step", sa.String(length=16), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("fire_on", sa.Date(), nullable=False),
        sa.Column("immediate", sa.Boolean(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "queued",
                "batched",
                "dropped",
                name="reminder_event_state",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("notification_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(obligation_id IS NULL) <> (task_id IS NULL)", name=op.f("ck_reminder_events_one_item")
        ),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name=op.f("fk_reminder_events_notification_id_notifications"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["obligation_id"],
            ["report_obligations.id"],
            name=op.f("fk_reminder_events_obligation_id_report_obligations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
            name=op.f("fk_reminder_events_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_reminder_events_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_events")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_reminder_events_dedup_key")),
    )
    op.create_index(
        "ix_reminder_events_state_recipient", "reminder_events", ["state", "recipient_email"]
    )
    for column in ("notification_id", "obligation_id", "task_id", "user_id"):
        op.create_index(f"ix_reminder_events_{column}", "reminder_events", [column])
    # The sweep's range scan over open tasks' due dates.
    op.create_index("ix_tasks_due_on_state", "tasks", ["due_on", "state"])


def downgrade() -> None:
    op.drop_index("ix_tasks_due_on_state", table_name="tasks")
    op.drop_table("reminder_events")
    op.drop_table("plan_reminder_policies")
