"""Travaux: services, incidents, maintenance, promotion, the status page, its feeds, the API,
the embed and the independent static site."""


def init_app(app) -> None:
    """The status pages, feeds and API; `flask travaux ...`; what Travaux adds to every page;
    the worker's maintenance windows and site publishing; and the forum's visibility signal."""
    from board.extensions import csrf
    from board.forum.services import thread_visibility_changed
    from board.outbox.services import add_handler, add_task
    from board.travaux import (
        api,
        calendar,
        cli,
        export,
        feeds,
        history,
        mine_views,
        moderation,
        notices,
        page_parts,
        report_views,
        services,
        spikes,
        stamps,
        subscriptions,
        template_views,
        uptime,
        uptime_views,
        views,
    )
    from board.travaux.events import add_listener

    app.register_blueprint(views.bp)
    app.register_blueprint(feeds.bp)
    app.register_blueprint(calendar.bp)
    app.register_blueprint(history.bp)
    app.register_blueprint(api.bp)
    _init_outbound(app)
    _init_postmortems(app)
    stamps.register()
    csrf.exempt(api.bp)  # token calls carry no cookie, so no CSRF token either
    app.cli.add_command(cli.travaux)
    page_parts.init_app(app)
    mine_views.init_app(app)  # my services: the account's section, the pages' order
    moderation.init_app(app)
    subscriptions.init_app(app)
    add_listener(app, notices.tell_members, domain="travaux")  # members' notifications
    template_views.init_app(app)  # incident templates: their pages, the forms' list
    report_views.init_app(app)  # what incidents cost: the page's staff panel, /admin/reports
    uptime.init_app(app)  # per-day minutes: the worker's tasks, the events listener
    uptime_views.init_app(app)
    add_task(app, services.follow_windows, domain="travaux")
    add_task(app, spikes.detect, domain="travaux")
    add_handler(app, services.PUBLISH, export.publish, domain="travaux")
    thread_visibility_changed.connect(services.linked_thread_visibility_changed)


def _init_outbound(app) -> None:
    """Webhooks and the social relay: their staff pages, events listeners, outbox kinds."""
    from board.forum import moderation
    from board.outbox.services import add_failure_hook, add_handler
    from board.travaux import outbound_views, relay, webhooks
    from board.travaux.events import add_listener
    from board.travaux.outbound import WebhookEndpoint

    app.register_blueprint(outbound_views.bp)
    moderation.add_target("webhook", moderation.named_by(
        WebhookEndpoint.id, WebhookEndpoint.url, "outbound.edit_webhook", "endpoint_id"))
    add_listener(app, webhooks.queue_event_deliveries, domain="travaux")
    add_listener(app, relay.queue_statuses, domain="travaux")
    add_handler(app, webhooks.WEBHOOK, webhooks.deliver, domain="travaux",
                keep_hours=webhooks.KEEP_HOURS)
    add_failure_hook(app, webhooks.record_failure, domain="travaux")
    add_handler(app, relay.RELAY, relay.post_status, domain="travaux")


def _init_postmortems(app) -> None:
    """Postmortems and "Is it fixed for you?": their pages, the parts they add to the
    incident, thread, reports and account pages, the note in watch digests, the mail job."""
    from board.outbox.services import add_handler
    from board.travaux import fixed, postmortem_views, postmortems

    app.register_blueprint(postmortem_views.bp)
    app.jinja_env.globals.update(
        travaux_postmortem=postmortem_views.incident_part,
        travaux_fixed_question=postmortem_views.thread_part,
        travaux_fixed_alerts=postmortem_views.reports_part,
        action_label=postmortems.action_label)
    app.extensions.setdefault("account_sections", []).append(postmortem_views.account_section)
    app.extensions.setdefault("digest_notes", []).append(fixed.digest_note)
    add_handler(app, postmortems.MAIL, postmortems.fan_out, domain="travaux")
