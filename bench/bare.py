"""The bare Flask app `make bench` divides by: what a page costs with nothing of ours in it.

`/` answers a short text; `/jinja` renders a cached template with a 10-item loop (FlaskBB's
own benchmark method).
"""

from flask import Flask, render_template_string

app = Flask(__name__)
TEMPLATE = """<!doctype html><title>{{ title }}</title><ul>
{% for item in items %}<li>{{ item.name }}: {{ item.value }}</li>{% endfor %}</ul>"""
ITEMS = [{"name": f"item {n}", "value": n * 7} for n in range(10)]


@app.get("/")
def root():
    return "Hello, World!"


@app.get("/jinja")
def jinja():
    return render_template_string(TEMPLATE, title="Bare", items=ITEMS)
