"""Tasks: covering indexes for a plan's dashboard and its overdue list.

`ix_tasks_plan_agency_state` replaces `ix_tasks_plan_agency` (its first two columns): the
dashboard counts a plan's tasks by agency, state and dates from the index alone. `ix_tasks_plan_due`
serves a plan's tasks due before a day (the overdue list and its count) from the index alone,
the task ids included so PostgreSQL needs no heap to find a page.

Revision ID: 0003_tasks_dashboard
Revises: 0002_notifications
Create Date: 2026-11-23 12:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003_tasks_dashboard"
down_revision: str | Sequence[str] | None = "0002_notifications"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_tasks_plan_agency_state",
        "tasks",
        ["plan_id", "agency_id", "state", "due_on", "completed_on", "progress"],
    )
    op.create_index(
        "ix_tasks_plan_due",
        "tasks",
        ["plan_id", "due_on", "state", "completed_on", "agency_id", "id"],
    )
    op.drop_index("ix_tasks_plan_agency", table_name="tasks")


def downgrade() -> None:
    op.create_index("ix_tasks_plan_agency", "tasks", ["plan_id", "agency_id"])
    op.drop_index("ix_tasks_plan_due", table_name="tasks")
    op.drop_index("ix_tasks_plan_agency_state", table_name="tasks")
