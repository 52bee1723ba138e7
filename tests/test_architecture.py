"""The rules of the code base that a reader relies on, held by tests (DESIGN.md, STYLE.md).

Each test reads the source the way a reviewer would and names the file and line it objects to.
"""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BOARD = ROOT / "board"
# Dependencies point one way: each domain may use those to its left, never those to its right.
DOMAINS = ["outbox", "lists", "accounts", "forum", "travaux", "search"]
# Shared helpers import no domain. (board/visibility.py knows the forum's and the lists'
# models: deciding who sees them is its job. demo and ops sit on top of everything.)
SHARED = ["markup", "feeds", "permissions", "audit", "clock", "types", "urls", "i18n", "errors",
          "security", "formfields", "config", "extensions", "inputs", "pagecache"]


def python_files(folder: Path = BOARD):
    return sorted(p for p in folder.rglob("*.py") if "migrations" not in p.parts)


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def domain_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "board" and parts[1] in DOMAINS else None


@pytest.mark.parametrize("domain", DOMAINS)
def test_a_domain_imports_only_the_domains_it_builds_on(domain):
    allowed = set(DOMAINS[:DOMAINS.index(domain) + 1])
    wrong = []
    for path in python_files(BOARD / domain):
        for module in imported_modules(path):
            used = domain_of(module)
            if used is not None and used not in allowed:
                wrong.append(f"{path.relative_to(ROOT)} imports {module}")
    assert wrong == []


@pytest.mark.parametrize("name", SHARED)
def test_shared_helpers_import_no_domain(name):
    path = BOARD / f"{name}.py"
    used = sorted(m for m in imported_modules(path) if domain_of(m) or m == "board.visibility")
    assert used == [], f"{path.relative_to(ROOT)} imports {used}"


# What a guest may see is decided in board/visibility.py alone ------------------------------

VISIBILITY_TEST = re.compile(
    r"hidden_at\s*(?:\.is_|\.isnot|is\s|==|!=)|\.visibility\s*[!=]=|visibility\s*==|"
    r"\bis_hidden\b|\bis_staff_only\b|AnonymousUserMixin")


def test_no_visibility_test_outside_the_visibility_module():
    found = []
    sources = [p for p in python_files() if p.name != "visibility.py"]
    sources += sorted((ROOT / "templates").rglob("*.html"))
    for path in sources:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if VISIBILITY_TEST.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == []


# Transactions you can see -------------------------------------------------------------------

def service_functions():
    for path in sorted(BOARD.glob("*/services.py")):
        source = path.read_text(encoding="utf-8")
        for node in ast.parse(source).body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                yield path, node, ast.get_source_segment(source, node)


def test_every_public_service_function_says_what_it_does():
    missing = [f"{p.relative_to(ROOT)}:{n.lineno} {n.name}" for p, n, _ in service_functions()
               if not ast.get_docstring(n)]
    assert missing == []


def test_a_service_that_commits_says_so():
    unsaid = [f"{p.relative_to(ROOT)}:{n.lineno} {n.name}"
              for p, n, source in service_functions()
              if "db.session.commit()" in source
              and "commits" not in (ast.get_docstring(n) or "").lower()]
    assert unsaid == []


IN_TRANSACTION = ("add_", "queue_", "record", "render_")


def test_helpers_named_for_the_callers_transaction_never_commit():
    committing = [f"{p.relative_to(ROOT)}:{n.lineno} {n.name}"
                  for p, n, source in service_functions()
                  if n.name.startswith(IN_TRANSACTION) and "commit()" in source]
    assert committing == []


@pytest.mark.parametrize("path", [p for p in python_files() if p.name in (
    "views.py", "api.py", "feeds.py", "models.py", "page_parts.py")],
    ids=lambda p: str(p.relative_to(BOARD)))
def test_no_view_and_no_model_commits(path):
    assert "commit()" not in path.read_text(encoding="utf-8")


# Explicit wiring ------------------------------------------------------------------------------

def test_nothing_is_imported_for_its_side_effects():
    found = [f"{p.relative_to(ROOT)}:{i}" for p in python_files()
             for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
             if "noqa: F401" in line]
    assert found == []


def test_the_worker_names_every_task_and_handler_with_its_domain(runner):
    result = runner.invoke(args=["worker", "--list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "task board.travaux.services.follow_windows (from travaux)" in lines
    for kind, name, domain in [("watch_digest", "board.forum.services.send_digest", "forum"),
                               ("list_fanout", "board.lists.services.fan_out", "lists"),
                               ("publish", "board.travaux.export.publish", "travaux")]:
        assert f"handler {kind}: {name} (from {domain})" in lines
    assert any(line.startswith("handler mail:") for line in lines)


def test_create_app_wires_each_domain_in_the_order_they_build_on_each_other():
    source = (BOARD / "__init__.py").read_text(encoding="utf-8")
    calls = re.findall(r"^\s+(\w+)\.init_app\(app\)", source, re.MULTILINE)
    domains = [c for c in calls if c in DOMAINS]
    assert domains == DOMAINS


TOP = ("board.ops", "board.demo", "board.bench")


def test_no_domain_imports_what_sits_on_top_of_them():
    wrong = [f"{p.relative_to(ROOT)} imports {m}" for d in DOMAINS
             for p in python_files(BOARD / d) for m in imported_modules(p)
             if m.startswith(TOP)]
    assert wrong == []
