"""Incident templates: what admins keep ready for the usual cases (a mail outage, a planned
database upgrade), so that the forms and the API start from them instead of a blank page.

A template fills what it holds and leaves the rest: empty fields (no title, no status) are
not applied, and whatever is given explicitly (in a form, in the API's JSON) wins over it.
"""

from sqlalchemy import Column, ForeignKey, String, Table, Text, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column, relationship

from board import audit
from board.extensions import db
from board.formfields import one_line
from board.travaux.models import IMPACTS, INCIDENT_STATUSES, MAINTENANCE_STATUSES, Service

NAME_MAX, TITLE_MAX, MESSAGE_MAX = 80, 150, 20_000
STATUSES = INCIDENT_STATUSES + tuple(s for s in MAINTENANCE_STATUSES
                                     if s not in INCIDENT_STATUSES)

incident_template_services = Table(
    "incident_template_services",
    db.metadata,
    Column("template_id", ForeignKey("incident_templates.id", ondelete="CASCADE"),
           primary_key=True),
    Column("service_id", ForeignKey("services.id", ondelete="CASCADE"), primary_key=True),
)


class IncidentTemplate(db.Model):  # type: ignore[name-defined]  # db.Model: no type for mypy
    __tablename__ = "incident_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX), unique=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX), default="")
    message: Mapped[str] = mapped_column(Text, default="")  # Markdown, as an update's
    # Empty: the form's own default (investigating, or the maintenance's window).
    status: Mapped[str] = mapped_column(String(16), default="")
    impact: Mapped[str] = mapped_column(String(10), default="minor")

    services: Mapped[list[Service]] = relationship(
        secondary=incident_template_services, order_by=Service.position, lazy="selectin")


class TemplateError(ValueError):
    """A template refused: "name-taken", "name", "impact", "status"."""


def all_templates() -> list[IncidentTemplate]:
    return list(db.session.scalars(select(IncidentTemplate).order_by(IncidentTemplate.name)))


def find_template(name: str | None) -> IncidentTemplate | None:
    """The template called `name` (as typed, spaces around ignored), or None."""
    if not name or not name.strip():
        return None
    return db.session.scalar(select(IncidentTemplate)
                             .where(IncidentTemplate.name == one_line(name).strip()))


def as_fields(template: IncidentTemplate) -> dict:
    """What the template fills, for the forms' script and the API: only what it holds."""
    fields: dict = {"impact": template.impact,
                    "services": [service.id for service in template.services]}
    for name in ("title", "message", "status"):
        if getattr(template, name):
            fields[name] = getattr(template, name)
    return fields


def save_template(template: IncidentTemplate | None, author, *, name: str, title: str,
                  message: str, status: str, impact: str,
                  services: list[Service]) -> IncidentTemplate:
    """Create (`template` None) or change a template, with its audit row; commits.
    Raises TemplateError."""
    name = one_line(name or "").strip()
    if not name or len(name) > NAME_MAX:
        raise TemplateError("name")
    if impact not in IMPACTS:
        raise TemplateError("impact")
    if status and status not in STATUSES:
        raise TemplateError("status")
    creating = template is None
    if template is None:
        template = IncidentTemplate()
        db.session.add(template)
    template.name, template.title = name, one_line(title or "").strip()[:TITLE_MAX]
    template.message, template.status, template.impact = message or "", status or "", impact
    template.services = list(services)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise TemplateError("name-taken") from None
    audit.record(author, "template.create" if creating else "template.update", "template",
                 template.id, name=name)
    db.session.commit()
    return template


def delete_template(template: IncidentTemplate, author) -> None:
    """Delete a template, with its audit row (which keeps its name); commits."""
    audit.record(author, "template.delete", "template", template.id, name=template.name)
    db.session.delete(template)
    db.session.commit()
