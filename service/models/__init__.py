"""All ORM classes. Importing this package registers every table on `Base.metadata`."""

from service.models.agency import Agency, AgencyKind, AgencyLevel
from service.models.agency_alias import AgencyAlias
from service.models.agency_group_member import AgencyGroupMember
from service.models.api_token import ApiToken
from service.models.assignment import Assignment
from service.models.attachment import Attachment
from service.models.audit_log import AuditLog
from service.models.base import Base, UTCDateTime, utcnow
from service.models.extra_holiday import ExtraHoliday
from service.models.login_token import LoginToken
from service.models.notification import Notification, NotificationStatus
from service.models.plan import Plan, PlanStatus, SourceFormat
from service.models.reminder_event import ReminderEvent, ReminderEventState
from service.models.reminder_policy import PlanReminderPolicy
from service.models.report_deadline import DeadlineSource, ReportDeadline
from service.models.report_obligation import ObligationStatus, ReportObligation
from service.models.status_update import StatusUpdate
from service.models.task import Task, TaskRole, TaskState
from service.models.user import User, UserRole

__all__ = [
    "Agency",
    "AgencyAlias",
    "AgencyGroupMember",
    "AgencyKind",
    "AgencyLevel",
    "ApiToken",
    "Assignment",
    "Attachment",
    "AuditLog",
    "Base",
    "DeadlineSource",
    "ExtraHoliday",
    "LoginToken",
    "Notification",
    "NotificationStatus",
    "ObligationStatus",
    "Plan",
    "PlanReminderPolicy",
    "PlanStatus",
    "ReminderEvent",
    "ReminderEventState",
    "ReportDeadline",
    "ReportObligation",
    "SourceFormat",
    "StatusUpdate",
    "Task",
    "TaskRole",
    "TaskState",
    "User",
    "UserRole",
    "UTCDateTime",
    "utcnow",
]
