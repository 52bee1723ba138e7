"""Dates on the status pages: the static site, read during an outage long after it was
written, shows dates with their zone, never "8 minutes ago"; the live pages show the zone in
the tooltip and with every absolute date."""

from datetime import UTC, datetime, timedelta

import pytest

from board.clock import now, travel
from board.travaux.export import export
from tests.factories import make_user
from tests.travaux.factories import make_incident, make_service, post_update

OPENED = datetime(2026, 12, 1, 8, 42, tzinfo=UTC)  # 09:42 in Paris (winter time)
SHOWN = {"fr": "1 déc. 2026 09:42 (heure de Paris)", "en": "1 Dec 2026 09:42 (Paris time)"}
RELATIVE = {"fr": "il y a", "en": " ago"}


@pytest.fixture
def ongoing(app):
    admin = make_user(role="admin")
    web = make_service("web", "Hébergement web")
    with travel(OPENED - now()):
        incident = make_incident(admin, services=[web], title="Erreurs 503", impact="major")
        post_update(incident, admin, "identified", "Un disque est lent.")
    return incident


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_the_static_site_shows_dates_with_their_zone(app, ongoing, tmp_path, monkeypatch,
                                                     locale):
    monkeypatch.setitem(app.config, "BABEL_DEFAULT_LOCALE", locale)
    with travel(OPENED + timedelta(minutes=8) - now()):
        export(tmp_path / "site")
    for name in ("index.html", f"incidents/{ongoing.id}.html"):
        html = (tmp_path / "site" / name).read_text(encoding="utf-8")
        assert SHOWN[locale] in html, name
        assert RELATIVE[locale] not in html, name


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_live_pages_show_the_zone_with_every_date(client, ongoing, locale):
    headers = {"Accept-Language": locale}
    with travel(OPENED + timedelta(minutes=8) - now()):
        status = client.get("/travaux/", headers=headers).get_data(as_text=True)
        incident = client.get(f"/travaux/incidents/{ongoing.id}",
                              headers=headers).get_data(as_text=True)
    zone = SHOWN[locale].split(" (")[1]
    # The relative time on the page, the full date and its zone in the tooltip.
    assert RELATIVE[locale] in status
    full = {"fr": "mardi 1 décembre 2026 09:42 (heure de Paris)",
            "en": "Tuesday 1 December 2026 09:42 (Paris time)"}[locale]
    assert f'title="{full}"' in status
    # The incident page shows absolute dates: each carries the zone.
    assert SHOWN[locale] in incident and incident.count(zone) >= 2
