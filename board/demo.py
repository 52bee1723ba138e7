"""`flask demo`: a believable French board, loaded into an empty database only."""

import secrets
from datetime import timedelta

import click
from sqlalchemy import func, select

from board.accounts import services as accounts
from board.accounts.models import User
from board.clock import now, travel
from board.extensions import db, refresh_statistics
from board.forum import drafts, flags, profiles, reading, solutions
from board.forum import services as forum
from board.forum.mentions import quote_source
from board.forum.models import Board, Post, Thread
from board.markup import excerpt, render
from board.travaux import services as travaux
from board.travaux import spikes
from board.travaux.incident_templates import save_template
from board.travaux.models import Service
from board.travaux.subscription_models import ACTIVE, TravauxSubscription
from board.urls import site_context

ADMIN = ("admin@exemple.org", "Camille (équipe)", "admin-demo-2026")
MODERATOR = ("moderation@exemple.org", "Luc (modération)", "modo-demo-2026")
MEMBER_PASSWORD = "membre-demo-2026"
MEMBERS = [
    "Sophie M.", "Karim B.", "Julien D.", "Élodie R.", "Thomas L.", "Nadia K.",
    "Pierre-Yves G.", "Amandine F.", "Hugo V.", "Lina T.", "Marc O.", "Chloé P.",
]

BOARDS = [
    ("annonces", "Annonces", "Les nouvelles de l'association : offres, changements, assemblées "
     "générales.", "public"),
    ("hebergement-web", "Hébergement web", "Sites, PHP, fichiers, certificats : signalez un "
     "problème ou demandez de l'aide.", "public"),
    ("mail", "Mail", "Boîtes aux lettres, webmail, envoi et réception, filtres anti-spam.",
     "public"),
    ("domaines-dns", "Noms de domaine et DNS", "Enregistrement, transferts, zones DNS.",
     "public"),
    ("bases-de-donnees", "Bases de données", "MySQL, PostgreSQL, sauvegardes et restaurations.",
     "public"),
    ("travaux", "Travaux et incidents", "Un sujet par incident ou maintenance officiels, pour "
     "en discuter avec l'équipe.", "public"),
    ("equipe", "Coin de l'équipe", "Réservé aux bénévoles : coordination et suivi des "
     "signalements.", "staff"),
]

SERVICES = [
    ("hebergement-web", "Hébergement web", "Sites, PHP, FTP et SFTP"),
    ("mail", "Messagerie", "IMAP, SMTP, webmail, anti-spam"),
    ("dns", "DNS", "Serveurs de noms et zones"),
    ("bases-de-donnees", "Bases de données", "MySQL et PostgreSQL"),
    ("manager", "Espace client", "Le manager : commandes, factures, réglages"),
]

# Which service each help board's reports are about.
BOARD_SERVICES = {"hebergement-web": "hebergement-web", "mail": "mail", "domaines-dns": "dns",
                  "bases-de-donnees": "bases-de-donnees"}

# A burst of reports on Messagerie, minutes before the demo is loaded: (author, title, body).
BURST = [
    (3, "Webmail inaccessible", "La page de connexion du webmail tourne sans fin."),
    (6, "Plus de réception de mails depuis 10 minutes", "Rien n'arrive, ni sur le webmail ni "
     "sur mon téléphone."),
    (7, "Mot de passe refusé depuis peu", "Mon logiciel de courrier me le redemande sans "
     "cesse, alors qu'il n'a pas changé."),
    (4, "Mails entrants bloqués ?", "Un client m'écrit que ses messages me reviennent."),
]

