"""The smallest Flask app, served by the same gunicorn settings as Linli: the ceiling that the
throughput of a real page is compared with in bench/pages.py."""
from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "ok"
