"""Staff pages of incident templates: /admin/templates (list, create, edit, delete)."""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from board.extensions import db
from board.formfields import CsrfForm
from board.forum import moderation
from board.permissions import role_required
from board.travaux import services
from board.travaux.incident_templates import (
    IncidentTemplate,
    TemplateError,
    all_templates,
    delete_template,
    save_template,
)
from board.travaux.template_forms import TemplateForm

bp = Blueprint("incident_templates", __name__)

ERRORS = {
    "name": lambda: _("Please give the template a name."),
    "name-taken": lambda: _("Another template already has this name."),
    "impact": lambda: _("Choose an impact."),
    "status": lambda: _("Choose a status from the list."),
}


@bp.get("/admin/templates")
@role_required("admin")
def template_list():
    return render_template("travaux/templates.html", templates=all_templates(),
                           action_form=CsrfForm())


def _form(template: IncidentTemplate | None) -> tuple[TemplateForm, dict]:
    form = TemplateForm(obj=template)
    by_id = {s.id: s for s in services.all_services()}
    form.services.choices = [(s.id, s.name) for s in by_id.values()]
    if template is not None and not form.is_submitted():
        form.services.data = [s.id for s in template.services]
    return form, by_id


@bp.route("/admin/templates/new", methods=["GET", "POST"])
@bp.route("/admin/templates/<int:template_id>", methods=["GET", "POST"])
@role_required("admin")
def edit(template_id: int | None = None):
    template = db.get_or_404(IncidentTemplate, template_id) if template_id else None
    form, by_id = _form(template)
    if form.validate_on_submit():
        try:
            save_template(template, current_user, name=form.name.data,
                          title=form.title.data or "", message=form.message.data or "",
                          status=form.status.data or "", impact=form.impact.data,
                          services=[by_id[i] for i in form.services.data or [] if i in by_id])
        except TemplateError as error:
            field = form.name if str(error).startswith("name") else form[str(error)]
            field.errors = list(field.errors) + [ERRORS[str(error)]()]
        else:
            flash(_("The template is saved."), "success")
            return redirect(url_for("incident_templates.template_list"))
    return render_template("travaux/template_form.html", form=form, template=template,
                           action_form=CsrfForm()), 422 if form.errors else 200


@bp.post("/admin/templates/<int:template_id>/delete")
@role_required("admin")
def delete(template_id: int):
    template = db.get_or_404(IncidentTemplate, template_id)
    if not CsrfForm().validate_on_submit():
        abort(400)
    delete_template(template, current_user)
    flash(_("The template is deleted."), "info")
    return redirect(url_for("incident_templates.template_list"))


def init_app(app) -> None:
    """The pages, the log's names for templates, and the forms' list (`template_picker`)."""
    from board.travaux.template_fill import picker_data

    app.register_blueprint(bp)
    moderation.add_target("template", moderation.named_by(
        IncidentTemplate.id, IncidentTemplate.name, "incident_templates.edit", "template_id"))
    app.add_template_global(picker_data, "template_picker")