# (board, author index or "admin"/"moderator", title, body, [(author, body, official?), ...], age)
THREADS = [
    ("annonces", "admin", "Bienvenue sur le nouveau forum communautaire",
     "Bonjour à toutes et à tous,\n\nLe forum fait peau neuve. Vous pouvez y **signaler un "
     "problème**, poser vos questions et suivre les opérations en cours.\n\n- un compte par "
     "personne, adhérent ou non ;\n- merci de rester courtois ;\n- les réponses marquées "
     "*officielles* viennent de l'équipe.\n\nBonne découverte !",
     [(0, "Merci pour ce travail, c'est beaucoup plus lisible qu'avant.", False),
      (4, "Est-ce que l'ancien historique des sujets est conservé ?", False),
      ("admin", "Oui, les anciens sujets restent consultables en lecture seule sur "
       "l'ancienne adresse pendant un an.", True)], 20),
    ("hebergement-web", 1, "Erreur 503 sur mon site WordPress depuis ce matin",
     "Bonjour,\n\nDepuis ce matin vers 8 h, mon site affiche une erreur **503 Service "
     "Unavailable** une fois sur deux. Je n'ai rien modifié.\n\nLe site : un WordPress 6.6 "
     "avec WooCommerce, PHP 8.2.\n\nQuelqu'un d'autre a le même souci ?",
     [(2, "Pareil chez moi, sur deux sites différents (un Dokuwiki et un Nextcloud).", False),
      (5, "Idem, c'est très lent et parfois 503. Serveur web7 si ça peut aider.", False),
      ("moderator", "Merci pour vos retours, nous regardons du côté de web7. Pouvez-vous "
       "préciser l'heure exacte de vos dernières erreurs ?", True),
      (1, "Dernière erreur à 9 h 42 pour moi.", False)], 2),
    ("hebergement-web", 3, "Certificat Let's Encrypt non renouvelé",
     "Mon certificat a expiré hier alors que le renouvellement automatique est coché. Le "
     "navigateur affiche `NET::ERR_CERT_DATE_INVALID`.\n\nY a-t-il une manipulation à faire ?",
     [("moderator", "Le renouvellement échoue si un enregistrement `AAAA` pointe ailleurs. "
       "Vérifiez votre zone DNS : l'IPv6 doit pointer vers notre serveur.", True),
      (3, "C'était exactement ça, un vieil AAAA oublié. Merci !", False)], 9),
    ("hebergement-web", 6, "Limite de mémoire PHP pour un import",
     "Bonjour, j'ai besoin de monter `memory_limit` à 512M pour un import ponctuel. "
     "Est-ce possible via un fichier `.user.ini` ?",
     [(7, "Oui, ça marche chez moi avec `.user.ini` à la racine, il faut attendre 5 minutes.",
       False)], 15),
    ("mail", 4, "Mails refusés par Gmail : « 550 5.7.26 unauthenticated »",
     "Depuis hier, mes messages vers des adresses Gmail reviennent avec l'erreur :\n\n"
     "```\n550-5.7.26 This mail is unauthenticated, which poses a security risk\n```\n\n"
     "J'envoie via le webmail. Mon domaine est chez vous.",
     [(8, "Vérifiez que l'enregistrement SPF de votre domaine inclut bien nos serveurs.", False),
      ("admin", "Un enregistrement DKIM manquait sur une partie des domaines créés en "
       "octobre. C'est corrigé, les nouveaux envois passent. Désolés pour la gêne.", True)], 4),
    ("mail", 9, "Webmail très lent ce soir",
     "Le webmail met plus de 30 secondes à ouvrir un message. Les clients IMAP (Thunderbird) "
     "sont lents aussi.",
     [(10, "Chez moi aussi, depuis 20 h environ.", False),
      (11, "Même constat, l'envoi fonctionne mais la réception traîne.", False)], 0),
    ("mail", 2, "Configurer un répondeur automatique",
     "Où se trouve l'option de message d'absence dans le nouveau panel ?",
     [(0, "Dans *Mail > Boîtes > Filtres*, onglet « Vacances ».", False)], 30),
    ("domaines-dns", 5, "Transfert de domaine bloqué en « attente »",
     "J'ai lancé le transfert de mon `.fr` il y a 6 jours, il est toujours en attente. Le "
     "code d'autorisation a été accepté.",
     [("moderator", "Les transferts `.fr` demandent la validation du titulaire par mail "
       "auprès de l'Afnic. Regardez vos spams, le message vient de l'ancien bureau "
       "d'enregistrement.", True)], 12),
    ("domaines-dns", 7, "Ajouter un enregistrement CAA",
     "Le gestionnaire de zone accepte-t-il les enregistrements **CAA** ? Je voudrais "
     "restreindre l'émission à Let's Encrypt.",
     [(6, "Oui, type CAA dans la liste déroulante, valeur `0 issue \"letsencrypt.org\"`.",
       False)], 40),
    ("bases-de-donnees", 10, "Restauration d'une sauvegarde MySQL de la semaine dernière",
     "J'ai écrasé une table par erreur. Peut-on restaurer la base telle qu'elle était "
     "mardi dernier ?",
     [("admin", "Oui : *Bases de données > Sauvegardes*, choisissez la date puis « Restaurer "
       "dans une nouvelle base » pour ne rien écraser.", True),
      (10, "Parfait, tout est revenu. Merci beaucoup !", False)], 6),
    ("bases-de-donnees", 11, "Connexion PostgreSQL refusée depuis l'extérieur",
     "Je n'arrive pas à me connecter à ma base PostgreSQL depuis mon poste avec psql. "
     "Est-ce autorisé ?",
     [(3, "Il faut passer par un tunnel SSH, l'accès direct est fermé pour la sécurité.",
       False)], 25),
    ("equipe", "moderator", "Suivi : lenteurs web7",
     "Plusieurs signalements de 503 sur web7 ce matin. Charge élevée sur le stockage, à "
     "surveiller avant d'ouvrir un incident.",
     [("admin", "Vu. Si ça continue cet après-midi, on promeut le sujet du forum.", False)], 2),
]


def _author(key, admin, moderator, members):
    return {"admin": admin, "moderator": moderator}.get(key) or members[key]


@click.command("demo")
@click.option("--if-empty", is_flag=True, help="Do nothing (and succeed) when data exists.")
def demo(if_empty: bool):
    """Load demonstration data into an empty database."""
    if db.session.scalar(select(func.count(User.id))):
        if if_empty:
            click.echo("The database already holds data: demo not loaded.")
            _print_logins()
            return
        raise click.ClickException("the database is not empty: demo data goes into an empty one")
    admin = accounts.add_user(*ADMIN, role="admin", confirmed=True, locale="fr")
    admin.spike_alerts = True  # the suspected incident below is mailed (to the log) too
    moderator = accounts.add_user(*MODERATOR, role="moderator", confirmed=True, locale="fr")
    members = [
        accounts.add_user(f"membre{i + 1}@exemple.org", name, MEMBER_PASSWORD,
                             confirmed=True)
        for i, name in enumerate(MEMBERS)
    ]
    boards = {slug: forum.add_board(slug, name, desc, vis)
              for slug, name, desc, vis in BOARDS}
    start = now()
    for board, author, title, body, replies, age in THREADS:
        opened = start - timedelta(days=age, hours=len(replies) + 1)
        thread = Thread(board=boards[board], title=title, slug=forum.slugify(title),
                        author=_author(author, admin, moderator, members),
                        created_at=opened, last_activity_at=opened, pinned=board == "annonces")
        posts = [(author, body, False)] + replies
        for offset, (who, text, official) in enumerate(posts):
            body_html = render(text)
            db.session.add(Post(thread=thread, author=_author(who, admin, moderator, members),
                                body_source=text, body_html=body_html,
                                excerpt=excerpt(body_html), official=official,
                                created_at=opened + timedelta(minutes=37 * offset)))
    forum.recount_all()
    _edits_and_a_draft(moderator, members)
    _profiles_and_flags(members)
    with site_context():
        _load_travaux(admin, members)
        _conversation(members)
        _solved_and_unread(members)
        _postmortem_and_answers(admin, members)
        _months_of_history(admin, members)
    refresh_statistics()
    click.echo("Demo data loaded.")
    _print_logins()


def _solved_and_unread(members) -> None:
    """The help boards take solutions: the expired certificate is solved by the moderator's
    answer. Membre 1 has been around for weeks and read two threads partly: their board
    pages show what is new since."""
    for slug in BOARD_SERVICES:
        db.session.scalar(select(Board).where(Board.slug == slug)).solvable = True
    certificate = db.session.scalar(select(Thread).where(Thread.slug.like("certificat-%")))
    answer = db.session.scalar(select(Post).where(Post.thread_id == certificate.id,
                                                  Post.official.is_(True)))
    solutions.mark_solution(certificate, answer, certificate.author)
    reader = members[0]
    reader.created_at = now() - timedelta(days=45)
    for slug, read in (("erreur-503%", 2), ("webmail-tres-lent%", 1)):
        thread = db.session.scalar(select(Thread).where(Thread.slug.like(slug)))
        posts = db.session.scalars(select(Post.id).where(Post.thread_id == thread.id)
                                   .order_by(Post.id)).all()
        reading.mark_read(reader, thread, posts[read - 1])


def _edits_and_a_draft(moderator, members) -> None:
    """The 503 report edited twice (its author adds what they found, a moderator masks an
    address), so that its "modifié" opens two versions; and membre1's reply to it, begun and
    left as a draft, waiting in the form when they log in."""
    thread = db.session.scalar(select(Thread).where(Thread.title.startswith("Erreur 503")))
    first = db.session.get(Post, thread.first_post_id)
    author = first.author
    forum.edit_post(first, author, first.body_source + "\n\n**Mise à jour** : l'erreur "
                    "revient surtout quand le cache de l'extension est vidé (adresse IP "
                    "vue dans les journaux : 203.0.113.42).")
    forum.edit_post(first, moderator, first.body_source.replace(
        "203.0.113.42", "[adresse masquée par la modération]"))
    drafts.save_draft(members[0], "Même chose chez moi depuis 8 h, sur un WordPress 6.5 "
                      "avec le même hébergement. Je regarde les journaux et je", thread=thread)


def _profiles_and_flags(members) -> None:
    """Two bios, and flagged replies waiting in /moderation/queue: an advert three members
    flagged (hidden until staff decide), an off-topic reply one member flagged."""
    profiles.set_bio(members[0], "Webmestre d'une petite association, cliente depuis 2015. "
                                 "Je réponds volontiers sur **WordPress** et les certificats.")
    profiles.set_bio(members[1], "Développeur, j'héberge une dizaine de sites ici.")
    thread = db.session.scalar(select(Thread).where(Thread.slug.like("limite-de-memoire%")))
    advert = forum.reply(thread, members[10], "Passez chez SuperHebergeur : -70 % la première "
                                              "année avec le code PROMO70 !")
    for member in members[2:5]:
        flags.flag_post(advert, member, "spam")
    aside = forum.reply(thread, members[11], "Quelqu'un a vu le match hier soir ?")
    flags.flag_post(aside, members[5], "off_topic")
    flags.flag_post(aside, members[6], "other", "Rien à voir avec la question posée.")


def _burst_on_mail(mail: Service, members) -> None:
    """Reports on Messagerie in the last few minutes, nobody has declared anything: the spike
    detector opens a suspected incident that staff see on the reports page."""
    board = db.session.scalar(select(Board).where(Board.slug == "mail"))
    for minutes, (who, title, body) in zip((12, 9, 7, 4), BURST, strict=True):
        with travel(-timedelta(minutes=minutes)):
            thread = forum.open_thread(board, members[who], title, body, service_id=mail.id)
    for member in members[8:10]:
        with travel(-timedelta(minutes=2)):
            forum.mark_affected(thread, member)
    spikes.detect()


def _load_travaux(admin, members):
    """Services, a resolved incident, an incident promoted from a report, a maintenance."""
    # The old Travaux numbered its projects from 1: feed.php?project=<n> keeps working.
    services = {slug: Service(slug=slug, name=name, description=desc, position=i, legacy_id=i + 1)
                for i, (slug, name, desc) in enumerate(SERVICES)}
    db.session.add_all(services.values())
    db.session.commit()
    # Each help board's reports are about its service unless their author says otherwise.
    for board_slug, service_slug in BOARD_SERVICES.items():
        board = db.session.scalar(select(Board).where(Board.slug == board_slug))
        board.default_service_id = services[service_slug].id
        for thread in db.session.scalars(select(Thread).where(Thread.board_id == board.id)):
            thread.service_id = services[service_slug].id
    db.session.commit()

    with travel(-timedelta(days=12, hours=3)):
        past = travaux.open_incident(
            admin, kind="incident", title="Messagerie : envois retardés",
            impact="major", services=[services["mail"]],
            message="Les mails sortants restent en file d'attente depuis 14 h 10. "
                    "Nous cherchons la cause.")
    with travel(-timedelta(days=12, hours=2, minutes=20)):
        travaux.post_update(past, admin, "identified",
                            "Un filtre anti-spam saturé bloque la file. Nous le redémarrons.")
    with travel(-timedelta(days=12, hours=1, minutes=30)):
        travaux.post_update(past, admin, "monitoring",
                            "La file se vide, les mails en retard partent. Nous surveillons.")
    with travel(-timedelta(days=12, hours=1)):
        travaux.post_update(past, admin, "resolved",
                            "Tout est rentré dans l'ordre : aucun mail n'a été perdu.")

    report = db.session.scalar(select(Thread).where(Thread.slug.like("erreur-503%")))
    for member in members[2:9]:
        forum.mark_affected(report, member)
    ongoing = travaux.promote(
        report, admin, title="Hébergement web : erreurs 503 sur le serveur web7",
        kind="incident", impact="major", services=[services["hebergement-web"]],
        message="Plusieurs sites hébergés sur **web7** répondent par intermittence avec une "
                "erreur 503. Nous enquêtons.")
    travaux.post_update(ongoing, admin, "identified",
                        "Un disque du stockage de web7 est très lent. Nous déplaçons les sites "
                        "les plus touchés vers un autre serveur.")

    _burst_on_mail(services["mail"], members)

    start = now().replace(minute=0, second=0, microsecond=0) + timedelta(days=3, hours=2)
    travaux.open_incident(
        admin, kind="maintenance", title="Mise à jour des serveurs de bases de données",
        impact="minor", services=[services["bases-de-donnees"]],
        window=(start, start + timedelta(hours=2)),
        message="Mise à jour de sécurité de MySQL. Chaque base sera indisponible moins de "
                "5 minutes pendant la fenêtre.")
    _example_subscriptions(admin, services, members)
    _example_templates(admin, services)


def _example_templates(admin, services) -> None:
    """Two incident templates for the forms' "Start from a template" and the API."""
    save_template(None, admin, name="Panne de la messagerie",
                  title="Messagerie : réception des mails interrompue", impact="major",
                  status="investigating", services=[services["mail"]],
                  message="Les mails entrants n'arrivent plus dans les boîtes. Nous "
                          "enquêtons ; aucun mail n'est perdu, ils attendent dans la file.")
    save_template(None, admin, name="Résolu : retour à la normale", title="", impact="minor",
                  status="resolved", services=[],
                  message="Le service fonctionne de nouveau normalement. Merci de votre "
                          "patience ; dites-le-nous sur le forum si le problème persiste.")


def _example_subscriptions(admin, services, members) -> None:
    """Two mail subscriptions to show on the pages: a guest's to Messagerie alone, a
    member's to Hébergement web and DNS; and a short maintenance on Messagerie, 70 minutes
    ahead, whose one-hour reminder the worker mails (to the log) ten minutes after loading."""
    db.session.add_all([
        TravauxSubscription(email="invite@exemple.org", status=ACTIVE, confirmed_at=now(),
                            token=secrets.token_urlsafe(32), services=[services["mail"]]),
        TravauxSubscription(email=members[1].email, user_id=members[1].id, status=ACTIVE,
                            confirmed_at=now(), token=secrets.token_urlsafe(32),
                            services=[services["hebergement-web"], services["dns"]])])
    db.session.commit()
    start = now().replace(second=0, microsecond=0) + timedelta(minutes=70)
    travaux.open_incident(
        admin, kind="maintenance", title="Redémarrage du relais SMTP",
        impact="minor", services=[services["mail"]],
        window=(start, start + timedelta(minutes=15)),
        message="Le relais SMTP passe à sa nouvelle version : une courte pause, rien ne "
                "se perd.")


def _conversation(members) -> None:
    """Karim quotes Sophie (the demo's member login) and mentions her: her bell shows it."""
    sophie, karim = members[0], members[1]
    answer = db.session.scalar(select(Post).where(Post.author_id == sophie.id)
                               .order_by(Post.id).limit(1))
    if answer is None:
        return
    forum.reply(answer.thread, karim, quote_source(answer) + f"Merci @{sophie.name}, trouvé "
                "du premier coup ! Le message d'absence part bien.")


POSTMORTEM = """Le 14 h 10, un filtre anti-spam a saturé : les mails sortants sont restés en file \
d'attente pendant deux heures. Aucun mail n'a été perdu, mais beaucoup sont partis en retard.

**Pourquoi ?** Une campagne de spam venue d'un compte piraté a rempli la file d'analyse, et \
notre supervision ne regardait que l'état du service, pas la longueur de la file.

**Ce que nous avons fait :** purge de la file, blocage du compte, redémarrage du filtre.

Merci aux membres qui l'ont signalé sur le forum : ce sont vos messages qui nous ont \
alertés, avant la supervision."""


def _postmortem_and_answers(admin, members) -> None:
    """The resolved incident gets a member's report linked, a published postmortem posted
    into its threads, and "Is it fixed for you?" answers: one member says "Non"."""
    from board.travaux import fixed, postmortems
    from board.travaux.models import Incident

    past = db.session.scalar(select(Incident).where(Incident.title == "Messagerie : envois "
                                                                       "retardés"))
    board = db.session.scalar(select(Board).where(Board.slug == "mail"))
    with travel(-timedelta(days=12, hours=2, minutes=50)):
        report = forum.open_thread(board, members[5], "Mails envoyés reçus avec 2 h de retard",
                                   "Mes clients reçoivent mes mails de cet après-midi "
                                   "seulement maintenant.", service_id=board.default_service_id)
        for member in (members[0], members[1], members[11]):
            forum.mark_affected(report, member)
        travaux.link_thread(past, report, admin)
    with travel(-timedelta(days=12, minutes=30)):
        for member, answer in ((members[5], True), (members[1], True), (members[0], False)):
            fixed.answer(past, member, answer, report)
    with travel(-timedelta(days=11)):
        actions = [postmortems.add_action(past, admin, text) for text in (
            "Alerter sur la longueur de la file d'envoi", "Limiter le débit d'envoi par compte",
            "Tester la reprise du filtre chaque mois")]
        postmortems.publish(past, admin, POSTMORTEM)
    # The action items moved on since, each change dated on the incident page.
    for days, action, status in ((8, actions[0], "in_progress"), (5, actions[0], "done"),
                                 (3, actions[1], "in_progress")):
        with travel(-timedelta(days=days)):
            postmortems.change_action(action, admin, status)
# Months of history for the uptime bars: (service, days ago, Paris start, minutes, impact or
# "maintenance", title). Two overlap on Messagerie; one crosses midnight on Hébergement web.
HISTORY = [
    ("hebergement-web", 310, "14:05", 130, "critical", "Hébergement web : panne du serveur web3"),
    ("mail", 205, "09:40", 240, "major", "Messagerie : réception interrompue sur mx2"),
    ("manager", 84, "08:30", 360, "minor", "Espace client : factures lentes à s'afficher"),
    ("mail", 75, "10:15", 135, "major", "Messagerie : webmail injoignable pour une partie des "
                                        "comptes"),
    ("bases-de-donnees", 66, "02:00", 60, "maintenance", "Migration des bases MySQL vers "
                                                         "de nouveaux disques"),
    ("hebergement-web", 60, "17:20", 90, "critical", "Hébergement web : sites injoignables "
                                                     "(réseau)"),
    ("dns", 52, "11:00", 25, "major", "DNS : résolution intermittente sur ns2"),
    ("bases-de-donnees", 45, "13:30", 180, "major", "Bases de données : connexions refusées "
                                                    "sur db4"),
    ("mail", 40, "06:00", 300, "minor", "Messagerie : envois lents vers Outlook"),
    ("hebergement-web", 33, "22:30", 190, "major", "Hébergement web : erreurs PHP après une "
                                                   "mise à jour"),
    ("dns", 28, "02:00", 90, "maintenance", "Remplacement du serveur de noms ns1"),
    ("bases-de-donnees", 21, "03:00", 60, "maintenance", "Mise à jour de PostgreSQL"),
    ("hebergement-web", 18, "15:10", 45, "minor", "Hébergement web : lenteurs FTP"),
    ("mail", 9, "08:00", 180, "minor", "Messagerie : filtres anti-spam en retard"),
    ("mail", 9, "09:10", 40, "critical", "Messagerie : serveur IMAP arrêté"),
    ("manager", 5, "12:00", 20, "critical", "Espace client : connexion impossible"),
]
# Reports nobody declared (and those of a declared day): (board, days ago, Paris time,
# title, "affected" marks).
PAST_REPORTS = [
    ("hebergement-web", 33, "22:50", "Mon site affiche une erreur PHP", 4),
    ("domaines-dns", 14, "19:05", "Mon domaine ne répond plus par moments", 3),
    ("domaines-dns", 14, "19:40", "DNS qui ne résout pas depuis ce soir ?", 2),
    ("mail", 62, "08:15", "Mails en double ce matin", 1),
]


def _paris(days_ago: int, clock: str):
    """A moment `days_ago` local days back, at `clock` Paris time, in UTC."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    paris = ZoneInfo("Europe/Paris")
    day = now().astimezone(paris).date() - timedelta(days=days_ago)
    hours, minutes = (int(part) for part in clock.split(":"))
    return datetime(day.year, day.month, day.day, hours, minutes, tzinfo=paris).astimezone(UTC)


def _months_of_history(admin, members) -> None:
    """Months of past incidents, maintenance and reports, counted at once: `/travaux/`
    shows 90-day bars with their percentages, each service's page its months."""
    from board.travaux import uptime

    services = {s.slug: s for s in db.session.scalars(select(Service))}
    for slug, days_ago, clock, minutes, impact, title in HISTORY:
        start = _paris(days_ago, clock)
        end = start + timedelta(minutes=minutes)
        maintenance = impact == "maintenance"
        with travel(start - timedelta(days=2 if maintenance else 0) - now()):
            operation = travaux.open_incident(
                admin, kind="maintenance" if maintenance else "incident", title=title,
                impact="minor" if maintenance else impact, services=[services[slug]],
                window=(start, end) if maintenance else (None, None),
                message="Nous intervenons." if maintenance else "Nous enquêtons.")
        if maintenance:
            with travel(start - now()):
                travaux.post_update(operation, admin, "in_progress", "C'est parti.")
        else:
            with travel(start + timedelta(minutes=minutes // 3) - now()):
                travaux.post_update(operation, admin, "identified", "La cause est trouvée.")
        with travel(end - now()):
            travaux.post_update(operation, admin, "completed" if maintenance else "resolved",
                                "C'est terminé." if maintenance else "Tout est rétabli.")
    boards = {b.slug: b for b in db.session.scalars(select(Board))}
    for n, (board, days_ago, clock, title, marks) in enumerate(PAST_REPORTS):
        moment = _paris(days_ago, clock)
        with travel(moment - now()):
            thread = forum.open_thread(boards[board], members[n], title, "Quelqu'un d'autre ?",
                                       service_id=boards[board].default_service_id)
        for member in members[n + 1:n + 1 + marks]:
            with travel(moment + timedelta(minutes=10) - now()):
                forum.mark_affected(thread, member)
    uptime.rebuild()


def _print_logins():
    click.echo("Demo logins (email / password):")
    click.echo(f"  admin      {ADMIN[0]} / {ADMIN[2]}")
    click.echo(f"  moderator  {MODERATOR[0]} / {MODERATOR[2]}")
    click.echo(f"  member     membre1@exemple.org / {MEMBER_PASSWORD}")


def init_app(app) -> None:
    """The `flask demo` command."""
    app.cli.add_command(demo)
